// The online store on Redis: one string key per (set, version, entity) holding a binary value
// (online-record-codec.ts: event and created time, then the values: a msgpack array in the set's
// feature order when the store knows the set, else a JSON object). Writes go through one Lua script per chunk,
// so the event-time guard is atomic per key and a chunk costs one round trip; a read is one MGET
// of raw buffers. Values of the first format (JSON {e, c, v}) still read and are still guarded.
import type { Redis } from 'ioredis';
import { dependencyFailure, ServiceUnavailableError } from '../../../platform/errors/app-error.js';
import type { FeatureSetRef } from '../feature-set.js';
import { checkFeatureRows, checkReadInput } from './check-online-input.js';
import type { FeatureRow, OnlineFeatures, OnlineStore, OnlineWriteResult } from './feature-store.types.js';
import { BINARY_MARKER, createOnlineRecordCodec } from './online-record-codec.js';
import { latestPerEntity, resolveOnlineFeatures } from './resolve-online-features.js';

export interface RedisOnlineStoreOptions {
  redis: Redis;
  /** Key prefix (the configured redis.prefix); keys are `${prefix}:fo:${set}:${version}:${entityKey}`. */
  prefix: string;
  /**
   * The sets whose TTLs give keys an expiry. write() is not told the set, so without this no key
   * expires. With it, a row whose features all have a TTL gets PX = eventAt + the longest TTL of
   * those features + `expiryMarginMs` − now: a dead entity leaves memory on its own. A row holding
   * exactly its set's features is also stored as an array in feature order (smaller, faster to
   * read); a process reading it must be given the same set version (or read with it).
   */
  sets?: readonly FeatureSetRef[];
  /**
   * How long an expired row stays readable as `expired` before its key goes (then the entity
   * reads as not found). Default one day.
   */
  expiryMarginMs?: number;
  /** Rows per script call: bounds how long one call holds Redis (default 500). */
  chunkSize?: number;
  /**
   * What write() stores: 'binary' (default), or 'json', the first format, for a rolling deploy
   * while processes that only read JSON still serve. Reads take either.
   */
  format?: 'binary' | 'json';
}

// KEYS: one per row; ARGV: eventAt, payload, px (0: no expiry) per row. The stored event time is
// bytes 2..9 of a binary value (a big-endian double), or the number after `{"e":` of a JSON one
// (written with e first), so the guard decodes no values.
const WRITE_SCRIPT = `
local written, stale = 0, 0
for i, key in ipairs(KEYS) do
  local e = tonumber(ARGV[3 * i - 2])
  local held = redis.call('GET', key)
  local heldAt = nil
  if held then
    if string.byte(held, 1) == ${BINARY_MARKER} then
      heldAt = struct.unpack('>d', held, 2)
    else
      heldAt = tonumber(string.match(held, '^{"e":(%-?%d+),'))
      if heldAt == nil then heldAt = tonumber(cjson.decode(held).e) end
    end
  end
  if heldAt ~= nil and heldAt > e then
    stale = stale + 1
  else
    local px = tonumber(ARGV[3 * i])
    if px > 0 then
      redis.call('SET', key, ARGV[3 * i - 1], 'PX', px)
    else
      redis.call('SET', key, ARGV[3 * i - 1])
    end
    written = written + 1
  end
end
return {written, stale}
`;
const COMMAND = 'giFeatureOnlineWrite';

interface ScriptCommand { [COMMAND]?: (numKeys: number, ...args: (string | number | Buffer)[]) => Promise<[number, number]> }

export function createRedisOnlineStore(opts: RedisOnlineStoreOptions): OnlineStore {
  const { redis, prefix } = opts;
  const chunkSize = opts.chunkSize ?? 500;
  const margin = opts.expiryMarginMs ?? 86_400_000;
  const codec = createOnlineRecordCodec(opts.sets);
  const json = opts.format === 'json';
  // defineCommand runs EVALSHA and falls back to EVAL once after a script flush or a restart.
  const client = redis as unknown as Required<ScriptCommand>;
  if (typeof (redis as unknown as ScriptCommand)[COMMAND] !== 'function') redis.defineCommand(COMMAND, { lua: WRITE_SCRIPT });
  const keyOf = (set: string, version: number, entityKey: string) => `${prefix}:fo:${set}:${version}:${entityKey}`;

  // Per set version: feature → TTL (null: never expires).
  const ttls = new Map<string, Map<string, number | null>>();
  for (const s of opts.sets ?? []) ttls.set(`${s.name}\u0000${s.version}`, new Map(s.features.map((f) => [f.name, f.ttlMs])));

  /** PX for a row, or 0 when some feature never expires or its TTL is unknown. */
  function expiryOf(row: FeatureRow, now: number): number {
    const byFeature = ttls.get(`${row.featureSet}\u0000${row.version}`);
    if (!byFeature) return 0;
    let longest = -1;
    for (const name of Object.keys(row.values)) {
      const ttl = byFeature.get(name);
      if (ttl === undefined || ttl === null) return 0;
      longest = Math.max(longest, ttl);
    }
    if (longest < 0) return 0; // no features: nothing says when it dies
    return Math.max(1, row.eventAt + longest + margin - now);
  }

  return {
    kind: 'redis',

    async write(input, now = Date.now()): Promise<OnlineWriteResult> {
      checkFeatureRows(input);
      const { rows, superseded } = latestPerEntity(input);
      const calls: Promise<[number, number]>[] = [];
      for (let i = 0; i < rows.length; i += chunkSize) {
        const chunk = rows.slice(i, i + chunkSize);
        const args: (string | number | Buffer)[] = chunk.map((r) => keyOf(r.featureSet, r.version, r.entityKey));
        for (const r of chunk) args.push(r.eventAt, json ? codec.encodeJson(r, now) : codec.encode(r, now), expiryOf(r, now));
        calls.push(client[COMMAND](chunk.length, ...args));
      }
      // Sent together (one connection pipelines them), executed in order, each atomic.
      const results = await Promise.all(calls).catch(rethrow);
      let written = 0;
      let stale = superseded;
      for (const [w, s] of results) {
        written += Number(w);
        stale += Number(s);
      }
      return { written, stale };
    },

    async read(set, entityKeys, now = Date.now()): Promise<OnlineFeatures[]> {
      checkReadInput(set, entityKeys);
      if (entityKeys.length === 0) return [];
      const head = `${prefix}:fo:${set.name}:${set.version}:`;
      const keys = new Array<string>(entityKeys.length);
      for (let i = 0; i < keys.length; i++) keys[i] = head + entityKeys[i]!;
      // Buffers: no UTF-8 decoding of values, and the binary ones stay binary.
      const raw = await redis.mgetBuffer(keys).catch(rethrow);
      const out = new Array<OnlineFeatures>(entityKeys.length);
      for (let i = 0; i < out.length; i++) {
        const value = raw[i];
        out[i] = resolveOnlineFeatures(set, entityKeys[i]!, value ? codec.decode(value, set) : null, now);
      }
      return out;
    },

    async readMany(requests, now = Date.now()): Promise<OnlineFeatures[][]> {
      const keys: string[] = [];
      for (const { set, entityKeys } of requests) {
        checkReadInput(set, entityKeys);
        const head = `${prefix}:fo:${set.name}:${set.version}:`;
        for (const k of entityKeys) keys.push(head + k);
      }
      if (keys.length === 0) return requests.map(() => []);
      const raw = await redis.mgetBuffer(keys).catch(rethrow);
      let at = 0;
      return requests.map(({ set, entityKeys }) => entityKeys.map((k) => {
        const value = raw[at++];
        return resolveOnlineFeatures(set, k, value ? codec.decode(value, set) : null, now);
      }));
    },

    async ping(): Promise<void> {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          redis.ping(),
          new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('redis did not answer PING in 1500 ms')), 1_500); }),
        ]);
      } catch (err) {
        throw dependencyFailure(err) ?? new ServiceUnavailableError('redis', `online store unavailable: ${(err as Error).message}`);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Connection failures become a 503; anything else (a script error) stays what it is. */
function rethrow(err: unknown): never {
  throw dependencyFailure(err) ?? err;
}
