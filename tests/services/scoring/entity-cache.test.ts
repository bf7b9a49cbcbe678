// The ranking path's cache of online-store reads, over the real stores (database on SQLite and
// MySQL, Redis): hits skip the store, misses of several sets go in one call, a cached value is
// reused for at most its TTL window, a feature that expires while cached is reported expired at
// once (never served), concurrent misses share one read, and the bound on entries holds.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeatureSetRef } from '../../../pipelines/features/feature-set.js';
import { createOnlineStore } from '../../../pipelines/features/store/create-online-store.js';
import type { OnlineStore } from '../../../pipelines/features/store/feature-store.types.js';
import type { Dialect } from '../../../platform/db/database.js';
import { createEntityCache } from '../../../services/scoring/entity-cache.js';
import { REDIS_URL, useTestEnv } from '../../helpers/test-env.js';

const T0 = Date.UTC(2026, 10, 1);
const MINUTE = 60_000;
const profile: FeatureSetRef = { name: 'cache_profile', version: 1, features: [{ name: 'rate', ttlMs: 10 * MINUTE }, { name: 'country', ttlMs: null }] };
const activity: FeatureSetRef = { name: 'cache_activity', version: 1, features: [{ name: 'hours', ttlMs: null }] };

/** The store, counting the entities each readMany asks for. */
function counting(store: OnlineStore): OnlineStore & { asked: number[] } {
  const asked: number[] = [];
  return Object.assign(Object.create(store) as OnlineStore, {
    asked,
    readMany: (reqs: Parameters<OnlineStore['readMany']>[0], now?: number) => {
      asked.push(reqs.reduce((n, r) => n + r.entityKeys.length, 0));
      return store.readMany(reqs, now);
    },
  });
}

const TARGETS: { label: string; dialect: Dialect; redis: boolean }[] = [
  { label: 'database on sqlite', dialect: 'sqlite', redis: false },
  { label: 'database on mysql', dialect: 'mysql', redis: false },
  { label: 'redis', dialect: 'sqlite', redis: true },
];

describe.each(TARGETS)('entity cache over the online store: $label', (target) => {
  const env = useTestEnv({ dialect: target.dialect });
  let redis: Redis | null = null;
  let store: OnlineStore;

  beforeAll(async () => {
    if (target.redis) redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    store = createOnlineStore({ db: env.db.db, redis, prefix: env.redisPrefix });
    await store.write([
      { featureSet: profile.name, version: 1, entityKey: 'p1', eventAt: T0, values: { rate: 4000, country: 'DE' } },
      { featureSet: profile.name, version: 1, entityKey: 'p2', eventAt: T0 - 9 * MINUTE, values: { rate: 5000, country: 'PL' } },
      { featureSet: activity.name, version: 1, entityKey: 'p1', eventAt: T0, values: { hours: 3 } },
    ], T0);
  });
  afterAll(async () => { await redis?.quit(); });

  it('answers as the store does, and serves repeats from memory with the misses in one call', async () => {
    const online = counting(store);
    const cache = createEntityCache({ ttlMs: 1_000, maxEntries: 100 });
    const reqs = [{ set: profile, entityKeys: ['p1', 'p2', 'nobody'] }, { set: activity, entityKeys: ['p1', 'p2'] }];
    const direct = await store.readMany(reqs, T0 + 100);
    expect(await cache.readMany(online, reqs, T0 + 100)).toEqual(direct);
    expect(online.asked).toEqual([5]);
    expect(await cache.readMany(online, reqs, T0 + 600)).toEqual(direct);
    expect(online.asked).toEqual([5]); // all hits, unknown entities included
    // A new entity among cached ones: only it is read.
    await cache.readMany(online, [{ set: profile, entityKeys: ['p1', 'p3'] }], T0 + 700);
    expect(online.asked).toEqual([5, 1]);
    expect(cache.size).toBe(6);
  });

  it('reads again once the reuse window has passed', async () => {
    const online = counting(store);
    const cache = createEntityCache({ ttlMs: 1_000, maxEntries: 100 });
    await cache.readMany(online, [{ set: activity, entityKeys: ['p1'] }], T0);
    await cache.readMany(online, [{ set: activity, entityKeys: ['p1'] }], T0 + 1_000);
    await cache.readMany(online, [{ set: activity, entityKeys: ['p1'] }], T0 + 1_001);
    expect(online.asked).toEqual([1, 1]);
  });

  it('reports a feature expired the moment its TTL passes, even within the reuse window', async () => {
    const online = counting(store);
    const cache = createEntityCache({ ttlMs: 5 * MINUTE, maxEntries: 100 });
    // p2's rate was written 9 minutes before T0 with a 10-minute TTL: fresh until T0 + 1 min.
    const fresh = (await cache.readMany(online, [{ set: profile, entityKeys: ['p2'] }], T0))[0]![0];
    expect(fresh).toMatchObject({ values: { rate: 5000, country: 'PL' }, expired: [] });
    const still = (await cache.readMany(online, [{ set: profile, entityKeys: ['p2'] }], T0 + MINUTE))[0]![0];
    expect(still).toBe(fresh);
    const late = (await cache.readMany(online, [{ set: profile, entityKeys: ['p2'] }], T0 + MINUTE + 1))[0]![0];
    expect(late).toMatchObject({ values: { country: 'PL' }, expired: ['rate'] });
    expect(late).toEqual((await store.readMany([{ set: profile, entityKeys: ['p2'] }], T0 + MINUTE + 1))[0]![0]);
    expect(online.asked).toEqual([1, 1]);
  });

  it('keeps at most maxEntries, dropping the oldest reads', async () => {
    const online = counting(store);
    const cache = createEntityCache({ ttlMs: 1_000, maxEntries: 2 });
    await cache.readMany(online, [{ set: profile, entityKeys: ['p1', 'p2', 'p3'] }], T0);
    expect(cache.size).toBe(2);
    await cache.readMany(online, [{ set: profile, entityKeys: ['p2', 'p3'] }], T0 + 1);
    expect(online.asked).toEqual([3]);
    await cache.readMany(online, [{ set: profile, entityKeys: ['p1'] }], T0 + 2);
    expect(online.asked).toEqual([3, 1]);
  });

  it('shares one read among concurrent requests that miss the same entities, and a failure with them all', async () => {
    const online = counting(store);
    const cache = createEntityCache({ ttlMs: 1_000, maxEntries: 100 });
    const reqs = [{ set: profile, entityKeys: ['p1', 'p2'] }];
    const answers = await Promise.all([cache.readMany(online, reqs, T0), cache.readMany(online, reqs, T0 + 1), cache.readMany(online, [{ set: profile, entityKeys: ['p2', 'p3'] }], T0 + 2)]);
    expect(online.asked).toEqual([2, 1]); // p1 and p2 once; only p3 in the third request's own read
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]![0]![0]).toBe(answers[0]![0]![1]);

    let fail = true;
    const flaky = Object.assign(Object.create(store) as OnlineStore, {
      readMany: async (r: Parameters<OnlineStore['readMany']>[0], now?: number) => {
        if (fail) { fail = false; throw new Error('store away'); }
        return store.readMany(r, now);
      },
    });
    const fresh = createEntityCache({ ttlMs: 1_000, maxEntries: 100 });
    const both = await Promise.allSettled([fresh.readMany(flaky, reqs, T0), fresh.readMany(flaky, reqs, T0)]);
    expect(both.map((x) => x.status)).toEqual(['rejected', 'rejected']);
    expect(fresh.size).toBe(0);
    expect((await fresh.readMany(flaky, reqs, T0))[0]![0]).toMatchObject({ found: true, values: { rate: 4000 } });
  });

  it('is a pass-through at 0', async () => {
    const online = counting(store);
    const cache = createEntityCache({ ttlMs: 0, maxEntries: 100 });
    for (let i = 0; i < 3; i++) await cache.readMany(online, [{ set: profile, entityKeys: ['p1'] }], T0 + i);
    expect(online.asked).toEqual([1, 1, 1]);
    expect(cache.size).toBe(0);
  });
});
