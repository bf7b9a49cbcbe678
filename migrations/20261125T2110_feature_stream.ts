// The database flavour of the stream processors' window counters (used when no Redis is
// configured): per-entity latest event time, event-time buckets, click times for the gap
// signal, and the receipt that makes each event count once.
// Frozen once landed: change the schema in a new migration.
import type { Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  // The latest event time seen per entity: the as-of time of its window values.
  await db.schema.createTable('feature_stream_entity')
    .addColumn('entity_kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('entity_key', 'varchar(191)', (c) => c.notNull())
    .addColumn('latest_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('feature_stream_entity_pk', ['entity_kind', 'entity_key'])
    .execute();

  // One row per (entity, field, bucket); n is a count, or for gap fields the smallest gap (ms).
  // expires_at: the entity's latest event time from which the bucket is in no window any more.
  await db.schema.createTable('feature_stream_counter')
    .addColumn('entity_kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('entity_key', 'varchar(191)', (c) => c.notNull())
    .addColumn('field', 'varchar(16)', (c) => c.notNull())
    .addColumn('bucket', 'bigint', (c) => c.notNull())
    .addColumn('n', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('feature_stream_counter_pk', ['entity_kind', 'entity_key', 'field', 'bucket'])
    .execute();

  // Click times of IPs and devices over the last two hours of each one's events.
  await db.schema.createTable('feature_stream_click')
    .addColumn('entity_kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('entity_key', 'varchar(191)', (c) => c.notNull())
    .addColumn('event_id', 'varchar(191)', (c) => c.notNull())
    .addColumn('event_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('feature_stream_click_pk', ['entity_kind', 'entity_key', 'event_id'])
    .execute();
  await db.schema.createIndex('feature_stream_click_at').on('feature_stream_click')
    .columns(['entity_kind', 'entity_key', 'event_at']).execute();

  // Event ids the stream has counted; claimed in the transaction that writes the counters.
  await db.schema.createTable('feature_stream_receipt')
    .addColumn('event_id', 'varchar(191)', (c) => c.primaryKey())
    .addColumn('seen_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('feature_stream_receipt_seen').on('feature_stream_receipt').column('seen_at').execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('feature_stream_receipt').execute();
  await db.schema.dropTable('feature_stream_click').execute();
  await db.schema.dropTable('feature_stream_counter').execute();
  await db.schema.dropTable('feature_stream_entity').execute();
}
