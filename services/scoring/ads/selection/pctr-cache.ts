// Predicted CTRs of creatives per context bucket, so a selection scores only what the bucket has
// not scored yet. A bucket is everything an ads row reads besides the creative: placement, device,
// UTC hour (hour of day, day of week) and the visitor's own inputs when the model reads them (see
// adsVisitorInputs), so a cached pCTR equals a fresh one on the same stored features. Stored
// features move (stream-updated CTR windows), hence a short TTL per bucket. Buckets hang off the
// LoadedModel object: a hot swap or another alias (experiments) never reads the old model's pCTRs.
import type { LoadedModel } from '../../model-store.js';

export interface PctrCacheOptions {
  now: () => number;
  /** How long a bucket's pCTRs are reused (default 5 s). */
  ttlMs?: number;
  /** Buckets held per model before all are dropped (default 5,000: visitors with features of their own each make one). */
  maxBuckets?: number;
}

interface Bucket { until: number; scores: Map<string, number>; pending: Map<string, Promise<void>> }

export type PctrCache = ReturnType<typeof createPctrCache>;

export function createPctrCache(opts: PctrCacheOptions) {
  const ttl = opts.ttlMs ?? 5_000;
  const max = opts.maxBuckets ?? 5_000;
  const byModel = new WeakMap<LoadedModel, Map<string, Bucket>>();
  let hits = 0, misses = 0;

  function bucketOf(model: LoadedModel, key: string, at: number): Bucket {
    let buckets = byModel.get(model);
    if (!buckets) byModel.set(model, buckets = new Map());
    let b = buckets.get(key);
    if (!b || b.until <= at) {
      if (!b && buckets.size >= max) buckets.clear();
      buckets.set(key, b = { until: at + ttl, scores: new Map(), pending: new Map() });
    }
    return b;
  }

  return {
    /**
     * pCTR of each creative (in order) in the bucket `key`; the ones not cached are scored by
     * `score` in one batch, and concurrent requests for a creative being scored wait for that batch.
     * A NaN from `score` is not kept: it comes back as NaN (to this call and the ones waiting for it)
     * and the caller scores that one itself.
     */
    async get(model: LoadedModel, key: string, creativeIds: readonly string[], score: (ids: string[]) => Promise<ArrayLike<number>>): Promise<number[]> {
      const b = bucketOf(model, key, opts.now());
      let todo: string[] | null = null;
      let waits: Promise<void>[] | null = null;
      const out = new Array<number>(creativeIds.length);
      let unknown = 0; // entries not in the bucket yet: looked up again once scored
      for (let i = 0; i < creativeIds.length; i++) {
        const id = creativeIds[i]!;
        const v = b.scores.get(id);
        if (v !== undefined) { out[i] = v; continue; }
        unknown++;
        const p = b.pending.get(id);
        if (p) { if (!waits?.includes(p)) (waits ??= []).push(p); } else (todo ??= []).push(id);
      }
      if (todo) {
        const ids = todo;
        const p = score(ids).then((s) => { for (let i = 0; i < ids.length; i++) if (!Number.isNaN(s[i])) b.scores.set(ids[i]!, s[i]!); })
          .finally(() => { for (const id of ids) b.pending.delete(id); });
        for (const id of ids) b.pending.set(id, p);
        (waits ??= []).push(p);
        misses += ids.length;
      }
      if (waits) await Promise.all(waits);
      hits += creativeIds.length - (todo?.length ?? 0);
      if (unknown) for (let i = 0; i < creativeIds.length; i++) if (out[i] === undefined) out[i] = b.scores.get(creativeIds[i]!) ?? NaN;
      return out;
    },

    /** Creatives served from the cache and scored, since the start (for benches and metrics). */
    stats(): { hits: number; misses: number } {
      return { hits, misses };
    },
  };
}
