// Row type of `queue_job`, the inline queue's table (created in migrations/20261125T1900_platform.ts).
// Times are UTC epoch milliseconds in bigint columns; both drivers hand them back as numbers.
import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

/** waiting: due at run_at (delayed when run_at is in the future); active: claimed until locked_until; dead: out of attempts. */
export type QueueJobStatus = 'waiting' | 'active' | 'dead';

export interface QueueJobTable {
  id: string;
  name: string;
  /** JSON of the payload. */
  payload: string;
  status: QueueJobStatus;
  /** Runs started so far (a run whose worker died counts too). */
  attempts_made: Generated<number>;
  max_attempts: number;
  backoff_ms: number;
  run_at: number;
  locked_until: number | null;
  locked_by: string | null;
  last_error: string | null;
  correlation_id: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

export type QueueJobRow = Selectable<QueueJobTable>;
export type NewQueueJob = Insertable<QueueJobTable>;
export type QueueJobUpdate = Updateable<QueueJobTable>;

declare module '../db/database.js' {
  interface Database {
    queue_job: QueueJobTable;
  }
}
