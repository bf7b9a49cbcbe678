// The scoring service's tables: the prediction log (one row per scored request and model role,
// candidates and scores as JSON so a ranking of 200 costs one insert) and the stored fairness
// audits of live traffic. Frozen once landed: change the schema in a new migration.
import { sql, type Kysely } from 'kysely';
import { isMysql } from '../platform/db/database.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  const mysql = isMysql(db);
  const bigText = mysql ? sql`mediumtext` : sql`text`;
  const idPk = mysql ? sql`bigint` : sql`integer`;

  await db.schema.createTable('prediction_log')
    .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
    .addColumn('request_id', 'varchar(128)')
    .addColumn('endpoint', 'varchar(32)', (c) => c.notNull())
    .addColumn('model', 'varchar(100)', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('alias', 'varchar(64)', (c) => c.notNull())
    // serve (returned), canary (returned, from the canary alias) or shadow (scored, never returned).
    .addColumn('role', 'varchar(16)', (c) => c.notNull())
    .addColumn('experiment', 'varchar(100)')
    .addColumn('variant', 'varchar(100)')
    .addColumn('unit_id', 'varchar(200)')
    // What was scored for: the job (matching) or the placement (ads); candidates are providers / creatives.
    .addColumn('context_id', 'varchar(200)')
    .addColumn('candidates', bigText, (c) => c.notNull())
    .addColumn('features_hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('features', bigText)
    .addColumn('explanations', bigText)
    .addColumn('missing', 'text')
    .addColumn('actor', 'varchar(200)')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('prediction_log_model_time').on('prediction_log').columns(['model', 'version', 'created_at']).execute();
  await db.schema.createIndex('prediction_log_request').on('prediction_log').column('request_id').execute();

  await db.schema.createTable('model_audit')
    .addColumn('id', idPk, (c) => c.primaryKey().autoIncrement())
    .addColumn('model', 'varchar(100)', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('window_from', 'bigint', (c) => c.notNull())
    .addColumn('window_to', 'bigint', (c) => c.notNull())
    .addColumn('predictions', 'integer', (c) => c.notNull())
    .addColumn('report', bigText, (c) => c.notNull())
    .addColumn('trigger', 'varchar(16)', (c) => c.notNull())
    .addColumn('created_by', 'varchar(200)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('model_audit_version').on('model_audit').columns(['model', 'version', 'created_at']).execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('model_audit').ifExists().execute();
  await db.schema.dropTable('prediction_log').ifExists().execute();
}
