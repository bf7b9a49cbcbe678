// Row types of the inline queue's tables: `queue_job` (migrations/20261125T1900_platform.ts, flow
// columns from 20261125T2105_queue_flows.ts) and `queue_schedule` (20261125T2105_queue_flows.ts).
// Times are UTC epoch milliseconds in bigint columns; both drivers hand them back as numbers.
import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

/**
 * waiting: due at run_at (delayed when run_at is in the future); active: claimed until locked_until;
 * dead: out of attempts; children: a flow parent waiting for `pending_children` children;
 * completed: a finished flow child, kept with its result until its parent has run.
 */
export type QueueJobStatus = 'waiting' | 'active' | 'dead' | 'children' | 'completed';

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
  /** Set on a flow child: the parent that waits for it. */
  parent_id: Generated<string | null>;
  /** On a flow parent: children not completed yet. */
  pending_children: Generated<number>;
  /** On a flow parent: its children (0 for any other job). */
  total_children: Generated<number>;
  /** JSON of a completed flow child's return value. */
  result: Generated<string | null>;
}

export interface QueueScheduleTable {
  id: string;
  cron: string;
  name: string;
  /** JSON of the payload of each run. */
  payload: string;
  next_run_at: number;
  created_at: number;
  updated_at: number;
}

export type QueueScheduleRow = Selectable<QueueScheduleTable>;

export type QueueJobRow = Selectable<QueueJobTable>;
export type NewQueueJob = Insertable<QueueJobTable>;
export type QueueJobUpdate = Updateable<QueueJobTable>;

declare module '../db/database.js' {
  interface Database {
    queue_job: QueueJobTable;
    queue_schedule: QueueScheduleTable;
  }
}
