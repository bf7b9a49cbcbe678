// The metrics an experiment can use, defined over facts the project already records. Each names
// the unit type it is measured on, how a unit's value is formed from its facts after its first
// exposure (a count or sum, "any" for a conversion, or a numerator and a denominator for a ratio —
// analysed as Σnumerator / Σdenominator with the delta method, never as a mean of per-unit
// ratios), whether larger is better, and the SQL that lists its facts as (unit, at, num, den).
// Money is summed in integer minor units of one currency (default USD): amounts in different
// currencies are never added together.
import { NotFoundError, ValidationError } from '../../platform/errors/app-error.js';

export type UnitType = 'user' | 'client' | 'provider' | 'job' | 'session';
export const UNIT_TYPES: readonly UnitType[] = ['user', 'client', 'provider', 'job', 'session'];

export type MetricKind = 'mean' | 'binomial' | 'ratio';

export interface MetricDefinition {
  key: string;
  description: string;
  kind: MetricKind;
  /** The unit types whose ids the facts carry. */
  units: readonly UnitType[];
  /** true: an increase is an improvement (a guardrail then fails on a decrease). */
  higherIsBetter: boolean;
  /** Money metric: summed per currency. */
  money: boolean;
  /**
   * SELECT returning columns unit, at, num, den for the facts of this metric. `:currency` is
   * replaced by a bound parameter for money metrics. Table names are quoted for both dialects.
   */
  facts: string;
  /** Percentile cap applied per unit before aggregation (winsorisation), e.g. 0.99; null: none. */
  defaultCap: number | null;
  /**
   * Metrics over imported facts (metric_event): the event name, and whether values are summed
   * (else each event counts 1). On MySQL the analysis then joins by the integer unit key.
   */
  event?: { name: string; sum: boolean };
}

const q = (t: string) => `"${t}"`; // ANSI quotes: MySQL runs with ANSI_QUOTES off, so callers rewrite them (see quoteFor)

export const METRICS: readonly MetricDefinition[] = [
  { key: 'hire_rate', description: 'share of units hired after exposure (a job filled, a provider hired)', kind: 'binomial', units: ['job', 'provider'], higherIsBetter: true, money: false, defaultCap: null,
    facts: `SELECT job_id AS unit, event_at AS at, 1 AS num, 0 AS den FROM ${q('hire')} UNION ALL SELECT provider_id, event_at, 1, 0 FROM ${q('hire')}` },
  { key: 'hires', description: 'hires per unit after exposure', kind: 'mean', units: ['job', 'provider', 'client'], higherIsBetter: true, money: false, defaultCap: 0.99,
    facts: `SELECT h.job_id AS unit, h.event_at AS at, 1 AS num, 0 AS den FROM ${q('hire')} h UNION ALL SELECT h.provider_id, h.event_at, 1, 0 FROM ${q('hire')} h UNION ALL SELECT j.client_id, h.event_at, 1, 0 FROM ${q('hire')} h JOIN ${q('job')} j ON j.id = h.job_id` },
  { key: 'proposals', description: 'proposals per unit after exposure', kind: 'mean', units: ['job', 'provider'], higherIsBetter: true, money: false, defaultCap: 0.99,
    facts: `SELECT job_id AS unit, event_at AS at, 1 AS num, 0 AS den FROM ${q('proposal')} UNION ALL SELECT provider_id, event_at, 1, 0 FROM ${q('proposal')}` },
  { key: 'clicks', description: 'ad clicks per user after exposure', kind: 'mean', units: ['user'], higherIsBetter: true, money: false, defaultCap: 0.99,
    facts: `SELECT user_id AS unit, event_at AS at, 1 AS num, 0 AS den FROM ${q('click')} WHERE user_id IS NOT NULL` },
  { key: 'impressions', description: 'ad impressions per user after exposure', kind: 'mean', units: ['user'], higherIsBetter: true, money: false, defaultCap: 0.99,
    facts: `SELECT user_id AS unit, event_at AS at, 1 AS num, 0 AS den FROM ${q('impression')} WHERE user_id IS NOT NULL` },
  { key: 'ctr', description: 'click-through rate: Σclicks / Σimpressions over the variant\'s users', kind: 'ratio', units: ['user'], higherIsBetter: true, money: false, defaultCap: null,
    facts: `SELECT user_id AS unit, event_at AS at, 1 AS num, 0 AS den FROM ${q('click')} WHERE user_id IS NOT NULL UNION ALL SELECT user_id, event_at, 0, 1 FROM ${q('impression')} WHERE user_id IS NOT NULL` },
  { key: 'click_rate', description: 'share of users who clicked an ad after exposure', kind: 'binomial', units: ['user'], higherIsBetter: true, money: false, defaultCap: null,
    facts: `SELECT user_id AS unit, event_at AS at, 1 AS num, 0 AS den FROM ${q('click')} WHERE user_id IS NOT NULL` },
  { key: 'revenue', description: 'platform revenue (platform fees and ad charges that succeeded) per unit, minor units of one currency', kind: 'mean', units: ['user', 'client', 'provider', 'job'], higherIsBetter: true, money: true, defaultCap: 0.99,
    facts: `SELECT user_id AS unit, event_at AS at, amount_minor AS num, 0 AS den FROM ${q('transaction')} WHERE kind IN ('platform_fee', 'ad_charge') AND status = 'succeeded' AND currency = :currency`
      + ` UNION ALL SELECT job_id, event_at, amount_minor, 0 FROM ${q('transaction')} WHERE job_id IS NOT NULL AND kind = 'platform_fee' AND status = 'succeeded' AND currency = :currency` },
  { key: 'gross_merchandise_value', description: 'escrow deposited for hires per unit (client or job), minor units of one currency', kind: 'mean', units: ['client', 'job'], higherIsBetter: true, money: true, defaultCap: 0.99,
    facts: `SELECT user_id AS unit, event_at AS at, amount_minor AS num, 0 AS den FROM ${q('transaction')} WHERE kind = 'escrow_deposit' AND status = 'succeeded' AND currency = :currency`
      + ` UNION ALL SELECT job_id, event_at, amount_minor, 0 FROM ${q('transaction')} WHERE job_id IS NOT NULL AND kind = 'escrow_deposit' AND status = 'succeeded' AND currency = :currency` },
  { key: 'ad_spend', description: 'ad charges per advertiser, minor units of one currency', kind: 'mean', units: ['client'], higherIsBetter: false, money: true, defaultCap: 0.99,
    facts: `SELECT user_id AS unit, event_at AS at, amount_minor AS num, 0 AS den FROM ${q('transaction')} WHERE kind = 'ad_charge' AND status = 'succeeded' AND currency = :currency` },
  { key: 'roas', description: 'return on ad spend: Σconversion value / Σad charges over the variant\'s advertisers (one currency)', kind: 'ratio', units: ['client'], higherIsBetter: true, money: true, defaultCap: null,
    facts: `SELECT c.advertiser_id AS unit, v.event_at AS at, v.value_minor AS num, 0 AS den FROM ${q('conversion')} v JOIN ${q('campaign')} c ON c.id = v.campaign_id WHERE v.currency = :currency`
      + ` UNION ALL SELECT user_id, event_at, 0, amount_minor FROM ${q('transaction')} WHERE kind = 'ad_charge' AND status = 'succeeded' AND currency = :currency` },
];

/** `events.<name>` (share of units with such an event) and `events.<name>.sum` (mean of their values per unit). */
const EVENT_METRIC = /^events\.([a-z0-9_][a-z0-9_-]{0,63})(\.sum)?$/;

/** A metric over imported outcome facts (table metric_event), on any unit type. */
export function eventMetric(key: string): MetricDefinition | null {
  const m = EVENT_METRIC.exec(key);
  if (!m) return null;
  const [, name, sum] = m;
  return {
    key, kind: sum ? 'mean' : 'binomial', units: UNIT_TYPES, higherIsBetter: true, money: false, defaultCap: sum ? 0.99 : null,
    event: { name: name!, sum: Boolean(sum) },
    description: sum ? `sum of the values of "${name}" events per unit (imported facts)` : `share of units with a "${name}" event (imported facts)`,
    // The name is checked by the pattern above, so it is safe inside the literal.
    facts: `SELECT unit_id AS unit, event_at AS at, ${sum ? 'value' : '1'} AS num, 0 AS den FROM ${q('metric_event')} WHERE name = '${name}'`,
  };
}

function findMetric(key: string): MetricDefinition | undefined {
  return METRICS.find((x) => x.key === key) ?? eventMetric(key) ?? undefined;
}

export function metricDefinition(key: string): MetricDefinition {
  const m = findMetric(key);
  if (!m) throw new NotFoundError(`unknown metric "${key}"; metrics: ${METRICS.map((x) => x.key).join(', ')}, events.<name>[.sum]`, { metric: key });
  return m;
}

/** Checks the metrics of an experiment exist and are measured on its unit type; throws naming each bad one. */
export function checkMetrics(unitType: UnitType, metrics: { path: string; key: string }[]): void {
  const problems = [];
  for (const { path, key } of metrics) {
    const m = findMetric(key);
    if (!m) problems.push({ path, message: `unknown metric "${key}" (known: ${METRICS.map((x) => x.key).join(', ')}, or events.<name>[.sum] over imported facts)` });
    else if (!m.units.includes(unitType)) problems.push({ path, message: `${key} is measured on ${m.units.join(' or ')}, not on ${unitType}` });
  }
  if (problems.length) throw new ValidationError(`invalid metrics: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, problems);
}
