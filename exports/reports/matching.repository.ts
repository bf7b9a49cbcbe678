// The matching performance report's SQL: matching predictions from the prediction log in a range,
// keyset-paged by id (the candidates JSON is parsed in Node, page by page; paging rather than a stream
// so the hires of each page can be read on the same SQLite connection), and the hires of their jobs.
import type { Kysely } from 'kysely';
import type { Db } from '../../platform/db/database.js';
import type { Range } from './report-range.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const untyped = (db: Db) => db as unknown as Kysely<any>;
/** Ids per IN list: well under MySQL's and SQLite's parameter limits. */
const IN_CHUNK = 500;
/** The scoring endpoints of matching (services/scoring/scoring.service.ts). */
export const MATCHING_ENDPOINTS = ['match.rank', 'match.score'] as const;

export interface LoggedMatch {
  id: string;
  endpoint: string;
  model: string;
  version: number;
  role: string;
  experiment: string | null;
  variant: string | null;
  jobId: string | null;
  /** JSON: [{ id, score, rank }]. */
  candidates: string;
  createdAt: number;
}

/**
 * Matching predictions in [from, to), one page after the id `after`, in id order: the report only
 * aggregates, so any total order will do, and the primary key's needs no sort (the log has no
 * index on time alone; pages together walk it once).
 */
export async function matchingPredictions(db: Db, q: Range & { model?: string; after?: string; limit: number }): Promise<LoggedMatch[]> {
  let query = db.selectFrom('prediction_log')
    .select(['id', 'endpoint', 'model', 'version', 'role', 'experiment', 'variant', 'context_id', 'candidates', 'created_at'])
    .where('endpoint', 'in', [...MATCHING_ENDPOINTS])
    .where('created_at', '>=', q.from).where('created_at', '<', q.to);
  if (q.model) query = query.where('model', '=', q.model);
  if (q.after !== undefined) query = query.where('id', '>', q.after);
  const rows = await query.orderBy('id').limit(q.limit).execute();
  return rows.map((r) => ({
    id: r.id, endpoint: r.endpoint, model: r.model, version: Number(r.version), role: r.role, experiment: r.experiment, variant: r.variant,
    jobId: r.context_id, candidates: r.candidates, createdAt: Number(r.created_at),
  }));
}

/** Every hire of these jobs: job, provider and when. */
export async function hiresOfJobs(db: Db, jobIds: readonly string[]): Promise<{ jobId: string; providerId: string; at: number }[]> {
  const out: { jobId: string; providerId: string; at: number }[] = [];
  for (let i = 0; i < jobIds.length; i += IN_CHUNK) {
    const rows = await untyped(db).selectFrom('hire').select(['job_id', 'provider_id', 'event_at'])
      .where('job_id', 'in', jobIds.slice(i, i + IN_CHUNK)).execute() as { job_id: string; provider_id: string; event_at: number | string }[];
    for (const r of rows) out.push({ jobId: r.job_id, providerId: r.provider_id, at: Number(r.event_at) });
  }
  return out;
}
