// The report catalog against a seeded marketplace, on both dialects: every report's totals equal an
// independent aggregate taken here, the finance grains agree with each other, the experiment report
// repeats the stored analysis, precision@k matches a tiny case worked by hand, suppression drops
// exactly the small groups, user ids only leave pseudonymised, and sensitive attributes appear in
// no report but the fairness one.
import { sql, type Kysely } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { createExperimentService, type ExperimentReport } from '../../experiments/experiment.service.js';
import { csvCellFormatter } from '../../exports/format/cell-format.js';
import { createPseudonymiser, suppressSmallGroups } from '../../exports/privacy.js';
import type { ReportContext, ReportOutput, ReportParams, ReportRow } from '../../exports/report.types.js';
import { campaignBudget } from '../../exports/reports/ads-monetisation.report.js';
import { PER_IMPRESSION_GROUP } from '../../exports/reports/ads.repository.js';
import { NO_CATEGORY } from '../../exports/reports/finance.repository.js';
import { findReport, REPORTS } from '../../exports/reports/report-catalog.js';
import { createAuditLog } from '../../platform/audit/audit-log.js';
import { createLogger } from '../../platform/logging/logger.js';
import { createInlineQueue } from '../../platform/queue/inline-queue.js';
import { appendHistory } from '../../model-registry/registry.repository.js';
import { seedMarketplace } from '../../pipelines/synthetic/seed-marketplace.js';
import { insertAudit } from '../../services/scoring/fairness/audit.repository.js';
import { auditPredictions, hireKey } from '../../services/scoring/fairness/live-audit.service.js';
import { insertPredictions, type PredictionRow } from '../../services/scoring/prediction-log/prediction-log.repository.js';
import { DIALECTS, useTestEnv } from '../helpers/test-env.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
/** The synthetic marketplace ends here. */
const END = Date.UTC(2026, 0, 1);
const FROM = Date.UTC(2025, 11, 1);
const TO = Date.UTC(2026, 0, 2);
const SENSITIVE_MARKER = 'SENSITIVE-MARKER-7f3a';

type Row = Record<string, unknown>;

async function collect(rows: AsyncIterable<ReportRow>): Promise<ReportRow[]> {
  const out: ReportRow[] = [];
  for await (const r of rows) out.push(r);
  return out;
}

const num = (v: unknown) => Number(v ?? 0);
function sumBy(rows: readonly ReportRow[], key: string, col: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of rows) out.set(String(r[key]), (out.get(String(r[key])) ?? 0) + num(r[col]));
  return out;
}

describe.each(DIALECTS)('report catalog (%s)', (dialect) => {
  const env = useTestEnv({ dialect });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const raw = () => env.db.db as unknown as Kysely<any>;
  const pseudonymise = createPseudonymiser('test-key');
  const ctx = (): ReportContext => ({ db: env.db.db, dialect: env.db.dialect, pseudonymise, now: END + DAY });
  async function run(key: string, params: ReportParams): Promise<{ out: ReportOutput; sheets: ReportRow[][] }> {
    const out = await findReport(key)!.run(ctx(), params);
    return { out, sheets: await Promise.all(out.sheets.map((s) => collect(s.rows))) };
  }
  async function rows(q: ReturnType<typeof sql>): Promise<Row[]> {
    return (await q.execute(env.db.db)).rows as Row[];
  }
  let campaign: { id: string; advertiser_id: string };

  beforeAll(async () => {
    await seedMarketplace(env.db.db, { providers: 150, jobs: 70, days: 12, seed: `reports-${dialect}`, events: 8_000 });
    const t = (id: string, kind: string, status: string, amount: number, currency: string, user: string, at: number, extra: Row = {}) => ({
      id, kind, status, amount_minor: amount, currency, idempotency_key: `test:${id}`, user_id: user, job_id: null, hire_id: null, campaign_id: null,
      event_at: at, ingested_at: at, ...extra,
    });
    // Other currencies, wallet movements and statuses the seed does not produce.
    const job = await raw().selectFrom('job').select(['id']).orderBy('id').limit(1).executeTakeFirstOrThrow();
    await raw().insertInto('transaction').values([
      t('tx_eur_1', 'wallet_topup', 'succeeded', 5_000, 'EUR', 'c_eur_1', END - 3 * DAY),
      t('tx_eur_2', 'wallet_topup', 'succeeded', 7_500, 'EUR', 'c_eur_2', END - 3 * DAY + HOUR),
      t('tx_eur_3', 'payout', 'succeeded', 4_000, 'EUR', 'p_eur_1', END - 2 * DAY),
      t('tx_eur_4', 'escrow_deposit', 'succeeded', 20_000, 'EUR', 'c_eur_1', END - 2 * DAY, { job_id: job.id }),
      t('tx_usd_f', 'escrow_deposit', 'failed', 99_999, 'USD', 'c_usd_f', END - 2 * DAY),
      t('tx_usd_p', 'payout', 'pending', 12_345, 'USD', 'p_usd_p', END - 2 * DAY),
      t('tx_jpy_1', 'wallet_topup', 'succeeded', 1_000, 'JPY', 'c_jpy_1', END - DAY),
      t('tx_out_1', 'wallet_topup', 'succeeded', 1_000, 'USD', 'c_out', TO + DAY), // outside the range
    ]).execute();
    // A sensitive value that must never leave except through the fairness report.
    await raw().insertInto('sensitive_attribute').values({ subject_id: 'c_eur_1', attribute: 'marker', value: SENSITIVE_MARKER, updated_at: END }).execute();
    campaign = await raw().selectFrom('campaign').select(['id', 'advertiser_id']).where('bid_type', '=', 'cpc').orderBy('id').limit(1).executeTakeFirstOrThrow();
    // Flagged clicks, as the fraud service stores them: two excluded, one released by review.
    const fraud = await raw().selectFrom('click').select(['id', 'campaign_id', 'event_at']).where('fraud_label', '=', 1).orderBy('id').limit(3).execute();
    expect(fraud).toHaveLength(3);
    const flagged = (c: Row, status: string) => ({
      click_id: c.id, campaign_id: c.campaign_id, impression_id: null, reasons: '[]', score: 0, status, details: '{}', token_payload: null,
      clicked_at: Number(c.event_at), ip: null, device: null, user_agent: null, user_id: null, reviewed_by: null, reviewed_at: null, created_at: Number(c.event_at),
    });
    await raw().insertInto('flagged_click').values([flagged(fraud[0]!, 'flagged'), flagged(fraud[1]!, 'confirmed'), flagged(fraud[2]!, 'released')]).execute();
    // One with no token (no campaign), excluded too.
    await raw().insertInto('flagged_click').values({ ...flagged({ id: 'clk_untracked_1', campaign_id: null, event_at: END - DAY }, 'flagged') }).execute();
  }, 120_000);

  it('has six reports with unique keys and the fairness flag only on model governance', () => {
    expect(REPORTS.map((r) => r.key)).toEqual(['finance-summary', 'transactions', 'ads-monetisation', 'experiment-monetisation', 'matching-performance', 'model-governance']);
    expect(REPORTS.filter((r) => r.showsSensitiveGroups).map((r) => r.key)).toEqual(['model-governance']);
    expect(findReport('nope')).toBeUndefined();
    for (const r of REPORTS) {
      expect(r.params.slice(0, 2).map((p) => p.name)).toEqual(['from', 'to']);
      for (const p of r.params) if (p.type === 'enum') expect(p.values?.length).toBeGreaterThan(0);
    }
  });

  describe('finance-summary', () => {
    it('equals the ledger summed by kind and currency, never across currencies, succeeded only', async () => {
      const { sheets: [summary] } = await run('finance-summary', { from: FROM, to: TO, grain: 'day' });
      const expected = await rows(sql`select currency, kind, sum(amount_minor) as s, count(*) as n from ${sql.table('transaction')}
        where status = 'succeeded' and event_at >= ${FROM} and event_at < ${TO} group by currency, kind`);
      const byCurrency = (col: string) => sumBy(summary!, 'currency', col);
      const want = (currency: string, kind: string) => num(expected.find((r) => r.currency === currency && r.kind === kind)?.s);
      const currencies = [...new Set(expected.map((r) => String(r.currency)))].sort();
      expect(currencies).toEqual(['EUR', 'JPY', 'USD']);
      for (const c of currencies) {
        expect(byCurrency('escrow_deposits').get(c) ?? 0).toBe(want(c, 'escrow_deposit'));
        expect(byCurrency('escrow_releases').get(c) ?? 0).toBe(want(c, 'escrow_release'));
        expect(byCurrency('refunds').get(c) ?? 0).toBe(want(c, 'refund'));
        expect(byCurrency('wallet_topups').get(c) ?? 0).toBe(want(c, 'wallet_topup'));
        expect(byCurrency('payouts').get(c) ?? 0).toBe(want(c, 'payout'));
        expect(byCurrency('platform_fees').get(c) ?? 0).toBe(want(c, 'platform_fee'));
        expect(byCurrency('ad_charges').get(c) ?? 0).toBe(want(c, 'ad_charge'));
        expect(byCurrency('transactions').get(c)).toBe(expected.filter((r) => r.currency === c).reduce((a, r) => a + num(r.n), 0));
      }
      const gmv = await rows(sql`select currency, sum(amount_minor) as s from ${sql.table('transaction')} where kind = 'escrow_deposit'
        and hire_id is not null and status = 'succeeded' and event_at >= ${FROM} and event_at < ${TO} group by currency`);
      for (const r of gmv) expect(byCurrency('gmv').get(String(r.currency))).toBe(num(r.s));
      expect(byCurrency('gmv').get('EUR')).toBe(0); // the EUR deposit has no hire
      expect(byCurrency('escrow_deposits').get('EUR')).toBe(20_000);
      for (const r of summary!) {
        expect(r.escrow_balance).toBe(num(r.escrow_deposits) - num(r.escrow_releases) - num(r.refunds) - num(r.platform_fees));
        expect(r.take_rate).toBe(num(r.gmv) === 0 ? null : num(r.platform_fees) / num(r.gmv));
      }
      // Escrow as the seed books it: every hire's deposit is released (net of the fee), refunded, or still held.
      const usd = summary!.filter((r) => r.currency === 'USD');
      expect(usd.reduce((a, r) => a + num(r.escrow_balance), 0)).toBeGreaterThanOrEqual(0);
    });

    it('puts rows without a job under (none), groups by category slug, and counts distinct users', async () => {
      const { sheets: [summary] } = await run('finance-summary', { from: FROM, to: TO, grain: 'month' });
      expect(summary!.filter((r) => r.currency === 'EUR').map((r) => r.category).sort()).toEqual([NO_CATEGORY, expect.any(String)].sort());
      const adRows = summary!.filter((r) => num(r.ad_charges) > 0);
      expect(adRows.every((r) => r.category === NO_CATEGORY)).toBe(true);
      const users = await rows(sql`select t.currency, coalesce(c.slug, '(none)') as cat, count(distinct t.user_id) as u from ${sql.table('transaction')} t
        left join job j on j.id = t.job_id left join category c on c.id = j.category_id
        where t.status = 'succeeded' and t.event_at >= ${Date.UTC(2025, 11, 1)} and t.event_at < ${Date.UTC(2026, 0, 1)} group by t.currency, coalesce(c.slug, '(none)')`);
      const december = summary!.filter((r) => r.period === Date.UTC(2025, 11, 1));
      expect(december.length).toBe(users.length);
      for (const u of users) expect(december.find((r) => r.currency === u.currency && r.category === u.cat)?.units).toBe(num(u.u));
    });

    it('agrees across day, week and month per category and currency, with periods on day, Monday and month starts', async () => {
      const totals = async (grain: string) => {
        const { sheets: [s] } = await run('finance-summary', { from: FROM, to: TO, grain });
        const m = new Map<string, number[]>();
        for (const r of s!) {
          const k = `${String(r.category)}|${String(r.currency)}`;
          const acc = m.get(k) ?? [0, 0, 0, 0, 0];
          ['gmv', 'escrow_releases', 'platform_fees', 'ad_charges', 'transactions'].forEach((c, i) => { acc[i]! += num(r[c]); });
          m.set(k, acc);
          const d = new Date(Number(r.period));
          expect(d.getUTCHours() + d.getUTCMinutes()).toBe(0);
          if (grain === 'week') expect(d.getUTCDay()).toBe(1);
          if (grain === 'month') expect(d.getUTCDate()).toBe(1);
        }
        return m;
      };
      const day = await totals('day');
      expect(day.size).toBeGreaterThan(3);
      expect(await totals('week')).toEqual(day);
      expect(await totals('month')).toEqual(day);
    });

    it('filters by currency and category', async () => {
      const { sheets: [eur] } = await run('finance-summary', { from: FROM, to: TO, currency: 'eur' });
      expect(new Set(eur!.map((r) => r.currency))).toEqual(new Set(['EUR']));
      const { sheets: [none] } = await run('finance-summary', { from: FROM, to: TO, category: NO_CATEGORY });
      expect(none!.length).toBeGreaterThan(0);
      expect(none!.every((r) => r.category === NO_CATEGORY)).toBe(true);
      const slug = (await rows(sql`select c.slug, c.id from category c join job j on j.category_id = c.id join hire h on h.job_id = j.id order by c.slug limit 1`))[0]!;
      for (const category of [String(slug.slug), String(slug.id)]) {
        const { sheets: [one] } = await run('finance-summary', { from: FROM, to: TO, category });
        expect(one!.length).toBeGreaterThan(0);
        expect(one!.every((r) => r.category === slug.slug)).toBe(true);
      }
    });

    it('defaults to the 30 whole days before today', async () => {
      // now = END + 1 day: the default range is [END + 1 day − 30 days, END + 1 day).
      const byDefault = await run('finance-summary', {});
      const explicit = await run('finance-summary', { from: END + DAY - 30 * DAY, to: END + DAY });
      expect(byDefault.sheets).toEqual(explicit.sheets);
      const wider = await run('finance-summary', { from: FROM - 30 * DAY, to: END + 30 * DAY });
      expect(wider.sheets[0]!.length).toBeGreaterThan(byDefault.sheets[0]!.length); // the EUR/JPY rows of the test and tx_out_1
      expect(byDefault.sheets[0]!.every((r) => num(r.period) >= END + DAY - 30 * DAY && num(r.period) < END + DAY)).toBe(true);
    });
  });

  describe('transactions', () => {
    it('streams every ledger row of the range, oldest first, with pseudonymised users', async () => {
      const { sheets: [ledger] } = await run('transactions', { from: FROM, to: TO });
      const expected = await rows(sql`select id, user_id, amount_minor, currency from ${sql.table('transaction')} where event_at >= ${FROM} and event_at < ${TO} order by event_at, id`);
      expect(ledger!.map((r) => r.id)).toEqual(expected.map((r) => r.id));
      for (let i = 0; i < expected.length; i++) {
        const r = ledger![i]!;
        expect(r.user).toBe(pseudonymise(String(expected[i]!.user_id)));
        expect(r.user).not.toBe(expected[i]!.user_id);
        expect(num(r.amount)).toBe(num(expected[i]!.amount_minor));
      }
      const times = ledger!.map((r) => num(r.time));
      expect(times).toEqual([...times].sort((a, b) => a - b));
      expect(ledger!.some((r) => r.category !== null)).toBe(true);
    });

    it('filters by kind, status and currency', async () => {
      const { sheets: [failed] } = await run('transactions', { from: FROM, to: TO, status: 'failed' });
      expect(failed!.map((r) => r.id)).toEqual(['tx_usd_f']);
      const { sheets: [eurTopups] } = await run('transactions', { from: FROM, to: TO, kind: 'wallet_topup', currency: 'EUR' });
      expect(eurTopups!.map((r) => r.id)).toEqual(['tx_eur_1', 'tx_eur_2']);
    });

    it('starts no query until read, and stops cleanly when abandoned', async () => {
      const { out } = await run('transactions', { from: FROM, to: TO });
      const it = out.sheets[0]!.rows[Symbol.asyncIterator]();
      const first = await it.next();
      expect(first.done).toBe(false);
      await it.return?.();
      // The connection is free again (SQLite holds it while iterating).
      expect((await rows(sql`select count(*) as n from ${sql.table('transaction')}`))[0]!.n).toBeDefined();
    });
  });

  describe('ads-monetisation', () => {
    const expectedTotals = async () => {
      const [imp] = await rows(sql`select count(*) as n, count(distinct user_id) as u from impression where event_at >= ${FROM} and event_at < ${TO}`);
      const [clk] = await rows(sql`select count(*) as n from click c where event_at >= ${FROM} and event_at < ${TO}
        and not exists (select 1 from flagged_click f where f.click_id = c.id and f.status <> 'released')`);
      const [spend] = await rows(sql`select sum(amount_minor) as s from ${sql.table('transaction')} where kind = 'ad_charge' and status = 'succeeded' and event_at >= ${FROM} and event_at < ${TO}`);
      const [fraud] = await rows(sql`select count(*) as n from flagged_click where status <> 'released' and clicked_at >= ${FROM} and clicked_at < ${TO}`);
      return { impressions: num(imp!.n), clicks: num(clk!.n), spend: num(spend!.s), fraud: num(fraud!.n) };
    };

    it.each(['campaign', 'advertiser', 'placement', 'day'])('totals by %s equal the source tables', async (groupBy) => {
      const want = await expectedTotals();
      expect(want.impressions).toBeGreaterThan(100);
      expect(want.fraud).toBe(3);
      const { sheets: [s] } = await run('ads-monetisation', { from: FROM, to: TO, groupBy });
      const total = (c: string) => s!.reduce((a, r) => a + num(r[c]), 0);
      expect(total('impressions')).toBe(want.impressions);
      expect(total('clicks')).toBe(want.clicks);
      expect(total('spend')).toBe(want.spend);
      expect(total('fraud_clicks_excluded')).toBe(want.fraud);
      for (const r of s!) {
        expect(r.ctr).toBe(num(r.impressions) ? num(r.clicks) / num(r.impressions) : null);
        if (r.currency !== null && num(r.impressions) > 0) expect(r.ecpm).toBeCloseTo((num(r.spend) / num(r.impressions)) * 1000, 9);
      }
      if (groupBy === 'placement') {
        const cpm = await rows(sql`select sum(t.amount_minor) as s from ${sql.table('transaction')} t join campaign c on c.id = t.campaign_id
          where t.kind = 'ad_charge' and c.bid_type = 'cpm' and t.status = 'succeeded' and t.event_at >= ${FROM} and t.event_at < ${TO}`);
        expect(num(s!.find((r) => r.placement === PER_IMPRESSION_GROUP)?.spend)).toBe(num(cpm[0]!.s));
        expect(s!.every((r) => r.budget === null)).toBe(true);
      }
    });

    it('gives a campaign its users, CPC, budget and utilisation as documented', async () => {
      const { sheets: [s] } = await run('ads-monetisation', { from: FROM, to: TO, groupBy: 'campaign', campaign: campaign.id });
      expect(s!.map((r) => r.campaign)).toEqual([campaign.id]);
      const r = s![0]!;
      const [u] = await rows(sql`select count(distinct user_id) as u from impression where campaign_id = ${campaign.id} and event_at >= ${FROM} and event_at < ${TO}`);
      expect(r.units).toBe(num(u!.u));
      const [charges] = await rows(sql`select count(*) as n, sum(amount_minor) as s from ${sql.table('transaction')} where kind = 'ad_charge' and campaign_id = ${campaign.id}
        and status = 'succeeded' and event_at >= ${FROM} and event_at < ${TO}`);
      expect(r.charged_clicks).toBe(num(charges!.n));
      expect(r.cpc).toBe(num(charges!.n) ? num(charges!.s) / num(charges!.n) : null);
      const c = (await rows(sql`select * from campaign where id = ${campaign.id}`))[0]!;
      const live = Math.min(TO, num(c.ends_at)) - Math.max(FROM, num(c.starts_at));
      const budget = Math.min(num(c.daily_budget_minor) * (live / DAY), num(c.lifetime_budget_minor));
      expect(r.budget).toBeCloseTo(budget, 6);
      expect(r.budget_utilisation).toBeCloseTo(num(charges!.s) / budget, 12);
      expect(r.advertiser).toBe(campaign.advertiser_id);
    });

    it('computes budgets over the part of the range a campaign lives, capped by its lifetime budget', () => {
      const c = { id: 'c', name: 'c', advertiserId: 'a', currency: 'USD', dailyBudgetMinor: 1000, lifetimeBudgetMinor: 2500, startsAt: DAY, endsAt: 10 * DAY };
      expect(campaignBudget(c, { from: 0, to: 2 * DAY })).toBe(1000);
      expect(campaignBudget(c, { from: 0, to: 30 * DAY })).toBe(2500);
      expect(campaignBudget(c, { from: 20 * DAY, to: 30 * DAY })).toBe(0);
      expect(campaignBudget({ ...c, dailyBudgetMinor: null }, { from: 0, to: 2 * DAY })).toBe(2500);
      expect(campaignBudget({ ...c, lifetimeBudgetMinor: null }, { from: 0, to: 30 * DAY })).toBe(9000);
      expect(campaignBudget({ ...c, dailyBudgetMinor: null, lifetimeBudgetMinor: null }, { from: 0, to: DAY })).toBeNull();
    });

    it('by advertiser, filtered, equals the sum of its campaigns', async () => {
      const { sheets: [byCampaign] } = await run('ads-monetisation', { from: FROM, to: TO, groupBy: 'campaign', advertiser: campaign.advertiser_id });
      const { sheets: [byAdvertiser] } = await run('ads-monetisation', { from: FROM, to: TO, groupBy: 'advertiser', advertiser: campaign.advertiser_id });
      expect(byAdvertiser!.map((r) => r.advertiser)).toEqual([campaign.advertiser_id]);
      for (const col of ['impressions', 'clicks', 'spend', 'charged_clicks', 'fraud_clicks_excluded']) {
        expect(byAdvertiser![0]![col]).toBe(byCampaign!.reduce((a, r) => a + num(r[col]), 0));
      }
      expect(byAdvertiser![0]!.budget).toBeCloseTo(byCampaign!.reduce((a, r) => a + num(r.budget), 0), 6);
    });
  });

  describe('experiment-monetisation', () => {
    const T = END + 5 * DAY;
    let clock = T - DAY;
    let report: ExperimentReport;
    let bare: ExperimentReport;

    beforeAll(async () => {
      const log = createLogger({ level: 'silent' });
      const queue = createInlineQueue({ db: env.db, log, defaults: { concurrency: 1, attempts: 1, backoffMs: 0, lockDurationMs: 30_000, pollIntervalMs: 1000 } });
      const experiments = createExperimentService({ db: env.db.db, audit: createAuditLog({ db: env.db.db }), queue, log, now: () => clock });
      const actor = { type: 'cli' as const, id: 'analyst' };
      await experiments.create({ key: 'pricing', hypothesis: 'a fee change lifts revenue', unitType: 'client', variants: [{ key: 'control' }, { key: 'treatment' }],
        primaryMetric: 'events.purchase', secondaryMetrics: ['revenue', 'ad_spend'] }, actor);
      await experiments.create({ key: 'bare', hypothesis: 'no revenue metric', unitType: 'client', variants: [{ key: 'control' }, { key: 'treatment' }],
        primaryMetric: 'events.purchase' }, actor);
      await experiments.start('pricing', actor);
      await experiments.start('bare', actor);
      const units = Array.from({ length: 60 }, (_, i) => `xu${i}`);
      const exposures = units.flatMap((u, i) => ['pricing', 'bare'].map((experiment) => ({ experiment, unit_id: u, phase: 1, variant: i % 2, exposed_at: T })));
      await raw().insertInto('experiment_exposure').values(exposures).execute();
      const events = units.filter((_, i) => i % 3 !== 0).map((u, i) => ({ name: 'purchase', unit_id: u, value: 1, event_at: T + HOUR + i }));
      await raw().insertInto('metric_event').values(events).execute();
      const txs = units.flatMap((u, i) => [
        { id: `xf_${u}`, kind: 'platform_fee', amount_minor: 100 + (i % 2) * 40 + (i % 7) * 3, campaign_id: null },
        ...(i % 4 === 0 ? [] : [{ id: `xa_${u}`, kind: 'ad_charge', amount_minor: 50 + (i % 5) * 11, campaign_id: campaign.id }]),
      ].map((x) => ({ ...x, status: 'succeeded', currency: 'USD', idempotency_key: `test:${x.id}`, user_id: u, job_id: null, hire_id: null, event_at: T + 2 * HOUR, ingested_at: T + 2 * HOUR })));
      await raw().insertInto('transaction').values(txs).execute();
      clock = T + 2 * DAY;
      report = await experiments.analyze('pricing', { trigger: 'manual', to: clock, act: false });
      bare = await experiments.analyze('bare', { trigger: 'manual', to: clock, act: false });
    }, 60_000);

    it('repeats the stored analysis: units, means, lifts, intervals, p-values; scaled impact as documented', async () => {
      const { out, sheets: [summary, metrics] } = await run('experiment-monetisation', { from: T, to: T + 10 * DAY, experiment: 'pricing' });
      expect(summary!.map((r) => r.variant)).toEqual(['control', 'treatment']);
      const stored = (metric: string) => report.metrics.find((m) => m.metric === metric)!.analysis!;
      const perDay = 60 / ((clock - (T - DAY)) / DAY);
      for (const r of summary!) {
        const v = String(r.variant);
        expect(r.units).toBe(report.exposures[v]);
        expect(r.analysed_at).toBe(report.analyzedAt);
        expect(r.conversion_metric).toBe('events.purchase');
        expect(r.conversion).toBe(stored('events.purchase').variants.find((x) => x.name === v)!.mean);
        expect(r.revenue_per_unit).toBe(stored('revenue').variants.find((x) => x.name === v)!.mean);
        expect(r.ad_revenue_per_unit).toBe(stored('ad_spend').variants.find((x) => x.name === v)!.mean);
        expect(r.currency).toBe('USD');
        for (const [part, metric] of [['conversion', 'events.purchase'], ['revenue', 'revenue'], ['ad_revenue', 'ad_spend']] as const) {
          const c = stored(metric).comparisons.find((x) => x.variant === v);
          expect(r[`${part}_lift`]).toBe(c ? c.fixed.relative!.estimate : null);
          expect(r[`${part}_ci_low`]).toBe(c ? c.fixed.relative!.ci![0] : null);
          expect(r[`${part}_ci_high`]).toBe(c ? c.fixed.relative!.ci![1] : null);
          expect(r[`${part}_p_value`]).toBe(c ? c.fixed.relative!.pValue : null);
          if (part !== 'conversion') {
            if (c) expect(r[`${part}_impact_per_day`]).toBeCloseTo(c.fixed.absolute.estimate * perDay, 9);
            else expect(r[`${part}_impact_per_day`]).toBeNull();
          }
        }
      }
      // The hand-made facts: treatment pays 40 more fee per unit.
      const rev = stored('revenue');
      expect(rev.comparisons[0]!.fixed.absolute.estimate).toBeGreaterThan(20);
      expect(metrics!.filter((r) => r.metric === 'revenue').map((r) => r.mean)).toEqual(rev.variants.map((x) => x.mean));
      expect(out.notes!.join('\n')).toContain(`pricing: phase 1 analysed at ${new Date(report.analyzedAt).toISOString()}`);
      const only = await run('experiment-monetisation', { from: T, to: T + 10 * DAY, experiment: 'pricing', metrics: 'ad_spend' });
      expect(new Set(only.sheets[1]!.map((r) => r.metric))).toEqual(new Set(['ad_spend']));
    });

    it('leaves revenue cells empty when the analysis has no revenue metric, and lists every analysed experiment', async () => {
      const { out, sheets: [summary] } = await run('experiment-monetisation', { from: T, to: T + 10 * DAY });
      expect([...new Set(summary!.map((r) => r.experiment))]).toEqual(['bare', 'pricing']);
      const b = summary!.filter((r) => r.experiment === 'bare');
      expect(b.every((r) => r.revenue_per_unit === null && r.revenue_lift === null && r.ad_revenue_per_unit === null && r.revenue_impact_per_day === null && r.currency === null)).toBe(true);
      expect(b.map((r) => r.conversion)).toEqual(bare.metrics[0]!.analysis!.variants.map((x) => x.mean));
      expect(out.notes!.join('\n')).toMatch(/bare: .*no analysis of revenue, ad_spend/);
      const none = await run('experiment-monetisation', { from: FROM, to: TO });
      expect(none.sheets[0]).toEqual([]);
    });
  });

  describe('matching-performance', () => {
    it('computes precision@k and hire rate of a tiny logged case as worked by hand', async () => {
      const hire = (await rows(sql`select h.job_id, h.provider_id, h.event_at from hire h order by h.id limit 1`))[0]!;
      const open = (await rows(sql`select j.id from job j where not exists (select 1 from hire h where h.job_id = j.id) order by j.id limit 1`))[0]!;
      const J1 = String(hire.job_id), P = String(hire.provider_id), H = num(hire.event_at), J2 = String(open.id);
      const entry = (id: string, o: Partial<PredictionRow>): PredictionRow => ({
        id, request_id: null, endpoint: 'match.rank', model: 'matching-ranker', version: 1, alias: 'champion', role: 'serve', experiment: null, variant: null,
        unit_id: null, context_id: J1, candidates: '[]', features_hash: 'x', features: null, explanations: null, missing: null, actor: null, created_at: H - 1000, ...o,
      });
      const ranked = (...ids: string[]) => JSON.stringify(ids.map((id, i) => ({ id, score: 1 - i / 10, rank: i + 1 })));
      await insertPredictions(env.db.db, [
        entry('pr_1', { candidates: ranked('pa', P, 'pb') }), // before the hire: P in the top 2 → 1/2, hired from the list
        entry('pr_2', { candidates: ranked(P, 'pa'), created_at: H + 1000 }), // after the hire: not an outcome of it → 0
        entry('pr_3', { candidates: ranked('pa', 'pb', 'pc'), context_id: J2 }), // a job never filled → 0
        entry('pr_4', { endpoint: 'match.score', candidates: JSON.stringify([{ id: P, score: 0.9, rank: null }]) }), // volume only
        entry('pr_5', { version: 2, role: 'canary', experiment: 'rank-exp', variant: 'treatment', candidates: ranked(P), created_at: H - 500 }), // top size 1 → 1/1
        entry('pr_6', { model: 'ads-ctr', endpoint: 'ads.score', candidates: ranked('cr_1') }), // not matching
      ]);
      const { sheets: [s] } = await run('matching-performance', { from: H - DAY, to: H + DAY, k: 2 });
      expect(s).toEqual([
        { model: 'matching-ranker', version: 1, role: 'serve', experiment: '(none)', variant: '(none)', predictions: 4, rankings: 3, rankings_with_hire: 1,
          precision_at_k: 0.5 / 3, hire_rate: 1 / 3, k: 2, units: 2 },
        { model: 'matching-ranker', version: 2, role: 'canary', experiment: 'rank-exp', variant: 'treatment', predictions: 1, rankings: 1, rankings_with_hire: 1,
          precision_at_k: 1, hire_rate: 1, k: 2, units: 1 },
      ]);
      const k1 = await run('matching-performance', { from: H - DAY, to: H + DAY, k: 1, model: 'matching-ranker' });
      expect(k1.sheets[0]![0]!.precision_at_k).toBe(0); // P was ranked second
      expect(k1.sheets[0]![0]!.hire_rate).toBe(1 / 3);
    });
  });

  describe('model-governance', () => {
    it('lists alias moves with gate summaries and pseudonymised people, and flattens stored audits by group', async () => {
      const at = END - DAY;
      const gates = { passed: false, gated: true, checks: [
        { name: 'ready', passed: true, actual: null, required: null, by: null, message: '' },
        { name: 'disparate_impact', passed: false, actual: 0.6, required: 0.8, by: 0.2, message: '' },
      ] };
      await env.db.db.transaction().execute(async (tx) => {
        await appendHistory(tx, { model: 'matching-ranker', alias: 'champion', kind: 'move', from_version: null, to_version: 1, reason: 'first', gates: JSON.stringify({ ...gates, passed: true, checks: [gates.checks[0]] }), forced: 0, actor_type: 'api_key', actor_id: 'key_alice', request_id: null, at });
        await appendHistory(tx, { model: 'matching-ranker', alias: 'champion', kind: 'move', from_version: 1, to_version: 2, reason: 'forced', gates: JSON.stringify(gates), forced: 1, actor_type: 'cli', actor_id: 'bob', request_id: null, at: at + 1 });
        await appendHistory(tx, { model: 'matching-ranker', alias: 'champion', kind: 'rollback', from_version: 2, to_version: 1, reason: 'oops', gates: null, forced: 0, actor_type: 'system', actor_id: 'guardrails', request_id: null, at: at + 2 });
      });
      const attrs = new Map([['pa', new Map([['gender', 'f']])], ['pb', new Map([['gender', 'm']])]]);
      const audit = auditPredictions([{ contextId: 'j1', candidates: [{ id: 'pa', score: 0.9, rank: 1 }, { id: 'pb', score: 0.5, rank: 2 }] }],
        attrs, { decidedJobs: new Set(['j1']), hired: new Set([hireKey('j1', 'pa')]) }, { k: 1, threshold: 0.5 });
      await insertAudit(env.db.db, { model: 'matching-ranker', version: 1, window_from: at - DAY, window_to: at, predictions: 1, report: JSON.stringify(audit), trigger: 'manual', created_by: 'cli:bob', created_at: at });

      const { sheets: [history, audits] } = await run('model-governance', { from: FROM, to: TO, model: 'matching-ranker' });
      expect(history!.map((r) => [r.kind, r.from_version, r.to_version, r.gates, r.forced, r.actor])).toEqual([
        ['move', null, 1, 'passed 1/1', 'no', `api_key:${pseudonymise('key_alice')}`],
        ['move', 1, 2, 'failed 1/2: disparate_impact', 'yes', `cli:${pseudonymise('bob')}`],
        ['rollback', 2, 1, 'rollback: not gated', 'no', 'system:guardrails'],
      ]);
      const cell = (metric: string, group: string) => audits!.find((r) => r.attribute === 'gender' && r.metric === metric && r.group === group)?.value;
      const groups = audit.attributes.gender!.ranking!.groups;
      expect(cell('ranking.shareTopK', 'f')).toBe(groups.find((g) => g.group === 'f')!.shareTopK);
      expect(cell('ranking.shareTopK', 'm')).toBe(groups.find((g) => g.group === 'm')!.shareTopK);
      expect(cell('ranking.ndkl', '(all)')).toBe(audit.attributes.gender!.ranking!.ndkl);
      const classification = audit.attributes.gender!.classification!;
      expect(cell('classification.selectionRate', 'f')).toBe(classification.groups.find((g) => g.group === 'f')!.selectionRate);
      expect(audits!.find((r) => r.attribute === '(all)' && r.metric === 'predictions')?.value).toBe(audit.predictions);
      const other = await run('model-governance', { from: FROM, to: TO, model: 'nope' });
      expect(other.sheets.map((x) => x.length)).toEqual([0, 0]);
    });
  });

  describe('privacy across the catalog', () => {
    const paramsFor: Record<string, ReportParams> = {
      'finance-summary': { from: FROM, to: TO }, transactions: { from: FROM, to: TO }, 'ads-monetisation': { from: FROM, to: TO },
      'experiment-monetisation': { from: FROM, to: END + 30 * DAY }, 'matching-performance': { from: 0, to: END + 30 * DAY }, 'model-governance': { from: FROM, to: TO },
    };

    it('shows sensitive attribute values in no cell of any report but the fairness one', async () => {
      const values = new Set((await rows(sql`select distinct value from sensitive_attribute`)).map((r) => String(r.value)));
      expect(values.has(SENSITIVE_MARKER)).toBe(true);
      expect(values.size).toBeGreaterThan(3);
      let cells = 0;
      for (const r of REPORTS.filter((x) => !x.showsSensitiveGroups)) {
        for (const groupBy of r.key === 'ads-monetisation' ? ['campaign', 'advertiser', 'placement', 'day'] : [undefined]) {
          const { sheets } = await run(r.key, { ...paramsFor[r.key], ...(groupBy ? { groupBy } : {}) });
          for (const row of sheets.flat()) {
            for (const v of Object.values(row)) {
              if (typeof v !== 'string') continue;
              cells++;
              expect(values.has(v), `${r.key}: ${v}`).toBe(false);
              expect(v).not.toContain(SENSITIVE_MARKER);
            }
          }
        }
      }
      expect(cells).toBeGreaterThan(1000);
      // The fairness report does show them, as group labels.
      const { sheets: [, audits] } = await run('model-governance', paramsFor['model-governance']!);
      expect(audits!.some((r) => r.group === 'f')).toBe(true);
    });

    it('gives every row exactly its sheet\'s columns, each value formattable as its column type', async () => {
      let checked = 0;
      for (const r of REPORTS) {
        for (const groupBy of r.key === 'ads-monetisation' ? ['campaign', 'advertiser', 'placement', 'day'] : [undefined]) {
          const out = await r.run(ctx(), { ...paramsFor[r.key], ...(groupBy ? { groupBy } : {}) });
          for (const sheet of out.sheets) {
            expect(sheet.name.length).toBeLessThanOrEqual(31);
            const keys = sheet.columns.map((c) => c.key);
            expect(new Set(keys).size).toBe(keys.length);
            const formatters = sheet.columns.map((c) => csvCellFormatter(c));
            for (const row of await collect(sheet.rows)) {
              expect(Object.keys(row).sort(), `${r.key}/${sheet.name}`).toEqual([...keys].sort());
              sheet.columns.forEach((c, i) => { formatters[i]!(row[c.key]!, row); });
              checked++;
            }
          }
        }
      }
      expect(checked).toBeGreaterThan(500);
    });

    it('never puts a raw user id in the ledger, under any key; keys give different pseudonyms', async () => {
      const users = new Set((await rows(sql`select distinct user_id from ${sql.table('transaction')}`)).map((r) => String(r.user_id)));
      const other = createPseudonymiser('another-key');
      const { sheets: [a] } = await run('transactions', { from: FROM, to: TO });
      const b = await collect((await findReport('transactions')!.run({ ...ctx(), pseudonymise: other }, { from: FROM, to: TO })).sheets[0]!.rows);
      expect(a!.length).toBe(b.length);
      for (let i = 0; i < a!.length; i++) {
        expect(users.has(String(a![i]!.user))).toBe(false);
        expect(a![i]!.user).not.toBe(b[i]!.user);
      }
    });

    it('suppresses exactly the aggregate groups below k and counts them', async () => {
      const out = await findReport('finance-summary')!.run(ctx(), { from: FROM, to: TO, grain: 'day' });
      const all = await collect((await findReport('finance-summary')!.run(ctx(), { from: FROM, to: TO, grain: 'day' })).sheets[0]!.rows);
      // The second-smallest distinct count: some groups fall below it, some do not.
      const k = [...new Set(all.map((r) => num(r.units)))].sort((x, y) => x - y)[1]!;
      expect(k).toBeGreaterThan(1);
      const s = suppressSmallGroups(out.sheets[0]!, k);
      const kept = await collect(s.sheet.rows);
      expect(kept).toEqual(all.filter((r) => num(r.units) >= k));
      expect(s.suppressed()).toBe(all.filter((r) => num(r.units) < k).length);
      expect(s.suppressed()).toBeGreaterThan(0);
      for (const r of REPORTS) {
        const o = await r.run(ctx(), paramsFor[r.key]!);
        for (const sheet of o.sheets) if (sheet.unitsKey) expect(sheet.columns.map((c) => c.key)).toContain(sheet.unitsKey);
      }
    });
  });
});
