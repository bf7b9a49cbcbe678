// Ad revenue and delivery per campaign, advertiser, placement or day: impressions, valid clicks,
// CTR, charged spend, CPC, eCPM, budget utilisation and the clicks excluded as fraud. Money per
// campaign currency, never summed across currencies.
import type { Db } from '../../platform/db/database.js';
import type { ReportColumn, ReportDefinition, ReportRow } from '../report.types.js';
import {
  adSpend, campaignLabels, campaignsInRange, cpmAudience, excludedClickCounts, impressionCounts, namesOf, PER_IMPRESSION_GROUP, validClickCounts,
  type AdsCounts, type AdsFilter, type AdsGroupBy, type CampaignBudget,
} from './ads.repository.js';
import { DAY_MS, enumParam, RANGE_PARAMS, rangeOf, ratio, rowsOf, stringParam, type Range } from './report-range.js';

const GROUP_BYS: readonly AdsGroupBy[] = ['campaign', 'advertiser', 'placement', 'day'];

const LABEL_COLUMNS: Record<AdsGroupBy, readonly ReportColumn[]> = {
  campaign: [
    { key: 'campaign', header: 'Campaign', type: 'string' },
    { key: 'campaign_name', header: 'Campaign name', type: 'string' },
    { key: 'advertiser', header: 'Advertiser', type: 'string' },
  ],
  advertiser: [
    { key: 'advertiser', header: 'Advertiser', type: 'string' },
    { key: 'advertiser_name', header: 'Advertiser name', type: 'string' },
  ],
  placement: [
    { key: 'placement', header: 'Placement', type: 'string' },
    { key: 'placement_name', header: 'Placement name', type: 'string' },
  ],
  day: [{ key: 'day', header: 'Day', type: 'date' }],
};

const money = (key: string, header: string, description: string, total = false): ReportColumn =>
  ({ key, header, type: 'money', currencyKey: 'currency', description, ...(total ? { total } : {}) });

const MEASURE_COLUMNS: readonly ReportColumn[] = [
  { key: 'currency', header: 'Currency', type: 'string', description: "The campaign's currency" },
  { key: 'impressions', header: 'Impressions', type: 'integer', total: true },
  { key: 'clicks', header: 'Clicks', type: 'integer', total: true, description: 'Recorded clicks, less those excluded as fraud' },
  { key: 'ctr', header: 'CTR', type: 'ratio', description: 'Clicks / impressions' },
  { key: 'charged_clicks', header: 'Charged clicks', type: 'integer', total: true, description: 'Succeeded ad charges of CPC campaigns (one per click)' },
  money('spend', 'Charged spend', 'Succeeded ad_charge transactions (CPC clicks and CPM thousands)', true),
  money('cpc', 'CPC', 'Spend of CPC campaigns / charged clicks'),
  money('ecpm', 'eCPM', 'Spend / impressions × 1000'),
  money('budget', 'Budget over the range', 'Daily budget × days of the range within the campaign\'s life, at most the lifetime budget; the lifetime budget when there is no daily one', true),
  { key: 'budget_utilisation', header: 'Budget utilisation', type: 'ratio', description: 'Spend / budget over the range' },
  { key: 'fraud_clicks_excluded', header: 'Clicks excluded as fraud', type: 'integer', total: true, description: 'Flagged clicks not released by review: never charged' },
  { key: 'units', header: 'Users', type: 'integer', description: 'Distinct users with impressions' },
];

/**
 * What a campaign could spend in [from, to): its daily budget for each day (fractional at the
 * edges) of the window inside its life, capped by its lifetime budget; the lifetime budget when it
 * has no daily one; null without either, 0 when not live in the window.
 */
export function campaignBudget(c: CampaignBudget, w: Range): number | null {
  if (c.dailyBudgetMinor === null && c.lifetimeBudgetMinor === null) return null;
  const live = Math.max(0, Math.min(w.to, c.endsAt ?? w.to) - Math.max(w.from, c.startsAt));
  if (live === 0) return 0;
  if (c.dailyBudgetMinor === null) return c.lifetimeBudgetMinor;
  const daily = c.dailyBudgetMinor * (live / DAY_MS);
  return c.lifetimeBudgetMinor === null ? daily : Math.min(daily, c.lifetimeBudgetMinor);
}

interface Group {
  key: string;
  currency: string | null;
  impressions: number;
  units: number;
  clicks: number;
  spend: number;
  clickSpend: number;
  chargedClicks: number;
  excluded: number;
}

export const adsMonetisationReport: ReportDefinition = {
  key: 'ads-monetisation',
  title: 'Ads monetisation',
  description: 'Impressions, clicks, CTR, charged spend, CPC, eCPM, budget utilisation and clicks excluded as fraud per campaign, advertiser, placement or day.',
  params: [
    ...RANGE_PARAMS,
    { name: 'groupBy', type: 'enum', values: GROUP_BYS, default: 'campaign', description: 'One row per campaign, advertiser, placement or day (and currency)' },
    { name: 'campaign', type: 'string', description: 'Only this campaign (id)' },
    { name: 'advertiser', type: 'string', description: 'Only this advertiser (id)' },
  ],
  async run(ctx, params) {
    const range = rangeOf(params, ctx.now);
    const groupBy = enumParam(params, 'groupBy', GROUP_BYS, 'campaign');
    const campaign = stringParam(params, 'campaign');
    const advertiser = stringParam(params, 'advertiser');
    const f: AdsFilter = { ...range, ...(campaign ? { campaign } : {}), ...(advertiser ? { advertiser } : {}) };
    const { db, dialect } = ctx;
    const [impressions, clicks, excluded, spend, campaigns] = await Promise.all([
      impressionCounts(db, dialect, groupBy, f), validClickCounts(db, dialect, groupBy, f), excludedClickCounts(db, dialect, groupBy, f),
      adSpend(db, dialect, groupBy, f), campaignsInRange(db, f),
    ]);

    const groups = new Map<string, Group>();
    const group = (key: string, currency: string | null): Group => {
      const id = `${key}\u0000${currency ?? ''}`;
      let g = groups.get(id);
      if (!g) groups.set(id, g = { key, currency, impressions: 0, units: 0, clicks: 0, spend: 0, clickSpend: 0, chargedClicks: 0, excluded: 0 });
      return g;
    };
    const add = (rows: AdsCounts[], apply: (g: Group, r: AdsCounts) => void) => { for (const r of rows) apply(group(r.key, r.currency), r); };
    add(impressions, (g, r) => { g.impressions += r.n; g.units = r.units; });
    add(clicks, (g, r) => { g.clicks += r.n; });
    add(excluded, (g, r) => { g.excluded += r.n; });
    for (const s of spend) Object.assign(group(s.key, s.currency), { spend: s.spend, clickSpend: s.clickSpend, chargedClicks: s.chargedClicks });
    if (groupBy === 'placement') {
      // The CPM row bills the impressions of CPM campaigns: its units are their audience.
      const audience = [...groups.values()].some((g) => g.key === PER_IMPRESSION_GROUP) ? await cpmAudience(db, f) : [];
      for (const a of audience) { const g = groups.get(`${PER_IMPRESSION_GROUP}\u0000${a.currency}`); if (g) g.units = a.units; }
    }

    const budgetOf = budgets(groupBy, campaigns, range);
    const labels = await labelsFor(ctx.db, groupBy);
    const rows: ReportRow[] = [...groups.values()]
      .sort((a, b) => (groupBy === 'day' ? Number(a.key) - Number(b.key) : a.key < b.key ? -1 : a.key > b.key ? 1 : 0) || (a.currency ?? '').localeCompare(b.currency ?? ''))
      .map((g) => {
        const hasMoney = g.currency !== null;
        const budget = hasMoney ? budgetOf(g.key, g.currency!) : null;
        return {
          ...labels(g.key),
          currency: g.currency,
          impressions: g.impressions, clicks: g.clicks, ctr: ratio(g.clicks, g.impressions), charged_clicks: g.chargedClicks,
          spend: hasMoney ? g.spend : null,
          cpc: hasMoney ? ratio(g.clickSpend, g.chargedClicks) : null,
          ecpm: hasMoney && g.impressions > 0 ? (g.spend / g.impressions) * 1000 : null,
          budget,
          budget_utilisation: budget === null ? null : ratio(g.spend, budget),
          fraud_clicks_excluded: g.excluded, units: g.units,
        };
      });

    return {
      sheets: [{ name: 'Ads monetisation', columns: [...LABEL_COLUMNS[groupBy], ...MEASURE_COLUMNS], unitsKey: 'units', rows: rowsOf(rows) }],
      notes: [
        'Clicks are recorded clicks less those excluded as fraud (flagged and not released by review); CTR uses them.',
        'Spend is succeeded ad_charge transactions; CPC divides the spend of CPC campaigns by their charges (one per click).',
        'Budget over the range: daily budget × days of the range within the campaign\'s life (fractional at its start and end), at most the lifetime budget; the lifetime budget when there is no daily one. By day: the campaigns live that day; by placement: none (budgets are per campaign).',
        ...(groupBy === 'placement' ? [`By placement, CPM charges (a thousand impressions of a campaign, on any placement) are the row "${PER_IMPRESSION_GROUP}".`] : []),
      ],
    };
  },
};

/** The budget of a group (in one currency) over the range, or null when nothing in it has a budget. */
function budgets(groupBy: AdsGroupBy, campaigns: readonly CampaignBudget[], range: Range): (key: string, currency: string) => number | null {
  const sum = (list: readonly CampaignBudget[], w: Range) => {
    let total: number | null = null;
    for (const c of list) {
      const b = campaignBudget(c, w);
      if (b !== null) total = (total ?? 0) + b;
    }
    return total;
  };
  switch (groupBy) {
    case 'placement':
      return () => null;
    case 'campaign':
      return (key, currency) => sum(campaigns.filter((c) => c.id === key && c.currency === currency), range);
    case 'advertiser':
      return (key, currency) => sum(campaigns.filter((c) => c.advertiserId === key && c.currency === currency), range);
    case 'day':
      return (key, currency) => {
        const day = Number(key);
        return sum(campaigns.filter((c) => c.currency === currency), { from: Math.max(day, range.from), to: Math.min(day + DAY_MS, range.to) });
      };
  }
}

async function labelsFor(db: Db, groupBy: AdsGroupBy): Promise<(key: string) => ReportRow> {
  switch (groupBy) {
    case 'day':
      return (key) => ({ day: Number(key) });
    case 'campaign': {
      const labels = await campaignLabels(db);
      return (key) => ({ campaign: key, campaign_name: labels.get(key)?.name ?? null, advertiser: labels.get(key)?.advertiserId ?? null });
    }
    case 'advertiser': {
      const names = await namesOf(db, 'advertiser');
      return (key) => ({ advertiser: key, advertiser_name: names.get(key) ?? null });
    }
    case 'placement': {
      const names = await namesOf(db, 'placement');
      return (key) => ({ placement: key, placement_name: names.get(key) ?? null });
    }
  }
}
