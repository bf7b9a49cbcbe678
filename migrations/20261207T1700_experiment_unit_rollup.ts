// Incremental analysis of large experiments (issue #7, MySQL/MariaDB only, like the unit key):
// exposures and metric events record when the database took them in (`ingested_at`, ms, the
// server's clock at the start of the inserting statement, so every writer — the API, LOAD DATA,
// a raw INSERT — sets it with no code of its own), with indexes that list what came in since a
// time; and `experiment_rollup` records, per experiment metric, the table holding each exposed
// unit's value and covariate and up to when that table is known to be complete (its watermark).
// SQLite analyses in full every time (it holds test-sized data).
// Frozen once landed: change the schema in a new migration.
import { sql, type Kysely } from 'kysely';
import { isMysql } from '../platform/db/database.js';

const now = sql`(ROUND(UNIX_TIMESTAMP(NOW(6)) * 1000))`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  if (!isMysql(db)) return;
  await db.schema.alterTable('experiment_exposure').addColumn('ingested_at', 'bigint', (c) => c.notNull().defaultTo(now)).execute();
  await db.schema.alterTable('metric_event').addColumn('ingested_at', 'bigint', (c) => c.notNull().defaultTo(now)).execute();
  // What came in since a time, with the unit's key and id (InnoDB appends the primary key: the
  // exposure's unit_id, the event's id, so the event's unit_id is named).
  await db.schema.createIndex('experiment_exposure_ingested').on('experiment_exposure').columns(['experiment', 'phase', 'ingested_at', 'unit_key']).execute();
  await db.schema.createIndex('metric_event_ingested').on('metric_event').columns(['name', 'ingested_at', 'unit_key', 'unit_id']).execute();

  await db.schema.createTable('experiment_rollup')
    .addColumn('id', 'bigint', (c) => c.primaryKey().autoIncrement())
    .addColumn('experiment', 'varchar(100)', (c) => c.notNull())
    .addColumn('metric', 'varchar(120)', (c) => c.notNull())
    .addColumn('phase', 'integer', (c) => c.notNull())
    // What the values depend on besides the facts: the covariate window and the end of the facts counted.
    .addColumn('params', 'varchar(255)', (c) => c.notNull())
    // The per-unit table (created and dropped by the repository, named after the id).
    .addColumn('table_name', 'varchar(64)', (c) => c.notNull())
    // Every exposure and event ingested before this time (ms, the server's clock) is in the table.
    .addColumn('watermark', 'bigint', (c) => c.notNull())
    .addColumn('built_at', 'bigint', (c) => c.notNull())
    .addColumn('refreshed_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('experiment_rollup_metric', ['experiment', 'metric'])
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  if (!isMysql(db)) return;
  const tables = await db.selectFrom('experiment_rollup').select('table_name').execute();
  for (const t of tables) await sql`DROP TABLE IF EXISTS ${sql.id(String(t.table_name))}`.execute(db);
  await db.schema.dropTable('experiment_rollup').execute();
  await db.schema.dropIndex('metric_event_ingested').on('metric_event').execute();
  await db.schema.dropIndex('experiment_exposure_ingested').on('experiment_exposure').execute();
  await db.schema.alterTable('metric_event').dropColumn('ingested_at').execute();
  await db.schema.alterTable('experiment_exposure').dropColumn('ingested_at').execute();
}
