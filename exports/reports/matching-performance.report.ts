// How the matching models serve and what their rankings led to, per model version, role and
// experiment variant: serving volume, ranked requests, precision@k and hire rate, with hires as the
// outcome (a provider hired on the ranked job at or after the ranking was logged).
import { parseCandidates } from '../../services/scoring/fairness/live-audit.service.js';
import type { ReportColumn, ReportDefinition, ReportRow } from '../report.types.js';
import { hiresOfJobs, matchingPredictions, type LoggedMatch } from './matching.repository.js';
import { integerParam, RANGE_PARAMS, rangeOf, ratio, rowsOf, stringParam } from './report-range.js';

const PAGE = 1000;
export const NO_VARIANT = '(none)';

const COLUMNS: readonly ReportColumn[] = [
  { key: 'model', header: 'Model', type: 'string' },
  { key: 'version', header: 'Version', type: 'integer' },
  { key: 'role', header: 'Role', type: 'string', description: 'serve, canary or shadow (scored, not shown)' },
  { key: 'experiment', header: 'Experiment', type: 'string' },
  { key: 'variant', header: 'Variant', type: 'string' },
  { key: 'predictions', header: 'Predictions logged', type: 'integer', total: true, description: 'Serving volume: match.rank and match.score requests' },
  { key: 'rankings', header: 'Ranked requests', type: 'integer', total: true, description: 'match.rank requests for a job with ranked candidates' },
  { key: 'rankings_with_hire', header: 'Rankings with a hire', type: 'integer', total: true, description: 'Rankings whose job got a hire (from any provider) at or after the ranking' },
  { key: 'precision_at_k', header: 'Precision@k', type: 'ratio', description: 'Mean over rankings of: hired providers among the top k ranked / top-k size' },
  { key: 'hire_rate', header: 'Hire rate', type: 'ratio', description: 'Rankings whose job hired a provider from the ranked list / rankings' },
  { key: 'k', header: 'k', type: 'integer' },
  { key: 'units', header: 'Jobs', type: 'integer', description: 'Distinct jobs the predictions were for' },
];

interface Group {
  model: string; version: number; role: string; experiment: string | null; variant: string | null;
  predictions: number; rankings: number; withHire: number; precisionSum: number; hiredFromList: number; jobs: Set<string>;
}

/** One ranking's outcome: its top-k precision, and whether a hire came from its list / at all. */
export function rankingOutcome(
  candidates: readonly { id: string; rank: number | null }[], hired: ReadonlySet<string>, anyHire: boolean, k: number,
): { precision: number; fromList: boolean; decided: boolean } {
  const ranked = candidates.filter((c) => c.rank !== null).sort((a, b) => a.rank! - b.rank!);
  const top = ranked.slice(0, k);
  const hits = top.filter((c) => hired.has(c.id)).length;
  return { precision: top.length ? hits / top.length : 0, fromList: ranked.some((c) => hired.has(c.id)), decided: anyHire };
}

export const matchingPerformanceReport: ReportDefinition = {
  key: 'matching-performance',
  title: 'Matching performance',
  description: 'Serving volume, ranked requests, precision@k and hire rate of the matching models by version, role and experiment variant.',
  params: [
    ...RANGE_PARAMS,
    { name: 'k', type: 'integer', default: '10', description: 'Top-k cut-off of precision@k (1–1000)' },
    { name: 'model', type: 'string', description: 'Only this model' },
  ],
  async run(ctx, params) {
    const range = rangeOf(params, ctx.now);
    const k = integerParam(params, 'k', 10, 1, 1000);
    const model = stringParam(params, 'model');
    const groups = new Map<string, Group>();
    let after: string | undefined;
    for (;;) {
      const page = await matchingPredictions(ctx.db, { ...range, ...(model ? { model } : {}), ...(after !== undefined ? { after } : {}), limit: PAGE });
      if (page.length === 0) break;
      await addPage(ctx.db, page, groups, k);
      after = page[page.length - 1]!.id;
      if (page.length < PAGE) break;
    }
    const rows: ReportRow[] = [...groups.values()]
      .sort((a, b) => a.model.localeCompare(b.model) || a.version - b.version || a.role.localeCompare(b.role)
        || (a.experiment ?? '').localeCompare(b.experiment ?? '') || (a.variant ?? '').localeCompare(b.variant ?? ''))
      .map((g) => ({
        model: g.model, version: g.version, role: g.role, experiment: g.experiment ?? NO_VARIANT, variant: g.variant ?? NO_VARIANT,
        predictions: g.predictions, rankings: g.rankings, rankings_with_hire: g.withHire,
        precision_at_k: ratio(g.precisionSum, g.rankings), hire_rate: ratio(g.hiredFromList, g.rankings), k, units: g.jobs.size,
      }));
    return {
      sheets: [{ name: 'Matching performance', columns: COLUMNS, unitsKey: 'units', rows: rowsOf(rows) }],
      notes: [
        'From the prediction log (match.rank and match.score); a ranking is a match.rank request with its job id and each candidate\'s rank.',
        `Precision@${k}: per ranking, the providers hired on its job at or after the ranking among its top ${k} (or all, if fewer were ranked), over that top's size; averaged over every ranking, those whose job never hired counting 0. Rankings with a hire tells how many were decided.`,
        'Hire rate: rankings whose job hired one of the ranked providers at or after the ranking, over rankings.',
      ],
    };
  },
};

async function addPage(db: Parameters<typeof hiresOfJobs>[0], page: readonly LoggedMatch[], groups: Map<string, Group>, k: number): Promise<void> {
  const jobIds = [...new Set(page.filter((p) => p.endpoint === 'match.rank' && p.jobId !== null).map((p) => p.jobId!))];
  const hires = new Map<string, { providerId: string; at: number }[]>();
  for (const h of await hiresOfJobs(db, jobIds)) {
    let list = hires.get(h.jobId);
    if (!list) hires.set(h.jobId, list = []);
    list.push(h);
  }
  for (const p of page) {
    const id = JSON.stringify([p.model, p.version, p.role, p.experiment, p.variant]);
    let g = groups.get(id);
    if (!g) {
      groups.set(id, g = {
        model: p.model, version: p.version, role: p.role, experiment: p.experiment, variant: p.variant,
        predictions: 0, rankings: 0, withHire: 0, precisionSum: 0, hiredFromList: 0, jobs: new Set(),
      });
    }
    g.predictions++;
    if (p.jobId !== null) g.jobs.add(p.jobId);
    if (p.endpoint !== 'match.rank' || p.jobId === null) continue;
    const candidates = parseCandidates(p.candidates);
    if (!candidates.some((c) => c.rank !== null)) continue;
    const later = (hires.get(p.jobId) ?? []).filter((h) => h.at >= p.createdAt);
    const outcome = rankingOutcome(candidates, new Set(later.map((h) => h.providerId)), later.length > 0, k);
    g.rankings++;
    g.precisionSum += outcome.precision;
    if (outcome.fromList) g.hiredFromList++;
    if (outcome.decided) g.withHire++;
  }
}
