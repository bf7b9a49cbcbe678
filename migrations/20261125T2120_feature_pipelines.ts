// Batch feature pipeline runs (with their chunks and the per-set watermark that makes runs
// incremental) and the drift reports. Frozen once landed: change the schema in a new migration.
import { sql, type Kysely } from 'kysely';
import { isMysql } from '../platform/db/database.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  const mysql = isMysql(db);
  const bigText = mysql ? sql`mediumtext` : sql`text`;
  const idPk = mysql ? sql`bigint` : sql`integer`;

  await db.schema.createTable('pipeline_run')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('pipeline', 'varchar(32)', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('trigger', 'varchar(16)', (c) => c.notNull())
    .addColumn('requested_by', 'varchar(200)', (c) => c.notNull())
    .addColumn('as_of', 'bigint', (c) => c.notNull())
    .addColumn('full_run', 'integer', (c) => c.notNull())
    .addColumn('advances_watermark', 'integer', (c) => c.notNull())
    .addColumn('reconstructs', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('feature_sets', 'text', (c) => c.notNull())
    .addColumn('chunks_total', 'integer', (c) => c.notNull())
    .addColumn('chunks_done', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('entities', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('rows_written', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('started_at', 'bigint')
    .addColumn('finished_at', 'bigint')
    .addColumn('error', 'text')
    .execute();
  await db.schema.createIndex('pipeline_run_recent').on('pipeline_run').columns(['pipeline', 'created_at']).execute();

  await db.schema.createTable('pipeline_chunk')
    .addColumn('run_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('chunk_no', 'integer', (c) => c.notNull())
    .addColumn('feature_set', 'varchar(64)', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('entity_keys', bigText, (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('entities', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('rows_written', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('started_at', 'bigint')
    .addColumn('finished_at', 'bigint')
    .addColumn('error', 'text')
    .addPrimaryKeyConstraint('pipeline_chunk_pk', ['run_id', 'chunk_no'])
    .execute();

  // The write-time cutoff of the last successful incremental run per set: the next run only
  // recomputes entities whose source rows were written after it.
  await db.schema.createTable('feature_watermark')
    .addColumn('feature_set', 'varchar(64)', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('changed_before', 'bigint', (c) => c.notNull())
    .addColumn('run_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('feature_watermark_pk', ['feature_set', 'version'])
    .execute();

  await db.schema.createTable('feature_drift')
    .addColumn('id', idPk, (c) => c.primaryKey().autoIncrement())
    .addColumn('computed_at', 'bigint', (c) => c.notNull())
    .addColumn('dataset_id', 'varchar(100)', (c) => c.notNull())
    .addColumn('feature_set', 'varchar(64)', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('feature', 'varchar(100)', (c) => c.notNull())
    .addColumn('psi', 'double precision')
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('rows_reference', 'integer', (c) => c.notNull())
    .addColumn('rows_current', 'integer', (c) => c.notNull())
    .addColumn('bins', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('feature_drift_latest').on('feature_drift').columns(['feature_set', 'version', 'feature', 'computed_at']).execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('feature_drift').execute();
  await db.schema.dropTable('feature_watermark').execute();
  await db.schema.dropTable('pipeline_chunk').execute();
  await db.schema.dropTable('pipeline_run').execute();
}
