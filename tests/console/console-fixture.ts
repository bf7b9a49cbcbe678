// A seeded gigintel for the console's browser tests, screenshots and benchmark: a small synthetic
// marketplace with its features computed, the matching ranker registered twice (v1 champion, v2
// a candidate with fairness by group, calibration and importance), an explained logged
// prediction, an analysed experiment with a history of analyses, ads spend today and a flagged
// click, all on an app listening on a free port.
import type { Kysely } from 'kysely';
import { serialiseArtifact } from '../../model-registry/artifact.js';
import type { VersionSpec } from '../../model-registry/registry.schemas.js';
import { seedMarketplace } from '../../pipelines/synthetic/seed-marketplace.js';
import type { Config } from '../../platform/config/config.settings.js';
import type { Db } from '../../platform/db/database.js';
import { specOf } from '../model-registry/registry-fixtures.js';
import { logisticOver, matchingEncoding } from '../services/scoring/scoring-fixtures.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

const ACTOR = { type: 'system', id: 'console-fixture' } as const;
const MODEL = 'matching-ranker';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface ConsoleDemo {
  t: TestApp;
  url: string;
  adminKey: string;
  /** Keys with fewer scopes, to check what the console hides. */
  readerKey: string;
  predictionId: string;
  experiment: string;
  close(): Promise<void>;
}

/** Settings the console demo needs on top of a test env's config. */
export const CONSOLE_DEMO_SETTINGS: Record<string, unknown> = {
  'rateLimit.enabled': false, 'queue.pollIntervalMs': 20, 'scoring.models': [MODEL], 'scoring.pollMs': 100,
  'scoring.explainTopK': 8, 'experiments.analyzeSchedule': 'off', 'pipeline.schedule': 'off',
};

function groups(rates: Record<string, [number, number]>) {
  return Object.fromEntries(Object.entries(rates).map(([g, [count, rate]]) => [g, {
    count, positives: Math.round(count * 0.3), selectionRate: rate, truePositiveRate: Math.min(1, rate * 1.6), falsePositiveRate: rate * 0.6,
  }]));
}

async function versionSpec(auc: number, shift: number): Promise<VersionSpec> {
  const base = await specOf({ auc });
  const bins = Array.from({ length: 10 }, (_, i) => {
    const mid = (i + 0.5) / 10;
    return { lower: i / 10, upper: (i + 1) / 10, count: 400 - i * 30, meanPredicted: mid, fractionPositive: Math.min(1, Math.max(0, mid + shift * Math.sin(i))) };
  });
  const gender = groups({ female: [520, 0.29], male: [560, 0.31 + shift], nonbinary: [40, 0.27] });
  const region = groups({ americas: [400, 0.30], emea: [380, 0.28], apac: [340, 0.32 - shift] });
  const di = (g: Record<string, { selectionRate: number }>) => Math.min(...Object.values(g).map((x) => x.selectionRate)) / Math.max(...Object.values(g).map((x) => x.selectionRate));
  return {
    ...base,
    metrics: { auc, logLoss: 0.52 - auc / 10, ece: 0.02 + shift / 4, precisionAt10: 0.31 + shift },
    calibration: { ece: 0.02 + shift / 4, bins },
    fairness: {
      gender: { demographicParityDifference: 0.04, disparateImpactRatio: di(gender), equalOpportunityDifference: 0.05, equalizedOddsDifference: 0.05, groups: gender },
      region: { demographicParityDifference: 0.04, disparateImpactRatio: di(region), equalOpportunityDifference: 0.04, equalizedOddsDifference: 0.04, groups: region },
    },
    importance: Object.fromEntries(matchingEncoding().featureNames.slice(0, 12).map((f, i) => [f, Number((0.6 / (i + 1) + shift).toFixed(4))])),
  };
}

async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > until) throw new Error(`console fixture: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface DemoSize { providers: number; jobs: number; days: number; events: number }

/** `db`: the test env's handle (default: the app's own). */
export async function startConsoleDemo(
  config: Readonly<Config>, dbHandle?: Db, size: DemoSize = { providers: 150, jobs: 50, days: 6, events: 4_000 },
): Promise<ConsoleDemo> {
  const t = await startTestApp(config);
  const db = dbHandle ?? t.platform.db.db;
  try {
    const now = Date.now();
    await seedMarketplace(db, { ...size, seed: 'console', end: Math.floor(now / DAY) * DAY });
    await t.platform.queue.startWorkers();
    const run = await t.services.featurePipeline.start({ trigger: 'cli', requestedBy: 'console-fixture', full: true });
    await waitFor('the feature run', async () => (await t.services.featurePipeline.get(run.id)).status === 'succeeded', 180_000);

    // The ranker: v1 champion (moved without gates: there is no champion to compare with yet), v2 a candidate.
    const reg = t.services.registry;
    await reg.createModel({ name: MODEL, description: 'Ranks providers for a job: probability of a hire.' }, ACTOR, { ifMissing: true });
    const register = async (seed: string, auc: number, shift: number) => {
      const { bytes, sha256 } = serialiseArtifact(logisticOver(matchingEncoding(), seed));
      return (await reg.registerVersion(MODEL, { ...await versionSpec(auc, shift), algorithm: 'logistic' }, { bytes, sha256, format: 'gigintel-model/1' }, ACTOR)).version;
    };
    const v1 = await register('console-v1', 0.78, 0.01);
    await reg.promote({ model: MODEL, alias: 'champion', version: v1, reason: 'first model', force: true }, ACTOR, { canForce: true });
    await register('console-v2', 0.81, 0.02);

    const admin = t.adminAuth;
    const key = async (name: string, scopes: string[]) => (await t.app.inject({ method: 'POST', url: '/v1/admin/keys', headers: admin, payload: { name, scopes } })).json<{ key: string }>().key;
    const readerKey = await key('analyst (read only)', ['registry:read', 'experiments:read', 'features:read', 'exports']);

    // An explained, logged prediction.
    const kdb = db as unknown as Kysely<Record<string, Record<string, unknown>>>;
    const job = await kdb.selectFrom('job').select('id').orderBy('id').limit(1).executeTakeFirstOrThrow();
    const providers = (await kdb.selectFrom('provider').select('id').orderBy('id').limit(25).execute()).map((r) => String(r.id));
    await waitFor('the champion to load', async () => (await t.app.inject({ method: 'GET', url: '/readyz' })).statusCode === 200, 30_000);
    const ranked = await t.app.inject({ method: 'POST', url: '/v1/match/rank', headers: admin, payload: { job: { id: String(job.id) }, candidates: providers, k: 10, explain: true } });
    if (ranked.statusCode !== 200) throw new Error(`console fixture: rank failed: ${ranked.body}`);
    const predictionId = ranked.json<{ predictionId: string }>().predictionId;
    await t.services.scoring.predictionLog.flush();
    await waitFor('the logged prediction', async () => (await t.app.inject({ method: 'GET', url: `/v1/predictions/${predictionId}`, headers: admin })).statusCode === 200);

    // An experiment with exposures and conversions, analysed at several times (the p-value history).
    const experiment = 'ranker-v2-vs-v1';
    const x = t.services.experiments;
    await x.create({
      key: experiment, hypothesis: 'The v2 ranker lifts the conversion rate of matched jobs.', unitType: 'user',
      variants: [{ key: 'control' }, { key: 'treatment' }], primaryMetric: 'events.conversion', guardrails: [{ metric: 'events.complaint', maxDegradation: 0.5 }],
    }, ACTOR);
    await x.start(experiment, ACTOR);
    const start = Date.now();
    const units = Array.from({ length: 600 }, (_, i) => `u${String(i).padStart(4, '0')}`);
    await x.recordExposures(experiment, units.map((u, i) => ({ unitId: u, variant: i % 2 ? 'treatment' : 'control', at: start + i })));
    const events = units.flatMap((u, i) => {
      const treated = i % 2 === 1;
      const r = ((i * 7919) % 1000) / 1000;
      const out: { name: string; unitId: string; at: number }[] = [];
      if (r < (treated ? 0.2 : 0.12)) out.push({ name: 'conversion', unitId: u, at: start + 1000 + i * 10 });
      if (r > 0.97) out.push({ name: 'complaint', unitId: u, at: start + 1000 + i * 10 });
      return out;
    });
    await x.recordEvents(events);
    for (const to of [start + 1500, start + 3500, start + 5000, start + 8000]) await x.analyze(experiment, { trigger: 'manual', to, act: false, actor: ACTOR });

    // Ads: some spend today on each active budgeted campaign, and a flagged click to review.
    const campaigns = await kdb.selectFrom('campaign').select(['id', 'bid_minor', 'daily_budget_minor']).where('status', '=', 'active').limit(6).execute();
    const dayStart = Math.floor(now / DAY) * DAY;
    let n = 0;
    for (const c of campaigns) {
      for (let at = dayStart + HOUR / 2; at < now; at += HOUR) {
        for (let k = 0; k < 3; k++) await t.services.ads.budget.charge(String(c.id), `ck_console_${n++}`, Math.max(1, Number(c.bid_minor)), at + k * 60_000).catch(() => undefined);
      }
    }
    await t.app.inject({ method: 'POST', url: '/v1/ads/clicks', headers: admin, payload: { token: null, clickId: 'ck_console_suspect' } });

    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const address = t.app.server.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    return { t, url, adminKey: config.auth.adminKey ?? t.adminAuth.authorization.slice(7), readerKey, predictionId, experiment, close: () => t.close() };
  } catch (err) {
    await t.close();
    throw err;
  }
}
