// Every report an export can run, by key. Keys are part of the public API (URLs, CLI, schedules).
import type { ReportDefinition } from '../report.types.js';
import { adsMonetisationReport } from './ads-monetisation.report.js';
import { experimentMonetisationReport } from './experiment-monetisation.report.js';
import { financeSummaryReport } from './finance-summary.report.js';
import { matchingPerformanceReport } from './matching-performance.report.js';
import { modelGovernanceReport } from './model-governance.report.js';
import { transactionsReport } from './transactions.report.js';

export const REPORTS: readonly ReportDefinition[] = [
  financeSummaryReport,
  transactionsReport,
  adsMonetisationReport,
  experimentMonetisationReport,
  matchingPerformanceReport,
  modelGovernanceReport,
];

const BY_KEY = new Map(REPORTS.map((r) => [r.key, r]));

/** The report with this key, or undefined. */
export function findReport(key: string): ReportDefinition | undefined {
  return BY_KEY.get(key);
}
