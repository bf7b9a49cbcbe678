// Fraud counters in the database (no Redis configured). A click is recorded in one transaction
// that first locks its key rows (sorted, so two keys never deadlock; SQLite runs one transaction
// at a time anyway), then inserts its hits and counts the windows: one key's clicks are counted
// one after the other, as the Redis script does. Duplicates: the claim table's primary key.
import { isMysql, type Db } from '../../../../platform/db/database.js';
import { claimImpressionRow, countHits, insertHit, ipCounts, lockVelocityKeys, pruneFraudState, recentHits } from './fraud.repository.js';
import type { FraudCounters } from './fraud.types.js';
import { HOUR, KEEP_MS, MINUTE, RECENT } from './redis-fraud-counters.js';

const MYSQL_LOCK_CONFLICTS = new Set([1205, 1213]); // lock wait timeout, deadlock: retry
const TRIES = 8;

const retryable = (err: unknown) => {
  const errno = (err as { errno?: unknown }).errno;
  return typeof errno === 'number' && MYSQL_LOCK_CONFLICTS.has(errno);
};

export function createDbFraudCounters(deps: { db: Db }): FraudCounters {
  const { db } = deps;
  const mysql = isMysql(db as never);

  return {
    kind: 'database',
    async claimImpression(impressionId, clickId, at, expiresAt) {
      const winner = await claimImpressionRow(db, impressionId, clickId, at, expiresAt);
      return { first: winner === clickId, firstClickId: winner };
    },
    async recordClick(keys, clickId, at) {
      if (keys.length === 0) return [];
      const order = keys.map((k, i) => ({ ...k, i })).sort((a, b) => (a.kind === b.kind ? (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) : a.kind < b.kind ? -1 : 1));
      for (let attempt = 1; ; attempt++) {
        try {
          const run = mysql ? db.transaction().setIsolationLevel('read committed') : db.transaction();
          return await run.execute(async (tx) => {
            await lockVelocityKeys(tx, order, at);
            const out = new Array<{ minute: number; hour: number; recent: number[] }>(keys.length);
            for (const k of order) {
              await insertHit(tx, k.kind, k.key, clickId, at, at - KEEP_MS);
              const c = await countHits(tx, k.kind, k.key, at, at - MINUTE, at - HOUR);
              out[k.i] = { ...c, recent: await recentHits(tx, k.kind, k.key, at, RECENT) };
            }
            return out;
          });
        } catch (err) {
          if (attempt >= TRIES || !retryable(err)) throw err;
          await new Promise((r) => setTimeout(r, attempt * 5 * Math.random()));
        }
      }
    },
    async ipPopulation(bucket) {
      return { bucket, counts: await ipCounts(db, bucket * HOUR, (bucket + 1) * HOUR) };
    },
    async prune(now) {
      await pruneFraudState(db, now - KEEP_MS, now);
    },
  };
}

