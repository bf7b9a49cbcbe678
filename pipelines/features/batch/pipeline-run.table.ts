export interface PipelineRunTable {
  id: string;
  pipeline: string;
  /** planned → running → succeeded | failed */
  status: string;
  trigger: string;
  requested_by: string;
  as_of: number;
  full_run: number;
  advances_watermark: number;
  /** A reconstruction of the past: its history rows are stamped created at the as-of time. */
  reconstructs: number;
  /** JSON: [{ name, version, changedSince, entities, chunks }] */
  feature_sets: string;
  chunks_total: number;
  chunks_done: number;
  entities: number;
  rows_written: number;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  error: string | null;
}

export interface PipelineChunkTable {
  run_id: string;
  chunk_no: number;
  feature_set: string;
  version: number;
  /** JSON array of entity keys. */
  entity_keys: string;
  status: string;
  entities: number;
  rows_written: number;
  attempts: number;
  started_at: number | null;
  finished_at: number | null;
  error: string | null;
}

export interface FeatureWatermarkTable {
  feature_set: string;
  version: number;
  changed_before: number;
  run_id: string;
  updated_at: number;
}

declare module '../../../platform/db/database.js' {
  interface Database { pipeline_run: PipelineRunTable; pipeline_chunk: PipelineChunkTable; feature_watermark: FeatureWatermarkTable }
}
