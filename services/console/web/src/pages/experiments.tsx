// Experiments: the list with status; a results page — per-variant lifts with confidence
// intervals drawn, SRM and guardrails up top, the sequential p-value over time, the kill switch
// (confirmed, with a reason) and the audit trail.
import type { ChartConfiguration } from 'chart.js';
import { useMemo, useState } from 'preact/hooks';
import { api, can, qs, type Session } from '../api';
import { ChartBox, COLORS } from '../charts';
import { useLocation } from '../router';
import { Badge, Dialog, ErrorBox, errorText, fmt, Link, LiveStatus, Loading, useAsync, useReady } from '../ui';

interface Experiment {
  key: string; hypothesis: string; unitType: string; model: string | null; variants: { key: string; name: string; weight: number }[];
  primaryMetric: string; secondaryMetrics: string[]; guardrails: { metric: string; maxDegradation: number }[];
  status: string; statusReason: string | null; phase: number; startedAt: number | null; stoppedAt: number | null; createdAt: number;
}
interface Lift { estimate: number; ci: [number, number] | null; pValue: number | null }
interface Comparison { variant: string; fixed: { absolute: Lift; relative: Lift | null }; sequential?: { absolute: Lift; relative: Lift | null }; significant: boolean; bayesian?: { chanceToWin?: number } }
interface MetricResult { metric: string; role: string; higherIsBetter: boolean; note?: string; analysis: { variants: { name: string; n: number; mean: number; stdError: number }[]; comparisons: Comparison[] } | null }
interface Report {
  analyzedAt: number; phase: number; exposures: Record<string, number>; trustworthy: boolean;
  srm: { pValue: number; mismatch: boolean; observed: number[]; expected: number[] } | null;
  metrics: MetricResult[]; guardrails: { metric: string; variant: string; breached: boolean; message: string }[]; action: { rolledBack: boolean; reason: string | null };
}
interface AnalysisPoint { analyzedAt: number; variants: { variant: string; sequentialPValue: number | null; fixedPValue: number | null }[] }
interface AuditEntry { id: number; at: number; actor: { type: string; id: string }; action: string; details: unknown }

const STATUS_TONE: Record<string, 'ok' | 'warn' | 'bad' | 'info'> = { running: 'ok', draft: 'info', stopped: 'warn', rolled_back: 'bad' };

export function ExperimentsPage() {
  const { query } = useLocation();
  const status = query.get('status') ?? '';
  const list = useAsync(() => api<{ experiments: Experiment[] }>(`/v1/experiments${qs({ status, limit: 200 })}`), [status]);
  useReady('experiments', !!list.data);
  return (
    <section>
      <h1>Experiments</h1>
      <ErrorBox error={list.error} />
      {list.loading && !list.data ? <Loading what="experiments" /> : null}
      {list.data ? list.data.experiments.length === 0 ? <p>No experiments yet.</p> : (
        <table>
          <caption>Experiments by key</caption>
          <thead><tr><th scope="col">Key</th><th scope="col">Status</th><th scope="col">Model</th><th scope="col">Variants</th><th scope="col">Primary metric</th><th scope="col">Started</th></tr></thead>
          <tbody>
            {list.data.experiments.map((e) => (
              <tr key={e.key}>
                <th scope="row"><Link href={`/experiments/${encodeURIComponent(e.key)}`}>{e.key}</Link><div class="muted small">{e.hypothesis}</div></th>
                <td><Badge tone={STATUS_TONE[e.status] ?? 'info'}>{e.status.replace('_', ' ')}</Badge></td>
                <td>{e.model ?? '—'}</td>
                <td>{e.variants.map((v) => `${v.key} ${Math.round(v.weight * 100)}%`).join(' · ')}</td>
                <td>{e.primaryMetric}</td>
                <td>{fmt.time(e.startedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

function ciChart(m: MetricResult): ChartConfiguration | null {
  const comps = m.analysis?.comparisons ?? [];
  if (!comps.length) return null;
  const rel = comps.map((c) => c.fixed.relative);
  const seq = comps.map((c) => c.sequential?.relative ?? null);
  const labels = comps.map((c) => c.variant);
  return {
    type: 'bar',
    data: { labels, datasets: [
      { label: '95% confidence interval of the relative lift', data: rel.map((r) => (r?.ci ? [r.ci[0] * 100, r.ci[1] * 100] : [0, 0])) as [number, number][], backgroundColor: 'rgba(29,78,216,0.55)', borderColor: COLORS.blue, borderWidth: 1 },
      { label: 'always-valid (sequential) interval', data: seq.map((r) => (r?.ci ? [r.ci[0] * 100, r.ci[1] * 100] : [0, 0])) as [number, number][], backgroundColor: 'rgba(109,40,217,0.3)', borderColor: COLORS.purple, borderWidth: 1 },
      { type: 'line', label: 'estimate', data: rel.map((r) => (r ? r.estimate * 100 : null)), borderColor: COLORS.red, backgroundColor: COLORS.red, showLine: false, pointRadius: 6, pointStyle: 'line' as const },
    ] },
    options: { indexAxis: 'y', scales: { x: { title: { display: true, text: `relative lift vs control (%)${m.higherIsBetter ? '' : ' — lower is better'}` } } } },
  } as ChartConfiguration;
}

function pValueChart(points: AnalysisPoint[]): ChartConfiguration | null {
  if (points.length === 0) return null;
  const variants = [...new Set(points.flatMap((p) => p.variants.map((v) => v.variant)))];
  const palette = [COLORS.blue, COLORS.purple, COLORS.teal, COLORS.amber];
  return {
    type: 'line',
    data: {
      labels: points.map((p) => fmt.time(p.analyzedAt).slice(5, 16)),
      datasets: [
        ...variants.map((v, i) => ({ label: `${v}: sequential p-value`, data: points.map((p) => p.variants.find((x) => x.variant === v)?.sequentialPValue ?? null), borderColor: palette[i % palette.length], backgroundColor: palette[i % palette.length] })),
        { label: 'α = 0.05', data: points.map(() => 0.05), borderColor: COLORS.red, borderDash: [6, 3], pointRadius: 0 },
      ],
    },
    options: { scales: { y: { min: 0, max: 1, title: { display: true, text: 'p-value (always valid)' } } } },
  };
}

function KillSwitch({ exp, onDone }: { exp: Experiment; onDone: (msg: string) => void }) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const [status, setStatus] = useState('');
  return (
    <>
      <button type="button" class="danger" onClick={() => setOpen(true)}>Kill switch: roll back</button>
      <Dialog open={open} title={`Roll back ${exp.key}?`} onClose={() => setOpen(false)}>
        <form onSubmit={async (e) => {
          e.preventDefault();
          setStatus('Rolling back…');
          try {
            const x = await api<Experiment>(`/v1/experiments/${encodeURIComponent(exp.key)}/rollback`, { method: 'POST', body: { reason: reason.trim() } });
            setOpen(false); onDone(`${x.key} rolled back: all traffic now gets control.`);
          } catch (err) { setStatus(`Not rolled back: ${errorText(err)}`); }
        }}>
          <p>All traffic goes to <strong>{exp.variants[0]?.key ?? 'control'}</strong> at once; the rollback is recorded and announced.</p>
          <label for="kill-reason">Reason (required)</label>
          <textarea id="kill-reason" required minLength={3} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
          <div class="actions">
            <button type="submit" class="danger" disabled={reason.trim().length < 3}>Confirm rollback</button>
            <button type="button" class="secondary" onClick={() => setOpen(false)}>Cancel</button>
          </div>
          <LiveStatus text={status} />
        </form>
      </Dialog>
    </>
  );
}

export function ExperimentPage({ session, experimentKey }: { session: Session; experimentKey: string }) {
  const k = encodeURIComponent(experimentKey);
  const data = useAsync(async () => {
    const [exp, results, history, audit] = await Promise.all([
      api<Experiment>(`/v1/experiments/${k}`),
      api<{ results: Report | null }>(`/v1/experiments/${k}/results`),
      api<{ analyses: AnalysisPoint[] }>(`/v1/experiments/${k}/analyses?limit=200`),
      api<{ entries: AuditEntry[] }>(`/v1/experiments/${k}/audit?limit=100`),
    ]);
    return { exp, report: results.results, history: history.analyses, audit: audit.entries };
  }, [experimentKey]);
  const [status, setStatus] = useState('');
  const charts = useMemo(() => (data.data ? {
    metrics: (data.data.report?.metrics ?? []).map((m) => ({ m, chart: ciChart(m) })),
    pValues: pValueChart(data.data.history),
  } : null), [data.data]);
  useReady('experiment', !!charts);
  if (!data.data || !charts) return <section><h1>{experimentKey}</h1><ErrorBox error={data.error} />{data.loading ? <Loading what="the experiment" /> : null}</section>;
  const { exp, report, audit } = data.data;
  const breached = report?.guardrails.filter((g) => g.breached) ?? [];
  return (
    <section>
      <p class="crumbs"><Link href="/experiments">Experiments</Link> /</p>
      <h1>{exp.key} <Badge tone={STATUS_TONE[exp.status] ?? 'info'}>{exp.status.replace('_', ' ')}</Badge></h1>
      <p>{exp.hypothesis}</p>
      {exp.statusReason ? <p class="muted">Status reason: {exp.statusReason}</p> : null}
      <LiveStatus text={status} />
      {exp.status === 'running' && can(session, 'experiments:write') ? <KillSwitch exp={exp} onDone={(m) => { setStatus(m); data.reload(); }} /> : null}
      {!report ? <p>Not analysed yet.</p> : (
        <>
          <div class="cards" aria-label="Trust checks">
            <div class={`card ${report.srm?.mismatch ? 'card-bad' : 'card-ok'}`} data-check="srm">
              <h2>Sample ratio</h2>
              <p>{report.srm ? report.srm.mismatch ? `Mismatch (p = ${fmt.p(report.srm.pValue)}): do not trust these results` : `OK (p = ${fmt.p(report.srm.pValue)})` : 'Not computed'}</p>
              <p class="muted small">Exposed: {Object.entries(report.exposures).map(([v, n]) => `${v} ${n.toLocaleString()}`).join(' · ')}</p>
            </div>
            <div class={`card ${breached.length ? 'card-bad' : 'card-ok'}`} data-check="guardrails">
              <h2>Guardrails</h2>
              {report.guardrails.length === 0 ? <p>None defined.</p> : <ul>{report.guardrails.map((g) => <li key={`${g.metric}-${g.variant}`}>{g.breached ? '✖' : '✔'} {g.message}</li>)}</ul>}
            </div>
            <div class="card" data-check="analysed"><h2>Analysed</h2><p>{fmt.time(report.analyzedAt)} (phase {report.phase})</p>
              {report.action.rolledBack ? <p><Badge tone="bad">rolled back by the analysis</Badge> {report.action.reason}</p> : null}</div>
          </div>
          {charts.metrics.map(({ m, chart }) => (
            <div key={m.metric} class="metric">
              <h2>{m.metric} <Badge tone="info">{m.role}</Badge></h2>
              {m.analysis ? (
                <div class="grid2">
                  <table>
                    <caption>Per-variant estimates</caption>
                    <thead><tr><th scope="col">Variant</th><th scope="col">Units</th><th scope="col">Mean ± s.e.</th><th scope="col">Lift (95% CI)</th><th scope="col">p</th></tr></thead>
                    <tbody>{m.analysis.variants.map((v) => {
                      const c = m.analysis!.comparisons.find((x) => x.variant === v.name);
                      const r = c?.fixed.relative;
                      return (
                        <tr key={v.name}><th scope="row">{v.name}</th><td>{v.n.toLocaleString()}</td><td>{fmt.num(v.mean, 4)} ± {fmt.num(v.stdError, 4)}</td>
                          <td>{r ? `${fmt.pct(r.estimate)} (${r.ci ? `${fmt.pct(r.ci[0])} to ${fmt.pct(r.ci[1])}` : '—'})` : 'control'}</td>
                          <td>{c ? <>{fmt.p(c.fixed.absolute.pValue)} {c.significant ? <Badge tone="ok">significant</Badge> : null}</> : ''}</td></tr>
                      );
                    })}</tbody>
                  </table>
                  {chart ? <ChartBox id={`ci-${m.metric}`} config={chart} label={`Relative lift of each variant on ${m.metric} with confidence intervals`} height={90 + 50 * m.analysis.comparisons.length} /> : null}
                </div>
              ) : <p class="muted">{m.note ?? 'No analysis.'}</p>}
            </div>
          ))}
        </>
      )}
      <h2>Sequential p-value over time ({exp.primaryMetric})</h2>
      {charts.pValues ? <ChartBox id="p-values" config={charts.pValues} label={`Always-valid p-value of ${exp.primaryMetric} at each analysis`} /> : <p>No analyses yet.</p>}
      <h2>Audit trail</h2>
      <ol class="timeline">
        {audit.map((a) => (
          <li key={a.id}><time dateTime={new Date(a.at).toISOString()}>{fmt.time(a.at)}</time>
            <div><strong>{a.action}</strong> by {a.actor.type}:{a.actor.id}
              {a.details && typeof a.details === 'object' && 'reason' in a.details ? <div class="muted">“{String((a.details as { reason: unknown }).reason)}”</div> : null}</div></li>
        ))}
      </ol>
    </section>
  );
}
