// A short in-process cache of online-store reads for the ranking path: a ranking of 200 reads the
// same few thousand providers over and over, and the MGET of 400 values plus their decoding was
// the largest part of a ranking's time. Entries are the store's own resolved answers, kept while
// they are exact: at most `ttlMs` after they were read (how stale a cached value may be against
// the store), and never past the moment one of their fresh features would expire, so an expired
// feature is still reported expired at the time it expires, not served. 0 disables it.
import type { FeatureSetRef } from '../../pipelines/features/feature-set.js';
import type { OnlineFeatures, OnlineStore } from '../../pipelines/features/store/feature-store.types.js';

export interface EntityCacheOptions {
  /** How long a read value is reused (ms): the most a served value lags the store. */
  ttlMs: number;
  /** Bound on cached entities; the oldest go first. */
  maxEntries: number;
}

interface Entry { value: OnlineFeatures; until: number }

export interface EntityCache {
  /** online.readMany with hits served from memory; the misses go to the store in one round trip. */
  readMany(online: OnlineStore, requests: readonly { set: FeatureSetRef; entityKeys: readonly string[] }[], now: number): Promise<OnlineFeatures[][]>;
  readonly size: number;
  clear(): void;
}

/** Until when `o` (read at `now`) resolves the same: the earliest expiry of a feature it serves as fresh. */
function exactUntil(set: FeatureSetRef, o: OnlineFeatures, now: number, ttlMs: number): number {
  let until = now + ttlMs;
  if (!o.found || o.eventAt === null) return until;
  for (const f of set.features) {
    if (f.ttlMs !== null && Object.hasOwn(o.values, f.name)) until = Math.min(until, o.eventAt + f.ttlMs);
  }
  return until;
}

/** The values handed out are shared between requests: callers read them, never change them. */
export function createEntityCache(opts: EntityCacheOptions): EntityCache {
  const entries = new Map<string, Entry>();
  const inFlight = new Map<string, { now: number; value: Promise<OnlineFeatures> }>();
  const keyPrefix = new WeakMap<FeatureSetRef, string>();
  const prefixOf = (set: FeatureSetRef) => {
    let p = keyPrefix.get(set);
    if (p === undefined) keyPrefix.set(set, p = `${set.name}\u0000${set.version}\u0000`);
    return p;
  };

  return {
    async readMany(online, requests, now) {
      if (opts.ttlMs <= 0) return online.readMany(requests, now);
      const out: OnlineFeatures[][] = requests.map((r) => new Array<OnlineFeatures>(r.entityKeys.length));
      const missed: { set: FeatureSetRef; entityKeys: string[]; at: number[] }[] = [];
      const waits: Promise<void>[] = [];
      requests.forEach(({ set, entityKeys }, r) => {
        const head = prefixOf(set);
        let miss: (typeof missed)[number] | null = null;
        for (let i = 0; i < entityKeys.length; i++) {
          const key = head + entityKeys[i]!;
          const e = entries.get(key);
          // `now` past `until` means a fresh feature may have expired since: read it again.
          if (e && now <= e.until) { out[r]![i] = e.value; continue; }
          // Another request is reading it right now (50 connections miss together when an entry
          // ages out): share that read.
          const pending = inFlight.get(key);
          if (pending) {
            waits.push(pending.value.then(async (v) => {
              // Exact at this request's `now` too, unless a feature expired in between: then its own read.
              out[r]![i] = now <= exactUntil(set, v, pending.now, opts.ttlMs) ? v : (await online.readMany([{ set, entityKeys: [entityKeys[i]!] }], now))[0]![0]!;
            }));
            continue;
          }
          if (!miss) missed.push(miss = { set, entityKeys: [], at: [] });
          miss.entityKeys.push(entityKeys[i]!);
          miss.at.push(r, i);
        }
      });
      if (missed.length === 0) {
        if (waits.length) await Promise.all(waits);
        return out;
      }
      const reading = online.readMany(missed, now);
      const mine: string[] = [];
      missed.forEach((m, k) => {
        const head = prefixOf(m.set);
        m.entityKeys.forEach((id, j) => {
          const key = head + id;
          mine.push(key);
          const value = reading.then((read) => read[k]![j]!);
          value.catch(() => { /* the reader and every waiter get the failure; nobody else */ });
          inFlight.set(key, { now, value });
        });
      });
      let read: OnlineFeatures[][];
      try {
        read = await reading;
      } finally {
        for (const key of mine) inFlight.delete(key);
      }
      missed.forEach((m, k) => {
        const head = prefixOf(m.set);
        for (let j = 0; j < m.entityKeys.length; j++) {
          const value = read[k]![j]!;
          out[m.at[2 * j]!]![m.at[2 * j + 1]!] = value;
          const key = head + m.entityKeys[j]!;
          entries.delete(key); // re-inserted last: the oldest reads are the first to go
          entries.set(key, { value, until: exactUntil(m.set, value, now, opts.ttlMs) });
        }
      });
      if (entries.size > opts.maxEntries) {
        let drop = entries.size - opts.maxEntries;
        for (const key of entries.keys()) { if (drop-- <= 0) break; entries.delete(key); }
      }
      if (waits.length) await Promise.all(waits);
      return out;
    },
    get size() { return entries.size; },
    clear() { entries.clear(); },
  };
}
