// Live audits of the prediction log on both dialects: logged rankings, hires and sensitive
// attributes inserted directly, the report checked against hand computation, stored and served
// by GET/POST /v1/models/:model/versions/:version/audits.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { auditCommand } from '../../../../services/scoring/fairness/audit.command.js';
import { startTestApp, type TestApp } from '../../../helpers/test-app.js';
import { DIALECTS, useTestEnv } from '../../../helpers/test-env.js';
import { createAuditService, parseCandidates, scoringAuditJob, type AuditService, type ModelAudit } from '../../../../services/scoring/fairness/live-audit.service.js';
import { positionWeight } from '../../../../services/scoring/fairness/ranking-metrics.js';

const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 10, 25, 12, 30);
const T0 = NOW - 5 * HOUR;
const cli = { type: 'cli' as const, id: 'tester' };
const w = positionWeight;

interface Cand { id: string; score: number; rank: number | null }
const pred = (id: string, o: { role?: string; version?: number; at?: number; job: string; endpoint?: string; candidates: Cand[] }) => ({
  id, request_id: null, endpoint: o.endpoint ?? 'match.rank', model: 'matching-ranker', version: o.version ?? 1, alias: 'champion',
  role: o.role ?? 'serve', experiment: null, variant: null, unit_id: o.job, context_id: o.job,
  candidates: JSON.stringify(o.candidates), features_hash: 'x'.repeat(64), features: null, explanations: null, missing: null,
  actor: null, created_at: o.at ?? T0 + 1000,
});
const ranked = (...c: [string, number][]) => c.map(([id, score], i) => ({ id, score, rank: i + 1 }));

async function seed(db: Kysely<any>) { // eslint-disable-line @typescript-eslint/no-explicit-any
  await db.insertInto('provider').values(['p1', 'p2', 'p3', 'p4', 'p5', 'p6'].map((id) => ({
    id, headline: id, hourly_rate_minor: 1000, currency: 'USD', country: 'US', timezone: 'UTC', level: 'mid', joined_at: 1, updated_at: 1,
  }))).execute();
  await db.insertInto('job').values(['j1', 'j2', 'j3', 'j4'].map((id) => ({ id, kind: 'hourly', title: id, currency: 'USD', posted_at: 1, status: 'open', updated_at: 1 }))).execute();
  await db.insertInto('hire').values([['h1', 'j1', 'p3'], ['h2', 'j2', 'p2'], ['h3', 'j3', 'p5']].map(([id, job, provider]) => ({
    id, job_id: job, provider_id: provider, amount_minor: 100, currency: 'USD', event_at: 1, ingested_at: 1,
  }))).execute();
  // p6 has no gender on record; only p1 has an age band.
  await db.insertInto('sensitive_attribute').values([
    ...[['p1', 'f'], ['p2', 'm'], ['p3', 'f'], ['p4', 'm'], ['p5', 'm']].map(([s, v]) => ({ subject_id: s, attribute: 'gender', value: v, updated_at: 1 })),
    { subject_id: 'p1', attribute: 'age_band', value: '25-34', updated_at: 1 },
  ]).execute();
  await db.insertInto('prediction_log').values([
    pred('pr_1', { job: 'j1', candidates: ranked(['p1', 0.9], ['p2', 0.8], ['p3', 0.4], ['p4', 0.2]) }),
    pred('pr_2', { job: 'j2', role: 'canary', candidates: ranked(['p2', 0.7], ['p4', 0.6], ['p1', 0.5], ['p5', 0.3], ['p6', 0.1]) }),
    // Scored, not ranked: selected when the score reaches the threshold.
    pred('pr_3', { job: 'j3', endpoint: 'match.score', candidates: [{ id: 'p3', score: 0.7, rank: null }, { id: 'p5', score: 0.2, rank: null }] }),
    // Never audited: a shadow score, a prediction outside the window.
    pred('pr_4', { job: 'j1', role: 'shadow', candidates: ranked(['p6', 0.9], ['p5', 0.8]) }),
    pred('pr_5', { job: 'j1', at: T0 - 1, candidates: ranked(['p6', 0.9], ['p5', 0.8]) }),
    // Another version; j4 has no hire yet, so its outcome is unknown.
    pred('pr_6', { job: 'j4', version: 2, candidates: ranked(['p5', 0.9], ['p1', 0.8]) }),
  ]).execute();
}

describe.each(DIALECTS)('live fairness audit on %s', (dialect) => {
  const env = useTestEnv({ dialect });
  let audits: AuditService;
  let audit: ModelAudit;

  beforeAll(async () => {
    await seed(env.db.db as unknown as Kysely<any>); // eslint-disable-line @typescript-eslint/no-explicit-any
    audits = createAuditService({ db: env.db.db, now: () => NOW });
    audit = await audits.auditVersion({ model: 'matching-ranker', version: 1, from: T0, to: T0 + HOUR, k: 2 }, cli);
  });

  it('reads serve and canary predictions of the version in the window', () => {
    expect(audit).toMatchObject({ model: 'matching-ranker', version: 1, from: T0, to: T0 + HOUR, predictions: 3, trigger: 'manual', createdBy: 'cli:tester', createdAt: NOW });
    expect(audit.report).toMatchObject({ predictions: 3, rankings: 2, candidates: 11, labelled: 11, k: 2, threshold: 0.5, truncated: false });
    expect(Object.keys(audit.report.attributes)).toEqual(['age_band', 'gender']);
    expect(audit.report.attributes.gender).toMatchObject({ known: 10, unknown: 1 });
    expect(audit.report.attributes.age_band).toMatchObject({ known: 2, unknown: 9 });
  });

  it('computes the ranking metrics by hand', () => {
    const r = audit.report.attributes.gender!.ranking!;
    // pr_1: f m f m (pool ½ ½, top 2: f m). pr_2: m m f m unknown (pool ⅗ ⅕ ⅕, top 2: m m).
    // Pooled over 9 slots: desired f 3/9, m 5/9, unknown 1/9; top-2 slots (4): f 1, m 3, unknown 0.
    const [f, m, unknown] = r.groups;
    expect(r.groups.map((g) => g.group)).toEqual(['f', 'm', 'unknown']);
    expect(f!.desiredShare).toBeCloseTo(3 / 9, 12);
    expect(m!.shareTopK).toBe(0.75);
    expect(f!.skewAtK).toBeCloseTo(Math.log(0.25 / (3 / 9)), 12);
    expect(m!.skewAtK).toBeCloseTo(Math.log(0.75 / (5 / 9)), 12);
    expect(unknown!.skewAtK).toBeNull();
    expect(r.minSkewAtK).toBeNull();
    // Exposure: f at ranks 1, 3 (pr_1) and 3 (pr_2); m at 2, 4 and 1, 2, 4; unknown at 5.
    const ef = w(1) + w(3) + w(3), em = w(2) + w(4) + w(1) + w(2) + w(4), eu = w(5);
    expect(f!.exposure).toBeCloseTo(ef, 12);
    expect(m!.meanExposure).toBeCloseTo(em / 5, 12);
    expect(f!.exposureShare).toBeCloseTo(ef / (ef + em + eu), 12);
    expect(r.exposureRatio).toBeCloseTo(eu / (ef / 3), 12);
  });

  it('computes the classification metrics where hires decided the job', () => {
    const c = audit.report.attributes.gender!.classification!;
    // j1 hired p3, j2 hired p2, j3 hired p5. Selected: rank ≤ 2, or score ≥ 0.5 for pr_3.
    // f: p1 (y0 s1), p3 (y1 s0), p1 (y0 s0), p3 (y0 s1) → selection 2/4, TPR 0/1, FPR 2/3.
    // m: p2 (y0 s1), p4 (y0 s0), p2 (y1 s1), p4 (y0 s1), p5 (y0 s0), p5 (y1 s0) → selection 3/6, TPR 1/2, FPR 2/4.
    // unknown: p6 (y0 s0) → selection 0, no positives (TPR 0 in the disparities, as Fairlearn), FPR 0.
    expect(c.groups.map((g) => [g.group, g.count, g.selectionRate, g.truePositiveRate, g.falsePositiveRate])).toEqual([
      ['f', 4, 0.5, 0, 2 / 3], ['m', 6, 0.5, 0.5, 0.5], ['unknown', 1, 0, null, 0],
    ]);
    expect(c.demographicParityDifference).toBe(0.5);
    expect(c.disparateImpactRatio).toBe(0);
    expect(c.fourFifthsViolated).toBe(true);
    expect(c.equalOpportunityDifference).toBe(0.5);
    expect(c.equalizedOddsDifference).toBeCloseTo(2 / 3, 12);
    // Calibration of f: scores 0.9, 0.4, 0.5, 0.7 against 0, 1, 0, 0.
    expect(c.groups[0]!.calibration!.meanPredicted).toBeCloseTo(0.625, 12);
    expect(c.groups[0]!.calibration!.fractionPositive).toBe(0.25);
  });

  it('stores the audit and lists it; refuses unknown versions and bad windows', async () => {
    const listed = await audits.listAudits('matching-ranker', 1);
    expect(listed[0]).toEqual(audit);
    await expect(audits.auditVersion({ model: 'matching-ranker', version: 9, from: T0, to: T0 + HOUR }, cli)).rejects.toMatchObject({ code: 'not_found' });
    await expect(audits.auditVersion({ model: 'matching-ranker', version: 1, from: T0, to: T0 }, cli)).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it('the scheduled job audits every version with predictions in the last day, once per window', async () => {
    const job = scoringAuditJob(audits);
    expect(job.name).toBe('scoring.audit');
    const ctx = {} as Parameters<typeof job.handler>[1];
    expect(await job.handler({}, ctx)).toEqual({ audited: 2, skipped: 0 });
    expect(await job.handler({}, ctx)).toEqual({ audited: 0, skipped: 2 }); // a retry stores nothing twice
    const [v2] = await audits.listAudits('matching-ranker', 2);
    expect(v2).toMatchObject({ trigger: 'schedule', createdBy: 'system:scoring.audit', from: Date.UTC(2026, 10, 24, 12), to: Date.UTC(2026, 10, 25, 12), predictions: 1 });
    expect(v2!.report.labelled).toBe(0); // j4 has no hire yet
    expect(v2!.report.attributes.gender!.classification).toBeNull();
  });

  it('drops malformed candidate entries instead of failing', () => {
    expect(parseCandidates('[{"id":"a","score":0.5,"rank":1},{"id":2},null,{"id":"b","score":0.1}]')).toEqual([
      { id: 'a', score: 0.5, rank: 1 }, { id: 'b', score: 0.1, rank: null },
    ]);
    expect(parseCandidates('not json')).toEqual([]);
  });
});

describe.each(DIALECTS)('audit routes on %s', (dialect) => {
  const env = useTestEnv({ dialect });
  let t: TestApp;
  let reader: { authorization: string };
  const url = '/v1/models/matching-ranker/versions/1/audits';

  beforeAll(async () => {
    await seed(env.db.db as unknown as Kysely<any>); // eslint-disable-line @typescript-eslint/no-explicit-any
    t = await startTestApp(env.config({ 'rateLimit.enabled': false }));
    const res = await t.app.inject({ method: 'POST', url: '/v1/admin/keys', headers: t.adminAuth, payload: { name: 'reader', scopes: ['registry:read'] } });
    reader = { authorization: `Bearer ${res.json<{ key: string }>().key}` };
  });
  afterAll(async () => { await t?.close(); });

  it('runs an audit (registry:write) and serves the stored ones (registry:read)', async () => {
    expect((await t.app.inject({ method: 'POST', url, headers: reader, payload: {} })).statusCode).toBe(403);
    const run = await t.app.inject({ method: 'POST', url, headers: t.adminAuth, payload: { from: T0, to: T0 + HOUR, k: 2 } });
    expect(run.statusCode, run.body).toBe(201);
    const body = run.json<ModelAudit>();
    expect(body).toMatchObject({ model: 'matching-ranker', version: 1, predictions: 3, trigger: 'manual' });
    expect(body.report.attributes.gender!.classification!.demographicParityDifference).toBe(0.5);
    expect(body.report.attributes.gender!.ranking!.groups[2]).toMatchObject({ group: 'unknown', skewAtK: null });
    const list = await t.app.inject({ method: 'GET', url, headers: reader });
    expect(list.statusCode).toBe(200);
    expect(list.json<{ audits: ModelAudit[] }>().audits).toEqual([body]);
    // Without a window: the day before now.
    const before = Date.now();
    const dflt = (await t.app.inject({ method: 'POST', url, headers: t.adminAuth, payload: { to: NOW } })).json<ModelAudit>();
    expect(dflt).toMatchObject({ from: NOW - 24 * HOUR, to: NOW, predictions: 4 }); // pr_5 too (just before T0)
    const now = (await t.app.inject({ method: 'POST', url, headers: t.adminAuth, payload: {} })).json<ModelAudit>();
    expect(now.to).toBeGreaterThanOrEqual(before);
    expect(now.to - now.from).toBe(24 * HOUR);
  });

  it('answers 404 for an unknown version and 400 naming a bad field', async () => {
    const missing = await t.app.inject({ method: 'POST', url: '/v1/models/matching-ranker/versions/7/audits', headers: t.adminAuth, payload: {} });
    expect(missing.statusCode).toBe(404);
    const bad = await t.app.inject({ method: 'POST', url, headers: t.adminAuth, payload: { k: 0 } });
    expect(bad.statusCode).toBe(400);
    expect(JSON.stringify(bad.json().error)).toContain('k');
    expect((await t.app.inject({ method: 'GET', url })).statusCode).toBe(401);
  });
});

describe('gigintel audit <model> (live, sqlite)', () => {
  const env = useTestEnv({ dialect: 'sqlite' });
  const dir = mkdtempSync(join(tmpdir(), 'gigintel-audit-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function run(args: string[]): Promise<string> {
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ database: { url: env.databaseUrl }, log: { level: 'silent' }, features: { demoSeed: false } }));
    let stdout = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => { stdout += String(chunk); return true; });
    try {
      await new Command('gigintel').option('-c, --config <file>').exitOverride().addCommand(auditCommand())
        .parseAsync(['node', 'gigintel', '--config', config, 'audit', ...args]);
    } finally {
      vi.restoreAllMocks();
    }
    return stdout;
  }

  it('audits every version with predictions in the window and stores the reports', async () => {
    await seed(env.db.db as unknown as Kysely<any>); // eslint-disable-line @typescript-eslint/no-explicit-any
    const from = new Date(T0).toISOString(), to = String(T0 + HOUR);
    const json = JSON.parse(await run(['matching-ranker', '--from', from, '--to', to, '--k', '2', '--json'])) as { audits: ModelAudit[] };
    expect(json.audits.map((a) => [a.version, a.predictions, a.trigger])).toEqual([[1, 3, 'manual'], [2, 1, 'manual']]);
    expect(json.audits[0]!.report.attributes.gender!.classification!.demographicParityDifference).toBe(0.5);
    const text = await run(['matching-ranker', '--version', '1', '--from', from, '--to', to, '--k', '2']);
    expect(text).toMatch(/^matching-ranker v1 {2}audit #3 /m);
    expect(text).toContain('gender: 10 candidate appearances with a value, 1 without');
    expect(text).toMatch(/skew@2/);
    expect(text).toContain('FAILS the four-fifths rule');
    expect(await createAuditService({ db: env.db.db }).listAudits('matching-ranker', 1)).toHaveLength(2);
    expect(await run(['nobody', '--from', from, '--to', to])).toContain('no serve or canary predictions of nobody');
  });
});
