// Ad budgets (issue #8): the spend ledger (one row per charged click, the source of truth), the
// database spend counters (used when Redis is not configured; with Redis they live there and are
// rebuilt from the ledger) and the pacing state shared by the scoring replicas.
// Frozen once landed: change the schema in a new migration.
import type { Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable('ad_spend_ledger')
    // The click is charged at most once: the primary key is the idempotency guard.
    .addColumn('click_id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('campaign_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('amount_minor', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'char(3)', (c) => c.notNull())
    // UTC date (YYYY-MM-DD) of the charge: the daily budget it counts against.
    .addColumn('day', 'char(10)', (c) => c.notNull())
    .addColumn('charged_at', 'bigint', (c) => c.notNull())
    .execute();
  // Covering: rebuilding a campaign's counters sums amounts without touching the rows.
  await db.schema.createIndex('ad_spend_ledger_campaign_day').on('ad_spend_ledger').columns(['campaign_id', 'day', 'amount_minor']).execute();
  await db.schema.createIndex('ad_spend_ledger_charged').on('ad_spend_ledger').column('charged_at').execute();

  await db.schema.createTable('ad_spend_counter')
    .addColumn('campaign_id', 'varchar(64)', (c) => c.notNull())
    // A UTC date for the daily spend, or 'lifetime'.
    .addColumn('period', 'varchar(10)', (c) => c.notNull())
    .addColumn('spent_minor', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('ad_spend_counter_pk', ['campaign_id', 'period'])
    .execute();

  await db.schema.createTable('ad_pacing')
    .addColumn('campaign_id', 'varchar(64)', (c) => c.primaryKey())
    // The pass-through rate p in [pMin, 1].
    .addColumn('rate', 'double precision', (c) => c.notNull())
    // Start (ms) of the last slot whose end updated the rate: a replayed slot job changes nothing.
    .addColumn('slot_start', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('ad_pacing').ifExists().execute();
  await db.schema.dropTable('ad_spend_counter').ifExists().execute();
  await db.schema.dropTable('ad_spend_ledger').ifExists().execute();
}
