// Exports: background export jobs (progress, the finished file until it expires) and the
// service's persistent secrets (the pseudonymisation key, the same for every process).
// Frozen once landed: change the schema in a new migration.
import type { Kysely } from 'kysely';
import { isMysql } from '../platform/db/database.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable('export_job')
    .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
    .addColumn('report', 'varchar(64)', (c) => c.notNull())
    .addColumn('format', 'varchar(8)', (c) => c.notNull())
    // The validated parameters as given (strings), JSON.
    .addColumn('params', 'text', (c) => c.notNull())
    // queued → running → done | failed; done → expired when the file is removed.
    .addColumn('status', 'varchar(12)', (c) => c.notNull())
    .addColumn('rows_written', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('file_name', 'varchar(200)', (c) => c.notNull())
    .addColumn('file_bytes', 'bigint')
    // The API key that asked (null: a schedule); its id decides who may download.
    .addColumn('requested_by', 'varchar(64)')
    // Whether ids in the file are raw (an admin asked) or pseudonymised.
    .addColumn('raw_ids', 'boolean', (c) => c.notNull())
    .addColumn('schedule', 'varchar(64)')
    .addColumn('error', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('started_at', 'bigint')
    .addColumn('finished_at', 'bigint')
    .addColumn('expires_at', 'bigint')
    .execute();
  await db.schema.createIndex('export_job_created').on('export_job').column('created_at').execute();
  await db.schema.createIndex('export_job_expires').on('export_job').columns(['status', 'expires_at']).execute();

  await db.schema.createTable('app_secret')
    .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('value', 'varchar(200)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  for (const ix of ['export_job_created', 'export_job_expires']) {
    const drop = db.schema.dropIndex(ix);
    await (isMysql(db) ? drop.on('export_job') : drop).ifExists().execute();
  }
  await db.schema.dropTable('app_secret').ifExists().execute();
  await db.schema.dropTable('export_job').ifExists().execute();
}
