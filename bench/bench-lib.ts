// Shared by the benchmarks: start servers as child processes, wait until they answer, and drive
// load with wrk (if installed) or autocannon.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import autocannon from 'autocannon';
import { freePort } from '../tests/helpers/free-port.js';

export { freePort };

export const ROOT = new URL('..', import.meta.url).pathname;

export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GIGINTEL_')));
  return { ...base, ...extra };
}

export async function waitFor(url: string, timeoutMs = 30_000): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    try {
      const res = await fetch(url);
      if (res.ok) return performance.now() - started;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms`);
}

export function start(cmd: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  // Its own process group, so stop() reaches the server behind `npm start` too.
  return spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'], detached: true });
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(-child.pid!, 'SIGTERM');
  await exited;
}

const hasWrk = spawnSync('wrk', ['--version']).error === undefined;
export const loadTool = hasWrk ? 'wrk' : 'autocannon';

/** Requests per second against `url` for `seconds` with `connections` keep-alive connections. */
export async function load(url: string, seconds: number, connections = 64): Promise<number> {
  if (hasWrk) {
    const r = spawnSync('wrk', ['-t', '1', '-c', String(connections), '-d', `${seconds}s`, url], { encoding: 'utf8' });
    const m = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout);
    if (!m) throw new Error(`wrk output not understood:\n${r.stdout}${r.stderr}`);
    return Number(m[1]);
  }
  const result = await autocannon({ url, connections, duration: seconds });
  return result.requests.average;
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** An API key with the given scopes, created with the admin key over HTTP. */
export async function createKey(base: string, adminKey: string, scopes: string[]): Promise<string> {
  const created = await fetch(`${base}/v1/admin/keys`, {
    method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: `bench ${scopes.join(',')}`, scopes }),
  });
  if (!created.ok) throw new Error(`could not create a key: ${created.status} ${await created.text()}`);
  return (await created.json() as { key: string }).key;
}

/** POSTs one batch from `body()` to /v1/events with the ingest key; resolves to the accepted count, throws on anything but 202. */
export function eventPoster(base: string, key: string, body: () => string): () => Promise<number> {
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  return async () => {
    const res = await fetch(`${base}/v1/events`, { method: 'POST', headers, body: body() });
    const out = await res.json() as { accepted?: number };
    if (res.status !== 202) throw new Error(`POST /v1/events answered ${res.status}: ${JSON.stringify(out).slice(0, 300)}`);
    return out.accepted ?? 0;
  };
}
