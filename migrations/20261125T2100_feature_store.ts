// The feature store's tables: the offline history (append-only, what point-in-time training sets
// join against) and the database flavour of the online store (latest value per entity).
// Frozen once landed: change the schema in a new migration.
import { sql, type Kysely } from 'kysely';
import { isMysql } from '../platform/db/database.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  const mysql = isMysql(db);
  const bigText = mysql ? sql`mediumtext` : sql`text`;
  const idPk = mysql ? sql`bigint` : sql`integer`;

  // One row per (entity, feature set version, event time); the unique key makes a re-run chunk a no-op.
  await db.schema.createTable('feature_history')
    .addColumn('id', idPk, (c) => c.primaryKey().autoIncrement())
    .addColumn('feature_set', 'varchar(64)', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('entity_key', 'varchar(191)', (c) => c.notNull())
    .addColumn('event_at', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('run_id', 'varchar(64)')
    .addColumn('feature_values', bigText, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('feature_history_point').unique().on('feature_history')
    .columns(['feature_set', 'version', 'entity_key', 'event_at']).execute();
  await db.schema.createIndex('feature_history_created').on('feature_history')
    .columns(['feature_set', 'version', 'created_at']).execute();

  await db.schema.createTable('feature_online')
    .addColumn('feature_set', 'varchar(64)', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('entity_key', 'varchar(191)', (c) => c.notNull())
    .addColumn('event_at', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('feature_values', bigText, (c) => c.notNull())
    .addPrimaryKeyConstraint('feature_online_pk', ['feature_set', 'version', 'entity_key'])
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('feature_online').execute();
  await db.schema.dropTable('feature_history').execute();
}
