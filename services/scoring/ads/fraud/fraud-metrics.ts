// The fraud rules' metrics on the process's registry. Get-or-create, so building the service twice
// on one registry (tests, several apps in one process) does not throw on a duplicate name.
import { Counter, type Registry } from 'prom-client';

export const FLAGGED_CLICKS_METRIC = 'gigintel_ads_flagged_clicks_total';
export const FRAUD_CHECKS_METRIC = 'gigintel_ads_fraud_checks_total';

export interface FraudMetrics {
  /** One increment per reason of each newly flagged click (a click with two reasons counts under both). */
  flagged: Counter<'reason'>;
  /** Clicks checked, by outcome: passed or flagged. */
  checks: Counter<'outcome'>;
}

export function fraudMetrics(registry: Registry): FraudMetrics {
  const flagged = registry.getSingleMetric(FLAGGED_CLICKS_METRIC) as Counter<'reason'> | undefined ?? new Counter({
    name: FLAGGED_CLICKS_METRIC, help: 'Ad clicks flagged as fraud, by reason (a click counts once under each of its reasons)',
    labelNames: ['reason'] as const, registers: [registry],
  });
  const checks = registry.getSingleMetric(FRAUD_CHECKS_METRIC) as Counter<'outcome'> | undefined ?? new Counter({
    name: FRAUD_CHECKS_METRIC, help: 'Ad clicks checked by the fraud rules, by outcome (passed, flagged)',
    labelNames: ['outcome'] as const, registers: [registry],
  });
  return { flagged, checks };
}
