// The sufficient statistics of a metric (experiment.repository metricStats) against the same
// numbers counted by hand over the inserted facts, on both dialects: the value after exposure and
// before the analysis time, the CUPED covariate in its window before exposure, the percentile cap
// of a sum metric, a conversion counted once per unit, units without facts adding nothing, facts of
// units outside the experiment (or of another experiment's phase) left out. On MySQL the
// metric_event metrics join by the integer unit key; split over two connections they give the
// same; and the kept per-unit tables (incremental analysis) give the same as the full join,
// after new exposures, new and late facts, a change of end time, and a transaction that commits
// after an analysis has started.
import { sql } from 'kysely';
import { createPool } from 'mysql2/promise';
import { beforeAll, describe, expect, it } from 'vitest';
import { insertExposures, insertMetricEvents, type ExposureRow, type MetricEventRow } from '../../experiments/experiment.repository.js';
import { metricStats, type MetricStatsOptions, type VariantSums } from '../../experiments/metric-stats.repository.js';
import { metricDefinition } from '../../experiments/metrics/metric-catalog.js';
import { uniform } from '../../pipelines/synthetic/random.js';
import { DIALECTS, useTestEnv } from '../helpers/test-env.js';

const T0 = Date.UTC(2026, 10, 1);
const HOUR = 3_600_000;
const WINDOW = 48 * HOUR;
const TO = T0 + 200 * HOUR;
const KEY = 'stats-exp';

interface Unit { id: string; variant: number; exposedAt: number; facts: { at: number; value: number }[] }

/** Seeded units with facts before the window, in it, after exposure, and after the analysis time. */
function makeUnits(): Unit[] {
  const r = uniform('metric-stats');
  return Array.from({ length: 240 }, (_, i) => {
    const exposedAt = T0 + Math.floor(r() * 100 * HOUR);
    const facts = [];
    const k = Math.floor(r() * 4); // 0–3 facts, some units none
    for (let j = 0; j < k; j++) {
      const at = exposedAt + Math.floor((r() * 2 - 0.6) * 150 * HOUR); // before the window … after TO
      facts.push({ at, value: Math.round(r() * 10_000) / 100 });
    }
    // Unicode and long ids go through the key like any other.
    return { id: i % 17 === 0 ? `ünit-${i}-${'x'.repeat(i % 50)}` : `u${i}`, variant: r() < 0.5 ? 0 : 1, exposedAt, facts };
  });
}

function byHand(units: Unit[], kind: 'mean' | 'binomial', capPercentile: number | null): { cap: number | null; sums: Map<number, VariantSums> } {
  const rows = units.map((u) => {
    const after = u.facts.filter((f) => f.at >= u.exposedAt && f.at < TO);
    const before = u.facts.filter((f) => f.at >= u.exposedAt - WINDOW && f.at < u.exposedAt);
    const value = (fs: { value: number }[]) => (kind === 'binomial' ? (fs.length > 0 ? 1 : 0) : fs.reduce((a, f) => a + f.value, 0));
    return { variant: u.variant, x: value(after), c: value(before) };
  });
  let cap: number | null = null;
  if (capPercentile !== null) {
    const positive = rows.map((r) => r.x).filter((x) => x > 0).sort((a, b) => a - b);
    cap = positive[Math.min(positive.length - 1, Math.max(0, Math.ceil(capPercentile * positive.length) - 1))]!;
  }
  const lim = (v: number) => (cap === null ? v : Math.min(v, cap));
  const sums = new Map<number, VariantSums>();
  for (const v of [0, 1]) sums.set(v, { variant: v, n: 0, sumX: 0, sumX2: 0, sumY: 0, sumY2: 0, sumXY: 0, sumC: 0, sumC2: 0, sumXC: 0 });
  for (const r of rows) {
    const s = sums.get(r.variant)!;
    const x = lim(r.x), c = lim(r.c);
    s.n++; s.sumX += x; s.sumX2 += x * x; s.sumC += c; s.sumC2 += c * c; s.sumXC += x * c;
  }
  return { cap, sums };
}

describe.each(DIALECTS)('metric sufficient statistics (%s)', (dialect) => {
  const env = useTestEnv({ dialect });
  const units = makeUnits();
  const counts = new Map<number, number>([[0, 0], [1, 0]]);
  for (const u of units) counts.set(u.variant, counts.get(u.variant)! + 1);

  beforeAll(async () => {
    const db = env.db.db;
    const exposures: ExposureRow[] = units.map((u) => ({ experiment: KEY, unit_id: u.id, phase: 1, variant: u.variant, exposed_at: u.exposedAt }));
    // Another experiment, and an earlier phase of another, on the same units: never counted here.
    exposures.push(...units.slice(0, 30).map((u) => ({ experiment: 'other', unit_id: u.id, phase: 1, variant: 1 - u.variant, exposed_at: T0 })));
    await insertExposures(db, exposures);
    const events: MetricEventRow[] = units.flatMap((u) => u.facts.map((f) => ({ name: 'buy', unit_id: u.id, value: f.value, event_at: f.at })));
    // Facts of units outside the experiment, and of another event on its units.
    events.push(...Array.from({ length: 50 }, (_, i) => ({ name: 'buy', unit_id: `stranger${i}`, value: 5, event_at: T0 + 10 * HOUR })));
    events.push(...units.slice(0, 40).map((u) => ({ name: 'view', unit_id: u.id, value: 1000, event_at: u.exposedAt + HOUR })));
    await insertMetricEvents(db, events);
  });

  const query = (metric: string, capPercentile: number | null) => ({
    experiment: KEY, phase: 1, metric: metricDefinition(metric), to: TO, currency: 'USD', covariateWindowMs: WINDOW, capPercentile,
  });

  function expectSums(got: VariantSums[], want: Map<number, VariantSums>): void {
    expect(got.map((s) => s.variant)).toEqual([0, 1]);
    for (const s of got) {
      const w = want.get(s.variant)!;
      expect(s.n).toBe(w.n);
      for (const k of ['sumX', 'sumX2', 'sumC', 'sumC2', 'sumXC'] as const) expect(s[k]).toBeCloseTo(w[k], 6);
      expect(s.sumY).toBe(0);
    }
  }

  // MySQL: the kept per-unit table (the default for metric_event metrics) and the full join.
  describe.each(dialect === 'mysql' ? [{ incremental: true }, { incremental: false }] : [{}])('%o', (mode: MetricStatsOptions) => {
  const stats = (q: ReturnType<typeof query>, o: MetricStatsOptions = {}) => metricStats(env.db.db, q, counts, { ...mode, ...o });

  it('sums a capped metric per unit after exposure, with its covariate before it', async () => {
    const want = byHand(units, 'mean', 0.9);
    const got = await stats(query('events.buy.sum', 0.9));
    expect(got.source.mode).toBe(dialect === 'mysql' && mode.incremental ? 'built' : 'full');
    expect(want.cap).toBeGreaterThan(0);
    expect(got.cap).toBe(want.cap);
    expectSums(got.sums, want.sums);
    // Without the cap the sums are the plain ones, and larger.
    const plain = await stats(query('events.buy.sum', null));
    expect(plain.cap).toBeNull();
    expectSums(plain.sums, byHand(units, 'mean', null).sums);
    expect(plain.sums[0]!.sumX).toBeGreaterThan(got.sums[0]!.sumX);
  });

  it('counts a conversion once per unit', async () => {
    const got = await stats(query('events.buy', null));
    expect(got.cap).toBeNull();
    expectSums(got.sums, byHand(units, 'binomial', null).sums);
  });

  it('gives the same numbers with the join split over two connections', async () => {
    for (const [metric, cap, kind] of [['events.buy.sum', 0.9, 'mean'], ['events.buy', null, 'binomial']] as const) {
      const want = byHand(units, kind, cap);
      const split = await stats(query(metric, cap), { parts: 2, rebuild: true });
      expect(split.cap).toBe(want.cap);
      expectSums(split.sums, want.sums);
    }
  });
  });
});

// MySQL: the kept per-unit tables brought up to date as exposures and facts keep coming in.
describe('incremental analysis: kept per-unit values (mysql)', () => {
  const env = useTestEnv({ dialect: 'mysql' });
  const units = makeUnits();
  const first = units.slice(0, 150), later = units.slice(150);
  const countsOf = (us: Unit[]) => {
    const m = new Map<number, number>([[0, 0], [1, 0]]);
    for (const u of us) m.set(u.variant, m.get(u.variant)! + 1);
    return m;
  };
  const query = (metric: string, capPercentile: number | null, to = TO) => ({
    experiment: KEY, phase: 1, metric: metricDefinition(metric), to, currency: 'USD', covariateWindowMs: WINDOW, capPercentile,
  });
  const expose = (us: Unit[]) => insertExposures(env.db.db, us.map((u) => ({ experiment: KEY, unit_id: u.id, phase: 1, variant: u.variant, exposed_at: u.exposedAt })));
  // Each unit's even-numbered facts come in first, the odd ones late.
  const early = (u: Unit) => ({ ...u, facts: u.facts.filter((_, j) => j % 2 === 0) });
  const late = (u: Unit) => ({ ...u, facts: u.facts.filter((_, j) => j % 2 === 1) });
  const facts = (us: Unit[]) => us.flatMap((u) => u.facts.map((f) => ({ name: 'buy', unit_id: u.id, value: f.value, event_at: f.at })));
  const keptTables = async () => (await sql<{ t: string }>`SELECT table_name AS t FROM information_schema.TABLES WHERE table_schema = DATABASE() AND table_name LIKE 'gi\\_rollup\\_%'`.execute(env.db.db)).rows.map((r) => r.t);

  function expectSame(got: { cap: number | null; sums: VariantSums[] }, want: ReturnType<typeof byHand>): void {
    expect(got.cap).toBe(want.cap);
    for (const s of got.sums) {
      const w = want.sums.get(s.variant)!;
      expect(s.n).toBe(w.n);
      for (const k of ['sumX', 'sumX2', 'sumC', 'sumC2', 'sumXC'] as const) expect(s[k]).toBeCloseTo(w[k], 6);
    }
  }

  it('computes again only the units whose exposure or facts came in, and agrees with the full join', async () => {
    const db = env.db.db;
    // The first units and their facts, then an analysis builds the table.
    await expose(first);
    await insertMetricEvents(db, facts(first.map(early)));
    await new Promise((r) => setTimeout(r, 20));
    const opts = { watermarkMarginMs: 0 };
    const built = await metricStats(db, query('events.buy.sum', 0.9), countsOf(first), opts);
    expect(built.source.mode).toBe('built');
    expectSame(built, byHand(first.map(early), 'mean', 0.9));

    // Nothing new: nothing computed again.
    await new Promise((r) => setTimeout(r, 20));
    const idle = await metricStats(db, query('events.buy.sum', 0.9), countsOf(first), opts);
    expect(idle.source).toEqual({ mode: 'refreshed', touched: 0 });

    // Late facts of the first units (some dated before their exposure: covariates), new units with
    // their facts, and facts of units not in the experiment.
    await insertMetricEvents(db, facts(first.map(late)));
    await expose(later);
    await insertMetricEvents(db, [...facts(later), { name: 'buy', unit_id: 'stranger', value: 7, event_at: T0 }]);
    await new Promise((r) => setTimeout(r, 20));
    const refreshed = await metricStats(db, query('events.buy.sum', 0.9), countsOf(units), opts);
    const lateUnits = first.filter((u) => late(u).facts.length > 0).length;
    expect(refreshed.source).toEqual({ mode: 'refreshed', touched: lateUnits + later.length + 1 });
    expectSame(refreshed, byHand(units, 'mean', 0.9));
    const full = await metricStats(db, query('events.buy.sum', 0.9), countsOf(units), { incremental: false });
    expect(full.source.mode).toBe('full');
    expectSame(full, byHand(units, 'mean', 0.9));
    expect(await keptTables()).toHaveLength(1);
  });

  it('builds again, and drops the old table, when the end of the facts changes', async () => {
    const before = await keptTables();
    const to = TO - 40 * HOUR;
    const got = await metricStats(env.db.db, query('events.buy.sum', 0.9, to), countsOf(units), { watermarkMarginMs: 0 });
    expect(got.source.mode).toBe('built');
    const after = await keptTables();
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(before[0]);
    // byHand counts facts before TO: compare with the full join at the same end instead.
    const full = await metricStats(env.db.db, query('events.buy.sum', 0.9, to), countsOf(units), { incremental: false });
    expect(got.cap).toBe(full.cap);
    expect(got.sums).toEqual(full.sums.map((s) => ({ ...s, sumX: expect.closeTo(s.sumX, 6), sumX2: expect.closeTo(s.sumX2, 4), sumC: expect.closeTo(s.sumC, 6), sumC2: expect.closeTo(s.sumC2, 4), sumXC: expect.closeTo(s.sumXC, 4) })));
  });

  it('counts facts of a transaction that was open during an analysis and committed after it', async () => {
    const db = env.db.db;
    const q = query('events.buy', null, TO + 1);
    const counts = countsOf(units);
    await metricStats(db, q, counts, { watermarkMarginMs: 0 });
    const pool = createPool({ uri: env.databaseUrl, connectionLimit: 1 });
    try {
      const conn = await pool.getConnection();
      // A unit without any fact yet converts, inside a transaction that stays open across an analysis.
      const quiet = units.find((u) => u.facts.length === 0)!;
      await conn.query('START TRANSACTION');
      await conn.query('INSERT INTO metric_event (name, unit_id, value, event_at) VALUES (?, ?, ?, ?)', ['buy', quiet.id, 1, quiet.exposedAt + HOUR]);
      await new Promise((r) => setTimeout(r, 1100)); // trx_started has one-second precision
      const during = await metricStats(db, q, counts, { watermarkMarginMs: 0 });
      await conn.query('COMMIT');
      conn.release();
      const after = await metricStats(db, q, counts, { watermarkMarginMs: 0 });
      expect(after.source.mode).toBe('refreshed');
      const x = (r: typeof during) => r.sums.find((s) => s.variant === quiet.variant)!.sumX;
      expect(x(after)).toBe(x(during) + 1);
      const full = await metricStats(db, q, counts, { incremental: false });
      expect(after.sums).toEqual(full.sums);
    } finally {
      await pool.end();
    }
  });

  it('serialises analyses of the same metric', async () => {
    const q = query('events.buy.sum', 0.9);
    await insertMetricEvents(env.db.db, [{ name: 'buy', unit_id: units[0]!.id, value: 3, event_at: units[0]!.exposedAt + HOUR }]);
    const [a, b] = await Promise.all([metricStats(env.db.db, q, countsOf(units)), metricStats(env.db.db, q, countsOf(units))]);
    expect(a.sums).toEqual(b.sums);
    expect(a.cap).toBe(b.cap);
  });
});
