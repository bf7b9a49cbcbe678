// The experiment monetisation report's SQL: the latest stored analysis of each experiment (written
// by the experiment service's analyze(); never recomputed here) and when its phase started.
import type { Db } from '../../platform/db/database.js';
import type { Range } from './report-range.js';

export interface StoredAnalysis {
  id: number;
  experiment: string;
  phase: number;
  /** JSON: the ExperimentReport as analyze() stored it. */
  report: string;
  trigger: string;
  createdAt: number;
  /** Start of the analysed phase; null if the phase row is missing. */
  phaseStartedAt: number | null;
}

/** Per experiment, its newest analysis made in [from, to) (one experiment when named), by experiment key. */
export async function latestAnalyses(db: Db, q: Range & { experiment?: string }): Promise<StoredAnalysis[]> {
  let newest = db.selectFrom('experiment_analysis').select((eb) => eb.fn.max('id').as('id'))
    .where('created_at', '>=', q.from).where('created_at', '<', q.to);
  if (q.experiment) newest = newest.where('experiment', '=', q.experiment);
  const rows = await db.selectFrom('experiment_analysis as a')
    .leftJoin('experiment_phase as p', (j) => j.onRef('p.experiment', '=', 'a.experiment').onRef('p.phase', '=', 'a.phase'))
    .select(['a.id', 'a.experiment', 'a.phase', 'a.report', 'a.trigger', 'a.created_at', 'p.started_at'])
    .where('a.id', 'in', newest.groupBy('experiment'))
    .orderBy('a.experiment')
    .execute();
  return rows.map((r) => ({
    id: Number(r.id), experiment: r.experiment, phase: Number(r.phase), report: r.report, trigger: r.trigger,
    createdAt: Number(r.created_at), phaseStartedAt: r.started_at === null ? null : Number(r.started_at),
  }));
}
