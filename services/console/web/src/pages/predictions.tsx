// Predictions: look a prediction id up — who was scored, by which version, and a waterfall of a
// candidate's explanation (base → each feature's contribution → the logit) with its reasons.
import type { ChartConfiguration } from 'chart.js';
import { useMemo, useState } from 'preact/hooks';
import { api } from '../api';
import { ChartBox, COLORS } from '../charts';
import { navigate, useLocation } from '../router';
import { Badge, ErrorBox, fmt, Link, Loading, useAsync, useReady } from '../ui';

interface Contribution { feature: string; phi: number; reason?: string; value?: unknown }
interface Explanation { base: number; logit: number; score: number; method: string; contributions: Contribution[] }
interface Prediction {
  id: string; endpoint: string; model: string; version: number; alias: string; role: string; experiment: string | null; variant: string | null;
  unitId: string | null; contextId: string | null; candidates: { id: string; score: number; rank: number | null }[];
  explanations: Record<string, Explanation> | null; missing: Record<string, unknown> | null; actor: string | null; createdAt: number;
}

export function waterfall(e: Explanation): ChartConfiguration {
  const labels = ['base (average)']; const bars: [number, number][] = []; const colors: string[] = [];
  bars.push([0, e.base]); colors.push(COLORS.grey);
  let at = e.base;
  const sorted = [...e.contributions].sort((a, b) => Math.abs(b.phi) - Math.abs(a.phi));
  for (const c of sorted) {
    labels.push(c.feature); bars.push([at, at + c.phi]); colors.push(c.phi >= 0 ? COLORS.green : COLORS.red);
    at += c.phi;
  }
  const rest = e.logit - at;
  if (Math.abs(rest) > 1e-9) { labels.push('other features'); bars.push([at, e.logit]); colors.push(COLORS.purple); }
  labels.push(`logit → score ${e.score.toFixed(3)}`); bars.push([0, e.logit]); colors.push(COLORS.blue);
  return {
    type: 'bar',
    data: { labels, datasets: [{ label: 'contribution to the logit', data: bars, backgroundColor: colors }] },
    options: { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { y: { ticks: { autoSkip: false } }, x: { title: { display: true, text: 'logit (log-odds)' } } } },
  };
}

export function PredictionsPage() {
  const { query } = useLocation();
  const id = query.get('id') ?? '';
  const [input, setInput] = useState(id);
  const [picked, setPicked] = useState<string | null>(null);
  const p = useAsync(async () => (id ? api<Prediction>(`/v1/predictions/${encodeURIComponent(id)}`) : null), [id]);
  const explained = useMemo(() => (p.data ? p.data.candidates.filter((c) => p.data!.explanations?.[c.id]) : []), [p.data]);
  const candidate = picked && p.data?.explanations?.[picked] ? picked : explained[0]?.id ?? null;
  const explanation = candidate ? p.data?.explanations?.[candidate] ?? null : null;
  const chart = useMemo(() => (explanation ? waterfall(explanation) : null), [explanation]);
  useReady('predictions', !id || !!p.data || !!p.error);
  return (
    <section>
      <h1>Predictions</h1>
      <form class="row" onSubmit={(e) => { e.preventDefault(); setPicked(null); navigate(`/predictions?id=${encodeURIComponent(input.trim())}`); }}>
        <label for="prediction-id">Prediction id</label>
        <input id="prediction-id" value={input} required placeholder="pr_…" onInput={(e) => setInput(e.currentTarget.value)} />
        <button type="submit">Look up</button>
      </form>
      <ErrorBox error={p.error} />
      {p.loading && id ? <Loading what="the prediction" /> : null}
      {p.data ? (
        <>
          <h2>{p.data.id}</h2>
          <dl class="kv">
            <dt>Scored</dt><dd>{p.data.endpoint} for <code>{p.data.contextId ?? p.data.unitId ?? '—'}</code> at {fmt.time(p.data.createdAt)}</dd>
            <dt>Model</dt><dd><Link href={`/models/${encodeURIComponent(p.data.model)}/versions/${p.data.version}`}>{p.data.model} v{p.data.version}</Link> via {p.data.alias} ({p.data.role})</dd>
            {p.data.experiment ? <><dt>Experiment</dt><dd><Link href={`/experiments/${encodeURIComponent(p.data.experiment)}`}>{p.data.experiment}</Link>, variant {p.data.variant}</dd></> : null}
            <dt>Caller</dt><dd>{p.data.actor ?? '—'}</dd>
          </dl>
          <div class="grid2">
            <div>
              <table>
                <caption>Candidates ({p.data.candidates.length}) by rank; explained ones can be opened</caption>
                <thead><tr><th scope="col">Rank</th><th scope="col">Candidate</th><th scope="col">Score</th><th scope="col">Why</th></tr></thead>
                <tbody>
                  {[...p.data.candidates].sort((a, b) => (a.rank ?? Infinity) - (b.rank ?? Infinity)).slice(0, 50).map((c) => (
                    <tr key={c.id} class={c.id === candidate ? 'selected' : ''}>
                      <td>{c.rank ?? '—'}</td><th scope="row"><code>{c.id}</code></th><td>{fmt.num(c.score, 4)}</td>
                      <td>{p.data!.explanations?.[c.id] ? <button type="button" class="small secondary" aria-pressed={c.id === candidate} onClick={() => setPicked(c.id)}>Explain</button> : <span class="muted small">not explained</span>}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <div>
              {explanation && chart ? (
                <>
                  <h3>Why <code>{candidate}</code> scored {fmt.num(explanation.score, 4)} <Badge tone="info">{explanation.method}</Badge></h3>
                  <ChartBox id="waterfall" config={chart} label={`Waterfall of the explanation of ${candidate}: base ${explanation.base.toFixed(3)}, logit ${explanation.logit.toFixed(3)}`} height={Math.max(220, 28 * (explanation.contributions.length + 3))} />
                  <h4>Reasons</h4>
                  <ul class="reasons">
                    {[...explanation.contributions].sort((a, b) => Math.abs(b.phi) - Math.abs(a.phi)).map((c) => (
                      <li key={c.feature}><span class={c.phi >= 0 ? 'up' : 'down'}>{c.phi >= 0 ? '▲' : '▼'} {fmt.num(c.phi, 3)}</span> <code>{c.feature}</code>{c.reason ? `: ${c.reason}` : ''}</li>
                    ))}
                  </ul>
                </>
              ) : <p>No explanation was logged for this prediction (ask with <code>explain: true</code>).</p>}
            </div>
          </div>
        </>
      ) : null}
    </section>
  );
}
