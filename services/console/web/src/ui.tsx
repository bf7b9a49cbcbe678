// Small shared pieces: links that route in place, the async-data hook, status and error boxes,
// a confirmation dialog, number and time formats, and the data-ready marker the tests wait for.
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';
import { BASE, navigate } from './router';

export function Link(props: { href: string; children: ComponentChildren; class?: string; 'aria-current'?: 'page' }) {
  const { href, children, ...rest } = props;
  return (
    <a {...rest} href={`${BASE}${href}`} onClick={(e) => {
      if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
      e.preventDefault(); navigate(href);
    }}>{children}</a>
  );
}

export interface Async<T> { data: T | null; error: Error | null; loading: boolean; reload: () => void }

export function useAsync<T>(load: () => Promise<T>, deps: unknown[]): Async<T> {
  const [state, setState] = useState<{ data: T | null; error: Error | null; loading: boolean }>({ data: null, error: null, loading: true });
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true, error: null }));
    load().then((data) => { if (live) setState({ data, error: null, loading: false }); },
      (error: Error) => { if (live) setState({ data: null, error, loading: false }); });
    return () => { live = false; };
  }, [...deps, n]);
  const reload = useCallback(() => setN((x) => x + 1), []);
  return { ...state, reload };
}

/** Tells tests and benchmarks that a page has drawn its data. */
export function useReady(name: string, ready: boolean): void {
  useEffect(() => {
    if (ready) document.body.dataset.ready = name;
    return () => { if (document.body.dataset.ready === name) delete document.body.dataset.ready; };
  }, [name, ready]);
}

export function Loading({ what }: { what: string }) {
  return <p class="muted" role="status" aria-live="polite">Loading {what}…</p>;
}

export function ErrorBox({ error }: { error: Error | null }) {
  if (!error) return null;
  const detail = error instanceof ApiError ? ` (${error.code}, HTTP ${error.status})` : '';
  return <div class="error" role="alert"><strong>Error:</strong> {error.message}{detail}</div>;
}

export function LiveStatus({ text }: { text: string }) {
  return <p class="status" role="status" aria-live="polite">{text}</p>;
}

export function Badge({ tone, children }: { tone: 'ok' | 'warn' | 'bad' | 'info'; children: ComponentChildren }) {
  return <span class={`badge badge-${tone}`}>{children}</span>;
}

/** A modal dialog (native <dialog>: focus trapped, Escape closes) for confirmations. */
export function Dialog(props: { open: boolean; title: string; onClose: () => void; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) d.showModal();
    if (!props.open && d.open) d.close();
  }, [props.open]);
  return (
    <dialog ref={ref} aria-labelledby="dialog-title" onClose={props.onClose} onCancel={props.onClose}>
      <h2 id="dialog-title">{props.title}</h2>
      {props.open ? props.children : null}
    </dialog>
  );
}

export const fmt = {
  num: (v: number | null | undefined, digits = 3) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : Number(v.toFixed(digits)).toLocaleString('en-US', { maximumFractionDigits: digits })),
  pct: (v: number | null | undefined, digits = 1) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : `${(v * 100).toFixed(digits)}%`),
  time: (ms: number | null | undefined) => (ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + ' UTC' : '—'),
  money: (minor: number | null | undefined, currency: string | null | undefined) => (minor === null || minor === undefined ? '—'
    : new Intl.NumberFormat('en-US', { style: 'currency', currency: currency ?? 'USD' }).format(minor / 100)),
  p: (v: number | null | undefined) => (v === null || v === undefined ? '—' : v < 0.0001 ? v.toExponential(1) : v.toFixed(4)),
};

export function errorText(err: unknown): string {
  if (err instanceof ApiError) return `${err.message} (${err.code})`;
  return err instanceof Error ? err.message : String(err);
}
