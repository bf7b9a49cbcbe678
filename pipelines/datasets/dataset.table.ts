export interface DatasetSnapshotTable {
  id: string;
  kind: string;
  from_at: number;
  to_at: number;
  as_of_created: number;
  created_at: number;
  row_count: number;
  label_rate: number | null;
  /** JSON: [{ name, version, schemaHash }]. */
  feature_sets: string;
  feature_set_hash: string;
  content_hash: string;
  storage_path: string;
  byte_size: number;
  /** JSON: [{ name, type, role }]. */
  columns: string;
  /** JSON: { column: rate }. */
  null_rates: string;
  build_ms: number;
}

declare module '../../platform/db/database.js' {
  interface Database { dataset_snapshot: DatasetSnapshotTable }
}
