// What each experiment did to conversion and revenue, read from its latest stored analysis (the
// experiment service's analyze()): no statistic is recomputed here. A metric the analysis lacks
// leaves its cells empty; the only arithmetic is the scaled impact, a product of stored numbers.
import type { ExperimentReport, MetricResult } from '../../experiments/experiment.service.js';
import type { CellValue, ReportColumn, ReportDefinition, ReportRow } from '../report.types.js';
import { latestAnalyses, type StoredAnalysis } from './experiment-monetisation.repository.js';
import { DAY_MS, RANGE_PARAMS, rangeOf, rowsOf, stringParam } from './report-range.js';

/** The metric keys (experiments/metrics/metric-catalog.ts) read as revenue and ad revenue per unit. */
export const REVENUE_METRIC = 'revenue';
export const AD_REVENUE_METRIC = 'ad_spend';

type Part = 'conversion' | 'revenue' | 'ad_revenue';

const liftColumns = (p: Part, label: string, money: boolean): ReportColumn[] => [
  { key: `${p}_lift`, header: `${label} lift`, type: 'ratio', description: 'Relative lift vs control (treatment / control − 1), fixed-horizon Welch test' },
  { key: `${p}_ci_low`, header: `${label} lift CI low`, type: 'ratio' },
  { key: `${p}_ci_high`, header: `${label} lift CI high`, type: 'ratio' },
  { key: `${p}_p_value`, header: `${label} p-value`, type: 'number', description: 'Of the relative lift, unadjusted' },
  ...(money ? [{ key: `${p}_impact_per_day`, header: `${label} scaled impact per day`, type: 'money', currencyKey: 'currency', description: 'Absolute effect per unit × units per day of the experiment' } as ReportColumn] : []),
];

/** Which analysis a row comes from: both sheets start with it. */
const ANALYSIS_COLUMNS: readonly ReportColumn[] = [
  { key: 'experiment', header: 'Experiment', type: 'string' },
  { key: 'phase', header: 'Phase', type: 'integer' },
  { key: 'analysed_at', header: 'Analysed at', type: 'datetime' },
];

const SUMMARY_COLUMNS: readonly ReportColumn[] = [
  ...ANALYSIS_COLUMNS,
  { key: 'variant', header: 'Variant', type: 'string' },
  { key: 'is_control', header: 'Control', type: 'string', description: 'yes for the control variant (lifts are against it)' },
  { key: 'trustworthy', header: 'Trustworthy', type: 'string', description: 'no when the analysis found a sample-ratio mismatch' },
  { key: 'units', header: 'Units', type: 'integer', description: 'Exposed units of the phase' },
  { key: 'currency', header: 'Currency', type: 'string' },
  { key: 'conversion_metric', header: 'Conversion metric', type: 'string' },
  { key: 'conversion', header: 'Conversion', type: 'ratio' },
  ...liftColumns('conversion', 'Conversion', false),
  { key: 'revenue_per_unit', header: 'Revenue per unit', type: 'money', currencyKey: 'currency', description: `Metric ${REVENUE_METRIC}: platform fees and ad charges per unit` },
  ...liftColumns('revenue', 'Revenue', true),
  { key: 'ad_revenue_per_unit', header: 'Ad revenue per unit', type: 'money', currencyKey: 'currency', description: `Metric ${AD_REVENUE_METRIC}: ad charges per unit` },
  ...liftColumns('ad_revenue', 'Ad revenue', true),
];

const METRIC_COLUMNS: readonly ReportColumn[] = [
  ...ANALYSIS_COLUMNS,
  { key: 'metric', header: 'Metric', type: 'string' },
  { key: 'role', header: 'Role', type: 'string' },
  { key: 'kind', header: 'Kind', type: 'string' },
  { key: 'currency', header: 'Currency', type: 'string', description: 'Money metrics: means and effects are in minor units of it' },
  { key: 'variant', header: 'Variant', type: 'string' },
  { key: 'units', header: 'Units', type: 'integer' },
  { key: 'mean', header: 'Mean', type: 'number', description: 'Per unit (ratio metrics: Σnum / Σden; CUPED-adjusted when the analysis used it)' },
  { key: 'absolute_effect', header: 'Absolute effect', type: 'number', description: 'Treatment − control mean' },
  { key: 'lift', header: 'Lift', type: 'ratio' },
  { key: 'ci_low', header: 'Lift CI low', type: 'ratio' },
  { key: 'ci_high', header: 'Lift CI high', type: 'ratio' },
  { key: 'p_value', header: 'p-value', type: 'number' },
  { key: 'adjusted_p_value', header: 'Adjusted p-value', type: 'number', description: 'Across treatment variants (the analysis\'s correction)' },
  { key: 'scaled_impact_per_day', header: 'Scaled impact per day', type: 'number', description: 'Money metrics: absolute effect × units per day (minor units)' },
  { key: 'note', header: 'Note', type: 'string' },
];

interface VariantRead { mean: number | null; absolute: number | null; lift: number | null; ciLow: number | null; ciHigh: number | null; p: number | null; adjustedP: number | null; n: number | null }

/** One variant's numbers of one stored metric result, as stored (null where the analysis has none). */
function readVariant(m: MetricResult | undefined, variant: string): VariantRead {
  const a = m?.analysis;
  const summary = a?.variants.find((v) => v.name === variant);
  const c = a?.comparisons.find((x) => x.variant === variant);
  const rel = c?.fixed.relative ?? null;
  return {
    mean: summary?.mean ?? null, n: summary?.n ?? null,
    absolute: c ? c.fixed.absolute.estimate : null,
    lift: rel?.estimate ?? null, ciLow: rel?.ci?.[0] ?? null, ciHigh: rel?.ci?.[1] ?? null, p: rel?.pValue ?? null,
    adjustedP: c?.adjustedPValue.relative ?? null,
  };
}

/** Units per day of the analysed phase: all exposed units / days from the phase start to the data's end. */
function unitsPerDay(report: ExperimentReport, phaseStartedAt: number | null): number | null {
  if (phaseStartedAt === null) return null;
  const days = (report.to - phaseStartedAt) / DAY_MS;
  if (!(days > 0)) return null;
  return Object.values(report.exposures).reduce((a, b) => a + b, 0) / days;
}

/** The conversion metric: the primary one if it is a share of units, else the first such metric analysed. */
function conversionMetric(report: ExperimentReport): MetricResult | undefined {
  const primary = report.metrics.find((m) => m.role === 'primary');
  return primary?.kind === 'binomial' ? primary : report.metrics.find((m) => m.kind === 'binomial');
}

function summaryRows(s: StoredAnalysis, report: ExperimentReport): ReportRow[] {
  const conv = conversionMetric(report);
  const revenue = report.metrics.find((m) => m.metric === REVENUE_METRIC);
  const adRevenue = report.metrics.find((m) => m.metric === AD_REVENUE_METRIC);
  const currency = revenue?.currency ?? adRevenue?.currency ?? null;
  const perDay = unitsPerDay(report, s.phaseStartedAt);
  const control = conv?.analysis?.control ?? revenue?.analysis?.control ?? Object.keys(report.exposures)[0];
  const part = (p: Part, m: MetricResult | undefined, variant: string, money: boolean): Record<string, CellValue> => {
    const r = readVariant(m, variant);
    return {
      [`${p}_lift`]: r.lift, [`${p}_ci_low`]: r.ciLow, [`${p}_ci_high`]: r.ciHigh, [`${p}_p_value`]: r.p,
      ...(money ? { [`${p}_impact_per_day`]: r.absolute !== null && perDay !== null ? r.absolute * perDay : null } : {}),
    };
  };
  return Object.entries(report.exposures).map(([variant, units]) => ({
    experiment: s.experiment, phase: s.phase, analysed_at: report.analyzedAt, variant,
    is_control: variant === control ? 'yes' : 'no', trustworthy: report.trustworthy ? 'yes' : 'no', units, currency,
    conversion_metric: conv?.metric ?? null, conversion: readVariant(conv, variant).mean, ...part('conversion', conv, variant, false),
    revenue_per_unit: readVariant(revenue, variant).mean, ...part('revenue', revenue, variant, true),
    ad_revenue_per_unit: readVariant(adRevenue, variant).mean, ...part('ad_revenue', adRevenue, variant, true),
  }));
}

function metricRows(s: StoredAnalysis, report: ExperimentReport, only: ReadonlySet<string> | null): ReportRow[] {
  const perDay = unitsPerDay(report, s.phaseStartedAt);
  const out: ReportRow[] = [];
  for (const m of report.metrics) {
    if (only && !only.has(m.metric)) continue;
    for (const variant of Object.keys(report.exposures)) {
      const r = readVariant(m, variant);
      out.push({
        experiment: s.experiment, phase: s.phase, analysed_at: report.analyzedAt, metric: m.metric, role: m.role, kind: m.kind,
        currency: m.currency, variant, units: r.n ?? report.exposures[variant] ?? 0, mean: r.mean, absolute_effect: r.absolute,
        lift: r.lift, ci_low: r.ciLow, ci_high: r.ciHigh, p_value: r.p, adjusted_p_value: r.adjustedP,
        scaled_impact_per_day: m.currency !== null && r.absolute !== null && perDay !== null ? r.absolute * perDay : null,
        note: m.note ?? null,
      });
    }
  }
  return out;
}

export const experimentMonetisationReport: ReportDefinition = {
  key: 'experiment-monetisation',
  title: 'Experiment monetisation',
  description: 'Per experiment and variant, from the latest stored analysis: units, conversion, revenue and ad revenue per unit, each with relative lift, confidence interval, p-value and scaled daily impact.',
  params: [
    ...RANGE_PARAMS,
    { name: 'experiment', type: 'string', description: 'Only this experiment (key); default: every experiment analysed in the range' },
    { name: 'metrics', type: 'string', description: 'Comma-separated metric keys shown on the Metrics sheet (default: every metric of the analysis)' },
  ],
  async run(ctx, params) {
    const range = rangeOf(params, ctx.now);
    const experiment = stringParam(params, 'experiment');
    const listed = stringParam(params, 'metrics')?.split(',').map((x) => x.trim()).filter(Boolean) ?? [];
    const only = listed.length ? new Set(listed) : null;
    const analyses = await latestAnalyses(ctx.db, { ...range, ...(experiment ? { experiment } : {}) });
    const parsed = analyses.map((s) => ({ s, report: JSON.parse(s.report) as ExperimentReport }));
    const notes = parsed.map(({ s, report }) => {
      const missing = [REVENUE_METRIC, AD_REVENUE_METRIC].filter((k) => !report.metrics.some((m) => m.metric === k && m.analysis));
      return `${s.experiment}: phase ${s.phase} analysed at ${new Date(report.analyzedAt).toISOString()} (${s.trigger}), data to ${new Date(report.to).toISOString()}`
        + `${report.trustworthy ? '' : '; sample-ratio mismatch: not to be acted on'}${missing.length ? `; no analysis of ${missing.join(', ')}` : ''}`;
    });
    return {
      sheets: [
        { name: 'Experiments', columns: SUMMARY_COLUMNS, unitsKey: 'units', rows: rowsOf(parsed.flatMap(({ s, report }) => summaryRows(s, report))) },
        { name: 'Metrics', columns: METRIC_COLUMNS, unitsKey: 'units', rows: rowsOf(parsed.flatMap(({ s, report }) => metricRows(s, report, only))) },
      ],
      notes: [
        ...(notes.length ? notes : ['No experiment was analysed in the range.']),
        'Lifts, intervals and p-values are the stored fixed-horizon analysis (relative lift, unadjusted p); nothing is recomputed.',
        `Scaled impact per day = absolute effect per unit (treatment − control mean) × units per day, units per day = units exposed in the phase (all variants) / days from the phase start to the end of the analysed data: what the variant would add per day on all of the experiment's traffic.`,
        `Conversion is the primary metric when it is a share of units, else the first such metric; revenue per unit is metric ${REVENUE_METRIC}, ad revenue per unit ${AD_REVENUE_METRIC}.`,
      ],
    };
  },
};
