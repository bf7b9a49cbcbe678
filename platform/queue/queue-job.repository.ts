// The only SQL of the inline queue. Every state change after a claim is a compare-and-set on
// (id, locked_by, attempts_made), the claim's token: a worker whose lease expired and whose job
// was taken over by another worker can no longer complete, fail or release it.
import type { ExpressionBuilder, Kysely } from 'kysely';
import { isMysql, type Database, type Db } from '../db/database.js';
import type { NewQueueJob, QueueJobRow } from './queue-job.table.js';

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
}

/** A claimed row; `reclaimed` when its previous worker's lease had run out (that worker died or hung). */
export type ClaimedJob = QueueJobRow & { reclaimed: boolean };

export type FailOutcome = { state: 'retry'; runAt: number } | { state: 'dead' } | { state: 'lost' };

const LOST_LEASE_ERROR = 'the worker running this job stopped before it finished (lease expired)';

/** Inserts jobs; an id that already exists is left as it is (idempotent enqueue). */
export async function insertJobs(db: Db, rows: NewQueueJob[]): Promise<void> {
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

/** A finished job leaves the table. False when the claim was lost (another worker owns it now). */
export async function completeJob(db: Db, claim: JobClaim): Promise<boolean> {
  const res = await db.deleteFrom('queue_job').where(owned(claim)).executeTakeFirst();
  return Number(res.numDeletedRows) === 1;
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
    const c = byName.get(r.name) ?? { name: r.name, waiting: 0, active: 0, delayed: 0, dead: 0 };
    const n = Number(r.n);
    const later = Number(r.later ?? 0);
    if (r.status === 'waiting') {
      c.waiting += n - later;
      c.delayed += later;
    } else if (r.status === 'active') {
      c.active += n;
    } else if (r.status === 'dead') {
      c.dead += n;
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
