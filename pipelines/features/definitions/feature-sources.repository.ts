// The reads behind the batch loaders: set-based (one query per table per chunk of entity keys) and
// cut at `asOf` on event time, so a training set built later never sees the future. The only file
// of the feature definitions that speaks SQL.
import type { Kysely } from 'kysely';
import type { Db, Tx } from '../../../platform/db/database.js';

// Source tables are described by the contract's table specs, not Kysely interfaces (see
// pipelines/contract/source.repository.ts): read through an untyped view of the same connection.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Row = Record<string, any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const untyped = (db: Db | Tx) => db as unknown as Kysely<any>;
const num = (v: unknown): number => Number(v ?? 0);
const numOrNull = (v: unknown): number | null => (v == null ? null : Number(v));

/**
 * Longest `in (…)` list sent at once. MariaDB turns lists of 1,000 values or more into a derived
 * table join (in_predicate_conversion_threshold), measured 2–4× slower per key than lists below it;
 * a chunk's keys go in slices of this size, still one statement per table per slice.
 */
export const IN_LIST_MAX = 900;

/** Runs `read` on slices of `keys` (concurrently) and concatenates the rows. */
async function sliced<R>(keys: readonly string[], read: (slice: string[]) => Promise<R[]>): Promise<R[]> {
  if (keys.length <= IN_LIST_MAX) return read([...keys]);
  const parts: Promise<R[]>[] = [];
  for (let i = 0; i < keys.length; i += IN_LIST_MAX) parts.push(read(keys.slice(i, i + IN_LIST_MAX)));
  return (await Promise.all(parts)).flat();
}

export interface KeyPage { asOf: number; changedSince?: number; afterKey?: string; limit: number }

/**
 * Where a change to an entity's inputs shows: a table, the column holding the entity key (or a
 * join that leads to it) and the column stamping the write (updated_at / ingested_at).
 */
export interface ChangeSource {
  table: string;
  /** The column holding the entity key: in `table`, or in the `via` table. */
  key: string;
  stamp: string;
  /** Reach the key through a join: [table holding `key`, its column joined, the column of `table`]. */
  via?: readonly [string, string, string];
  /** Look back this far before changedSince: windowed values change as events slide out of their window. */
  lookbackMs?: number;
}

/**
 * One page of entity keys in the database's order of the key column (byte order on SQLite, the
 * column's collation on MySQL; `afterKey` compares the same way), not created after asOf when
 * `notAfter` is given. With `changedSince`, only entities with a row in a change source stamped
 * after it: the base table is walked in key order with one correlated EXISTS per source (index
 * lookups on the key), so a run's pages together cost one pass over the entities whatever share
 * of them changed.
 */
export async function pageKeys(
  db: Db | Tx, base: { table: string; key: string; notAfter?: string }, sources: readonly ChangeSource[], q: KeyPage,
): Promise<string[]> {
  const k = untyped(db);
  const baseKey = `${base.table}.${base.key}`;
  let query = k.selectFrom(base.table).select(`${baseKey} as k`);
  if (base.notAfter) query = query.where(`${base.table}.${base.notAfter}`, '<=', q.asOf);
  if (q.afterKey !== undefined) query = query.where(baseKey, '>', q.afterKey);
  const since = q.changedSince;
  if (since !== undefined) {
    query = query.where((eb) => eb.or(sources.map((s) => {
      const after = since - (s.lookbackMs ?? 0);
      if (s.table === base.table && !s.via) return eb(`${base.table}.${s.stamp}`, '>', after);
      let sub = eb.selectFrom(s.table);
      if (s.via) sub = sub.innerJoin(s.via[0], `${s.via[0]}.${s.via[1]}`, `${s.table}.${s.via[2]}`);
      return eb.exists(sub.select(eb.lit(1).as('one'))
        .whereRef(s.via ? `${s.via[0]}.${s.key}` : `${s.table}.${s.key}`, '=', baseKey)
        .where(`${s.table}.${s.stamp}`, '>', after));
    })));
  }
  const rows = await query.orderBy(baseKey).limit(q.limit).execute();
  return rows.map((r: Row) => String(r.k));
}

/** Byte order, the order both databases sort ASCII ids in (localeCompare would not agree). */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// --- matching ----------------------------------------------------------------------------------

export async function readProviders(db: Db | Tx, keys: readonly string[]): Promise<Row[]> {
  return sliced(keys, (s) => untyped(db).selectFrom('provider')
    .select(['id', 'hourly_rate_minor', 'currency', 'country', 'timezone', 'level', 'rating', 'review_count', 'response_rate', 'last_active_at'])
    .where('id', 'in', s).execute());
}

export async function readProviderSkills(db: Db | Tx, keys: readonly string[]): Promise<Row[]> {
  return sliced(keys, (s) => untyped(db).selectFrom('provider_skill')
    .innerJoin('skill', 'skill.id', 'provider_skill.skill_id')
    .leftJoin('category', 'category.id', 'skill.category_id')
    .select(['provider_skill.provider_id as provider_id', 'provider_skill.skill_id as skill_id', 'provider_skill.level as level',
      'skill.category_id as category_id', 'category.parent_id as parent_id'])
    .where('provider_skill.provider_id', 'in', s).execute());
}

/** Qualifications obtained by `asOf` (or with no date). */
export async function readProviderQualifications(db: Db | Tx, keys: readonly string[], asOf: number): Promise<Row[]> {
  return sliced(keys, (s) => untyped(db).selectFrom('provider_qualification').select(['provider_id', 'qualification_id'])
    .where('provider_id', 'in', s)
    .where((eb) => eb.or([eb('obtained_at', 'is', null), eb('obtained_at', '<=', asOf)]))
    .execute());
}

/** Hires made by `asOf`, with the job's client and the completion outcome if it was known by `asOf`. */
export async function readProviderHires(db: Db | Tx, keys: readonly string[], asOf: number): Promise<Row[]> {
  return sliced(keys, (s) => untyped(db).selectFrom('hire')
    .innerJoin('job', 'job.id', 'hire.job_id')
    .leftJoin('completion', (j) => j.onRef('completion.hire_id', '=', 'hire.id').on('completion.event_at', '<=', asOf))
    .select(['hire.id as hire_id', 'hire.provider_id as provider_id', 'hire.event_at as event_at', 'job.client_id as client_id', 'completion.outcome as outcome'])
    .where('hire.provider_id', 'in', s).where('hire.event_at', '<=', asOf).execute());
}

/** SEO tags of the jobs each provider was hired for by `asOf`. */
export async function readProviderHiredTags(db: Db | Tx, keys: readonly string[], asOf: number): Promise<Row[]> {
  return sliced(keys, (s) => untyped(db).selectFrom('hire')
    .innerJoin('job_tag', 'job_tag.job_id', 'hire.job_id')
    .select(['hire.provider_id as provider_id', 'job_tag.tag_id as tag_id']).distinct()
    .where('hire.provider_id', 'in', s).where('hire.event_at', '<=', asOf).execute());
}

/** The latest proposal time of each provider by `asOf`. */
export async function readLastProposalAt(db: Db | Tx, keys: readonly string[], asOf: number): Promise<Map<string, number>> {
  const rows = await sliced(keys, (s) => untyped(db).selectFrom('proposal').select((eb) => ['provider_id', eb.fn.max('event_at').as('last')])
    .where('provider_id', 'in', s).where('event_at', '<=', asOf).groupBy('provider_id').execute());
  return new Map(rows.map((r: Row) => [String(r.provider_id), num(r.last)]));
}

/** Connections made by `asOf`, counted per user (stored once per pair, so both columns count). */
export async function readConnectionCounts(db: Db | Tx, keys: readonly string[], asOf: number): Promise<Map<string, number>> {
  const k = untyped(db);
  const out = new Map<string, number>();
  for (const col of ['user_a', 'user_b'] as const) {
    const rows = await sliced(keys, (s) => k.selectFrom('connection').select((eb) => [`${col} as u`, eb.fn.countAll().as('n')])
      .where(col, 'in', s).where('connected_at', '<=', asOf).groupBy(col).execute());
    for (const r of rows as Row[]) out.set(String(r.u), (out.get(String(r.u)) ?? 0) + num(r.n));
  }
  return out;
}

/** Every connection made by `asOf`, as pairs. */
export async function readConnections(db: Db | Tx, asOf: number): Promise<[string, string][]> {
  const rows = await untyped(db).selectFrom('connection').select(['user_a', 'user_b']).where('connected_at', '<=', asOf).execute();
  return rows.map((r: Row) => [String(r.user_a), String(r.user_b)]);
}

export async function readJobs(db: Db | Tx, keys: readonly string[]): Promise<Row[]> {
  return sliced(keys, (s) => untyped(db).selectFrom('job')
    .leftJoin('client', 'client.id', 'job.client_id')
    .leftJoin('category', 'category.id', 'job.category_id')
    .select(['job.id as id', 'job.client_id as client_id', 'job.category_id as category_id', 'category.parent_id as parent_id',
      'job.budget_min_minor as budget_min_minor', 'job.budget_max_minor as budget_max_minor', 'job.fixed_price_minor as fixed_price_minor',
      'job.currency as currency', 'job.posted_at as posted_at', 'client.timezone as client_timezone'])
    .where('job.id', 'in', s).execute());
}

export async function readJobSkills(db: Db | Tx, keys: readonly string[]): Promise<Row[]> {
  return sliced(keys, (s) => untyped(db).selectFrom('job_skill').select(['job_id', 'skill_id', 'required']).where('job_id', 'in', s).execute());
}

export async function readJobPairs(db: Db | Tx, table: 'job_qualification' | 'job_tag', column: string, keys: readonly string[]): Promise<Row[]> {
  return sliced(keys, (s) => untyped(db).selectFrom(table).select(['job_id', `${column} as v`]).where('job_id', 'in', s).execute());
}

/** Budgets of the jobs posted by `asOf` in these categories: the price distribution each job is placed in. */
export async function readCategoryBudgets(db: Db | Tx, categories: readonly string[], asOf: number): Promise<Row[]> {
  if (categories.length === 0) return [];
  return untyped(db).selectFrom('job')
    .select(['category_id', 'currency', 'budget_min_minor', 'budget_max_minor', 'fixed_price_minor'])
    .where('category_id', 'in', [...categories]).where('posted_at', '<=', asOf).execute();
}

/**
 * Per category, over hires made by `asOf` in the provider's own currency: the sum of hire amounts
 * and of the hired providers' hourly rates (their ratio estimates a job's hours).
 */
export async function readCategoryHireRates(db: Db | Tx, categories: readonly string[], asOf: number): Promise<Map<string, { amount: number; rate: number; n: number }>> {
  if (categories.length === 0) return new Map();
  const rows = await untyped(db).selectFrom('hire')
    .innerJoin('job', 'job.id', 'hire.job_id')
    .innerJoin('provider', 'provider.id', 'hire.provider_id')
    .select((eb) => ['job.category_id as category_id', eb.fn.sum('hire.amount_minor').as('amount'),
      eb.fn.sum('provider.hourly_rate_minor').as('rate'), eb.fn.countAll().as('n')])
    .where('job.category_id', 'in', [...categories]).where('hire.event_at', '<=', asOf)
    .whereRef('hire.currency', '=', 'provider.currency').where('provider.hourly_rate_minor', '>', 0)
    .groupBy('job.category_id').execute();
  return new Map(rows.map((r: Row) => [String(r.category_id), { amount: num(r.amount), rate: num(r.rate), n: num(r.n) }]));
}

/** Jobs posted in (from, to], and per skill of `keys` how many of them list it. */
export async function readSkillJobCounts(db: Db | Tx, keys: readonly string[] | null, from: number, to: number): Promise<{ jobs: number; df: Map<string, number> }> {
  const k = untyped(db);
  const total = await k.selectFrom('job').select((eb) => eb.fn.countAll().as('n'))
    .where('posted_at', '>', from).where('posted_at', '<=', to).executeTakeFirst();
  let q = k.selectFrom('job_skill').innerJoin('job', 'job.id', 'job_skill.job_id')
    .select((eb) => ['job_skill.skill_id as skill_id', eb.fn.count('job_skill.job_id').distinct().as('n')])
    .where('job.posted_at', '>', from).where('job.posted_at', '<=', to);
  if (keys) q = q.where('job_skill.skill_id', 'in', [...keys]);
  const rows = await q.groupBy('job_skill.skill_id').execute();
  return { jobs: num(total?.n), df: new Map(rows.map((r: Row) => [String(r.skill_id), num(r.n)])) };
}

// --- ads ---------------------------------------------------------------------------------------

export type EventTable = 'impression' | 'click';

/**
 * Events of the entities `keys` (in column `column`) in the trailing windows ending at `asOf`:
 * one grouped count per window bound, event time in (asOf − window, asOf].
 * `narrow` adds a filter that lets the database use an index (a creative's campaign).
 */
export async function countWindows(
  db: Db | Tx, table: EventTable, column: string, keys: readonly string[], asOf: number, windows: Record<string, number>,
  narrow?: { column: string; values: readonly string[] },
): Promise<Map<string, Record<string, number>>> {
  const longest = Math.max(...Object.values(windows));
  const rows = await sliced(keys, (s) => {
    let q = untyped(db).selectFrom(table)
      .select((eb) => [`${column} as k`, ...Object.entries(windows).map(([name, ms]) =>
        eb.fn.sum(eb.case().when('event_at', '>', asOf - ms).then(1).else(0).end()).as(name))])
      .where(column, 'in', s).where('event_at', '>', asOf - longest).where('event_at', '<=', asOf);
    if (narrow && narrow.values.length > 0) q = q.where(narrow.column, 'in', [...narrow.values]);
    return q.groupBy(column).execute();
  });
  return new Map(rows.map((r: Row) => [String(r.k), Object.fromEntries(Object.keys(windows).map((w) => [w, num(r[w])]))]));
}

/** Click times in (from, to] of the entities `keys`, ordered per entity: for the smallest gap between clicks. */
export async function readClickTimes(db: Db | Tx, column: 'ip' | 'device', keys: readonly string[], from: number, to: number): Promise<Map<string, number[]>> {
  const rows = await sliced(keys, (s) => untyped(db).selectFrom('click').select([`${column} as k`, 'event_at'])
    .where(column, 'in', s).where('event_at', '>', from).where('event_at', '<=', to)
    .orderBy(column).orderBy('event_at').execute());
  const out = new Map<string, number[]>();
  for (const r of rows as Row[]) {
    const list = out.get(String(r.k)) ?? [];
    list.push(num(r.event_at));
    out.set(String(r.k), list);
  }
  return out;
}

/**
 * Distinct values of `column` in events with event time in (asOf − window, asOf], one page in key
 * order. With changedSince the range starts at changedSince − window instead (when earlier): the
 * entities whose windowed values may differ from a run at that time.
 */
export async function pageEventKeys(
  db: Db | Tx, tables: readonly EventTable[], column: string, windowMs: number, q: KeyPage,
): Promise<string[]> {
  const from = Math.min(q.asOf, q.changedSince ?? q.asOf) - windowMs, to = q.asOf;
  const k = untyped(db);
  const part = (table: EventTable) => {
    let query = k.selectFrom(table).select(`${column} as k`).distinct()
      .where(column, 'is not', null).where('event_at', '>', from).where('event_at', '<=', to);
    if (q.afterKey !== undefined) query = query.where(column, '>', q.afterKey);
    return query;
  };
  // One union ordered by the database, so pages follow its collation like the `>` filter does.
  let all = part(tables[0]!);
  for (const t of tables.slice(1)) all = all.union(part(t));
  const rows = await k.selectFrom(all.as('u')).select('u.k').orderBy('u.k').limit(q.limit).execute();
  return rows.map((r: Row) => String(r.k));
}

export async function readCreativeCampaigns(db: Db | Tx, keys: readonly string[]): Promise<string[]> {
  const rows = await sliced(keys, (s) => untyped(db).selectFrom('creative').select('campaign_id').distinct().where('id', 'in', s).execute());
  return [...new Set(rows.map((r: Row) => String(r.campaign_id)))];
}

export async function readCampaigns(db: Db | Tx, keys: readonly string[]): Promise<Row[]> {
  return sliced(keys, (s) => untyped(db).selectFrom('campaign')
    .select(['id', 'advertiser_id', 'bid_type', 'bid_minor', 'currency', 'daily_budget_minor', 'lifetime_budget_minor',
      'starts_at', 'ends_at', 'targeting', 'status'])
    .where('id', 'in', s).execute());
}

/** Each user's clicks in (from, to] with the clicked campaign's targeting (JSON text). */
export async function readUserClickTargets(db: Db | Tx, keys: readonly string[], from: number, to: number): Promise<Row[]> {
  return sliced(keys, (s) => untyped(db).selectFrom('click').innerJoin('campaign', 'campaign.id', 'click.campaign_id')
    .select(['click.user_id as user_id', 'campaign.targeting as targeting'])
    .where('click.user_id', 'in', s).where('click.event_at', '>', from).where('click.event_at', '<=', to).execute());
}

/** Proposals per provider in the trailing windows and hires in the trailing `hireWindow`, ending at `asOf`. */
export async function readProviderActivity(
  db: Db | Tx, keys: readonly string[], asOf: number, proposalWindows: Record<string, number>, hireWindow: number,
): Promise<{ proposals: Map<string, Record<string, number>>; hires: Map<string, number>; lastAt: Map<string, number> }> {
  const k = untyped(db);
  const longest = Math.max(...Object.values(proposalWindows));
  const prop = await sliced(keys, (s) => k.selectFrom('proposal')
    .select((eb) => ['provider_id', ...Object.entries(proposalWindows).map(([name, ms]) =>
      eb.fn.sum(eb.case().when('event_at', '>', asOf - ms).then(1).else(0).end()).as(name))])
    .where('provider_id', 'in', s).where('event_at', '>', asOf - longest).where('event_at', '<=', asOf)
    .groupBy('provider_id').execute());
  const hires = await sliced(keys, (s) => k.selectFrom('hire').select((eb) => ['provider_id', eb.fn.countAll().as('n')])
    .where('provider_id', 'in', s).where('event_at', '>', asOf - hireWindow).where('event_at', '<=', asOf)
    .groupBy('provider_id').execute());
  const last = new Map<string, number>();
  for (const table of ['proposal', 'hire'] as const) {
    const rows = await sliced(keys, (s) => k.selectFrom(table).select((eb) => ['provider_id', eb.fn.max('event_at').as('last')])
      .where('provider_id', 'in', s).where('event_at', '<=', asOf).groupBy('provider_id').execute());
    for (const r of rows as Row[]) last.set(String(r.provider_id), Math.max(last.get(String(r.provider_id)) ?? 0, num(r.last)));
  }
  return {
    proposals: new Map(prop.map((r: Row) => [String(r.provider_id), Object.fromEntries(Object.keys(proposalWindows).map((w) => [w, num(r[w])]))])),
    hires: new Map(hires.map((r: Row) => [String(r.provider_id), num(r.n)])),
    lastAt: last,
  };
}

export { numOrNull };
