// Pipelines and features: batch run history, feature drift (PSI) with warnings, and for admin keys
// the queue's depth per job type and its dead letters (replay puts one back in line).
import { useState } from 'preact/hooks';
import { api, can, type Session } from '../api';
import { Badge, ErrorBox, errorText, fmt, LiveStatus, Loading, useAsync, useReady } from '../ui';

interface Run { id: string; status: string; trigger: string; requestedBy?: string; asOf?: number; createdAt: number; finishedAt: number | null; durationMs: number | null; error: string | null; chunks?: { total: number; done: number } }
interface Drift { computedAt: number; datasets: string[]; summary: Record<string, number>; features: { featureSet: string; version: number; feature: string; psi: number | null; status: string; referenceRows: number; currentRows: number }[] }
interface Dead { id: string; name: string; attemptsMade: number; error: string; failedAt: number }
type Counts = Record<string, { waiting: number; active: number; delayed: number; dead: number }>;

const DRIFT_TONE: Record<string, 'ok' | 'warn' | 'bad' | 'info'> = { stable: 'ok', warning: 'warn', drift: 'bad', insufficient: 'info' };

export function PipelinesPage({ session }: { session: Session }) {
  const admin = can(session, 'admin');
  const data = useAsync(async () => {
    const [runs, drift, queue, dead] = await Promise.all([
      api<{ runs: Run[] }>('/v1/pipelines/runs?limit=30'),
      api<Drift>('/v1/features/drift'),
      admin ? api<{ kind: string; jobs: Counts }>('/v1/admin/queue') : Promise.resolve(null),
      admin ? api<{ deadLetters: Dead[] }>('/v1/admin/dead-letters?limit=50') : Promise.resolve(null),
    ]);
    return { runs: runs.runs, drift, queue, dead: dead?.deadLetters ?? null };
  }, [admin]);
  const [status, setStatus] = useState('');
  useReady('pipelines', !!data.data);
  if (!data.data) return <section><h1>Pipelines and features</h1><ErrorBox error={data.error} />{data.loading ? <Loading what="pipelines" /> : null}</section>;
  const { runs, drift, queue, dead } = data.data;
  const flagged = drift.features.filter((f) => f.status === 'warning' || f.status === 'drift');
  return (
    <section>
      <h1>Pipelines and features</h1>
      <LiveStatus text={status} />
      <h2>Feature drift (PSI)</h2>
      {drift.computedAt === 0 ? <p>No drift report yet (one follows each batch run once a training snapshot exists).</p> : <>
        <p>Computed {fmt.time(drift.computedAt)} against {drift.datasets.join(', ') || '—'}:
          {' '}<Badge tone="ok">{drift.summary.stable ?? 0} stable</Badge> <Badge tone="warn">{drift.summary.warning ?? 0} warning</Badge> <Badge tone="bad">{drift.summary.drift ?? 0} drift</Badge> <Badge tone="info">{drift.summary.insufficient ?? 0} insufficient</Badge></p>
        {flagged.length ? <div class="warning" role="note"><strong>{flagged.length} feature{flagged.length > 1 ? 's' : ''} drifted:</strong> {flagged.map((f) => `${f.featureSet}.${f.feature} (PSI ${fmt.num(f.psi, 3)})`).join(', ')}</div> : null}
        <table>
          <caption>PSI &lt; 0.1 stable, 0.1–0.25 warning, ≥ 0.25 drift</caption>
          <thead><tr><th scope="col">Feature</th><th scope="col">PSI</th><th scope="col">Status</th><th scope="col">Rows (reference / current)</th></tr></thead>
          <tbody>{[...drift.features].sort((a, b) => (b.psi ?? -1) - (a.psi ?? -1)).map((f) => (
            <tr key={`${f.featureSet}.${f.feature}`} class={`drift-${f.status}`}><th scope="row"><code>{f.featureSet} v{f.version} · {f.feature}</code></th><td>{fmt.num(f.psi, 4)}</td>
              <td><Badge tone={DRIFT_TONE[f.status] ?? 'info'}>{f.status}</Badge></td><td>{f.referenceRows.toLocaleString()} / {f.currentRows.toLocaleString()}</td></tr>
          ))}</tbody>
        </table>
      </>}
      <h2>Batch runs</h2>
      <table>
        <caption>Newest first</caption>
        <thead><tr><th scope="col">Run</th><th scope="col">Status</th><th scope="col">Trigger</th><th scope="col">Created</th><th scope="col">Duration</th><th scope="col">Error</th></tr></thead>
        <tbody>{runs.map((r) => (
          <tr key={r.id}><th scope="row"><code>{r.id}</code></th>
            <td><Badge tone={r.status === 'succeeded' ? 'ok' : r.status === 'failed' ? 'bad' : 'info'}>{r.status}</Badge></td>
            <td>{r.trigger}</td><td>{fmt.time(r.createdAt)}</td><td>{r.durationMs === null ? '—' : `${(r.durationMs / 1000).toFixed(1)} s`}</td><td>{r.error ?? ''}</td></tr>
        ))}</tbody>
      </table>
      {queue ? <>
        <h2>Queue ({queue.kind})</h2>
        <table>
          <thead><tr><th scope="col">Job type</th><th scope="col">Waiting</th><th scope="col">Active</th><th scope="col">Delayed</th><th scope="col">Dead</th></tr></thead>
          <tbody>{Object.entries(queue.jobs).map(([name, c]) => (
            <tr key={name}><th scope="row"><code>{name}</code></th><td>{c.waiting}</td><td>{c.active}</td><td>{c.delayed}</td><td>{c.dead ? <Badge tone="bad">{c.dead}</Badge> : 0}</td></tr>
          ))}</tbody>
        </table>
      </> : null}
      {dead ? <>
        <h2>Dead letters</h2>
        {dead.length === 0 ? <p>No dead-lettered jobs.</p> : (
          <table>
            <thead><tr><th scope="col">Job</th><th scope="col">Failed</th><th scope="col">Attempts</th><th scope="col">Last error</th><th scope="col">Replay</th></tr></thead>
            <tbody>{dead.map((d) => (
              <tr key={`${d.name}/${d.id}`}><th scope="row"><code>{d.name}/{d.id}</code></th><td>{fmt.time(d.failedAt)}</td><td>{d.attemptsMade}</td><td class="small">{d.error}</td>
                <td><button type="button" class="small" onClick={async () => {
                  setStatus(`Replaying ${d.name}/${d.id}…`);
                  try { await api(`/v1/admin/dead-letters/${encodeURIComponent(d.name)}/${encodeURIComponent(d.id)}/retry`, { method: 'POST', body: {} }); setStatus(`${d.name}/${d.id} is back in line.`); data.reload(); } catch (err) { setStatus(`Replay failed: ${errorText(err)}`); }
                }}>Replay</button></td></tr>
            ))}</tbody>
          </table>
        )}
      </> : <p class="muted">Queue depth and dead letters need an admin key.</p>}
    </section>
  );
}
