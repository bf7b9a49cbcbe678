// The registry's record: every alias move and rollback with its gate verdict, and the stored
// fairness audits flattened to (attribute, metric, group, value). The one report where sensitive
// group labels appear (the audits' groups); people who acted appear through ctx.pseudonymise.
import type { GateVerdict } from '../../model-registry/gates.js';
import type { AuditReport } from '../../services/scoring/fairness/live-audit.service.js';
import type { CellValue, ReportColumn, ReportDefinition, ReportRow } from '../report.types.js';
import { aliasMoves, storedAudits, type AliasMoveRow, type StoredAuditRow } from './governance.repository.js';
import { RANGE_PARAMS, rangeOf, rowsOf, stringParam } from './report-range.js';

/** Metrics about a whole audit or attribute rather than one group. */
export const ALL_GROUPS = '(all)';

const HISTORY_COLUMNS: readonly ReportColumn[] = [
  { key: 'at', header: 'Time (UTC)', type: 'datetime' },
  { key: 'model', header: 'Model', type: 'string' },
  { key: 'alias', header: 'Alias', type: 'string' },
  { key: 'kind', header: 'Kind', type: 'string', description: 'move (a promotion) or rollback' },
  { key: 'from_version', header: 'From version', type: 'integer' },
  { key: 'to_version', header: 'To version', type: 'integer' },
  { key: 'actor', header: 'Actor', type: 'string', description: 'type:id; API keys and CLI users pseudonymised unless exported by an admin' },
  { key: 'reason', header: 'Reason', type: 'string' },
  { key: 'gates', header: 'Gate verdict', type: 'string', description: 'passed or failed, checks passed / run, the failed checks' },
  { key: 'forced', header: 'Forced', type: 'string', description: 'yes when an admin forced the move past failed gates' },
];

const AUDIT_COLUMNS: readonly ReportColumn[] = [
  { key: 'audited_at', header: 'Audited at', type: 'datetime' },
  { key: 'model', header: 'Model', type: 'string' },
  { key: 'version', header: 'Version', type: 'integer' },
  { key: 'window_from', header: 'Window from', type: 'datetime' },
  { key: 'window_to', header: 'Window to', type: 'datetime' },
  { key: 'trigger', header: 'Trigger', type: 'string' },
  { key: 'attribute', header: 'Attribute', type: 'string' },
  { key: 'metric', header: 'Metric', type: 'string' },
  { key: 'group', header: 'Group', type: 'string', description: `A sensitive attribute's value, or ${ALL_GROUPS}` },
  { key: 'value', header: 'Value', type: 'number' },
];

/** "passed 5/5", "failed 3/5: disparate_impact, equal_opportunity", "not gated". */
export function gateSummary(gates: string | null, kind: string): string {
  if (gates === null) return kind === 'rollback' ? 'rollback: not gated' : 'not gated';
  const v = JSON.parse(gates) as GateVerdict;
  if (!v.gated) return `not gated (${v.passed ? 'status check passed' : 'status check failed'})`;
  const failed = v.checks.filter((c) => !c.passed).map((c) => c.name);
  const head = `${v.passed ? 'passed' : 'failed'} ${v.checks.length - failed.length}/${v.checks.length}`;
  return failed.length ? `${head}: ${failed.join(', ')}` : head;
}

function historyRow(r: AliasMoveRow, pseudonymise: (id: string) => string): ReportRow {
  const actorId = r.actorType === 'system' ? r.actorId : pseudonymise(r.actorId);
  return {
    at: r.at, model: r.model, alias: r.alias, kind: r.kind, from_version: r.fromVersion, to_version: r.toVersion,
    actor: `${r.actorType}:${actorId}`, reason: r.reason, gates: gateSummary(r.gates, r.kind), forced: r.forced ? 'yes' : 'no',
  };
}

/** The numeric fields of an object as (metric, value), booleans as 1/0; nested objects and arrays skipped. */
function scalars(o: object, prefix: string): [string, number | null][] {
  const out: [string, number | null][] = [];
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'number') out.push([`${prefix}${k}`, Number.isFinite(v) ? v : null]);
    else if (typeof v === 'boolean') out.push([`${prefix}${k}`, v ? 1 : 0]);
    else if (v === null) out.push([`${prefix}${k}`, null]);
  }
  return out;
}

/** One stored audit as rows: the audit's own counts, then per attribute its summary and per-group metrics. */
export function auditRows(a: StoredAuditRow): ReportRow[] {
  const report = JSON.parse(a.report) as AuditReport;
  const base = { audited_at: a.createdAt, model: a.model, version: a.version, window_from: a.windowFrom, window_to: a.windowTo, trigger: a.trigger };
  const out: ReportRow[] = [];
  const push = (attribute: string, group: string, metrics: [string, CellValue][]) => {
    for (const [metric, value] of metrics) out.push({ ...base, attribute, metric, group, value });
  };
  push(ALL_GROUPS, ALL_GROUPS, scalars(report, ''));
  for (const [attribute, x] of Object.entries(report.attributes ?? {})) {
    push(attribute, ALL_GROUPS, scalars(x, ''));
    if (x.classification) {
      push(attribute, ALL_GROUPS, scalars(x.classification, 'classification.'));
      for (const g of x.classification.groups) {
        push(attribute, g.group, [...scalars(g, 'classification.'), ...(g.calibration ? scalars(g.calibration, 'classification.calibration.') : [])]);
      }
    }
    if (x.ranking) {
      push(attribute, ALL_GROUPS, scalars(x.ranking, 'ranking.'));
      for (const g of x.ranking.groups) push(attribute, g.group, scalars(g, 'ranking.'));
    }
  }
  return out;
}

export const modelGovernanceReport: ReportDefinition = {
  key: 'model-governance',
  title: 'Model governance',
  description: 'Registry history (promotions, rollbacks, gate verdicts) and the stored fairness audits by sensitive group.',
  showsSensitiveGroups: true,
  params: [
    ...RANGE_PARAMS,
    { name: 'model', type: 'string', description: 'Only this model' },
  ],
  async run(ctx, params) {
    const range = rangeOf(params, ctx.now);
    const model = stringParam(params, 'model');
    const q = { ...range, ...(model ? { model } : {}) };
    const [history, audits] = await Promise.all([aliasMoves(ctx.db, q), storedAudits(ctx.db, q)]);
    return {
      sheets: [
        { name: 'History', columns: HISTORY_COLUMNS, rows: rowsOf(history.map((r) => historyRow(r, ctx.pseudonymise))) },
        { name: 'Audits', columns: AUDIT_COLUMNS, rows: rowsOf(audits.flatMap(auditRows)) },
      ],
      notes: [
        'History: alias moves and rollbacks made in the range; Audits: fairness audits of live traffic stored in the range.',
        'Audit groups are sensitive attribute values: this is the only report that shows them. Group sizes are the classification.count and ranking.candidates metrics.',
      ],
    };
  },
};
