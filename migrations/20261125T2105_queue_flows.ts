// Flows and cron schedules for the inline queue: a child row names its parent and keeps its result
// until the parent has run; a parent counts its children and those it still waits for. Frozen once landed.
import { sql, type Kysely } from 'kysely';
import { isMysql } from '../platform/db/database.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  const mysql = isMysql(db);
  const bigText = mysql ? sql`mediumtext` : sql`text`;

  // SQLite's ALTER TABLE adds one column per statement.
  await db.schema.alterTable('queue_job').addColumn('parent_id', 'varchar(128)').execute();
  await db.schema.alterTable('queue_job').addColumn('pending_children', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('queue_job').addColumn('total_children', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('queue_job').addColumn('result', bigText).execute();
  await db.schema.createIndex('queue_job_parent').on('queue_job').columns(['parent_id', 'status']).execute();

  await db.schema.createTable('queue_schedule')
    .addColumn('id', 'varchar(100)', (c) => c.primaryKey())
    .addColumn('cron', 'varchar(100)', (c) => c.notNull())
    .addColumn('name', 'varchar(100)', (c) => c.notNull())
    .addColumn('payload', bigText, (c) => c.notNull())
    .addColumn('next_run_at', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('queue_schedule_due').on('queue_schedule').column('next_run_at').execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('queue_schedule').execute();
  const dropIndex = db.schema.dropIndex('queue_job_parent');
  await (isMysql(db) ? dropIndex.on('queue_job') : dropIndex).execute();
  await db.schema.alterTable('queue_job').dropColumn('result').execute();
  await db.schema.alterTable('queue_job').dropColumn('total_children').execute();
  await db.schema.alterTable('queue_job').dropColumn('pending_children').execute();
  await db.schema.alterTable('queue_job').dropColumn('parent_id').execute();
}
