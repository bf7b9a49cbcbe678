// Fraud counters on Redis. Velocity: one sorted set per key (member = click id, score = click
// time), so windows slide exactly and a redelivered click counts once; one Lua script per click
// adds it under every key, trims what no window reads, counts both windows and bumps the IP's
// count in its hour's population set, atomically. Duplicates: SET NX on the impression.
// Keys: `${prefix}:fraud:v:{ip|device}:{key}`, `${prefix}:fraud:pop:{hour}`, `${prefix}:fraud:imp:{id}`.
import type { Redis } from 'ioredis';
import { dependencyFailure, ServiceUnavailableError } from '../../../../platform/errors/app-error.js';
import type { FraudCounters, KeyCounts } from './fraud.types.js';

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
/** Hits are kept this far behind a key's newest click: the hour window, plus the previous hour for the population. */
export const KEEP_MS = 2 * HOUR;
/** Recent click times returned per key (the regularity shown to reviewers). */
export const RECENT = 20;
/** Most IPs read for a reference population. */
export const POPULATION_SAMPLE = 20_000;

// KEYS: the n velocity sets, then the population set when ARGV[4] > 0. ARGV: click id, at, n, index of
// the IP key among the n (0: none), the IP, minute lower bound, hour lower bound, prune bound, keep ms, recent.
const RECORD_SCRIPT = `
local id, at, n, ipIdx = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local out = {}
for i = 1, n do
  local k = KEYS[i]
  local added = redis.call('ZADD', k, 'NX', at, id)
  redis.call('ZREMRANGEBYSCORE', k, '-inf', ARGV[8])
  redis.call('PEXPIRE', k, ARGV[9])
  local row = { redis.call('ZCOUNT', k, ARGV[6], at), redis.call('ZCOUNT', k, ARGV[7], at) }
  local recent = redis.call('ZREVRANGEBYSCORE', k, at, '-inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[10]))
  for j = 2, #recent, 2 do row[#row + 1] = recent[j] end
  out[i] = row
  if i == ipIdx and added == 1 then
    redis.call('ZINCRBY', KEYS[n + 1], 1, ARGV[5])
    redis.call('PEXPIRE', KEYS[n + 1], ARGV[9] * 2)
  end
end
return out
`;
const CLAIM_SCRIPT = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return ARGV[1] end
return redis.call('GET', KEYS[1]) or ARGV[1]
`;

interface Scripts {
  giFraudRecord(numKeys: number, ...args: (string | number)[]): Promise<(number | string)[][]>;
  giFraudClaim(numKeys: number, ...args: (string | number)[]): Promise<string>;
}

function failure(err: unknown): Error {
  return dependencyFailure(err) ?? new ServiceUnavailableError('redis', `fraud counters unavailable: ${(err as Error).message}`);
}

export function createRedisFraudCounters(deps: { redis: Redis; prefix: string; populationSample?: number }): FraudCounters {
  const { redis } = deps;
  const sample = deps.populationSample ?? POPULATION_SAMPLE;
  const p = `${deps.prefix}:fraud`;
  const r = redis as unknown as Partial<Scripts>;
  if (!r.giFraudRecord) redis.defineCommand('giFraudRecord', { lua: RECORD_SCRIPT });
  if (!r.giFraudClaim) redis.defineCommand('giFraudClaim', { lua: CLAIM_SCRIPT });
  const s = redis as unknown as Scripts;

  return {
    kind: 'redis',
    async claimImpression(impressionId, clickId, at, expiresAt) {
      try {
        const ttl = Math.max(expiresAt - at, MINUTE);
        const winner = await s.giFraudClaim(1, `${p}:imp:${impressionId}`, clickId, ttl);
        return { first: winner === clickId, firstClickId: winner };
      } catch (err) { throw failure(err); }
    },
    async recordClick(keys, clickId, at) {
      if (keys.length === 0) return [];
      const ipIdx = keys.findIndex((k) => k.kind === 'ip') + 1;
      const redisKeys = keys.map((k) => `${p}:v:${k.kind}:${k.key}`);
      if (ipIdx > 0) redisKeys.push(`${p}:pop:${Math.floor(at / HOUR)}`);
      try {
        const rows = await s.giFraudRecord(redisKeys.length, ...redisKeys, clickId, at, keys.length, ipIdx,
          ipIdx > 0 ? keys[ipIdx - 1]!.key : '', `(${at - MINUTE}`, `(${at - HOUR}`, `(${at - KEEP_MS}`, KEEP_MS, RECENT);
        return rows.map((row): KeyCounts => ({ minute: Number(row[0]), hour: Number(row[1]), recent: row.slice(2).map(Number) }));
      } catch (err) { throw failure(err); }
    },
    async ipPopulation(bucket) {
      try {
        const key = `${p}:pop:${bucket}`;
        // A busy hour is read as a uniform sample of distinct IPs (ZRANDMEMBER, Redis ≥ 6.2): the median and MAD barely move.
        const flat = await redis.zcard(key) > sample
          ? await redis.zrandmember(key, sample, 'WITHSCORES')
          : await redis.zrange(key, 0, -1, 'WITHSCORES');
        const counts: number[] = [];
        for (let i = 1; i < flat.length; i += 2) counts.push(Number(flat[i]));
        return { bucket, counts };
      } catch (err) { throw failure(err); }
    },
    async prune() { /* keys expire on their own */ },
  };
}
