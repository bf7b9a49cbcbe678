import type { Generated } from 'kysely';

export interface RegisteredModelTable {
  name: string;
  description: string;
  /** JSON object of string tags. */
  tags: string;
  last_version: number;
  created_by: string;
  created_at: number;
  updated_at: number;
}

export interface ModelVersionTable {
  model: string;
  version: number;
  /** registering → ready | failed */
  status: string;
  status_reason: string | null;
  algorithm: string;
  /** JSON */
  hyperparameters: string;
  /** JSON: [{ name, version, schemaHash }] */
  feature_sets: string;
  dataset_id: string | null;
  dataset_hash: string | null;
  code_version: string;
  /** JSON: { name: number } */
  metrics: string;
  calibration: string | null;
  fairness: string | null;
  importance: string | null;
  artifact: Buffer | null;
  artifact_sha256: string | null;
  artifact_bytes: number | null;
  artifact_format: string | null;
  description: string;
  created_by: string;
  created_at: number;
  updated_at: number;
}

export interface ModelAliasTable {
  model: string;
  alias: string;
  version: number;
  updated_by: string;
  updated_at: number;
}

export interface ModelAliasHistoryTable {
  id: Generated<number>;
  model: string;
  alias: string;
  /** move | rollback */
  kind: string;
  from_version: number | null;
  to_version: number;
  reason: string;
  /** JSON GateVerdict, null for rollbacks and ungated aliases. */
  gates: string | null;
  forced: number;
  actor_type: string;
  actor_id: string;
  request_id: string | null;
  at: number;
}

declare module '../platform/db/database.js' {
  interface Database {
    registered_model: RegisteredModelTable;
    model_version: ModelVersionTable;
    model_alias: ModelAliasTable;
    model_alias_history: ModelAliasHistoryTable;
  }
}
