// Window counters in the database (no Redis configured): one transaction per batch claims the
// event ids in feature_stream_receipt and writes the counters of the claimed events only, so a
// job that runs twice counts nothing twice. On MySQL the entity rows are locked first (sorted),
// which serialises batches touching the same entity, and the transaction reads committed data,
// so the click-gap reads see what the batch before it wrote.
import type { Db } from '../../../platform/db/database.js';
import { ClaimRaceError } from '../../events/events.repository.js';
import { isMysql } from '../../../platform/db/database.js';
import {
  claimStreamEvents, forgetStreamReceipts, insertClicks, raiseLatest, readClicks, readCounters, readLatest, trimEntity, upsertCounters,
  type ClickRow, type CounterRow,
} from './stream-counters.repository.js';
import {
  bucketExpiresAt, bucketLive, bucketOf, CLICK_KEEP_MS, entitiesOf, MAX_CLICK_GAP_MS, SEEN_TTL_MS,
  windowsOf, type CounterField, type CounterKind, type EntityCounters, type StreamEvent, type WindowCounterStore,
} from './window-counters.js';

const MYSQL_LOCK_CONFLICTS = new Set([1205, 1213]); // lock wait timeout, deadlock: retry
const TRIES = 5;
const MINUTE = 60_000;

function retryable(err: unknown): boolean {
  const errno = (err as { errno?: unknown }).errno;
  return err instanceof ClaimRaceError || (typeof errno === 'number' && MYSQL_LOCK_CONFLICTS.has(errno));
}

export function createDbWindowCounters(deps: { db: Db; now?: () => number }): WindowCounterStore {
  const now = deps.now ?? Date.now;

  async function countOnce(events: readonly StreamEvent[]): Promise<number> {
    const run = isMysql(deps.db as never) ? deps.db.transaction().setIsolationLevel('read committed') : deps.db.transaction();
    return run.execute(async (tx) => {
      const claimed = await claimStreamEvents(tx, events.map((e) => e.id), now());
      const fresh = events.filter((e) => claimed.delete(e.id)); // delete: a repeat within the batch counts once
      if (fresh.length === 0) return 0;

      // Latest event time per entity: the stored one, raised by this batch. Entities sorted: lock order.
      const entities = entitiesOf(fresh).sort((a, b) => (a.kind === b.kind ? (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) : a.kind < b.kind ? -1 : 1));
      const before = await readLatest(tx, entities, true);
      const latest = new Map(before);
      for (const e of fresh) for (const u of e.updates) {
        const id = `${u.kind}:${u.key}`;
        if ((latest.get(id) ?? -1) < e.at) latest.set(id, e.at);
      }
      await raiseLatest(tx, entities.map((r) => ({ ...r, latest: latest.get(`${r.kind}:${r.key}`)! })));

      // Sums, aggregated per bucket; an event older than every window at the entity's latest time adds nothing.
      const sums = new Map<string, CounterRow>();
      const clicks = new Map<string, { kind: CounterKind; key: string; rows: ClickRow[] }>();
      for (const e of fresh) for (const u of e.updates) {
        const id = `${u.kind}:${u.key}`;
        const l = latest.get(id)!;
        for (const field of u.incs) {
          const bucket = bucketOf(e.at, field);
          if (!bucketLive(bucket, field, l)) continue;
          const k = `${id}\u0000${field}\u0000${bucket}`;
          const row = sums.get(k);
          if (row) row.n++;
          else sums.set(k, { kind: u.kind, key: u.key, field, bucket, n: 1, expiresAt: bucketExpiresAt(bucket, field) });
        }
        if (u.click && e.at > l - CLICK_KEEP_MS) {
          let c = clicks.get(id);
          if (!c) clicks.set(id, (c = { kind: u.kind, key: u.key, rows: [] }));
          c.rows.push({ id: e.id, at: e.at });
        }
      }
      await upsertCounters(tx, [...sums.values()], false);

      // Gaps: each new consecutive pair of click times (with the stored ones around them) sets the
      // minimum of the later click's minute; the same pairs whatever order the clicks came in.
      const gaps = new Map<string, CounterRow>();
      for (const [id, c] of clicks) {
        const from = Math.min(...c.rows.map((r) => r.at)) - MAX_CLICK_GAP_MS;
        const to = Math.max(...c.rows.map((r) => r.at)) + MAX_CLICK_GAP_MS;
        const stored = await readClicks(tx, c.kind, c.key, from, to);
        const fresh = new Set(c.rows.map((r) => r.id));
        const all = [...stored.filter((r) => !fresh.has(r.id)), ...c.rows].sort((a, b) => a.at - b.at);
        for (let i = 1; i < all.length; i++) {
          const [a, b] = [all[i - 1]!, all[i]!];
          if (!fresh.has(a.id) && !fresh.has(b.id)) continue;
          const gap = b.at - a.at;
          if (gap > MAX_CLICK_GAP_MS) continue;
          const bucket = bucketOf(b.at, 'gap@m');
          const k = `${id}\u0000${bucket}`;
          const row = gaps.get(k);
          if (row) row.n = Math.min(row.n, gap);
          else gaps.set(k, { kind: c.kind, key: c.key, field: 'gap@m', bucket, n: gap, expiresAt: bucketExpiresAt(bucket, 'gap@m') });
        }
        await insertClicks(tx, c.kind, c.key, c.rows);
      }
      await upsertCounters(tx, [...gaps.values()], true);

      // Trim an entity when its latest time entered a new minute (a bucket can only expire then).
      for (const r of entities) {
        const id = `${r.kind}:${r.key}`;
        const was = before.get(id);
        const l = latest.get(id)!;
        if (was !== undefined && Math.floor(l / MINUTE) > Math.floor(was / MINUTE)) await trimEntity(tx, r.kind, r.key, l, l - CLICK_KEEP_MS + 1);
      }
      await forgetStreamReceipts(tx, now() - SEEN_TTL_MS);
      return fresh.length;
    });
  }

  async function count(events: readonly StreamEvent[]): Promise<{ counted: number }> {
    const todo = events.filter((e) => e.updates.length > 0);
    if (todo.length === 0) return { counted: 0 };
    for (let attempt = 1; ; attempt++) {
      try {
        return { counted: await countOnce(todo) };
      } catch (err) {
        if (attempt < TRIES && retryable(err)) continue;
        throw err;
      }
    }
  }

  const store: WindowCounterStore = {
    kind: 'database',
    count,
    async countAndRead(events) {
      const { counted } = await count(events);
      const read = await store.read(entitiesOf(events));
      return { counted, windows: read.filter((c) => c !== null).map(windowsOf) };
    },
    async read(entities) {
      if (entities.length === 0) return [];
      const latest = await readLatest(deps.db, entities);
      const rows = await readCounters(deps.db, entities);
      const byEntity = new Map<string, EntityCounters>();
      for (const r of entities) {
        const l = latest.get(`${r.kind}:${r.key}`);
        if (l !== undefined) byEntity.set(`${r.kind}:${r.key}`, { kind: r.kind, key: r.key, latest: l, buckets: new Map() });
      }
      for (const row of rows) {
        const c = byEntity.get(`${row.kind}:${row.key}`);
        if (!c) continue;
        let m = c.buckets.get(row.field as CounterField);
        if (!m) c.buckets.set(row.field as CounterField, (m = new Map()));
        m.set(row.bucket, row.n);
      }
      return entities.map((r) => byEntity.get(`${r.kind}:${r.key}`) ?? null);
    },
  };
  return store;
}
