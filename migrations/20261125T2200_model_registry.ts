// The model registry: registered models, their numbered versions (artifact bytes with their
// sha256, lineage, metrics, fairness, importance), aliases and the append-only alias history.
// Frozen once landed: change the schema in a new migration.
import { sql, type Kysely } from 'kysely';
import { isMysql } from '../platform/db/database.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  const mysql = isMysql(db);
  const bigText = mysql ? sql`mediumtext` : sql`text`;
  const blob = mysql ? sql`mediumblob` : sql`blob`;
  const idPk = mysql ? sql`bigint` : sql`integer`;

  await db.schema.createTable('registered_model')
    .addColumn('name', 'varchar(100)', (c) => c.primaryKey())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('tags', 'text', (c) => c.notNull())
    // The last version number handed out: incremented in the registering transaction, so
    // concurrent registrations of one model get distinct numbers.
    .addColumn('last_version', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_by', 'varchar(200)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema.createTable('model_version')
    .addColumn('model', 'varchar(100)', (c) => c.notNull().references('registered_model.name'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('status_reason', 'text')
    .addColumn('algorithm', 'varchar(64)', (c) => c.notNull())
    .addColumn('hyperparameters', 'text', (c) => c.notNull())
    .addColumn('feature_sets', 'text', (c) => c.notNull())
    .addColumn('dataset_id', 'varchar(100)')
    .addColumn('dataset_hash', 'varchar(64)')
    .addColumn('code_version', 'varchar(100)', (c) => c.notNull())
    .addColumn('metrics', bigText, (c) => c.notNull())
    .addColumn('calibration', bigText)
    .addColumn('fairness', bigText)
    .addColumn('importance', bigText)
    .addColumn('artifact', blob)
    .addColumn('artifact_sha256', 'varchar(64)')
    .addColumn('artifact_bytes', 'integer')
    .addColumn('artifact_format', 'varchar(100)')
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('created_by', 'varchar(200)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('model_version_pk', ['model', 'version'])
    .execute();

  await db.schema.createTable('model_alias')
    .addColumn('model', 'varchar(100)', (c) => c.notNull().references('registered_model.name'))
    .addColumn('alias', 'varchar(64)', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('updated_by', 'varchar(200)', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('model_alias_pk', ['model', 'alias'])
    .execute();

  // Append-only: rows are inserted and read, never updated or deleted.
  await db.schema.createTable('model_alias_history')
    .addColumn('id', idPk, (c) => c.primaryKey().autoIncrement())
    .addColumn('model', 'varchar(100)', (c) => c.notNull())
    .addColumn('alias', 'varchar(64)', (c) => c.notNull())
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('from_version', 'integer')
    .addColumn('to_version', 'integer', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('gates', bigText)
    .addColumn('forced', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('actor_type', 'varchar(16)', (c) => c.notNull())
    .addColumn('actor_id', 'varchar(200)', (c) => c.notNull())
    .addColumn('request_id', 'varchar(128)')
    .addColumn('at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('model_alias_history_alias').on('model_alias_history').columns(['model', 'alias', 'id']).execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('model_alias_history').execute();
  await db.schema.dropTable('model_alias').execute();
  await db.schema.dropTable('model_version').execute();
  await db.schema.dropTable('registered_model').execute();
}
