// Ad delivery: per-placement serving rules and the database fallback of the per-user frequency-cap
// counters (Redis holds them when configured). Frozen once landed: change the schema in a new migration.
import type { Kysely } from 'kysely';
import { isMysql } from '../platform/db/database.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable('placement_rule')
    .addColumn('placement_id', 'varchar(64)', (c) => c.primaryKey().references('placement.id'))
    // JSON string arrays; null for the allow-lists means "any".
    .addColumn('allowed_categories', 'text')
    .addColumn('blocked_categories', 'text', (c) => c.notNull())
    .addColumn('allowed_advertisers', 'text')
    .addColumn('blocked_advertisers', 'text', (c) => c.notNull())
    .addColumn('max_ads', 'integer', (c) => c.notNull())
    .addColumn('min_pctr', 'double precision', (c) => c.notNull())
    .addColumn('devices', 'text')
    .addColumn('countries', 'text')
    .addColumn('one_per_advertiser', 'boolean', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  // One row per (user, campaign): the impressions counted in the window that ends at window_ends_at.
  await db.schema.createTable('frequency_cap_counter')
    .addColumn('subject_id', 'varchar(200)', (c) => c.notNull())
    .addColumn('campaign_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('impressions', 'integer', (c) => c.notNull())
    .addColumn('window_ends_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('frequency_cap_counter_pk', ['subject_id', 'campaign_id'])
    .execute();
  // Expired windows are swept by time.
  await db.schema.createIndex('frequency_cap_counter_ends').on('frequency_cap_counter').column('window_ends_at').execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  // MySQL names the table of an index; SQLite's DROP INDEX takes no ON clause.
  const ix = db.schema.dropIndex('frequency_cap_counter_ends');
  await (isMysql(db) ? ix.on('frequency_cap_counter') : ix).ifExists().execute();
  await db.schema.dropTable('frequency_cap_counter').ifExists().execute();
  await db.schema.dropTable('placement_rule').ifExists().execute();
}
