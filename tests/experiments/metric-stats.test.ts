// The sufficient statistics of a metric (experiment.repository metricStats) against the same
// numbers counted by hand over the inserted facts, on both dialects: the value after exposure and
// before the analysis time, the CUPED covariate in its window before exposure, the percentile cap
// of a sum metric, a conversion counted once per unit, units without facts adding nothing, facts of
// units outside the experiment (or of another experiment's phase) left out. On MySQL the
// metric_event metrics join by the integer unit key; split over two connections they give the same.
import { beforeAll, describe, expect, it } from 'vitest';
import { insertExposures, insertMetricEvents, metricStats, type ExposureRow, type MetricEventRow, type VariantSums } from '../../experiments/experiment.repository.js';
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

  it('sums a capped metric per unit after exposure, with its covariate before it', async () => {
    const want = byHand(units, 'mean', 0.9);
    const got = await metricStats(env.db.db, query('events.buy.sum', 0.9), counts);
    expect(want.cap).toBeGreaterThan(0);
    expect(got.cap).toBe(want.cap);
    expectSums(got.sums, want.sums);
    // Without the cap the sums are the plain ones, and larger.
    const plain = await metricStats(env.db.db, query('events.buy.sum', null), counts);
    expect(plain.cap).toBeNull();
    expectSums(plain.sums, byHand(units, 'mean', null).sums);
    expect(plain.sums[0]!.sumX).toBeGreaterThan(got.sums[0]!.sumX);
  });

  it('counts a conversion once per unit', async () => {
    const got = await metricStats(env.db.db, query('events.buy', null), counts);
    expect(got.cap).toBeNull();
    expectSums(got.sums, byHand(units, 'binomial', null).sums);
  });

  it('gives the same numbers with the join split over two connections', async () => {
    for (const [metric, cap, kind] of [['events.buy.sum', 0.9, 'mean'], ['events.buy', null, 'binomial']] as const) {
      const want = byHand(units, kind, cap);
      const split = await metricStats(env.db.db, query(metric, cap), counts, { parts: 2 });
      expect(split.cap).toBe(want.cap);
      expectSums(split.sums, want.sums);
    }
  });
});
