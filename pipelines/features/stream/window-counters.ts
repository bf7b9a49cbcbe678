// What the stream processors count, shared by the Redis and the database counter stores: which
// entities an event touches, in which event-time buckets, how long buckets are kept, and how the
// buckets add up to the window inputs of the windowed feature sets.
//
// Windows are bucket-aligned: a window of W ending at `asOf` sums the W/g buckets of width g up to
// and including the bucket holding `asOf`. `asOf` is the latest event time seen for the entity, so
// a late (older) event changes the value without moving it back in time.
import type { QueuedEvent } from '../../events/validate-events.js';
import type { ProviderActivityCounts, VelocityCounts, WindowCounts } from '../definitions/window-inputs.js';

const SECOND = 1_000;
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** The kinds of entity the stream keeps counters for (each maps to one windowed feature set). */
export const COUNTER_KINDS = ['creative', 'placement', 'ip', 'device', 'provider'] as const;
export type CounterKind = (typeof COUNTER_KINDS)[number];

/** Counter fields: name@granularity, the bucket width and how many buckets are kept (the longest window reading it). */
export const COUNTER_FIELDS = {
  'imp@m': { widthMs: MINUTE, keep: 60 },
  'clk@m': { widthMs: MINUTE, keep: 60 },
  'imp@h': { widthMs: HOUR, keep: 168 },
  'clk@h': { widthMs: HOUR, keep: 168 },
  'clk@s': { widthMs: 5 * SECOND, keep: 12 },
  /** Smallest gap (ms) from a click in this minute to the click before it (a minimum, not a sum). */
  'gap@m': { widthMs: MINUTE, keep: 60 },
  'prop@h': { widthMs: HOUR, keep: 168 },
  'hire@d': { widthMs: DAY, keep: 30 },
} as const;
export type CounterField = keyof typeof COUNTER_FIELDS;
/** The counter fields that are sums (gap@m is a minimum, maintained from the click times). */
export type SumField = Exclude<CounterField, 'gap@m'>;

/** A gap longer than the velocity window cannot be a gap "in the last hour". */
export const MAX_CLICK_GAP_MS = HOUR;
/** Click times are kept this long behind the entity's latest event: enough to find the predecessor of any click that can matter. */
export const CLICK_KEEP_MS = 2 * HOUR;
/**
 * How long an event id stays claimed: a redelivered job or a client's retry within it counts
 * nothing twice (the window Segment and others dedupe over). Memory grows with the sustained event
 * rate × this window (about 80 bytes per id in Redis: 3.5 GB a day at 500 events/s).
 */
export const SEEN_TTL_MS = DAY;
/** Longest an untouched entity's counters live (the longest window, 30 d, plus a day). */
export const COUNTER_TTL_MS = 31 * DAY;
/** Longest an entity key may be (the database's key column). */
export const MAX_KEY_LENGTH = 191;

export function bucketOf(at: number, field: CounterField): number {
  return Math.floor(at / COUNTER_FIELDS[field].widthMs);
}

/** False when the bucket lies before every window that could still end at or after `latest`. */
export function bucketLive(bucket: number, field: CounterField, latest: number): boolean {
  return bucket > bucketOf(latest, field) - COUNTER_FIELDS[field].keep;
}

/** Event time from which a bucket is dead for good (what the database stores as expires_at). */
export function bucketExpiresAt(bucket: number, field: CounterField): number {
  const spec = COUNTER_FIELDS[field];
  return (bucket + spec.keep) * spec.widthMs;
}

export interface EntityRef { kind: CounterKind; key: string }

/** What one event does to one entity: the sum fields to increment, and whether it is a click whose time is kept for gaps. */
export interface EntityUpdate extends EntityRef { incs: readonly SumField[]; click: boolean }

/** An event reduced to what the counters need. */
export interface StreamEvent { id: string; at: number; updates: EntityUpdate[] }

/** The processor cannot handle this event (bad shape): it goes to the dead-letter list with the reason. */
export class PoisonEventError extends Error {
  constructor(readonly eventId: string, message: string) {
    super(message);
    this.name = 'PoisonEventError';
  }
}

const AD_INCS = { impression: ['imp@m', 'imp@h'], click: ['clk@m', 'clk@h'] } as const;
const VELOCITY_INCS = { impression: ['imp@m'], click: ['clk@m', 'clk@s'] } as const;

/** The counter updates of one queued event; empty for event types no windowed set reads. Throws PoisonEventError. */
export function streamEventOf(e: QueuedEvent): StreamEvent {
  const row = e.row as Record<string, unknown>;
  const rawId = e.type === 'profile_update' ? row.event_id : row.id;
  const id = typeof rawId === 'string' ? rawId : '';
  if (id.length === 0 || id.length > MAX_KEY_LENGTH) throw new PoisonEventError(String(rawId ?? ''), `event id must be a string of 1-${MAX_KEY_LENGTH} characters`);
  const at = row.event_at;
  if (typeof at !== 'number' || !Number.isSafeInteger(at) || at < 0) throw new PoisonEventError(id, `event_at must be UTC milliseconds (got ${JSON.stringify(at ?? null)})`);
  const key = (field: string, required: boolean): string | null => {
    const v = row[field];
    if (v === null || v === undefined || v === '') {
      if (required) throw new PoisonEventError(id, `${e.type} without ${field}`);
      return null;
    }
    if (typeof v !== 'string' || v.length > MAX_KEY_LENGTH) throw new PoisonEventError(id, `${field} must be a string of at most ${MAX_KEY_LENGTH} characters`);
    return v;
  };
  const updates: EntityUpdate[] = [];
  switch (e.type) {
    case 'impression':
    case 'click': {
      const click = e.type === 'click';
      const creative = key('creative_id', true)!;
      const placement = key('placement_id', true)!;
      updates.push({ kind: 'creative', key: creative, incs: AD_INCS[e.type], click: false });
      updates.push({ kind: 'placement', key: placement, incs: AD_INCS[e.type], click: false });
      const ip = key('ip', false);
      const device = key('device', false);
      if (ip !== null) updates.push({ kind: 'ip', key: ip, incs: VELOCITY_INCS[e.type], click });
      if (device !== null) updates.push({ kind: 'device', key: device, incs: VELOCITY_INCS[e.type], click });
      break;
    }
    case 'proposal':
      updates.push({ kind: 'provider', key: key('provider_id', true)!, incs: ['prop@h'], click: false });
      break;
    case 'hire':
      updates.push({ kind: 'provider', key: key('provider_id', true)!, incs: ['hire@d'], click: false });
      break;
    default:
      break; // profile_update, completion, conversion, transaction: no windowed set reads them
  }
  return { id, at, updates };
}

/** An entity's stored counters: field → bucket → value, and the latest event time seen for it. */
export interface EntityCounters extends EntityRef {
  latest: number;
  buckets: Map<CounterField, Map<number, number>>;
}

/** The unique entities of a batch, in first-seen order. */
export function entitiesOf(events: readonly StreamEvent[]): EntityRef[] {
  const seen = new Map<string, EntityRef>();
  for (const e of events) for (const u of e.updates) {
    const id = `${u.kind}:${u.key}`;
    if (!seen.has(id)) seen.set(id, { kind: u.kind, key: u.key });
  }
  return [...seen.values()];
}

/** One window input: the sum (or the minimum, gap@m) of a field's buckets over the last `ms` up to the bucket of `asOf`. */
export interface WindowSpec { field: CounterField; ms: number; op: 'sum' | 'min' }

const AD_WINDOWS: readonly WindowSpec[] = [
  { field: 'imp@m', ms: HOUR, op: 'sum' }, { field: 'clk@m', ms: HOUR, op: 'sum' },
  { field: 'imp@h', ms: DAY, op: 'sum' }, { field: 'clk@h', ms: DAY, op: 'sum' },
  { field: 'imp@h', ms: 7 * DAY, op: 'sum' }, { field: 'clk@h', ms: 7 * DAY, op: 'sum' },
];
const VELOCITY_WINDOWS: readonly WindowSpec[] = [
  { field: 'clk@s', ms: MINUTE, op: 'sum' }, { field: 'clk@m', ms: HOUR, op: 'sum' },
  { field: 'imp@m', ms: HOUR, op: 'sum' }, { field: 'gap@m', ms: HOUR, op: 'min' },
];
const PROVIDER_WINDOWS: readonly WindowSpec[] = [
  { field: 'prop@h', ms: DAY, op: 'sum' }, { field: 'prop@h', ms: 7 * DAY, op: 'sum' }, { field: 'hire@d', ms: 30 * DAY, op: 'sum' },
];

/** The windows each kind's feature set reads, in the order of EntityWindows.values. */
export const KIND_WINDOWS: Record<CounterKind, readonly WindowSpec[]> = {
  creative: AD_WINDOWS, placement: AD_WINDOWS, ip: VELOCITY_WINDOWS, device: VELOCITY_WINDOWS, provider: PROVIDER_WINDOWS,
};

/**
 * An entity's window values (KIND_WINDOWS[kind] order; null: a minimum over no bucket) as of its
 * latest event time: what the feature sets need, without the buckets (the Redis store sums them
 * where they live).
 */
export interface EntityWindows extends EntityRef { latest: number; values: readonly (number | null)[] }

/** The window values of stored buckets (what the Redis script computes, done here for the database store and read()). */
export function windowsOf(c: EntityCounters): EntityWindows {
  const values = KIND_WINDOWS[c.kind].map(({ field, ms, op }) => {
    const last = bucketOf(c.latest, field);
    const first = last - ms / COUNTER_FIELDS[field].widthMs; // exclusive
    let v: number | null = op === 'sum' ? 0 : null;
    for (const [b, n] of c.buckets.get(field) ?? []) {
      if (b <= first || b > last) continue;
      v = op === 'sum' ? v! + n : v === null || n < v ? n : v;
    }
    return v;
  });
  return { kind: c.kind, key: c.key, latest: c.latest, values };
}

const valuesOf = (c: EntityCounters | EntityWindows) => ('buckets' in c ? windowsOf(c) : c).values;
const num = (v: number | null | undefined) => v ?? 0;

export function windowCountsOf(c: EntityCounters | EntityWindows): WindowCounts {
  const v = valuesOf(c);
  return {
    asOf: c.latest,
    imp_1h: num(v[0]), clk_1h: num(v[1]), imp_24h: num(v[2]), clk_24h: num(v[3]), imp_7d: num(v[4]), clk_7d: num(v[5]),
  };
}

export function velocityCountsOf(c: EntityCounters | EntityWindows): VelocityCounts {
  const v = valuesOf(c);
  const clicks1h = num(v[1]);
  return {
    asOf: c.latest,
    clicks_1m: num(v[0]),
    clicks_1h: clicks1h,
    impressions_1h: num(v[2]),
    min_click_gap_ms: clicks1h < 2 ? null : v[3] ?? null,
  };
}

export function providerActivityOf(c: EntityCounters | EntityWindows): ProviderActivityCounts {
  const v = valuesOf(c);
  return {
    asOf: c.latest,
    proposals_24h: num(v[0]),
    proposals_7d: num(v[1]),
    hires_30d: num(v[2]),
    last_active_at: c.latest,
  };
}

/** Counts each event once, ever, in event-time buckets; reads an entity's buckets back. */
export interface WindowCounterStore {
  readonly kind: 'redis' | 'database';
  /**
   * Claims each event id (a claimed one counts nothing) and applies the updates of the new ones,
   * atomically per event (Redis) or per call (database). Returns how many were new.
   */
  count(events: readonly StreamEvent[]): Promise<{ counted: number }>;
  /** The counters of each entity, in order; null for an entity never counted. */
  read(entities: readonly EntityRef[]): Promise<(EntityCounters | null)[]>;
  /**
   * count(), then the window values of every entity of `events` (new or repeated: a run that
   * counted and then failed to write must still write when it runs again), in first-seen order,
   * entities never counted left out. Redis: one script call for both.
   */
  countAndRead(events: readonly StreamEvent[]): Promise<{ counted: number; windows: EntityWindows[] }>;
}
