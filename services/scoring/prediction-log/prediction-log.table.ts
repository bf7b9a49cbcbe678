import type { Generated } from 'kysely';

export interface PredictionLogTable {
  /** The prediction id returned to the caller (`pr_…`). */
  id: string;
  request_id: string | null;
  /** match.rank | match.score | ads.score | v2.infer */
  endpoint: string;
  model: string;
  version: number;
  alias: string;
  /** serve | canary | shadow */
  role: string;
  experiment: string | null;
  variant: string | null;
  /** The unit canary/experiment assignment hashed (job id, user id…). */
  unit_id: string | null;
  /** The job (matching) or placement (ads) scored for. */
  context_id: string | null;
  /** JSON: [{ id, score, rank }] in request order (rank null when not ranked). */
  candidates: string;
  /** sha256 of the model input rows, in candidate order. */
  features_hash: string;
  /** JSON: { candidateId: { feature: raw value } } when explanations were computed (what the model saw). */
  features: string | null;
  /** JSON: { candidateId: Explanation } when computed. */
  explanations: string | null;
  /** JSON: { candidateId: { missing: string[], expired: string[] } } for candidates lacking features. */
  missing: string | null;
  actor: string | null;
  created_at: number;
}

export interface ModelAuditTable {
  id: Generated<number>;
  model: string;
  version: number;
  window_from: number;
  window_to: number;
  predictions: number;
  /** JSON: the audit report (classification and ranking fairness by attribute). */
  report: string;
  /** manual | schedule */
  trigger: string;
  created_by: string;
  created_at: number;
}

declare module '../../../platform/db/database.js' {
  interface Database {
    prediction_log: PredictionLogTable;
    model_audit: ModelAuditTable;
  }
}
