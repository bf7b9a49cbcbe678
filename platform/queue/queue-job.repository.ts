// The only SQL of the inline queue. Every state change after a claim is a compare-and-set on
// (id, locked_by, attempts_made), the claim's token: a worker whose lease expired and whose job
// was taken over by another worker can no longer complete, fail or release it.
import type { ExpressionBuilder, Kysely } from 'kysely';
import { isMysql, type Database, type Db, type Tx } from '../db/database.js';
import type { NewQueueJob, QueueJobRow, QueueScheduleRow } from './queue-job.table.js';

/** What a worker holds after a claim; the three fields together identify this one run. */
export interface JobClaim {
  id: string;
  lockedBy: string;
  /** attempts_made after the claim (1 on the first run). */
  attempt: number;
}

export interface JobCountRow {
  name: string;
  waiting: number;
  active: number;
  delayed: number;
  dead: number;
  /** Flow parents waiting for children. */
  children: number;
}

/** A claimed row; `reclaimed` when its previous worker's lease had run out (that worker died or hung). */
export type ClaimedJob = QueueJobRow & { reclaimed: boolean };

export type FailOutcome = { state: 'retry'; runAt: number } | { state: 'dead' } | { state: 'lost' };

const LOST_LEASE_ERROR = 'the worker running this job stopped before it finished (lease expired)';

/** Inserts jobs; an id that already exists is left as it is (idempotent enqueue). */
export async function insertJobs(db: Db | Tx, rows: NewQueueJob[]): Promise<void> {
  if (rows.length === 0) return;
  const insert = db.insertInto('queue_job').values(rows);
  if (isMysql(db as unknown as Kysely<unknown>)) { // the typed Db is not assignable to Kysely<unknown>
    await insert.onDuplicateKeyUpdate((eb) => ({ id: eb.ref('queue_job.id') })).execute();
  } else {
    await insert.onConflict((oc) => oc.column('id').doNothing()).execute();
  }
}

// Due: waiting and run_at has come, or active but the lease of its worker ran out.
function isDue(now: number) {
  return (eb: ExpressionBuilder<Database, 'queue_job'>) => eb.or([
    eb.and([eb('status', '=', 'waiting'), eb('run_at', '<=', now)]),
    eb.and([eb('status', '=', 'active'), eb('locked_until', '<', now)]),
  ]);
}

/**
 * Claims up to `limit` due jobs of `name` for `workerId` until `lockedUntil`. Each row is taken
 * with its own conditional UPDATE that re-checks "due" and the attempt counter read a moment
 * before, so when two processes race for one row exactly one UPDATE matches. A job whose lease
 * expired on its last attempt is marked dead instead of being run again.
 */
export async function claimDueJobs(
  db: Db, p: { name: string; limit: number; workerId: string; now: number; lockedUntil: number },
): Promise<ClaimedJob[]> {
  if (p.limit <= 0) return [];
  const candidates = await db.selectFrom('queue_job').selectAll()
    .where('name', '=', p.name)
    .where(isDue(p.now))
    .orderBy('run_at').orderBy('created_at')
    .limit(p.limit * 2) // some may be taken by another worker in between
    .execute();
  const claimed: ClaimedJob[] = [];
  for (const row of candidates) {
    if (claimed.length >= p.limit) break;
    const exhausted = row.status === 'active' && row.attempts_made >= row.max_attempts;
    const next = exhausted
      ? { status: 'dead' as const, locked_by: null, locked_until: null, last_error: LOST_LEASE_ERROR, finished_at: p.now, updated_at: p.now }
      : { status: 'active' as const, attempts_made: row.attempts_made + 1, locked_by: p.workerId, locked_until: p.lockedUntil, updated_at: p.now };
    const res = await db.updateTable('queue_job').set(next)
      .where('id', '=', row.id)
      .where('attempts_made', '=', row.attempts_made)
      .where(isDue(p.now))
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1 || exhausted) continue;
    claimed.push({ ...row, ...next, reclaimed: row.status === 'active' });
  }
  return claimed;
}

function owned(claim: JobClaim) {
  return (eb: ExpressionBuilder<Database, 'queue_job'>) => eb.and([
    eb('id', '=', claim.id),
    eb('status', '=', 'active'),
    eb('locked_by', '=', claim.lockedBy),
    eb('attempts_made', '=', claim.attempt),
  ]);
}

/**
 * Stores a flow in one transaction: the parent (status `children`) and its children. False, and
 * nothing written, when the parent id exists already. A child id that exists already is left as it
 * is and not waited for unless it is this parent's; the parent is due at once when no child is left.
 */
export async function insertFlow(db: Db, parent: NewQueueJob, children: NewQueueJob[], now: number): Promise<boolean> {
  return db.transaction().execute(async (tx) => {
    // INSERT IGNORE / OR IGNORE: a concurrent call with the same id waits on the key, then inserts nothing.
    const res = await tx.insertInto('queue_job').orIgnore().values({ ...parent, status: 'children' }).executeTakeFirst();
    if (Number(res.numInsertedOrUpdatedRows ?? 0) !== 1) return false;
    await insertJobs(tx, children.map((c) => ({ ...c, parent_id: parent.id })));
    const { n } = await tx.selectFrom('queue_job').select((eb) => eb.fn.countAll().as('n'))
      .where('parent_id', '=', parent.id).where('status', '<>', 'completed')
      .executeTakeFirstOrThrow();
    const pending = Number(n);
    await tx.updateTable('queue_job')
      .set({ pending_children: pending, total_children: pending, ...(pending === 0 ? { status: 'waiting', run_at: now } : {}) })
      .where('id', '=', parent.id)
      .execute();
    return true;
  });
}

/**
 * A finished job leaves the table, except a flow child: it stays `completed` with its result until
 * its parent has run, and the last child to complete makes the parent due. A finished flow parent
 * takes its children's rows with it. False when the claim was lost (another worker owns it now).
 */
export async function completeJob(
  db: Db, claim: JobClaim, done: { parentId: string | null; isParent: boolean; result: string; now: number },
): Promise<boolean> {
  const { parentId, now } = done;
  if (parentId === null && !done.isParent) {
    const res = await db.deleteFrom('queue_job').where(owned(claim)).executeTakeFirst();
    return Number(res.numDeletedRows) === 1;
  }
  return db.transaction().execute(async (tx) => {
    if (done.isParent) {
      const res = await tx.deleteFrom('queue_job').where(owned(claim)).executeTakeFirst();
      if (Number(res.numDeletedRows) !== 1) return false;
      await tx.deleteFrom('queue_job').where('parent_id', '=', claim.id).where('status', '=', 'completed').execute();
      if (parentId === null) return true;
    } else {
      const res = await tx.updateTable('queue_job')
        .set({ status: 'completed', result: done.result, locked_by: null, locked_until: null, finished_at: now, updated_at: now })
        .where(owned(claim)).executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) return false;
    }
    // An UPDATE (not a read then a write) so concurrent children serialise on the parent's row.
    await tx.updateTable('queue_job')
      .set((eb) => ({ pending_children: eb('pending_children', '-', 1), updated_at: now }))
      .where('id', '=', parentId).where('status', '=', 'children')
      .execute();
    await tx.updateTable('queue_job')
      .set({ status: 'waiting', run_at: now, updated_at: now })
      .where('id', '=', parentId).where('status', '=', 'children').where('pending_children', '<=', 0)
      .execute();
    return true;
  });
}

/** What the completed children of `parentId` returned, by child id. */
export async function childResults(db: Db, parentId: string): Promise<{ id: string; result: string | null }[]> {
  return db.selectFrom('queue_job').select(['id', 'result'])
    .where('parent_id', '=', parentId).where('status', '=', 'completed')
    .orderBy('id')
    .execute();
}

/**
 * Records a failed run: back to waiting after `backoff_ms * 2^(attempt-1)`, or dead when the
 * attempts are used up or the failure is unrecoverable.
 */
export async function failJob(
  db: Db, claim: JobClaim, p: { maxAttempts: number; backoffMs: number; error: string; now: number; unrecoverable: boolean },
): Promise<FailOutcome> {
  const dead = p.unrecoverable || claim.attempt >= p.maxAttempts;
  const runAt = p.now + p.backoffMs * 2 ** (claim.attempt - 1);
  const res = await db.updateTable('queue_job')
    .set(dead
      ? { status: 'dead', locked_by: null, locked_until: null, last_error: p.error, finished_at: p.now, updated_at: p.now }
      : { status: 'waiting', locked_by: null, locked_until: null, last_error: p.error, run_at: runAt, updated_at: p.now })
    .where(owned(claim))
    .executeTakeFirst();
  if (Number(res.numUpdatedRows) !== 1) return { state: 'lost' };
  return dead ? { state: 'dead' } : { state: 'retry', runAt };
}

/** Pushes the lease of a running job forward. False when the claim was lost. */
export async function extendLease(db: Db, claim: JobClaim, lockedUntil: number, now: number): Promise<boolean> {
  const res = await db.updateTable('queue_job').set({ locked_until: lockedUntil, updated_at: now })
    .where(owned(claim)).executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

/**
 * Gives a running job back on shutdown: waiting and due now, and the interrupted run does not
 * count against its attempts (it did not fail, the process stopped).
 */
export async function releaseJob(db: Db, claim: JobClaim, now: number): Promise<boolean> {
  const res = await db.updateTable('queue_job')
    .set({ status: 'waiting', attempts_made: claim.attempt - 1, locked_by: null, locked_until: null, run_at: now, updated_at: now })
    .where(owned(claim)).executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

/** Jobs per name and state; a waiting job whose run_at is still ahead counts as delayed. */
export async function countJobs(db: Db, now: number): Promise<JobCountRow[]> {
  const rows = await db.selectFrom('queue_job')
    .select((eb) => [
      'name',
      'status',
      eb.fn.countAll().as('n'),
      eb.fn.sum(eb.case().when('run_at', '>', now).then(1).else(0).end()).as('later'),
    ])
    .groupBy(['name', 'status'])
    .execute();
  const byName = new Map<string, JobCountRow>();
  for (const r of rows) {
    const c = byName.get(r.name) ?? { name: r.name, waiting: 0, active: 0, delayed: 0, dead: 0, children: 0 };
    const n = Number(r.n);
    const later = Number(r.later ?? 0);
    if (r.status === 'waiting') {
      c.waiting += n - later;
      c.delayed += later;
    } else if (r.status === 'active') {
      c.active += n;
    } else if (r.status === 'dead') {
      c.dead += n;
    } else if (r.status === 'children') {
      c.children += n;
    }
    byName.set(r.name, c);
  }
  return [...byName.values()];
}

/** Dead jobs of one name, the most recent first. */
export async function listDeadJobs(db: Db, name: string, limit: number): Promise<QueueJobRow[]> {
  return db.selectFrom('queue_job').selectAll()
    .where('name', '=', name).where('status', '=', 'dead')
    .orderBy('finished_at', 'desc').orderBy('id')
    .limit(limit)
    .execute();
}

/** Puts a dead job back in line, due now, with its attempts reset. False when it is not dead. */
export async function retryDeadJob(db: Db, name: string, id: string, now: number): Promise<boolean> {
  const res = await db.updateTable('queue_job')
    .set({ status: 'waiting', attempts_made: 0, run_at: now, finished_at: null, locked_by: null, locked_until: null, updated_at: now })
    .where('id', '=', id).where('name', '=', name).where('status', '=', 'dead')
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

// --- schedules ---------------------------------------------------------------------------------

/**
 * Creates the schedule or updates its job; its next run time changes only with its cron, so
 * processes that all upsert the same schedule at start neither duplicate nor postpone a run.
 */
export async function upsertScheduleRow(
  db: Db, s: { id: string; cron: string; name: string; payload: string; nextRunAt: number; now: number },
): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await tx.insertInto('queue_schedule').orIgnore()
      .values({ id: s.id, cron: s.cron, name: s.name, payload: s.payload, next_run_at: s.nextRunAt, created_at: s.now, updated_at: s.now })
      .execute();
    await tx.updateTable('queue_schedule').set({ name: s.name, payload: s.payload, updated_at: s.now })
      .where('id', '=', s.id).where((eb) => eb.or([eb('name', '<>', s.name), eb('payload', '<>', s.payload)]))
      .execute();
    await tx.updateTable('queue_schedule').set({ cron: s.cron, next_run_at: s.nextRunAt, updated_at: s.now })
      .where('id', '=', s.id).where('cron', '<>', s.cron)
      .execute();
  });
}

export async function deleteScheduleRow(db: Db, id: string): Promise<boolean> {
  const res = await db.deleteFrom('queue_schedule').where('id', '=', id).executeTakeFirst();
  return Number(res.numDeletedRows) === 1;
}

export async function listSchedules(db: Db): Promise<QueueScheduleRow[]> {
  return db.selectFrom('queue_schedule').selectAll().orderBy('id').execute();
}

export async function dueSchedules(db: Db, now: number, limit: number): Promise<QueueScheduleRow[]> {
  return db.selectFrom('queue_schedule').selectAll()
    .where('next_run_at', '<=', now).orderBy('next_run_at').limit(limit)
    .execute();
}

/**
 * Enqueues the run of a schedule due at `runAt` and moves the schedule on to `nextRunAt`, in one
 * transaction. The move is a compare-and-set on `runAt`: when two processes find the same run due,
 * one moves it and enqueues, the other changes nothing. False when another process was first.
 */
export async function fireSchedule(db: Db, id: string, runAt: number, nextRunAt: number, job: NewQueueJob): Promise<boolean> {
  return db.transaction().execute(async (tx) => {
    const res = await tx.updateTable('queue_schedule').set({ next_run_at: nextRunAt })
      .where('id', '=', id).where('next_run_at', '=', runAt)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) return false;
    await insertJobs(tx, [job]); // the id `${schedule}-${runAt}` makes a replayed run a no-op too
    return true;
  });
}
