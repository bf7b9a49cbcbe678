// The online store on every backend (database on SQLite and MySQL, Redis): latest event time wins,
// TTL enforced per feature on read, 500 entities in one call and in order, exact values, bad input;
// on Redis also the value formats (binary array, binary object, the first JSON one) side by side.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeatureSetRef, FeatureValues } from '../../../pipelines/features/feature-set.js';
import { createOnlineStore } from '../../../pipelines/features/store/create-online-store.js';
import { createDbOnlineStore } from '../../../pipelines/features/store/db-online-store.js';
import type { FeatureRow, OnlineStore } from '../../../pipelines/features/store/feature-store.types.js';
import { BINARY_MARKER, featureListFingerprint } from '../../../pipelines/features/store/online-record-codec.js';
import { createRedisOnlineStore } from '../../../pipelines/features/store/redis-online-store.js';
import { createDatabase } from '../../../platform/db/database.js';
import type { Dialect } from '../../../platform/db/database.js';
import { ServiceUnavailableError, ValidationError } from '../../../platform/errors/app-error.js';
import { REDIS_URL, useTestEnv } from '../../helpers/test-env.js';

const T0 = Date.UTC(2026, 10, 1);
const HOUR = 3_600_000;

/** A set with one feature per TTL kind; `name` keeps each test's rows apart. */
const setOf = (name: string, features: FeatureSetRef['features'] = [
  { name: 'ctr_1h', ttlMs: HOUR }, { name: 'ctr_7d', ttlMs: 7 * 24 * HOUR }, { name: 'country', ttlMs: null },
]): FeatureSetRef => ({ name, version: 1, features });
const row = (set: FeatureSetRef, entityKey: string, eventAt: number, values: FeatureValues): FeatureRow =>
  ({ featureSet: set.name, version: set.version, entityKey, eventAt, values });

interface Target { label: string; dialect: Dialect; redis: boolean }
const TARGETS: Target[] = [
  { label: 'database on sqlite', dialect: 'sqlite', redis: false },
  { label: 'database on mysql', dialect: 'mysql', redis: false },
  { label: 'redis', dialect: 'sqlite', redis: true },
];

describe.each(TARGETS)('online store: $label', (target) => {
  const env = useTestEnv({ dialect: target.dialect }); // its afterAll deletes this file's Redis keys
  let redis: Redis | null = null;
  let store: OnlineStore;

  beforeAll(async () => {
    if (target.redis) redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    store = createOnlineStore({ db: env.db.db, redis, prefix: env.redisPrefix });
  });
  afterAll(async () => { await redis?.quit(); });

  it('is the backend asked for and answers ping', async () => {
    expect(store.kind).toBe(target.redis ? 'redis' : 'database');
    await expect(store.ping()).resolves.toBeUndefined();
  });

  it('reads back what it wrote, with event and created time', async () => {
    const set = setOf('roundtrip');
    const res = await store.write([
      row(set, 'prov_1', T0, { ctr_1h: 0.25, ctr_7d: 0.5, country: 'DE' }),
      row(set, 'prov_2', T0 + 1, { ctr_1h: 0.1, ctr_7d: 0.2, country: 'PL' }),
    ], T0 + 10);
    expect(res).toEqual({ written: 2, stale: 0 });
    const [a, b] = await store.read(set, ['prov_1', 'prov_2'], T0 + 20);
    expect(a).toEqual({ entityKey: 'prov_1', found: true, eventAt: T0, createdAt: T0 + 10, values: { ctr_1h: 0.25, ctr_7d: 0.5, country: 'DE' }, expired: [], missing: [] });
    expect(b).toMatchObject({ entityKey: 'prov_2', found: true, eventAt: T0 + 1, values: { ctr_1h: 0.1, ctr_7d: 0.2, country: 'PL' } });
    // Another version of the same set is another row.
    expect((await store.read({ ...set, version: 2 }, ['prov_1'], T0))[0]!.found).toBe(false);
  });

  it('never lets an older event overwrite a newer value, across calls', async () => {
    const set = setOf('older_across');
    expect(await store.write([row(set, 'e', T0 + 200, { country: 'new' })], T0)).toEqual({ written: 1, stale: 0 });
    expect(await store.write([row(set, 'e', T0 + 100, { country: 'old' })], T0 + 1)).toEqual({ written: 0, stale: 1 });
    const [r] = await store.read(set, ['e'], T0 + 200);
    expect(r).toMatchObject({ eventAt: T0 + 200, createdAt: T0, values: { country: 'new' } });
  });

  it.each([['old then new', [100, 200]], ['new then old', [200, 100]]] as const)(
    'never lets an older event win within one call (%s)', async (_label, times) => {
      const set = setOf(`older_within_${times[0]}`);
      const res = await store.write(times.map((t) => row(set, 'e', T0 + t, { country: `at ${t}` })), T0);
      expect(res).toEqual({ written: 1, stale: 1 }); // the row that lost to a later one of the same call is stale
      expect((await store.read(set, ['e'], T0 + 200))[0]).toMatchObject({ eventAt: T0 + 200, values: { country: 'at 200' } });
    });

  it('lets an equal event time replace the value (a re-run can correct itself)', async () => {
    const set = setOf('equal_time');
    await store.write([row(set, 'e', T0, { country: 'first' })], T0);
    expect(await store.write([row(set, 'e', T0, { country: 'second' })], T0 + 5)).toEqual({ written: 1, stale: 0 });
    expect((await store.read(set, ['e'], T0))[0]).toMatchObject({ createdAt: T0 + 5, values: { country: 'second' } });
    // Within one call the last of equals wins.
    expect(await store.write([row(set, 'e', T0, { country: 'third' }), row(set, 'e', T0, { country: 'fourth' })], T0 + 6)).toEqual({ written: 1, stale: 1 });
    expect((await store.read(set, ['e'], T0))[0]!.values).toEqual({ country: 'fourth' });
  });

  it('counts written and stale rows exactly over a batch of several chunks', async () => {
    const set = setOf('counts');
    const keys = Array.from({ length: 1_200 }, (_, i) => `k${i}`);
    expect(await store.write(keys.map((k) => row(set, k, T0 + 100, { country: 'a' })), T0)).toEqual({ written: 1_200, stale: 0 });
    // Even entities get an older event, odd ones a newer one, and 300 new entities join.
    const next = [...keys.map((k, i) => row(set, k, T0 + (i % 2 ? 150 : 50), { country: 'b' })),
      ...Array.from({ length: 300 }, (_, i) => row(set, `new${i}`, T0, { country: 'b' }))];
    expect(await store.write(next, T0 + 1)).toEqual({ written: 900, stale: 600 });
    const read = await store.read(set, ['k0', 'k1', 'new0'], T0 + 200);
    expect(read.map((r) => [r.eventAt, r.values.country])).toEqual([[T0 + 100, 'a'], [T0 + 150, 'b'], [T0, 'b']]);
  });

  it('keeps the latest under concurrent writers, and the newest writer is never stale', async () => {
    const set = setOf('concurrent');
    const keys = Array.from({ length: 300 }, (_, i) => `c${i}`);
    const results = await Promise.all([1, 2, 3, 4].map((w) => store.write(keys.map((k) => row(set, k, T0 + w, { country: `w${w}` })), T0)));
    expect(results[3]).toEqual({ written: 300, stale: 0 });
    for (const r of results) expect(r.written + r.stale).toBe(300);
    const read = await store.read(set, keys, T0);
    expect(new Set(read.map((r) => r.values.country))).toEqual(new Set(['w4']));
  });

  it('enforces each feature\'s TTL at read time: expired values are reported, not returned', async () => {
    const set = setOf('ttl');
    await store.write([row(set, 'e', T0, { ctr_1h: 0.3, ctr_7d: 0.4, country: 'DE' })], T0);
    const at = async (now: number) => (await store.read(set, ['e'], now))[0]!;
    expect(await at(T0 + HOUR)).toMatchObject({ values: { ctr_1h: 0.3, ctr_7d: 0.4, country: 'DE' }, expired: [] }); // exactly the TTL: still fresh
    expect(await at(T0 + HOUR + 1)).toMatchObject({ found: true, values: { ctr_7d: 0.4, country: 'DE' }, expired: ['ctr_1h'], missing: [] });
    const years = await at(T0 + 10 * 365 * 24 * HOUR);
    expect(years).toMatchObject({ found: true, eventAt: T0, values: { country: 'DE' }, expired: ['ctr_1h', 'ctr_7d'] }); // ttlMs null never expires
    expect(years.values).not.toHaveProperty('ctr_1h');
  });

  it('reports unknown entities as not found and absent features as missing', async () => {
    const set = setOf('missing');
    await store.write([row(set, 'partial', T0, { ctr_1h: 0.5, retired_feature: 1 })], T0);
    const [nobody, partial] = await store.read(set, ['nobody', 'partial'], T0);
    expect(nobody).toEqual({ entityKey: 'nobody', found: false, eventAt: null, createdAt: null, values: {}, expired: [], missing: ['ctr_1h', 'ctr_7d', 'country'] });
    expect(partial).toMatchObject({ found: true, values: { ctr_1h: 0.5 }, expired: [], missing: ['ctr_7d', 'country'] });
    expect(await store.read(set, [], T0)).toEqual([]);
  });

  it('reads 500 entities in one call, in the order asked, found or not', async () => {
    const set = setOf('five_hundred');
    await store.write(Array.from({ length: 600 }, (_, i) => row(set, `p${i}`, T0 + i, { country: `c${i}` })), T0);
    // A shuffled mix of known and unknown keys, one repeated.
    const keys = Array.from({ length: 499 }, (_, i) => ((i * 7919) % 700)).map((n) => `p${n}`);
    keys.push(keys[10]!);
    const read = await store.read(set, keys, T0);
    expect(read).toHaveLength(500);
    read.forEach((r, i) => {
      const n = Number(keys[i]!.slice(1));
      expect(r.entityKey).toBe(keys[i]);
      if (n < 600) expect(r).toMatchObject({ found: true, eventAt: T0 + n, values: { country: `c${n}` } });
      else expect(r.found).toBe(false);
    });
  });

  it('keeps the value of every feature type exactly', async () => {
    const values: FeatureValues = {
      f_float: 0.1 + 0.2, f_tiny: 5e-324, f_huge: Number.MAX_VALUE, f_neg: -123.456e10, f_third: 1 / 3,
      f_int: Number.MAX_SAFE_INTEGER, f_negint: -42, f_zero: 0,
      f_true: true, f_false: false, f_null: null,
      f_string: 'Zürich — 東京 🚀 "quoted" \\ back\nslash', f_empty: '',
      f_strings: ['a', 'ü', '🙂', ''], f_floats: [0.1, -2.5e-8, 3, 1 / 7], f_emptylist: [],
    };
    const set = setOf('types', Object.keys(values).map((name) => ({ name, ttlMs: null })));
    await store.write([row(set, 'ключ-🙂', T0, values)], T0);
    const [r] = await store.read(set, ['ключ-🙂'], T0);
    expect(r!.values).toEqual(values);
    expect(Object.is((r!.values.f_float as number), 0.1 + 0.2)).toBe(true);
  });

  it('accepts an entity key of 191 characters, even 4-byte ones', async () => {
    const set = setOf('long_key');
    const key = '🙂'.repeat(191);
    await store.write([row(set, key, T0, { country: 'X' })], T0);
    expect((await store.read(set, [key], T0))[0]).toMatchObject({ found: true, values: { country: 'X' } });
  });

  it('refuses bad input with a ValidationError naming the field, and writes nothing of that call', async () => {
    const set = setOf('bad_input');
    const problems = async (p: Promise<unknown>) => {
      const err = await p.then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      return (err as ValidationError).problems.map((x) => x.path);
    };
    expect(await problems(store.write([row(set, 'ok', T0, { country: 'x' }), row(set, '', T0, { country: 'x' })], T0))).toEqual(['/rows/1/entityKey']);
    expect(await problems(store.write([row(set, 'k'.repeat(192), T0, { country: 'x' })], T0))).toEqual(['/rows/0/entityKey']);
    expect(await problems(store.write([row(set, 'ok', T0, { ctr_1h: Number.NaN, country: [1, 'a'] as never })], T0)))
      .toEqual(['/rows/0/values/ctr_1h', '/rows/0/values/country']);
    expect(await problems(store.write([{ ...row(set, 'ok', T0, {}), eventAt: 1.5 }], T0))).toEqual(['/rows/0/eventAt']);
    expect(await problems(store.read(set, ['ok', ''], T0))).toEqual(['/entityKeys/1']);
    expect(await problems(store.read(set, ['x'.repeat(192)], T0))).toEqual(['/entityKeys/0']);
    expect(await problems(store.read({ ...set, name: 'a:b' }, ['ok'], T0))).toEqual(['/set/name']);
    expect((await store.read(set, ['ok'], T0))[0]!.found).toBe(false);
  });
});

describe('online store: redis key expiry', () => {
  const env = useTestEnv({ dialect: 'sqlite', migrate: false });
  let redis: Redis;
  beforeAll(() => { redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 }); });
  afterAll(async () => { await redis.quit(); });

  it('expires a key after its longest TTL plus the margin, and never when a feature does not expire', async () => {
    const set = setOf('expiry');
    const store = createRedisOnlineStore({ redis, prefix: env.redisPrefix, sets: [set], expiryMarginMs: 60_000 });
    const now = Date.now();
    await store.write([
      row(set, 'short', now, { ctr_1h: 0.1 }),
      row(set, 'week', now - HOUR, { ctr_1h: 0.1, ctr_7d: 0.2 }),
      row(set, 'forever', now, { ctr_1h: 0.1, country: 'DE' }),
      row(set, 'unknown', now, { something_else: 1 }),
    ], now);
    const pttl = (k: string) => redis.pttl(`${env.redisPrefix}:fo:expiry:1:${k}`);
    const short = await pttl('short');
    expect(short).toBeGreaterThan(HOUR + 60_000 - 30_000); // PX is computed from `now`; allow for a slow box
    expect(short).toBeLessThanOrEqual(HOUR + 60_000);
    const week = await pttl('week');
    expect(week).toBeGreaterThan(7 * 24 * HOUR - HOUR + 60_000 - 30_000);
    expect(week).toBeLessThanOrEqual(7 * 24 * HOUR - HOUR + 60_000);
    expect(await pttl('forever')).toBe(-1);
    expect(await pttl('unknown')).toBe(-1);
    // A newer row without a TTL lifts the expiry.
    await store.write([row(set, 'short', now + 1, { country: 'PL' })], now);
    expect(await pttl('short')).toBe(-1);
  });
});

describe('online store: ping when the backend is down', () => {
  it('maps an unreachable Redis to ServiceUnavailableError', async () => {
    const dead = new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    dead.on('error', () => {});
    const handle = createDatabase({ url: 'sqlite::memory:' });
    try {
      await expect(createOnlineStore({ db: handle.db, redis: dead, prefix: 'gitest:dead' }).ping()).rejects.toBeInstanceOf(ServiceUnavailableError);
    } finally {
      dead.disconnect();
      await handle.close();
    }
  });

  it('maps an unreachable database to ServiceUnavailableError', async () => {
    const handle = createDatabase({ url: 'mysql://root@127.0.0.1:1/nowhere', connectTimeoutMs: 1_000 });
    try {
      const err = await createDbOnlineStore({ db: handle.db }).ping().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ServiceUnavailableError);
      expect((err as ServiceUnavailableError).dependency).toBe('database');
    } finally {
      await handle.close();
    }
  });
});

describe('online store: redis value formats', () => {
  const env = useTestEnv({ dialect: 'sqlite', migrate: false });
  let redis: Redis;
  beforeAll(() => { redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 }); });
  afterAll(async () => { await redis.quit(); });
  const raw = async (set: FeatureSetRef, k: string) => (await redis.getBuffer(`${env.redisPrefix}:fo:${set.name}:${set.version}:${k}`))!;
  const full = { ctr_1h: 0.25, ctr_7d: 1 / 3, country: 'DE' };

  it('stores a row holding exactly its set\'s features as a binary array, smaller than JSON, and reads it back', async () => {
    const set = setOf('fmt_array');
    const store = createRedisOnlineStore({ redis, prefix: env.redisPrefix, sets: [set] });
    await store.write([row(set, 'a', T0, full)], T0 + 1);
    const value = await raw(set, 'a');
    expect(value[0]).toBe(BINARY_MARKER);
    expect(value[17]).toBe(1); // the array layout
    expect(value.length).toBeLessThan(JSON.stringify({ e: T0, c: T0 + 1, v: full }).length);
    expect((await store.read(set, ['a'], T0))[0]).toEqual({ entityKey: 'a', found: true, eventAt: T0, createdAt: T0 + 1, values: full, expired: [], missing: [] });
    // A store not told the set (another process) reads it with the set it is asked for.
    const reader = createRedisOnlineStore({ redis, prefix: env.redisPrefix });
    expect((await reader.read(set, ['a'], T0))[0]!.values).toEqual(full);
    expect((await reader.read({ ...set, features: [...set.features] }, ['a'], T0 + HOUR + 1))[0]).toMatchObject({ values: { ctr_7d: 1 / 3, country: 'DE' }, expired: ['ctr_1h'] });
  });

  it('keeps the value of every feature type exactly in the array layout', async () => {
    const values: FeatureValues = {
      f_float: 0.1 + 0.2, f_tiny: 5e-324, f_huge: Number.MAX_VALUE, f_neg: -123.456e10, f_int: Number.MAX_SAFE_INTEGER, f_negint: -Number.MAX_SAFE_INTEGER,
      f_zero: 0, f_true: true, f_false: false, f_null: null, f_string: 'Zürich — 東京 🚀 "quoted" \\ back\nslash', f_long: 'x'.repeat(70_000), f_empty: '',
      f_strings: ['a', 'ü', '🙂', ''], f_floats: [0.1, -2.5e-8, 3, 1 / 7, 2 ** 40], f_emptylist: [],
    };
    const set = setOf('fmt_types', Object.keys(values).map((name) => ({ name, ttlMs: null })));
    const store = createRedisOnlineStore({ redis, prefix: env.redisPrefix, sets: [set] });
    await store.write([row(set, 'ключ-🙂', T0, values)], T0);
    expect((await raw(set, 'ключ-🙂'))[17]).toBe(1);
    const [r] = await store.read(set, ['ключ-🙂'], T0);
    expect(r!.values).toEqual(values);
    expect(Object.keys(r!.values)).toEqual(Object.keys(values));
  });

  it('writes a row that does not hold exactly the set\'s features as an object, and reports what is missing', async () => {
    const set = setOf('fmt_object');
    const store = createRedisOnlineStore({ redis, prefix: env.redisPrefix, sets: [set] });
    await store.write([row(set, 'partial', T0, { ctr_1h: 0.5 }), row(set, 'extra', T0, { ...full, retired: 1 })], T0);
    expect((await raw(set, 'partial'))[17]).toBe(0);
    expect((await raw(set, 'extra'))[17]).toBe(0);
    const [partial, extra] = await store.read(set, ['partial', 'extra'], T0);
    expect(partial).toMatchObject({ found: true, values: { ctr_1h: 0.5 }, missing: ['ctr_7d', 'country'] });
    expect(extra).toMatchObject({ found: true, values: full, missing: [] });
    expect(extra!.values).not.toHaveProperty('retired');
  });

  it('guards an array value by its event time, and a later row of another layout replaces it', async () => {
    const set = setOf('fmt_guard');
    const store = createRedisOnlineStore({ redis, prefix: env.redisPrefix, sets: [set] });
    await store.write([row(set, 'e', T0 + 200, full)], T0);
    expect(await store.write([row(set, 'e', T0 + 199, { ...full, country: 'old' })], T0)).toEqual({ written: 0, stale: 1 });
    expect(await store.write([row(set, 'e', T0 + 200, { country: 'same time' })], T0 + 1)).toEqual({ written: 1, stale: 0 });
    expect((await store.read(set, ['e'], T0))[0]).toMatchObject({ eventAt: T0 + 200, createdAt: T0 + 1, values: { country: 'same time' } });
  });

  it('reads and guards values of the first format (JSON), and still writes it when asked', async () => {
    const set = setOf('fmt_json');
    const old = createRedisOnlineStore({ redis, prefix: env.redisPrefix, sets: [set], format: 'json' });
    await old.write([row(set, 'j1', T0 + 100, full), row(set, 'j2', T0 + 100, full)], T0);
    expect((await raw(set, 'j1')).toString()).toBe(JSON.stringify({ e: T0 + 100, c: T0, v: full }));
    // A value some earlier writer laid out with e not first: the guard decodes it.
    await redis.set(`${env.redisPrefix}:fo:${set.name}:1:j3`, JSON.stringify({ c: T0, v: { country: 'j3' }, e: T0 + 100 }));
    const store = createRedisOnlineStore({ redis, prefix: env.redisPrefix, sets: [set] });
    const read = await store.read(set, ['j1', 'j3', 'none'], T0 + 100);
    expect(read.map((r) => [r.found, r.eventAt, r.createdAt, r.values])).toEqual([[true, T0 + 100, T0, full], [true, T0 + 100, T0, { country: 'j3' }], [false, null, null, {}]]);
    expect(await store.write([row(set, 'j1', T0 + 99, full), row(set, 'j3', T0 + 99, full)], T0 + 1)).toEqual({ written: 0, stale: 2 });
    expect(await store.write([row(set, 'j2', T0 + 101, { ...full, country: 'PL' })], T0 + 1)).toEqual({ written: 1, stale: 0 });
    expect((await raw(set, 'j2'))[0]).toBe(BINARY_MARKER);
    expect((await store.read(set, ['j2'], T0 + 101))[0]!.values.country).toBe('PL');
  });

  it('reads 500 entities of mixed formats in one call, in order', async () => {
    const set = setOf('fmt_mixed');
    const stores = [
      createRedisOnlineStore({ redis, prefix: env.redisPrefix, sets: [set] }),
      createRedisOnlineStore({ redis, prefix: env.redisPrefix }),
      createRedisOnlineStore({ redis, prefix: env.redisPrefix, format: 'json' }),
    ];
    for (const [s, store] of stores.entries()) {
      await store.write(Array.from({ length: 200 }, (_, i) => i).filter((i) => i % 3 === s)
        .map((i) => row(set, `m${i}`, T0 + i, { ...full, country: `c${i}` })), T0);
    }
    const keys = Array.from({ length: 500 }, (_, i) => `m${(i * 37) % 250}`);
    const read = await stores[0]!.read(set, keys, T0);
    read.forEach((r, i) => {
      const n = (i * 37) % 250;
      expect(r.entityKey).toBe(keys[i]);
      if (n < 200) expect(r).toMatchObject({ found: true, eventAt: T0 + n, values: { ...full, country: `c${n}` }, missing: [] });
      else expect(r.found).toBe(false);
    });
  });

  it('decodes an array value written under another order of the set\'s features only where that order is known', async () => {
    const set = setOf('fmt_order');
    const reordered: FeatureSetRef = { ...set, features: [...set.features].reverse() };
    await createRedisOnlineStore({ redis, prefix: env.redisPrefix, sets: [set] }).write([row(set, 'e', T0, full)], T0);
    const knowing = createRedisOnlineStore({ redis, prefix: env.redisPrefix, sets: [set] });
    expect((await knowing.read(reordered, ['e'], T0))[0]!.values).toEqual(full);
    const stranger = createRedisOnlineStore({ redis, prefix: env.redisPrefix });
    await expect(stranger.read(reordered, ['e'], T0)).rejects.toThrow(/feature list this process does not know/);
  });

  it('fingerprints a feature list by its names in order', () => {
    expect(featureListFingerprint(['a', 'b'])).toBe(featureListFingerprint(['a', 'b']));
    expect(featureListFingerprint(['a', 'b'])).not.toBe(featureListFingerprint(['b', 'a']));
    expect(featureListFingerprint(['ab'])).not.toBe(featureListFingerprint(['a', 'b']));
  });
});
