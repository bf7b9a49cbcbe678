// Experiments: definitions (variants, weights, coverage, namespace, targeting, metrics,
// guardrails), their phases (a weight or coverage change starts a new one), the first exposure of
// each unit, and stored analyses. Frozen once landed: change the schema in a new migration.
import { sql, type Kysely } from 'kysely';
import { isMysql } from '../platform/db/database.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  const mysql = isMysql(db);
  const bigText = mysql ? sql`mediumtext` : sql`text`;
  const idPk = mysql ? sql`bigint` : sql`integer`;

  await db.schema.createTable('experiment')
    .addColumn('key', 'varchar(100)', (c) => c.primaryKey())
    .addColumn('hypothesis', 'text', (c) => c.notNull())
    .addColumn('unit_type', 'varchar(16)', (c) => c.notNull())
    // The model whose serving the variants switch (matching-ranker, ads-ctr); null for other experiments.
    .addColumn('model', 'varchar(100)')
    .addColumn('variants', 'text', (c) => c.notNull())
    .addColumn('coverage', 'double precision', (c) => c.notNull())
    .addColumn('namespace', 'text')
    .addColumn('conditions', 'text')
    .addColumn('primary_metric', 'varchar(100)', (c) => c.notNull())
    .addColumn('secondary_metrics', 'text', (c) => c.notNull())
    .addColumn('guardrails', 'text', (c) => c.notNull())
    .addColumn('mde', 'double precision')
    .addColumn('hash_version', 'integer', (c) => c.notNull())
    .addColumn('seed', 'varchar(100)', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('status_reason', 'text')
    .addColumn('phase', 'integer', (c) => c.notNull())
    .addColumn('started_at', 'bigint')
    .addColumn('stopped_at', 'bigint')
    .addColumn('created_by', 'varchar(200)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('experiment_model_status').on('experiment').columns(['model', 'status']).execute();

  await db.schema.createTable('experiment_phase')
    .addColumn('experiment', 'varchar(100)', (c) => c.notNull().references('experiment.key'))
    .addColumn('phase', 'integer', (c) => c.notNull())
    .addColumn('weights', 'text', (c) => c.notNull())
    .addColumn('coverage', 'double precision', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('ended_at', 'bigint')
    .addPrimaryKeyConstraint('experiment_phase_pk', ['experiment', 'phase'])
    .execute();

  // One row per unit and experiment: the first exposure (insert-ignore keeps it).
  await db.schema.createTable('experiment_exposure')
    .addColumn('experiment', 'varchar(100)', (c) => c.notNull())
    .addColumn('unit_id', 'varchar(200)', (c) => c.notNull())
    .addColumn('phase', 'integer', (c) => c.notNull())
    .addColumn('variant', 'integer', (c) => c.notNull())
    .addColumn('exposed_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('experiment_exposure_pk', ['experiment', 'unit_id'])
    .execute();
  await db.schema.createIndex('experiment_exposure_variant').on('experiment_exposure').columns(['experiment', 'phase', 'variant']).execute();

  // Outcome facts an analyst brings (a warehouse export, a partner's conversions): metric
  // `events.<name>` counts them per unit, `events.<name>.sum` adds their values.
  await db.schema.createTable('metric_event')
    .addColumn('id', idPk, (c) => c.primaryKey().autoIncrement())
    .addColumn('name', 'varchar(100)', (c) => c.notNull())
    .addColumn('unit_id', 'varchar(200)', (c) => c.notNull())
    .addColumn('value', 'double precision', (c) => c.notNull())
    .addColumn('event_at', 'bigint', (c) => c.notNull())
    .execute();
  // Covering: a metric's facts are read from the index alone (value included).
  await db.schema.createIndex('metric_event_name_unit').on('metric_event').columns(['name', 'unit_id', 'event_at', 'value']).execute();

  // The analysis joins facts to exposures by unit: ad facts by user, as they are keyed.
  await db.schema.createIndex('impression_user').on('impression').columns(['user_id', 'event_at']).execute();
  await db.schema.createIndex('click_user').on('click').columns(['user_id', 'event_at']).execute();

  await db.schema.createTable('experiment_analysis')
    .addColumn('id', idPk, (c) => c.primaryKey().autoIncrement())
    .addColumn('experiment', 'varchar(100)', (c) => c.notNull())
    .addColumn('phase', 'integer', (c) => c.notNull())
    .addColumn('report', bigText, (c) => c.notNull())
    .addColumn('trigger', 'varchar(16)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('experiment_analysis_time').on('experiment_analysis').columns(['experiment', 'created_at']).execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  const mysql = isMysql(db);
  // MySQL names the table of an index; SQLite's DROP INDEX takes no ON clause.
  const dropIndex = (name: string, table: string) => (mysql ? db.schema.dropIndex(name).on(table) : db.schema.dropIndex(name)).ifExists().execute();
  await db.schema.dropTable('experiment_analysis').ifExists().execute();
  await db.schema.dropTable('metric_event').ifExists().execute();
  await dropIndex('click_user', 'click');
  await dropIndex('impression_user', 'impression');
  await db.schema.dropTable('experiment_exposure').ifExists().execute();
  await db.schema.dropTable('experiment_phase').ifExists().execute();
  await db.schema.dropTable('experiment').ifExists().execute();
}
