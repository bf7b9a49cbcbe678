// The Udacity A/B test (ab_data.csv, gzipped fixture) loaded as exposures and conversion events
// and analysed by the experiment's own SQL path: after dropping rows whose group and landing page
// disagree and keeping each user's first row, control converts at ≈ 0.1204 and treatment at
// ≈ 0.1188, two-sided p ≈ 0.19 — the result published with the data set (../shared/datasets/README.md).
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { parse } from 'csv-parse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExperimentReport } from '../../experiments/experiment.service.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { DIALECTS, useTestEnv } from '../helpers/test-env.js';

const AB_DATA = join(import.meta.dirname, '../fixtures/ab_data/ab_data.csv.gz');
const PAGE = { control: 'old_page', treatment: 'new_page' } as Record<string, string>;

async function readAbData(): Promise<{ user: string; group: string; at: number; converted: boolean }[]> {
  const seen = new Set<string>();
  const out: { user: string; group: string; at: number; converted: boolean }[] = [];
  const rows = createReadStream(AB_DATA).pipe(createGunzip()).pipe(parse({ columns: true }));
  for await (const r of rows as AsyncIterable<Record<string, string>>) {
    if (PAGE[r.group!] !== r.landing_page) continue; // group and page disagree: not usable
    if (seen.has(r.user_id!)) continue;              // a user's first row only
    seen.add(r.user_id!);
    out.push({ user: r.user_id!, group: r.group!, at: Date.parse(`${r.timestamp!.replace(' ', 'T')}Z`), converted: r.converted === '1' });
  }
  return out;
}

describe.each(DIALECTS)('ab_data.csv as an experiment (%s)', (dialect) => {
  const env = useTestEnv({ dialect });
  let t: TestApp;
  const actor = { type: 'system', id: 'test' } as const;

  beforeAll(async () => { t = await startTestApp(env.config({ 'rateLimit.enabled': false })); });
  afterAll(async () => { await t?.close(); });

  it('reproduces the published conversion rates and p-value through the SQL analysis', async () => {
    const x = t.services.experiments;
    await x.create({ key: 'udacity-landing', hypothesis: 'the new landing page converts better', unitType: 'user', variants: [{ key: 'control' }, { key: 'treatment' }], primaryMetric: 'events.converted' }, actor);
    await x.start('udacity-landing', actor);
    const users = await readAbData();
    expect(users.length).toBe(290_584);
    for (let i = 0; i < users.length; i += 10_000) {
      const chunk = users.slice(i, i + 10_000);
      const r = await x.recordExposures('udacity-landing', chunk.map((u) => ({ unitId: u.user, variant: u.group, at: u.at })));
      expect(r.refused).toEqual([]);
      await x.recordEvents(chunk.filter((u) => u.converted).map((u) => ({ name: 'converted', unitId: u.user, at: u.at + 1 })));
    }
    const bad = await x.recordEvents([{ name: 'converted', unitId: 'ok', at: 1 }, { name: 'Bad Name', unitId: 'u', at: 1 }]);
    expect(bad).toEqual({ inserted: 1, refused: [{ path: 'events/1/name', message: expect.stringContaining('a-z') }] });

    const report: ExperimentReport = await x.analyze('udacity-landing', { trigger: 'manual', to: Date.UTC(2030, 0, 1), act: false });
    expect(report.exposures).toEqual({ control: 145_274, treatment: 145_310 });
    expect(report.trustworthy).toBe(true);
    const a = report.metrics[0]!.analysis!;
    expect(a.variants[0]!.mean).toBeCloseTo(0.1204, 4);
    expect(a.variants[1]!.mean).toBeCloseTo(0.1188, 4);
    expect(a.comparisons[0]!.fixed.absolute.pValue!).toBeCloseTo(0.19, 2);
    expect(a.comparisons[0]!.significant).toBe(false);

    // Through the API, the kept per-unit values (MySQL) built again from all facts give the same report.
    const again = await t.app.inject({ method: 'POST', url: `/v1/experiments/udacity-landing/analyze?to=${Date.UTC(2030, 0, 1)}&act=false&rebuild=true`, headers: t.adminAuth });
    expect(again.statusCode).toBe(200);
    expect(again.json().metrics[0].analysis.variants).toEqual(a.variants);
    const wrong = await t.app.inject({ method: 'POST', url: '/v1/experiments/udacity-landing/analyze?rebuild=maybe', headers: t.adminAuth });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().error.message).toContain('rebuild');
  }, 180_000);
});
