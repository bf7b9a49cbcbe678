// Dataset snapshots: one row per point-in-time training set built, with its lineage (window,
// feature-set versions and hashes) and the content hash of the Arrow file holding its rows.
// Frozen once landed: change the schema in a new migration.
import { sql, type Kysely } from 'kysely';
import { isMysql } from '../platform/db/database.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  const bigText = isMysql(db) ? sql`mediumtext` : sql`text`;
  await db.schema.createTable('dataset_snapshot')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('from_at', 'bigint', (c) => c.notNull())
    .addColumn('to_at', 'bigint', (c) => c.notNull())
    .addColumn('as_of_created', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('row_count', 'integer', (c) => c.notNull())
    .addColumn('label_rate', 'double precision')
    // JSON: [{ name, version, schemaHash }] of every set joined or computed.
    .addColumn('feature_sets', 'text', (c) => c.notNull())
    .addColumn('feature_set_hash', 'char(64)', (c) => c.notNull())
    .addColumn('content_hash', 'char(64)', (c) => c.notNull())
    // Relative to the configured data directory, so processes sharing the storage can mount it anywhere.
    .addColumn('storage_path', 'varchar(500)', (c) => c.notNull())
    .addColumn('byte_size', 'bigint', (c) => c.notNull())
    // JSON: [{ name, type, role }] in file order; null rates: { column: rate } of every feature column.
    .addColumn('columns', bigText, (c) => c.notNull())
    .addColumn('null_rates', bigText, (c) => c.notNull())
    .addColumn('build_ms', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('dataset_snapshot_kind').on('dataset_snapshot').columns(['kind', 'created_at']).execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('dataset_snapshot').execute();
}
