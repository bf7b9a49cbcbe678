// An integer unit key beside the text unit id of exposures and imported metric events, for the
// analysis join (issue #7: 10M exposures). MySQL/MariaDB only: a stored column generated from the
// id (52 bits of its MD5, so every writer — the API, LOAD DATA, a raw INSERT — gets the same key
// with no code of its own), and indexes that drive the join by it: the facts of one metric in
// (key, id) order, each looking up its unit's exposure by key. The key only narrows the lookup;
// the join still compares the ids, so two ids sharing a key are never mixed up. SQLite has no
// MD5 and joins on the text id, as before (it holds test-sized data).
// Frozen once landed: change the schema in a new migration.
import { sql, type Kysely } from 'kysely';
import { isMysql } from '../platform/db/database.js';

const unitKey = sql`CAST(CONV(LEFT(MD5(unit_id), 13), 16, 10) AS SIGNED)`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  if (!isMysql(db)) return;
  await db.schema.alterTable('experiment_exposure').addColumn('unit_key', 'bigint', (c) => c.generatedAlwaysAs(unitKey).stored()).execute();
  await db.schema.alterTable('metric_event').addColumn('unit_key', 'bigint', (c) => c.generatedAlwaysAs(unitKey).stored()).execute();
  // Covering for the lookup: the key first (integer compares), then the experiment, and the row's
  // variant and exposure time (InnoDB appends the primary key, so unit_id is in it too).
  await db.schema.createIndex('experiment_exposure_unit_key').on('experiment_exposure').columns(['unit_key', 'experiment', 'phase', 'variant', 'exposed_at']).execute();
  // Replaces (name, unit_id, event_at, value): a metric's facts grouped per unit in index order.
  await db.schema.createIndex('metric_event_name_key').on('metric_event').columns(['name', 'unit_key', 'unit_id', 'event_at', 'value']).execute();
  await db.schema.dropIndex('metric_event_name_unit').on('metric_event').execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  if (!isMysql(db)) return;
  await db.schema.createIndex('metric_event_name_unit').on('metric_event').columns(['name', 'unit_id', 'event_at', 'value']).execute();
  await db.schema.dropIndex('metric_event_name_key').on('metric_event').execute();
  await db.schema.dropIndex('experiment_exposure_unit_key').on('experiment_exposure').execute();
  await db.schema.alterTable('metric_event').dropColumn('unit_key').execute();
  await db.schema.alterTable('experiment_exposure').dropColumn('unit_key').execute();
}
