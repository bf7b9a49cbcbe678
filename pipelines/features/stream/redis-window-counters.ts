// Window counters in Redis: one hash per entity (`<prefix>:fs:w:<kind>:<key>`, fields
// `<field>:<bucket>` plus `latest`), a sorted set of click times per IP / device for the gaps, and
// `<prefix>:fs:seen:<event_id>` claims. One Lua script per batch, atomic: per event SET NX on the
// claim, then the increments of the new events only (summed per bucket first), so a job
// delivered twice counts each event once. The script names keys it builds itself, so it needs a
// single Redis (not a cluster).
import type { Redis } from 'ioredis';
import {
  CLICK_KEEP_MS, COUNTER_FIELDS, COUNTER_TTL_MS, MAX_CLICK_GAP_MS, SEEN_TTL_MS,
  type CounterField, type EntityCounters, type EntityRef, type WindowCounterStore,
} from './window-counters.js';

// ARGV: prefix, seen TTL, field specs {name: [widthMs, keep]}, click keep ms, max gap ms, key TTL, events JSON.
// events: [[id, at, [[entityKey, [fields...], isClick], ...]], ...]. Returns the number of new events.
const COUNT_SCRIPT = `
local prefix = ARGV[1]
local seenTtl = tonumber(ARGV[2])
local specs = cjson.decode(ARGV[3])
local clickKeep = tonumber(ARGV[4])
local maxGap = tonumber(ARGV[5])
local keyTtl = tonumber(ARGV[6])
local events = cjson.decode(ARGV[7])
local function fmt(n) return string.format('%d', n) end
-- 1. Claim: only events whose id is new count.
local fresh = {}
for _, e in ipairs(events) do
  if redis.call('SET', prefix .. ':seen:' .. e[1], '1', 'NX', 'PX', seenTtl) then fresh[#fresh + 1] = e end
end
-- 2. Each touched entity's latest event time, raised by the new events.
local ents, order = {}, {}
for _, e in ipairs(fresh) do
  for _, u in ipairs(e[3]) do
    local ent = ents[u[1]]
    if not ent then
      local hkey = prefix .. ':w:' .. u[1]
      local l = tonumber(redis.call('HGET', hkey, 'latest') or '-1')
      ent = { hkey = hkey, old = l, latest = l, incs = {}, clicks = {} }
      ents[u[1]] = ent
      order[#order + 1] = ent
    end
    if e[2] > ent.latest then ent.latest = e[2] end
  end
end
-- 3. Increments summed per bucket; buckets before every window at the latest time are dropped.
for _, e in ipairs(fresh) do
  local t = e[2]
  for _, u in ipairs(e[3]) do
    local ent = ents[u[1]]
    for _, name in ipairs(u[2]) do
      local spec = specs[name]
      local idx = math.floor(t / spec[1])
      if idx > math.floor(ent.latest / spec[1]) - spec[2] then
        local f = name .. ':' .. fmt(idx)
        ent.incs[f] = (ent.incs[f] or 0) + 1
      end
    end
    if u[3] == 1 and t > ent.latest - clickKeep then ent.clicks[#ent.clicks + 1] = e end
  end
end
-- 4. Write: sums, click times and the smallest gap per minute (to the click before), trim, expiry.
for _, ent in ipairs(order) do
  local hkey = ent.hkey
  if ent.latest > ent.old then redis.call('HSET', hkey, 'latest', fmt(ent.latest)) end
  local created = false
  for f, n in pairs(ent.incs) do
    if redis.call('HINCRBY', hkey, f, n) == n then created = true end
  end
  if #ent.clicks > 0 then
    local zkey = hkey .. ':clk'
    local gaps = {}
    local function gap(at, v)
      local f = 'gap@m:' .. fmt(math.floor(at / 60000))
      if v <= maxGap and (gaps[f] == nil or v < gaps[f]) then gaps[f] = v end
    end
    for _, c in ipairs(ent.clicks) do
      local t = c[2]
      local pred = redis.call('ZREVRANGEBYSCORE', zkey, t, '-inf', 'WITHSCORES', 'LIMIT', 0, 1)
      local succ = redis.call('ZRANGEBYSCORE', zkey, t, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
      redis.call('ZADD', zkey, t, c[1])
      if pred[2] then gap(t, t - tonumber(pred[2])) end
      if succ[2] then gap(tonumber(succ[2]), tonumber(succ[2]) - t) end
    end
    for f, v in pairs(gaps) do
      local cur = redis.call('HGET', hkey, f)
      if not cur or tonumber(cur) > v then redis.call('HSET', hkey, f, fmt(v)) end
    end
    redis.call('ZREMRANGEBYSCORE', zkey, '-inf', fmt(ent.latest - clickKeep))
    redis.call('PEXPIRE', zkey, keyTtl)
  end
  if created then
    for _, f in ipairs(redis.call('HKEYS', hkey)) do
      local name, idx = string.match(f, '^(.-):(%-?%d+)$')
      local spec = name and specs[name]
      if spec and tonumber(idx) <= math.floor(ent.latest / spec[1]) - spec[2] then redis.call('HDEL', hkey, f) end
    end
  end
  redis.call('PEXPIRE', hkey, keyTtl)
end
return #fresh
`;

const SPECS_JSON = JSON.stringify(Object.fromEntries(Object.entries(COUNTER_FIELDS).map(([name, s]) => [name, [s.widthMs, s.keep]])));
const COMMAND = 'gigintelStreamCount';
type CountCommand = (...args: (string | number)[]) => Promise<number>;

export function createRedisWindowCounters(deps: { redis: Redis; prefix: string }): WindowCounterStore {
  const base = `${deps.prefix}:fs`;
  // defineCommand sends EVALSHA and falls back to EVAL after a script flush or a Redis restart.
  if (!(COMMAND in deps.redis)) deps.redis.defineCommand(COMMAND, { numberOfKeys: 0, lua: COUNT_SCRIPT });
  const run = (deps.redis as unknown as Record<string, CountCommand>)[COMMAND]!.bind(deps.redis);
  const entityKey = (r: EntityRef) => `${base}:w:${r.kind}:${r.key}`;

  return {
    kind: 'redis',
    async count(events) {
      const todo = events.filter((e) => e.updates.length > 0);
      if (todo.length === 0) return { counted: 0 };
      const payload = todo.map((e) => [e.id, e.at, e.updates.map((u) => [`${u.kind}:${u.key}`, u.incs, u.click ? 1 : 0])]);
      const counted = await run(base, SEEN_TTL_MS, SPECS_JSON, CLICK_KEEP_MS, MAX_CLICK_GAP_MS, COUNTER_TTL_MS, JSON.stringify(payload));
      return { counted: Number(counted) };
    },
    async read(entities) {
      if (entities.length === 0) return [];
      const pipe = deps.redis.pipeline();
      for (const r of entities) pipe.hgetall(entityKey(r));
      const results = (await pipe.exec()) ?? [];
      return entities.map((r, i) => {
        const [err, hash] = results[i] ?? [new Error('no reply'), null];
        if (err) throw err;
        return parseHash(r, hash as Record<string, string>);
      });
    },
  };
}

function parseHash(r: EntityRef, hash: Record<string, string>): EntityCounters | null {
  if (hash.latest === undefined) return null;
  const buckets = new Map<CounterField, Map<number, number>>();
  for (const [f, v] of Object.entries(hash)) {
    const sep = f.lastIndexOf(':');
    if (sep < 0) continue;
    const field = f.slice(0, sep) as CounterField;
    if (!(field in COUNTER_FIELDS)) continue;
    let m = buckets.get(field);
    if (!m) buckets.set(field, (m = new Map()));
    m.set(Number(f.slice(sep + 1)), Number(v));
  }
  return { ...r, latest: Number(hash.latest), buckets };
}
