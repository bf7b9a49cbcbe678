import type { Generated } from 'kysely';

export interface ExperimentTable {
  key: string;
  hypothesis: string;
  /** user | client | provider | job | session */
  unit_type: string;
  model: string | null;
  /** JSON: [{ key, name, weight, payload }], control first. */
  variants: string;
  coverage: number;
  /** JSON: { name, start, end } or null. */
  namespace: string | null;
  /** JSON: { attribute: value | { $in: [...] } | … } or null. */
  conditions: string | null;
  primary_metric: string;
  /** JSON: string[] */
  secondary_metrics: string;
  /** JSON: [{ metric, maxDegradation }] */
  guardrails: string;
  mde: number | null;
  hash_version: number;
  seed: string;
  /** draft → running → stopped | rolled_back */
  status: string;
  status_reason: string | null;
  phase: number;
  started_at: number | null;
  stopped_at: number | null;
  created_by: string;
  created_at: number;
  updated_at: number;
}

export interface ExperimentPhaseTable {
  experiment: string;
  phase: number;
  /** JSON: number[] */
  weights: string;
  coverage: number;
  reason: string;
  started_at: number;
  ended_at: number | null;
}

export interface ExperimentExposureTable {
  experiment: string;
  unit_id: string;
  phase: number;
  variant: number;
  exposed_at: number;
}

export interface ExperimentAnalysisTable {
  id: Generated<number>;
  experiment: string;
  phase: number;
  /** JSON: the analysis report. */
  report: string;
  /** manual | schedule */
  trigger: string;
  created_at: number;
}

export interface MetricEventTable {
  id: Generated<number>;
  name: string;
  unit_id: string;
  value: number;
  event_at: number;
}

declare module '../platform/db/database.js' {
  interface Database {
    metric_event: MetricEventTable;
    experiment: ExperimentTable;
    experiment_phase: ExperimentPhaseTable;
    experiment_exposure: ExperimentExposureTable;
    experiment_analysis: ExperimentAnalysisTable;
  }
}
