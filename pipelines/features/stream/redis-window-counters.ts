// Window counters in Redis: one hash per entity (`<prefix>:fs:w:<kind>:<key>`, fields
// `<field>:<bucket>` plus `latest`), a sorted set of click times per IP / device for the gaps, and
// `<prefix>:fs:seen:<event_id>` claims. One Lua script per batch, atomic: per event SET NX on the
// claim, then the increments of the new events only, so a job delivered twice counts each event
// once; countAndRead also returns the window values of every entity of the batch, summed in the
// script (one round trip, no buckets shipped to Node). Each hash is read once and written once per
// call; the expiry is refreshed when a bucket is created (at least once per minute of activity, well
// inside COUNTER_TTL_MS's day of slack). The script names keys it builds itself, so it needs a
// single Redis (not a cluster).
import type { Redis } from 'ioredis';
import {
  CLICK_KEEP_MS, COUNTER_FIELDS, COUNTER_TTL_MS, KIND_WINDOWS, MAX_CLICK_GAP_MS, SEEN_TTL_MS,
  type CounterField, type EntityCounters, type EntityRef, type EntityWindows, type StreamEvent, type WindowCounterStore,
} from './window-counters.js';

// ARGV: prefix, seen TTL, click keep ms, max gap ms, key TTL, '1' to return windows, entity count E,
// E entity keys (`<kind>:<key>`, in first-seen order), then per event: id, event time, update count,
// and per update: entity number (1-based), its sum fields joined by ',' and 1 for a click time kept.
// Flat arguments instead of JSON: no decoding into thousands of Lua tables. Returns the number of
// new events, then (when asked) per entity in ARGV order: its latest event time (nil: never
// counted) followed by its window values (KIND_WINDOWS order; nil: no minimum).
// SPECS: field → {widthMs, keep}; WINDOWS: kind → { init = initial values, byField = field →
// {{slot, widthMs, buckets, isMin}, ...} } (both generated from window-counters.ts below).
const COUNT_SCRIPT = (specsLua: string, windowsLua: string) => `
local SPECS = ${specsLua}
local WINDOWS = ${windowsLua}
local prefix = ARGV[1]
local seenTtl = tonumber(ARGV[2])
local clickKeep = tonumber(ARGV[3])
local maxGap = tonumber(ARGV[4])
local keyTtl = tonumber(ARGV[5])
local withWindows = ARGV[6] == '1'
local nEnt = tonumber(ARGV[7])
local floor = math.floor
local function fmt(n) return string.format('%d', n) end
-- Field lists come as 'imp@m,imp@h' (a handful of distinct ones): split each once.
local lists = {}
local function fieldsOf(s)
  local l = lists[s]
  if not l then
    l = {}
    for name in string.gmatch(s, '[^,]+') do l[#l + 1] = SPECS[name] end
    lists[s] = l
  end
  return l
end
-- 1. Claim: only events whose id is new count. An event: {id, at, first update's ARGV index, update count}.
local fresh = {}
local p = 8 + nEnt
while p <= #ARGV do
  local n = tonumber(ARGV[p + 2])
  if redis.call('SET', prefix .. ':seen:' .. ARGV[p], '1', 'NX', 'PX', seenTtl) then
    fresh[#fresh + 1] = { ARGV[p], tonumber(ARGV[p + 1]), p + 3, n }
  end
  p = p + 3 + 3 * n
end
-- 2. Each entity's hash, read once (HGETALL): later steps work on the copy and write back only
-- what changed. Entities of the new events, and all of them when windows are asked for.
local ents = {}
local function load(i)
  local ent = ents[i]
  if ent then return ent end
  local hkey = prefix .. ':w:' .. ARGV[7 + i]
  local h = redis.call('HGETALL', hkey)
  local vals, l = {}, -1
  for j = 1, #h, 2 do
    if h[j] == 'latest' then l = tonumber(h[j + 1]) else vals[h[j]] = tonumber(h[j + 1]) end
  end
  ent = { hkey = hkey, old = l, latest = l, vals = vals, dirty = {}, touched = false, created = false, clicks = {} }
  ents[i] = ent
  return ent
end
if withWindows then for i = 1, nEnt do load(i) end end
-- Latest event time per entity, raised by the new events.
for _, e in ipairs(fresh) do
  for q = e[3], e[3] + 3 * (e[4] - 1), 3 do
    local ent = load(tonumber(ARGV[q]))
    ent.touched = true
    if e[2] > ent.latest then ent.latest = e[2] end
  end
end
-- 3. Increments; buckets before every window at the latest time are dropped.
for _, e in ipairs(fresh) do
  local t = e[2]
  for q = e[3], e[3] + 3 * (e[4] - 1), 3 do
    local ent = ents[tonumber(ARGV[q])]
    local vals, dirty = ent.vals, ent.dirty
    for _, spec in ipairs(fieldsOf(ARGV[q + 1])) do
      local idx = floor(t / spec[1])
      if idx > floor(ent.latest / spec[1]) - spec[2] then
        local f = spec[4][idx]
        if not f then f = spec[3] .. ':' .. idx; spec[4][idx] = f end
        local cur = vals[f]
        if cur == nil then ent.created = true; cur = 0 end
        vals[f] = cur + 1
        dirty[f] = true
      end
    end
    if ARGV[q + 2] == '1' and t > ent.latest - clickKeep then ent.clicks[#ent.clicks + 1] = e end
  end
end
-- 4. Write per touched entity: click times and the smallest gap per minute (to the click before),
-- then one HSET of latest and the changed fields. Trim and expiry only when a bucket was created
-- (a bucket can only expire then; the expiry refreshed at least once a minute of activity).
for _, ent in pairs(ents) do
  if ent.touched then
    local hkey, vals = ent.hkey, ent.vals
    if #ent.clicks > 0 then
      local zkey = hkey .. ':clk'
      local function gap(at, v)
        local f = 'gap@m:' .. floor(at / 60000)
        if v <= maxGap and (vals[f] == nil or v < vals[f]) then
          vals[f] = v
          ent.dirty[f] = true
        end
      end
      for _, c in ipairs(ent.clicks) do
        local t = c[2]
        local pred = redis.call('ZREVRANGEBYSCORE', zkey, t, '-inf', 'WITHSCORES', 'LIMIT', 0, 1)
        local succ = redis.call('ZRANGEBYSCORE', zkey, t, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
        redis.call('ZADD', zkey, t, c[1])
        if pred[2] then gap(t, t - tonumber(pred[2])) end
        if succ[2] then gap(tonumber(succ[2]), tonumber(succ[2]) - t) end
      end
      redis.call('ZREMRANGEBYSCORE', zkey, '-inf', fmt(ent.latest - clickKeep))
      redis.call('PEXPIRE', zkey, keyTtl)
    end
    local args = {}
    if ent.latest > ent.old then args[1] = 'latest'; args[2] = fmt(ent.latest) end
    for f in pairs(ent.dirty) do
      args[#args + 1] = f
      args[#args + 1] = fmt(vals[f])
    end
    if #args > 0 then redis.call('HSET', hkey, unpack(args)) end
    if ent.created or ent.old < 0 then
      local dead = {}
      for f in pairs(vals) do
        local c = string.find(f, ':', 1, true)
        local spec = c and SPECS[string.sub(f, 1, c - 1)]
        if spec and tonumber(string.sub(f, c + 1)) <= floor(ent.latest / spec[1]) - spec[2] then dead[#dead + 1] = f end
      end
      for _, f in ipairs(dead) do vals[f] = nil end
      if #dead > 0 then redis.call('HDEL', hkey, unpack(dead)) end
      redis.call('PEXPIRE', hkey, keyTtl)
    end
  end
end
if not withWindows then return #fresh end
-- 5. Window values of every entity, summed here: the buckets never leave Redis.
local out = { #fresh }
for i = 1, nEnt do
  local ent = ents[i]
  if ent.latest < 0 then
    out[#out + 1] = false
  else
    local ekey, latest = ARGV[7 + i], ent.latest
    out[#out + 1] = latest
    local w = WINDOWS[string.sub(ekey, 1, string.find(ekey, ':', 1, true) - 1)]
    local res = {}
    for j, v in ipairs(w.init) do res[j] = v end
    for f, n in pairs(ent.vals) do
      local c = string.find(f, ':', 1, true)
      local ws = c and w.byField[string.sub(f, 1, c - 1)]
      if ws then
        local idx = tonumber(string.sub(f, c + 1))
        for _, s in ipairs(ws) do
          local last = floor(latest / s[2])
          if idx <= last and idx > last - s[3] then
            local cur = res[s[1]]
            if not s[4] then res[s[1]] = cur + n
            elseif cur == false or n < cur then res[s[1]] = n end
          end
        end
      end
    end
    for _, v in ipairs(res) do out[#out + 1] = v end
  end
end
return out
`;

/** COUNTER_FIELDS as a Lua table literal: name → {widthMs, keep, name, bucket → field name (filled as used: built once per script run)}. */
function specsLua(): string {
  return `{ ${Object.entries(COUNTER_FIELDS).map(([name, s]) => `['${name}'] = {${s.widthMs}, ${s.keep}, '${name}', {}}`).join(', ')} }`;
}

/** KIND_WINDOWS as a Lua table literal for the script. */
function windowsLua(): string {
  const kinds = Object.entries(KIND_WINDOWS).map(([kind, specs]) => {
    const byField = new Map<string, string[]>();
    specs.forEach((s, i) => {
      const list = byField.get(s.field) ?? [];
      list.push(`{${i + 1}, ${COUNTER_FIELDS[s.field].widthMs}, ${s.ms / COUNTER_FIELDS[s.field].widthMs}, ${s.op === 'min'}}`);
      byField.set(s.field, list);
    });
    const init = specs.map((s) => (s.op === 'sum' ? '0' : 'false')).join(', ');
    const fields = [...byField].map(([f, l]) => `['${f}'] = {${l.join(', ')}}`).join(', ');
    return `['${kind}'] = { init = {${init}}, byField = {${fields}} }`;
  });
  return `{ ${kinds.join(', ')} }`;
}

const COMMAND = 'gigintelStreamCount';
type CountCommand = (...args: (string | number)[]) => Promise<number | (number | null)[]>;

export function createRedisWindowCounters(deps: { redis: Redis; prefix: string }): WindowCounterStore {
  const base = `${deps.prefix}:fs`;
  // defineCommand sends EVALSHA and falls back to EVAL after a script flush or a Redis restart.
  if (!(COMMAND in deps.redis)) deps.redis.defineCommand(COMMAND, { numberOfKeys: 0, lua: COUNT_SCRIPT(specsLua(), windowsLua()) });
  const run = (deps.redis as unknown as Record<string, CountCommand>)[COMMAND]!.bind(deps.redis);
  const entityKey = (r: EntityRef) => `${base}:w:${r.kind}:${r.key}`;

  /** The script's call for `todo` (events with updates); the entities in the order the windows come back. */
  const call = (todo: readonly StreamEvent[], windows: boolean) => {
    // One pass: entity numbers (first-seen order, as entitiesOf) and the events' arguments.
    const number = new Map<string, number>();
    const entities: EntityRef[] = [];
    const head: (string | number)[] = [base, SEEN_TTL_MS, CLICK_KEEP_MS, MAX_CLICK_GAP_MS, COUNTER_TTL_MS, windows ? '1' : '0', 0];
    const tail: (string | number)[] = [];
    for (const e of todo) {
      tail.push(e.id, e.at, e.updates.length);
      for (const u of e.updates) {
        const id = `${u.kind}:${u.key}`;
        let n = number.get(id);
        if (n === undefined) {
          number.set(id, (n = entities.push({ kind: u.kind, key: u.key })));
          head.push(id);
        }
        tail.push(n, u.incs.join(','), u.click ? 1 : 0);
      }
    }
    head[6] = entities.length;
    const args = head.concat(tail);
    return { entities, reply: run(...args) };
  };

  return {
    kind: 'redis',
    async count(events) {
      const todo = events.filter((e) => e.updates.length > 0);
      if (todo.length === 0) return { counted: 0 };
      return { counted: Number(await call(todo, false).reply) };
    },
    async countAndRead(events) {
      const todo = events.filter((e) => e.updates.length > 0);
      if (todo.length === 0) return { counted: 0, windows: [] };
      const { entities, reply: pending } = call(todo, true);
      const reply = (await pending) as (number | null)[];
      const windows: EntityWindows[] = [];
      let i = 1;
      for (const r of entities) {
        const latest = reply[i++];
        if (latest === null || latest === undefined) continue;
        const n = KIND_WINDOWS[r.kind].length;
        windows.push({ kind: r.kind, key: r.key, latest: Number(latest), values: reply.slice(i, i + n) });
        i += n;
      }
      return { counted: Number(reply[0]), windows };
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
