// Models: the registry's models and aliases; a model's versions, alias history and the promote /
// roll back actions (gate results shown before confirming, a reason required); a version's
// metrics, calibration, fairness and importance; two versions compared.
import type { ChartConfiguration } from 'chart.js';
import { useMemo, useState } from 'preact/hooks';
import { api, can, qs, type Session } from '../api';
import { ChartBox, COLORS } from '../charts';
import { useLocation } from '../router';
import { Badge, Dialog, ErrorBox, errorText, fmt, Link, LiveStatus, Loading, useAsync, useReady } from '../ui';

interface Model { name: string; description: string; latestVersion: number | null; aliases: Record<string, number>; createdAt: number; updatedAt: number }
interface Group { count: number; positives?: number; selectionRate: number | null; truePositiveRate: number | null }
interface FairnessAttr { demographicParityDifference: number; disparateImpactRatio: number | null; equalOpportunityDifference: number; equalizedOddsDifference: number; groups?: Record<string, Group> }
interface Bin { lower: number; upper: number; count: number; meanPredicted: number | null; fractionPositive: number | null }
export interface Version {
  model: string; version: number; status: string; statusReason: string | null; algorithm: string; hyperparameters: Record<string, unknown>;
  featureSets: { name: string; version: number; schemaHash: string }[]; dataset: { id: string; contentHash: string } | null; codeVersion: string;
  metrics: Record<string, number>; calibration: { ece: number; bins: Bin[] } | null; fairness: Record<string, FairnessAttr> | null;
  importance: Record<string, number> | null; artifact: { sha256: string; bytes: number; format: string } | null;
  description: string; aliases: string[]; createdBy: string; createdAt: number;
}
interface GateCheck { name: string; passed: boolean; actual: unknown; required: unknown; by: number | null; message: string }
interface Verdict { passed: boolean; gated: boolean; checks: GateCheck[] }
interface Move { id: number; alias: string; kind: 'move' | 'rollback'; fromVersion: number | null; toVersion: number; reason: string; forced: boolean; actor: { type: string; id: string }; at: number; gates: Verdict | null }

const enc = encodeURIComponent;

export function ModelsPage() {
  const models = useAsync(() => api<{ models: Model[] }>('/v1/models?limit=200'), []);
  useReady('models', !!models.data);
  return (
    <section>
      <h1>Models</h1>
      <ErrorBox error={models.error} />
      {models.loading && !models.data ? <Loading what="models" /> : null}
      {models.data ? models.data.models.length === 0 ? <p>No models are registered yet (<code>gigintel train</code>).</p> : (
        <table>
          <caption>Registered models and the version each alias serves</caption>
          <thead><tr><th scope="col">Model</th><th scope="col">Aliases</th><th scope="col">Latest version</th><th scope="col">Updated</th></tr></thead>
          <tbody>
            {models.data.models.map((m) => (
              <tr key={m.name}>
                <th scope="row"><Link href={`/models/${enc(m.name)}`}>{m.name}</Link>{m.description ? <div class="muted small">{m.description}</div> : null}</th>
                <td>{Object.entries(m.aliases).map(([a, v]) => <Badge key={a} tone={a === 'champion' ? 'ok' : 'info'}>{a} → v{v}</Badge>)}</td>
                <td>{m.latestVersion ? <Link href={`/models/${enc(m.name)}/versions/${m.latestVersion}`}>v{m.latestVersion}</Link> : '—'}</td>
                <td>{fmt.time(m.updatedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

function GateTable({ verdict }: { verdict: Verdict }) {
  if (!verdict.gated) return <p>This alias is not gated: the move needs no checks.</p>;
  return (
    <table class="gates">
      <caption>Promotion gates: {verdict.passed ? 'all passed' : 'some failed'}</caption>
      <thead><tr><th scope="col">Check</th><th scope="col">Result</th><th scope="col">Detail</th></tr></thead>
      <tbody>
        {verdict.checks.map((c) => (
          <tr key={c.name} data-gate={c.name}>
            <th scope="row">{c.name}</th>
            <td>{c.passed ? <Badge tone="ok">passed</Badge> : <Badge tone="bad">failed</Badge>}</td>
            <td>{c.message}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function PromoteDialog(props: { session: Session; model: string; version: number; aliases: Record<string, number>; onClose: () => void; onDone: (msg: string) => void }) {
  const [alias, setAlias] = useState('champion');
  const [reason, setReason] = useState('');
  const [force, setForce] = useState(false);
  const [status, setStatus] = useState('');
  const [busy, setBusy] = useState(false);
  const gates = useAsync(() => api<Verdict>(`/v1/models/${enc(props.model)}/aliases/${enc(alias)}/gates${qs({ version: props.version })}`), [alias]);
  const isAdmin = can(props.session, 'admin');
  const blocked = gates.data ? !gates.data.passed && !force : true;
  return (
    <Dialog open title={`Promote ${props.model} v${props.version}`} onClose={props.onClose}>
      <form onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true); setStatus('Promoting…');
        try {
          const move = await api<Move>(`/v1/models/${enc(props.model)}/aliases/${enc(alias)}`, { method: 'POST', body: {
            version: props.version, reason: reason.trim(), expectedVersion: props.aliases[alias] ?? null, ...(force ? { force: true } : {}),
          } });
          props.onDone(`${alias} now serves v${move.toVersion} (was ${move.fromVersion ? `v${move.fromVersion}` : 'unset'}).`);
        } catch (err) { setStatus(`Not promoted: ${errorText(err)}`); } finally { setBusy(false); }
      }}>
        <label for="promote-alias">Alias</label>
        <input id="promote-alias" value={alias} pattern="[a-z][a-z0-9_\-]*" required onChange={(e) => setAlias(e.currentTarget.value)} />
        <p class="muted small">Currently {props.aliases[alias] ? `v${props.aliases[alias]}` : 'unset'}.</p>
        <ErrorBox error={gates.error} />
        {gates.loading ? <Loading what="gate results" /> : gates.data ? <GateTable verdict={gates.data} /> : null}
        <label for="promote-reason">Reason (required, recorded in the history)</label>
        <textarea id="promote-reason" required minLength={3} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
        {isAdmin && gates.data && !gates.data.passed ? (
          <label class="inline"><input type="checkbox" checked={force} onChange={(e) => setForce(e.currentTarget.checked)} /> Override the failed gates (admin; recorded as forced)</label>
        ) : null}
        <div class="actions">
          <button type="submit" disabled={busy || blocked || reason.trim().length < 3}>Confirm promotion</button>
          <button type="button" class="secondary" onClick={props.onClose}>Cancel</button>
        </div>
        <LiveStatus text={status} />
      </form>
    </Dialog>
  );
}

function RollbackDialog(props: { model: string; alias: string; current: number; onClose: () => void; onDone: (msg: string) => void }) {
  const [reason, setReason] = useState('');
  const [status, setStatus] = useState('');
  return (
    <Dialog open title={`Roll back ${props.model}@${props.alias}`} onClose={props.onClose}>
      <form onSubmit={async (e) => {
        e.preventDefault();
        setStatus('Rolling back…');
        try {
          const move = await api<Move>(`/v1/models/${enc(props.model)}/aliases/${enc(props.alias)}/rollback`, { method: 'POST', body: { reason: reason.trim(), expectedVersion: props.current } });
          props.onDone(`${props.alias} rolled back to v${move.toVersion} (was v${move.fromVersion}).`);
        } catch (err) { setStatus(`Not rolled back: ${errorText(err)}`); }
      }}>
        <p>{props.alias} serves v{props.current}; rolling back moves it to the version it pointed at before.</p>
        <label for="rollback-reason">Reason (required)</label>
        <textarea id="rollback-reason" required minLength={3} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
        <div class="actions">
          <button type="submit" class="danger" disabled={reason.trim().length < 3}>Confirm rollback</button>
          <button type="button" class="secondary" onClick={props.onClose}>Cancel</button>
        </div>
        <LiveStatus text={status} />
      </form>
    </Dialog>
  );
}

export function ModelPage({ session, model }: { session: Session; model: string }) {
  const data = useAsync(async () => {
    const [m, v, h] = await Promise.all([
      api<Model>(`/v1/models/${enc(model)}`),
      api<{ versions: Version[] }>(`/v1/models/${enc(model)}/versions?limit=50`),
      api<{ history: Move[] }>(`/v1/models/${enc(model)}/history?limit=50`),
    ]);
    return { model: m, versions: v.versions, history: h.history };
  }, [model]);
  const [promote, setPromote] = useState<number | null>(null);
  const [rollback, setRollback] = useState<string | null>(null);
  const [picked, setPicked] = useState<number[]>([]);
  const [status, setStatus] = useState('');
  useReady('model', !!data.data);
  const canPromote = can(session, 'registry:promote');
  if (!data.data) return <section><h1>{model}</h1><ErrorBox error={data.error} />{data.loading ? <Loading what="the model" /> : null}</section>;
  const { model: m, versions, history } = data.data;
  const done = (msg: string) => { setPromote(null); setRollback(null); setStatus(msg); data.reload(); };
  return (
    <section>
      <p class="crumbs"><Link href="/models">Models</Link> /</p>
      <h1>{m.name}</h1>
      {m.description ? <p>{m.description}</p> : null}
      <LiveStatus text={status} />
      <h2>Aliases</h2>
      {Object.keys(m.aliases).length === 0 ? <p>No alias points at a version yet.</p> : (
        <ul class="aliases">
          {Object.entries(m.aliases).map(([a, v]) => (
            <li key={a} data-alias={a}>
              <Badge tone={a === 'champion' ? 'ok' : 'info'}>{a}</Badge> → <Link href={`/models/${enc(model)}/versions/${v}`}>v{v}</Link>
              {canPromote ? <button type="button" class="secondary small" onClick={() => setRollback(a)}>Roll back {a}</button> : null}
            </li>
          ))}
        </ul>
      )}
      <h2>Versions</h2>
      <table>
        <caption>Newest first. Pick two to compare.</caption>
        <thead><tr><th scope="col">Compare</th><th scope="col">Version</th><th scope="col">Status</th><th scope="col">AUC</th><th scope="col">Dataset</th><th scope="col">Registered</th>{canPromote ? <th scope="col">Actions</th> : null}</tr></thead>
        <tbody>
          {versions.map((v) => (
            <tr key={v.version} data-version={v.version}>
              <td><input type="checkbox" aria-label={`compare v${v.version}`} checked={picked.includes(v.version)}
                onChange={(e) => setPicked((p) => (e.currentTarget.checked ? [...p, v.version].slice(-2) : p.filter((x) => x !== v.version)))} /></td>
              <th scope="row"><Link href={`/models/${enc(model)}/versions/${v.version}`}>v{v.version}</Link> {v.aliases.map((a) => <Badge key={a} tone="info">{a}</Badge>)}</th>
              <td>{v.status === 'ready' ? <Badge tone="ok">ready</Badge> : <Badge tone="warn">{v.status}</Badge>}</td>
              <td>{fmt.num(v.metrics.auc, 4)}</td>
              <td>{v.dataset?.id ?? '—'}</td>
              <td>{fmt.time(v.createdAt)}</td>
              {canPromote ? <td>{v.status === 'ready' ? <button type="button" class="small" onClick={() => setPromote(v.version)}>Promote v{v.version}</button> : null}</td> : null}
            </tr>
          ))}
        </tbody>
      </table>
      {picked.length === 2 ? <p><Link class="button" href={`/models/${enc(model)}/compare?a=${Math.min(...picked)}&b=${Math.max(...picked)}`}>Compare v{Math.min(...picked)} and v{Math.max(...picked)}</Link></p> : null}
      <h2>Promotion history</h2>
      {history.length === 0 ? <p>No alias has moved yet.</p> : (
        <ol class="timeline" aria-label="Alias moves, newest first">
          {history.map((h) => (
            <li key={h.id} data-kind={h.kind}>
              <time dateTime={new Date(h.at).toISOString()}>{fmt.time(h.at)}</time>
              <div><strong>{h.kind === 'rollback' ? 'Rolled back' : 'Moved'} {h.alias}</strong> {h.fromVersion ? `v${h.fromVersion}` : 'unset'} → v{h.toVersion}
                {h.forced ? <Badge tone="warn">forced</Badge> : null}
                {h.gates?.gated ? <Badge tone={h.gates.passed ? 'ok' : 'bad'}>gates {h.gates.passed ? 'passed' : 'failed'}</Badge> : null}
                <div class="muted">“{h.reason}” by {h.actor.type}:{h.actor.id}</div></div>
            </li>
          ))}
        </ol>
      )}
      {promote !== null ? <PromoteDialog session={session} model={model} version={promote} aliases={m.aliases} onClose={() => setPromote(null)} onDone={done} /> : null}
      {rollback !== null ? <RollbackDialog model={model} alias={rollback} current={m.aliases[rollback]!} onClose={() => setRollback(null)} onDone={done} /> : null}
    </section>
  );
}

function calibrationChart(series: { label: string; bins: Bin[]; color: string }[]): ChartConfiguration {
  return {
    type: 'scatter',
    data: { datasets: [
      { label: 'perfectly calibrated', data: [{ x: 0, y: 0 }, { x: 1, y: 1 }], showLine: true, borderColor: COLORS.grey, borderDash: [4, 4], pointRadius: 0 },
      ...series.map((s) => ({
        label: s.label, showLine: true, borderColor: s.color, backgroundColor: s.color,
        data: s.bins.filter((b) => b.meanPredicted !== null && b.fractionPositive !== null && b.count > 0).map((b) => ({ x: b.meanPredicted!, y: b.fractionPositive! })),
      })),
    ] },
    options: { scales: { x: { min: 0, max: 1, title: { display: true, text: 'mean predicted probability' } }, y: { min: 0, max: 1, title: { display: true, text: 'observed fraction positive' } } } },
  };
}

function fairnessChart(attr: string, f: FairnessAttr, floor: number): ChartConfiguration | null {
  const groups = Object.entries(f.groups ?? {}).filter(([, g]) => g.selectionRate !== null);
  if (groups.length === 0) return null;
  const top = Math.max(...groups.map(([, g]) => g.selectionRate!));
  const labels = groups.map(([name, g]) => `${name} (n=${g.count})`);
  const ratios = groups.map(([, g]) => (top > 0 ? g.selectionRate! / top : 0));
  return {
    type: 'bar',
    data: { labels, datasets: [
      { type: 'bar', label: `selection rate ÷ highest group (${attr})`, data: ratios, backgroundColor: ratios.map((r) => (r < floor ? COLORS.red : COLORS.blue)) },
      { type: 'line', label: `four-fifths line (${floor})`, data: labels.map(() => floor), borderColor: COLORS.amber, borderDash: [6, 3], pointRadius: 0, fill: false },
    ] },
    options: { scales: { y: { min: 0, max: 1.05, title: { display: true, text: 'relative selection rate' } } } },
  };
}

function importanceChart(imp: Record<string, number>, label = 'mean |contribution|'): ChartConfiguration {
  const top = Object.entries(imp).sort((a, b) => Math.abs(b[1]) - Math.abs(a[1])).slice(0, 15);
  return {
    type: 'bar',
    data: { labels: top.map(([k]) => k), datasets: [{ label, data: top.map(([, v]) => v), backgroundColor: COLORS.teal }] },
    options: { indexAxis: 'y', scales: { y: { ticks: { autoSkip: false } } } },
  };
}

export function VersionPage({ model, version }: { session: Session; model: string; version: number }) {
  const v = useAsync(() => api<Version>(`/v1/models/${enc(model)}/versions/${version}`), [model, version]);
  const charts = useMemo(() => {
    const d = v.data;
    if (!d) return null;
    return {
      calibration: d.calibration ? calibrationChart([{ label: `v${d.version}`, bins: d.calibration.bins, color: COLORS.blue }]) : null,
      fairness: Object.entries(d.fairness ?? {}).map(([attr, f]) => ({ attr, f, chart: fairnessChart(attr, f, 0.8) })),
      importance: d.importance && Object.keys(d.importance).length ? importanceChart(d.importance) : null,
    };
  }, [v.data]);
  useReady('version', !!charts);
  if (!v.data || !charts) return <section><h1>{model} v{version}</h1><ErrorBox error={v.error} />{v.loading ? <Loading what="the version" /> : null}</section>;
  const d = v.data;
  return (
    <section>
      <p class="crumbs"><Link href="/models">Models</Link> / <Link href={`/models/${enc(model)}`}>{model}</Link> /</p>
      <h1>{model} v{version} {d.aliases.map((a) => <Badge key={a} tone="ok">{a}</Badge>)}</h1>
      <div class="grid2">
        <div>
          <h2>Metrics (holdout)</h2>
          <table><tbody>{Object.entries(d.metrics).map(([k, x]) => <tr key={k}><th scope="row">{k}</th><td>{fmt.num(x, 4)}</td></tr>)}</tbody></table>
        </div>
        <div>
          <h2>Lineage</h2>
          <dl class="kv">
            <dt>Algorithm</dt><dd>{d.algorithm}</dd>
            <dt>Training set</dt><dd>{d.dataset ? <><code>{d.dataset.id}</code> <span class="muted small">sha256 {d.dataset.contentHash.slice(0, 12)}…</span></> : '—'}</dd>
            <dt>Feature sets</dt><dd>{d.featureSets.map((f) => <div key={f.name}><code>{f.name} v{f.version}</code> <span class="muted small">{f.schemaHash.slice(0, 12)}…</span></div>)}</dd>
            <dt>Code version</dt><dd><code>{d.codeVersion}</code></dd>
            <dt>Artifact</dt><dd>{d.artifact ? `${d.artifact.format}, ${d.artifact.bytes.toLocaleString()} bytes` : '—'}</dd>
            <dt>Registered</dt><dd>{fmt.time(d.createdAt)} by {d.createdBy}</dd>
          </dl>
        </div>
      </div>
      <h2>Reliability (calibration)</h2>
      {charts.calibration ? <><ChartBox id="calibration" config={charts.calibration} label={`Reliability diagram of v${version}: expected calibration error ${fmt.num(d.calibration!.ece, 4)}`} />
        <p class="muted small">Expected calibration error {fmt.num(d.calibration!.ece, 4)}.</p></> : <p>No calibration recorded.</p>}
      <h2>Fairness by group</h2>
      {charts.fairness.length === 0 ? <p>No sensitive attributes were audited.</p> : charts.fairness.map(({ attr, f, chart }) => (
        <div key={attr} class="fair">
          <h3>{attr}: disparate impact {fmt.num(f.disparateImpactRatio, 3)} <Badge tone={f.disparateImpactRatio !== null && f.disparateImpactRatio < 0.8 ? 'bad' : 'ok'}>{f.disparateImpactRatio !== null && f.disparateImpactRatio < 0.8 ? 'below four-fifths' : 'four-fifths met'}</Badge></h3>
          <p class="muted small">Demographic parity difference {fmt.num(f.demographicParityDifference)}, equal opportunity difference {fmt.num(f.equalOpportunityDifference)}.</p>
          {chart ? <ChartBox id={`fairness-${attr}`} config={chart} label={`Selection rate of each ${attr} group relative to the highest, with the 0.8 four-fifths line`} height={220} /> : null}
        </div>
      ))}
      <h2>Global feature importance</h2>
      {charts.importance ? <ChartBox id="importance" config={charts.importance} label="Top features by mean absolute contribution on the holdout" height={360} /> : <p>No importance recorded.</p>}
    </section>
  );
}

interface Delta { a: number | null; b: number | null; delta: number | null }
interface Compare { a: Version; b: Version; metrics: (Delta & { name: string })[]; fairness: (Delta & { attribute: string; measure: string })[]; importance: (Delta & { feature: string; rankA: number | null; rankB: number | null })[]; calibration: { ece: Delta; binsA: Bin[]; binsB: Bin[] } }

export function ComparePage({ model }: { model: string }) {
  const { query } = useLocation();
  const a = Number(query.get('a')); const b = Number(query.get('b'));
  const c = useAsync(() => api<Compare>(`/v1/models/${enc(model)}/compare${qs({ a, b })}`), [model, a, b]);
  const chart = useMemo(() => (c.data ? calibrationChart([{ label: `v${a}`, bins: c.data.calibration.binsA, color: COLORS.blue }, { label: `v${b}`, bins: c.data.calibration.binsB, color: COLORS.purple }]) : null), [c.data]);
  useReady('compare', !!c.data);
  const row = (label: string, d: Delta, digits = 4) => (
    <tr key={label}><th scope="row">{label}</th><td>{fmt.num(d.a, digits)}</td><td>{fmt.num(d.b, digits)}</td>
      <td class={d.delta === null ? '' : d.delta > 0 ? 'up' : d.delta < 0 ? 'down' : ''}>{d.delta === null ? '—' : `${d.delta > 0 ? '+' : ''}${fmt.num(d.delta, digits)}`}</td></tr>
  );
  return (
    <section>
      <p class="crumbs"><Link href="/models">Models</Link> / <Link href={`/models/${enc(model)}`}>{model}</Link> /</p>
      <h1>{model}: v{a} and v{b} side by side</h1>
      <ErrorBox error={c.error} />
      {c.loading && !c.data ? <Loading what="the comparison" /> : null}
      {c.data ? (
        <>
          <div class="grid2">
            <div>
              <table><caption>Metrics (Δ = v{b} − v{a})</caption><thead><tr><th scope="col">Metric</th><th scope="col">v{a}</th><th scope="col">v{b}</th><th scope="col">Δ</th></tr></thead>
                <tbody>{c.data.metrics.map((m) => row(m.name, m))}{row('ECE', c.data.calibration.ece)}</tbody></table>
              <table><caption>Fairness</caption><thead><tr><th scope="col">Attribute · measure</th><th scope="col">v{a}</th><th scope="col">v{b}</th><th scope="col">Δ</th></tr></thead>
                <tbody>{c.data.fairness.map((f) => row(`${f.attribute} · ${f.measure}`, f))}</tbody></table>
            </div>
            <div>
              {chart ? <ChartBox id="compare-calibration" config={chart} label={`Reliability diagrams of v${a} and v${b}`} /> : null}
              <table><caption>Importance (top 15 of v{b})</caption><thead><tr><th scope="col">Feature</th><th scope="col">rank v{a}</th><th scope="col">rank v{b}</th><th scope="col">Δ</th></tr></thead>
                <tbody>{c.data.importance.slice(0, 15).map((i) => <tr key={i.feature}><th scope="row">{i.feature}</th><td>{i.rankA ?? '—'}</td><td>{i.rankB ?? '—'}</td><td>{fmt.num(i.delta, 4)}</td></tr>)}</tbody></table>
            </div>
          </div>
          <h2>Lineage</h2>
          <table><thead><tr><th scope="col"></th><th scope="col">v{a}</th><th scope="col">v{b}</th></tr></thead><tbody>
            <tr><th scope="row">Training set</th><td>{c.data.a.dataset?.id ?? '—'}</td><td>{c.data.b.dataset?.id ?? '—'}</td></tr>
            <tr><th scope="row">Algorithm</th><td>{c.data.a.algorithm}</td><td>{c.data.b.algorithm}</td></tr>
            <tr><th scope="row">Code</th><td><code>{c.data.a.codeVersion}</code></td><td><code>{c.data.b.codeVersion}</code></td></tr>
          </tbody></table>
        </>
      ) : null}
    </section>
  );
}
