// Writes the generated marketplace: chunks of ~1,000 rows through the contract's idempotent writers
// (upserts for records, insert-if-new for events), many chunks per transaction. Seeding twice with
// the same options changes nothing.
import { sql, type Kysely } from 'kysely';
import { insertNewRows, upsertRows } from '../contract/source.repository.js';
import { isMysql, type Db, type Tx } from '../../platform/db/database.js';
import { generateMarketplace, isEventTable, resolveOptions, seedTableKey, type MarketplaceOptions, type ProgressFn, type TableChunk } from './generate-marketplace.js';

export interface SeedSummary {
  rows: Record<string, number>;
  eventRows: number;
  ms: number;
}

/** Rows per transaction: large enough that commits (fsyncs on MySQL) are not the cost. */
const ROWS_PER_TRANSACTION = 20_000;

export async function seedMarketplace(db: Db, options: MarketplaceOptions, onProgress?: ProgressFn): Promise<SeedSummary> {
  const started = performance.now();
  const o = resolveOptions(options);
  const chunks = generateMarketplace(o, onProgress);
  const rows: Record<string, number> = {};
  let eventRows = 0;
  const write = async (tx: Tx, { table, rows: batch }: TableChunk) => {
    if (isEventTable(table)) await insertNewRows(tx, table, seedTableKey(table), batch);
    else await upsertRows(tx, table, seedTableKey(table), batch, 'updated_at');
  };
  const restore = await widenSqliteCache(db);
  try {
    let next: IteratorResult<TableChunk> = chunks.next();
    while (!next.done) {
      await db.transaction().execute(async (tx) => {
        let written = 0;
        let inFlight: Promise<void> = Promise.resolve();
        while (!next.done && written < ROWS_PER_TRANSACTION) {
          // One chunk in flight while the next is generated: on MySQL the server inserts while
          // this thread builds SQL. The connection runs its queries in order, so FK order holds.
          const chunk = next.value;
          const current = write(tx, chunk);
          current.catch(() => {}); // surfaced by the await below or after the loop
          await inFlight;
          inFlight = current;
          rows[chunk.table] = (rows[chunk.table] ?? 0) + chunk.rows.length;
          if (isEventTable(chunk.table)) eventRows += chunk.rows.length;
          written += chunk.rows.length;
          next = chunks.next();
        }
        await inFlight;
      });
    }
  } finally {
    await restore();
  }
  return { rows, eventRows, ms: Math.round(performance.now() - started) };
}

/**
 * SQLite's default page cache (2 MB) thrashes on the random-order indexes of a large seed; a
 * 256 MB cache for the duration is worth ~15%. Returns the function that puts it back.
 */
async function widenSqliteCache(db: Db): Promise<() => Promise<void>> {
  if (isMysql(db as unknown as Kysely<unknown>)) return async () => {};
  const { rows } = await sql<{ cache_size: number }>`pragma cache_size`.execute(db);
  const before = Number(rows[0]?.cache_size ?? -2000);
  await sql.raw('pragma cache_size = -262144').execute(db);
  return async () => { await sql.raw(`pragma cache_size = ${before}`).execute(db); };
}

/** True when the database holds no providers yet (the demo seed runs only then). */
export async function marketplaceIsEmpty(db: Db): Promise<boolean> {
  const { rows } = await sql`select 1 from provider limit 1`.execute(db);
  return rows.length === 0;
}
