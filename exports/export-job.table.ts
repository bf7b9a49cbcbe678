// Row types of the exports tables (migration 20261207T1100_exports).
export type ExportJobStatus = 'queued' | 'running' | 'done' | 'failed' | 'expired';

export interface ExportJobTable {
  id: string;
  report: string;
  format: string;
  /** JSON object of the parameters as given (strings). */
  params: string;
  status: ExportJobStatus;
  rows_written: number;
  file_name: string;
  file_bytes: number | null;
  requested_by: string | null;
  /** 0/1: ids in the file are raw (an admin asked) rather than pseudonymised. */
  raw_ids: number | boolean;
  schedule: string | null;
  error: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  expires_at: number | null;
}

export interface AppSecretTable {
  name: string;
  value: string;
  created_at: number;
}

declare module '../platform/db/database.js' {
  interface Database { export_job: ExportJobTable; app_secret: AppSecretTable }
}
