// Where the pacing state (a pass-through rate per campaign and the slot it was last updated for)
// lives so that every scoring replica throttles alike: a Redis hash, the ad_pacing table, or
// memory (tests, one process).
import type { Redis } from 'ioredis';
import type { Db } from '../../../../platform/db/database.js';
import { dependencyFailure } from '../../../../platform/errors/app-error.js';
import { listPacingCampaigns, readPacing, writePacing } from './pacing.repository.js';

export interface PacingState { rate: number; slotStart: number }

export interface PacingStore {
  readonly kind: 'memory' | 'redis' | 'database';
  read(campaignIds: readonly string[]): Promise<Map<string, PacingState>>;
  /** Store each state unless the stored one is of the same or a later slot. */
  write(states: { campaignId: string; rate: number; slotStart: number }[], at: number): Promise<void>;
  /** Campaigns with a stored state. */
  campaigns(): Promise<string[]>;
}

export function createMemoryPacingStore(): PacingStore {
  const states = new Map<string, PacingState>();
  return {
    kind: 'memory',
    async read(ids) {
      const out = new Map<string, PacingState>();
      for (const id of ids) {
        const s = states.get(id);
        if (s) out.set(id, { ...s });
      }
      return out;
    },
    async write(list) {
      for (const s of list) {
        const held = states.get(s.campaignId);
        if (!held || held.slotStart < s.slotStart) states.set(s.campaignId, { rate: s.rate, slotStart: s.slotStart });
      }
    },
    async campaigns() { return [...states.keys()]; },
  };
}

// KEYS[1]: the hash; ARGV: campaign, rate, slotStart per state. A field holds "rate:slotStart".
const WRITE_SCRIPT = `
for i = 1, #ARGV, 3 do
  local held = redis.call('HGET', KEYS[1], ARGV[i])
  local heldSlot = held and tonumber(string.match(held, ':(%-?%d+)$')) or nil
  if heldSlot == nil or heldSlot < tonumber(ARGV[i + 2]) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1] .. ':' .. ARGV[i + 2])
  end
end
return 1
`;
const WRITE = 'giAdPacingWrite';

function rethrow(err: unknown): never {
  throw dependencyFailure(err) ?? err;
}

export function createRedisPacingStore(opts: { redis: Redis; prefix: string }): PacingStore {
  const { redis } = opts;
  const key = `${opts.prefix}:ads:pacing`;
  if (typeof (redis as unknown as Record<string, unknown>)[WRITE] !== 'function') redis.defineCommand(WRITE, { numberOfKeys: 1, lua: WRITE_SCRIPT });
  const client = redis as unknown as Record<typeof WRITE, (key: string, ...args: (string | number)[]) => Promise<number>>;
  return {
    kind: 'redis',
    async read(ids) {
      const out = new Map<string, PacingState>();
      if (ids.length === 0) return out;
      const values = await redis.hmget(key, ...ids).catch(rethrow);
      ids.forEach((id, i) => {
        const v = values[i];
        if (!v) return;
        const at = v.lastIndexOf(':');
        out.set(id, { rate: Number(v.slice(0, at)), slotStart: Number(v.slice(at + 1)) });
      });
      return out;
    },
    async write(list) {
      for (let i = 0; i < list.length; i += 500) {
        const args = list.slice(i, i + 500).flatMap((s) => [s.campaignId, String(s.rate), s.slotStart]);
        await client[WRITE](key, ...args).catch(rethrow);
      }
    },
    async campaigns() { return redis.hkeys(key).catch(rethrow); },
  };
}

export function createDbPacingStore(opts: { db: Db }): PacingStore {
  const { db } = opts;
  return {
    kind: 'database',
    read: (ids) => readPacing(db, ids),
    async write(list, at) {
      for (let i = 0; i < list.length; i += 500) await writePacing(db, list.slice(i, i + 500), at);
    },
    campaigns: () => listPacingCampaigns(db),
  };
}

/** Redis when a client is configured, the database otherwise (like the online store). */
export function createPacingStore(deps: { db: Db; redis?: Redis | null; prefix: string }): PacingStore {
  return deps.redis ? createRedisPacingStore({ redis: deps.redis, prefix: deps.prefix }) : createDbPacingStore({ db: deps.db });
}
