// The console talks to the same API as everyone else. Two ways to present the key: kept in
// sessionStorage and sent as a Bearer header, or a server session cookie (HttpOnly: the page never
// sees it) with the CSRF header on unsafe methods.
export type Scope = 'score' | 'ingest' | 'features:read' | 'registry:read' | 'registry:write' | 'registry:promote'
  | 'experiments:read' | 'experiments:write' | 'exports' | 'admin';

export interface Session { keyId: string; name: string; scopes: Scope[]; via: 'cookie' | 'key'; expiresAt: number | null }

const KEY = 'gigintel.apiKey';
const CSRF = { 'x-gigintel-csrf': '1' };

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly details: unknown) { super(message); }
}

export function storedKey(): string | null {
  try { return sessionStorage.getItem(KEY); } catch { return null; }
}

function authHeaders(): Record<string, string> {
  const key = storedKey();
  return key ? { authorization: `Bearer ${key}` } : CSRF;
}

export async function request(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json', ...authHeaders() };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, credentials: 'same-origin', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  if (!res.ok) {
    let err: { code?: string; message?: string; details?: unknown } = {};
    try { err = ((await res.json()) as { error?: typeof err }).error ?? {}; } catch { /* not JSON */ }
    throw new ApiError(res.status, err.code ?? `http_${res.status}`, err.message ?? res.statusText, err.details ?? null);
  }
  return res;
}

export async function api<T>(path: string, opts: { method?: string; body?: unknown } = {}): Promise<T> {
  const res = await request(opts.method ?? 'GET', path, opts.body);
  return (await res.json()) as T;
}

export const qs = (params: Record<string, string | number | boolean | undefined | null>) => {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
};

/** Sign in: with remember = 'cookie' the server sets the session cookie; else the key stays in this tab. */
export async function signIn(apiKey: string, mode: 'cookie' | 'key'): Promise<Session> {
  if (mode === 'cookie') {
    sessionStorage.removeItem(KEY);
    const res = await fetch('/v1/session', { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json', ...CSRF }, body: JSON.stringify({ apiKey }) });
    if (!res.ok) {
      const e = ((await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } }).error ?? {};
      throw new ApiError(res.status, e.code ?? 'unauthorized', e.message ?? 'sign-in failed', null);
    }
    const s = (await res.json()) as Session;
    sessionStorage.setItem(SESSION, JSON.stringify(s));
    return s;
  }
  sessionStorage.setItem(KEY, apiKey);
  try {
    const s = await api<Session>('/v1/session');
    sessionStorage.setItem(SESSION, JSON.stringify(s));
    return s;
  } catch (err) {
    sessionStorage.removeItem(KEY);
    throw err;
  }
}

const SESSION = 'gigintel.session';

/**
 * Who was signed in when this tab last asked (names and scopes, nothing secret): a reload draws
 * its page at once while currentSession() checks again; the server enforces scopes either way.
 */
export function rememberedSession(): Session | null {
  try { return JSON.parse(sessionStorage.getItem(SESSION) ?? 'null') as Session | null; } catch { return null; }
}

export async function currentSession(): Promise<Session | null> {
  try {
    const s = await api<Session>('/v1/session');
    sessionStorage.setItem(SESSION, JSON.stringify(s));
    return s;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) { sessionStorage.removeItem(SESSION); return null; }
    throw err;
  }
}

export async function signOut(): Promise<void> {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(SESSION);
  await fetch('/v1/session', { method: 'DELETE', credentials: 'same-origin', headers: CSRF }).catch(() => undefined);
}

export const can = (s: Session | null, scope: Scope) => !!s && (s.scopes.includes('admin') || s.scopes.includes(scope));

/** A file download that works with a Bearer key too: fetch, then a blob URL clicked once. */
export async function download(path: string, fallbackName: string): Promise<{ name: string; bytes: number }> {
  const res = await request('GET', path);
  const blob = await res.blob();
  const cd = res.headers.get('content-disposition') ?? '';
  const name = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(cd)?.[1] ?? fallbackName;
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url; a.download = decodeURIComponent(name);
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return { name: a.download, bytes: blob.size };
}
