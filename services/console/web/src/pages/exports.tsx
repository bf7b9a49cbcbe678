// Exports: the report catalog with a parameter form and CSV / XLSX downloads (fetched as a blob,
// so a Bearer key works too), export jobs with progress for big ranges, and the scheduled exports.
import { useEffect, useState } from 'preact/hooks';
import { api, download, type Session } from '../api';
import { Badge, ErrorBox, errorText, fmt, LiveStatus, Loading, useAsync, useReady } from '../ui';

interface Param { name: string; type: 'date' | 'string' | 'enum' | 'integer' | 'boolean'; description: string; required?: boolean; values?: string[]; default?: string }
interface Report { key: string; title: string; description: string; params: Param[] }
interface Job { id: string; report: string; format: 'csv' | 'xlsx'; status: 'queued' | 'running' | 'done' | 'failed' | 'expired'; rowsWritten: number; fileName?: string; fileBytes?: number | null; createdAt: number; finishedAt?: number | null; expiresAt?: number | null; error?: string | null; schedule?: string | null }
interface Schedule { name: string; report: string; format: string; cron: string; params: Record<string, string> }

const STATUS_TONE = { queued: 'info', running: 'info', done: 'ok', failed: 'bad', expired: 'warn' } as const;

function ReportForm({ report, onStatus, onJob }: { report: Report; onStatus: (s: string) => void; onJob: () => void }) {
  const [values, setValues] = useState<Record<string, string>>(() => Object.fromEntries(report.params.map((p) => [p.name, p.default ?? (p.type === 'enum' && p.required ? p.values?.[0] ?? '' : '')])));
  const params = () => Object.fromEntries(Object.entries(values).filter(([, v]) => v !== ''));
  const get = async (format: 'csv' | 'xlsx') => {
    onStatus(`Preparing ${report.title} (${format.toUpperCase()})…`);
    try {
      const q = new URLSearchParams({ format, ...params() });
      const f = await download(`/v1/exports/${encodeURIComponent(report.key)}?${q}`, `${report.key}.${format}`);
      onStatus(`Downloaded ${f.name} (${f.bytes.toLocaleString()} bytes).`);
    } catch (err) { onStatus(`Download failed: ${errorText(err)}`); }
  };
  const id = (p: Param) => `param-${report.key}-${p.name}`;
  return (
    <form class="report" data-report={report.key} onSubmit={(e) => { e.preventDefault(); void get('csv'); }}>
      <h3>{report.title}</h3>
      <p class="muted small">{report.description}</p>
      <div class="params">
        {report.params.map((p) => (
          <div key={p.name} class="param">
            <label for={id(p)}>{p.name}{p.required ? ' (required)' : ''}</label>
            {p.type === 'enum' ? (
              <select id={id(p)} required={p.required} value={values[p.name]} onChange={(e) => setValues({ ...values, [p.name]: e.currentTarget.value })}>
                {p.required ? null : <option value="">(any)</option>}
                {(p.values ?? []).map((v) => <option key={v} value={v}>{v}</option>)}
              </select>
            ) : p.type === 'boolean' ? (
              <select id={id(p)} value={values[p.name]} onChange={(e) => setValues({ ...values, [p.name]: e.currentTarget.value })}>
                <option value="">(default)</option><option value="true">yes</option><option value="false">no</option>
              </select>
            ) : (
              <input id={id(p)} type={(p.type === 'date' ? 'date' : p.type === 'integer' ? 'number' : 'text') as 'text'} required={p.required} value={values[p.name]}
                onInput={(e) => setValues({ ...values, [p.name]: e.currentTarget.value })} />
            )}
            <span class="muted small">{p.description}</span>
          </div>
        ))}
      </div>
      <div class="actions">
        <button type="submit">Download CSV</button>
        <button type="button" onClick={() => void get('xlsx')}>Download XLSX</button>
        <button type="button" class="secondary" onClick={async () => {
          onStatus(`Starting an export job for ${report.title}…`);
          try { const r = await api<{ job: Job }>('/v1/exports', { method: 'POST', body: { report: report.key, format: 'xlsx', params: params() } }); onStatus(`Export job ${r.job.id} queued.`); onJob(); } catch (err) { onStatus(`Could not start the job: ${errorText(err)}`); }
        }}>Run as a job (XLSX)</button>
      </div>
    </form>
  );
}

export function ExportsPage(_props: { session: Session }) {
  const data = useAsync(async () => {
    const [c, j, s] = await Promise.all([
      api<{ reports: Report[] }>('/v1/exports'), api<{ jobs: Job[] }>('/v1/exports/jobs?limit=50'), api<{ schedules: Schedule[] }>('/v1/exports/schedules'),
    ]);
    return { reports: c.reports, jobs: j.jobs, schedules: s.schedules };
  }, []);
  const [status, setStatus] = useState('');
  const busy = data.data?.jobs.some((j) => j.status === 'queued' || j.status === 'running') ?? false;
  // Jobs in progress: poll every 2 s until they finish.
  useEffect(() => {
    if (!busy) return;
    const t = setTimeout(data.reload, 2000);
    return () => clearTimeout(t);
  }, [busy, data.data]);
  useReady('exports', !!data.data);
  if (!data.data) return <section><h1>Exports</h1><ErrorBox error={data.error} />{data.loading ? <Loading what="the report catalog" /> : null}</section>;
  const { reports, jobs, schedules } = data.data;
  return (
    <section>
      <h1>Exports</h1>
      <LiveStatus text={status} />
      <h2>Reports</h2>
      <div class="reports">{reports.map((r) => <ReportForm key={r.key} report={r} onStatus={setStatus} onJob={data.reload} />)}</div>
      <h2>Export jobs</h2>
      {jobs.length === 0 ? <p>No export jobs yet.</p> : (
        <table>
          <thead><tr><th scope="col">Job</th><th scope="col">Report</th><th scope="col">Status</th><th scope="col">Rows</th><th scope="col">Created</th><th scope="col">File</th></tr></thead>
          <tbody>{jobs.map((j) => (
            <tr key={j.id} data-job={j.id}><th scope="row"><code>{j.id}</code>{j.schedule ? <div class="muted small">schedule {j.schedule}</div> : null}</th>
              <td>{j.report} ({j.format})</td>
              <td><Badge tone={STATUS_TONE[j.status]}>{j.status}</Badge>{j.status === 'running' ? <progress aria-label={`rows written by ${j.id}`} /> : null}{j.error ? <div class="small">{j.error}</div> : null}</td>
              <td>{j.rowsWritten.toLocaleString()}</td><td>{fmt.time(j.createdAt)}</td>
              <td>{j.status === 'done' ? <button type="button" class="small" onClick={async () => {
                try { const f = await download(`/v1/exports/jobs/${encodeURIComponent(j.id)}/file`, j.fileName ?? `${j.report}.${j.format}`); setStatus(`Downloaded ${f.name}.`); } catch (err) { setStatus(`Download failed: ${errorText(err)}`); }
              }}>Download</button> : j.expiresAt && j.status === 'expired' ? 'expired' : '—'}</td></tr>
          ))}</tbody>
        </table>
      )}
      <h2>Scheduled exports</h2>
      {schedules.length === 0 ? <p>None configured.</p> : (
        <table>
          <thead><tr><th scope="col">Name</th><th scope="col">Report</th><th scope="col">Format</th><th scope="col">When (cron, UTC)</th><th scope="col">Parameters</th></tr></thead>
          <tbody>{schedules.map((s) => <tr key={s.name}><th scope="row">{s.name}</th><td>{s.report}</td><td>{s.format}</td><td><code>{s.cron}</code></td><td>{Object.entries(s.params).map(([k, v]) => `${k}=${v}`).join(', ') || '—'}</td></tr>)}</tbody>
        </table>
      )}
    </section>
  );
}
