// Click-fraud detection (issue #8): flagged clicks with every reason and their review, the first
// click per impression (the database's duplicate guard when Redis is not configured), and the
// click hits behind the database fallback of the sliding-window velocity counters.
import { sql, type Kysely } from 'kysely';
import { isMysql } from '../platform/db/database.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  const mysql = isMysql(db);
  const bigText = mysql ? sql`mediumtext` : sql`text`;

  await db.schema.createTable('flagged_click')
    .addColumn('click_id', 'varchar(64)', (c) => c.primaryKey())
    // Null when the click carried no valid impression token (nothing says which campaign it was for).
    .addColumn('campaign_id', 'varchar(64)')
    .addColumn('impression_id', 'varchar(64)')
    // JSON: the FraudReason list, every rule that fired.
    .addColumn('reasons', 'text', (c) => c.notNull())
    .addColumn('score', 'double precision', (c) => c.notNull())
    // flagged | released | confirmed
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    // JSON: each rule's measurements (counts, limits, the anomaly statistics).
    .addColumn('details', bigText, (c) => c.notNull())
    // JSON: the verified impression token payload, so a released click can be charged; null without one.
    .addColumn('token_payload', 'text')
    .addColumn('clicked_at', 'bigint', (c) => c.notNull())
    .addColumn('ip', 'varchar(45)')
    .addColumn('device', 'varchar(191)')
    .addColumn('user_agent', 'varchar(512)')
    .addColumn('user_id', 'varchar(64)')
    .addColumn('reviewed_by', 'varchar(200)')
    .addColumn('reviewed_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('flagged_click_status_time').on('flagged_click').columns(['status', 'created_at']).execute();
  await db.schema.createIndex('flagged_click_campaign_time').on('flagged_click').columns(['campaign_id', 'created_at']).execute();

  // First click per impression: the primary key is the atomic guard (INSERT IGNORE, then read the winner).
  await db.schema.createTable('fraud_impression_claim')
    .addColumn('impression_id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('click_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('clicked_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('fraud_impression_claim_expiry').on('fraud_impression_claim').column('expires_at').execute();

  // One row per counted key (ip / device): locked FOR UPDATE on MySQL so that one key's clicks are counted one at a time.
  await db.schema.createTable('fraud_velocity_key')
    .addColumn('kind', 'varchar(8)', (c) => c.notNull())
    .addColumn('key', 'varchar(191)', (c) => c.notNull())
    .addColumn('latest_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('fraud_velocity_key_pk', ['kind', 'key'])
    .execute();
  // Each click once per key (a redelivered click counts once), kept two hours behind the key's latest click.
  await db.schema.createTable('fraud_velocity_hit')
    .addColumn('kind', 'varchar(8)', (c) => c.notNull())
    .addColumn('key', 'varchar(191)', (c) => c.notNull())
    .addColumn('click_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('fraud_velocity_hit_pk', ['kind', 'key', 'click_id'])
    .execute();
  await db.schema.createIndex('fraud_velocity_hit_key_time').on('fraud_velocity_hit').columns(['kind', 'key', 'at']).execute();
  await db.schema.createIndex('fraud_velocity_hit_time').on('fraud_velocity_hit').columns(['kind', 'at']).execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('fraud_velocity_hit').ifExists().execute();
  await db.schema.dropTable('fraud_velocity_key').ifExists().execute();
  await db.schema.dropTable('fraud_impression_claim').ifExists().execute();
  await db.schema.dropTable('flagged_click').ifExists().execute();
}
