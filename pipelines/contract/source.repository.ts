// Chunked writes into the source tables, the one place bulk import, event processing and the
// synthetic marketplace write marketplace rows. Every write is idempotent on the natural key.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { isMysql, type Db, type Tx } from '../../platform/db/database.js';

// Source tables are described by table-specs.ts rather than Kysely interfaces: the writes here are
// generic over them, so they speak to an untyped view of the same connection.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const untyped = (db: Db | Tx) => db as unknown as Kysely<any>;

/**
 * Insert rows, or update the existing row with the same key when any column differs. A row whose
 * values are all the same is left alone, `updated_at` included, so re-importing a file is a no-op.
 * `stamp` names the column that records the write time (updated_at or ingested_at), not compared.
 */
export async function upsertRows(
  db: Db | Tx, table: string, key: readonly string[], rows: Record<string, unknown>[], stamp: string,
): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  const data = columns.filter((c) => !key.includes(c) && c !== stamp);
  const k = untyped(db);
  if (data.length === 0) { // nothing but the key: insert what is missing
    await insertNewRows(db, table, key, rows);
    return;
  }
  if (isMysql(k)) {
    // MySQL evaluates SET left to right, each seeing the values already assigned: the stamp goes
    // first, so it compares the old values; <=> is null-safe equality.
    const same = sql.join(data.map((c) => sql`${sql.ref(c)} <=> values(${sql.ref(c)})`), sql` and `);
    const set: Record<string, RawBuilder<unknown>> = {
      [stamp]: sql`if(${same}, ${sql.ref(stamp)}, values(${sql.ref(stamp)}))`,
    };
    for (const c of data) set[c] = sql`values(${sql.ref(c)})`;
    await k.insertInto(table).values(rows).onDuplicateKeyUpdate(set).execute();
  } else {
    const changed = sql<boolean>`${sql.join(data.map((c) => sql`${sql.ref(`${table}.${c}`)} is not excluded.${sql.ref(c)}`), sql` or `)}`;
    await k.insertInto(table).values(rows)
      .onConflict((oc) => oc.columns([...key]).doUpdateSet(Object.fromEntries([...data, stamp].map((c) => [c, sql`excluded.${sql.ref(c)}`])))
        .where(changed))
      .execute();
  }
}

/**
 * Insert rows whose key is new; rows that collide with an existing row on the key or on any other
 * unique column (a transaction's idempotency_key) are skipped, the same on both dialects: an
 * event or payment submitted twice is recorded once.
 */
export async function insertNewRows(db: Db | Tx, table: string, key: readonly string[], rows: Record<string, unknown>[]): Promise<void> {
  if (rows.length === 0) return;
  const k = untyped(db);
  if (isMysql(k)) {
    const first = key[0]!;
    await k.insertInto(table).values(rows).onDuplicateKeyUpdate({ [first]: sql`${sql.ref(first)}` }).execute();
  } else {
    await k.insertInto(table).values(rows).onConflict((oc) => oc.doNothing()).execute();
  }
}
