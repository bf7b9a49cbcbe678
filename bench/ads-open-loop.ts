// An open-loop client for POST /v1/ads/select, as wrk2 -R: requests fall due on a fixed schedule
// (the offered rate) whether or not earlier ones have been answered, go out over at most
// `connections` keep-alive connections (a request due while all are busy waits for the first free
// one, as behind a load balancer's pool), and each latency is measured from the moment the request
// was due, not from when it left (no coordinated omission: a stall counts against every request
// due during it). Plain sockets and a minimal HTTP/1.1 reader keep the client's own cost per
// request small (node:http's client cost more than the route under test on a busy box, and the
// client then could not keep up with the rate). The first second is a warm-up at the same rate,
// not recorded. Run as its own process, so that its CPU is not the server's. Prints one JSON line.
//   node --import tsx bench/ads-open-loop.ts <url> <requests/s> <seconds> <placements,…> <categories,…> <users> [connections, default 64]
import { connect, type Socket } from 'node:net';

const [url, rateArg, secondsArg, placementsArg, categoriesArg, usersArg, connectionsArg] = process.argv.slice(2);
if (!url || !rateArg || !secondsArg || !placementsArg || !categoriesArg || !usersArg) {
  console.error('usage: ads-open-loop.ts <url> <requests/s> <seconds> <placements,…> <categories,…> <users> [connections]');
  process.exit(2);
}
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const placements = placementsArg.split(',');
const categories = categoriesArg.split(',');
const users = Number(usersArg);
const connections = Number(connectionsArg ?? 64);
const target = new URL(url);
const WARM_UP_S = 1;
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
const DEVICES = ['mobile', 'desktop', 'tablet'];
const COUNTRIES = ['US', 'GB', 'DE', 'IN'];

/** A request with the same body as the wrk script of bench/ads-select.ts. */
function request(): string {
  const category = Math.random() < 0.5 ? `,"category":${JSON.stringify(pick(categories))}` : '';
  const body = `{"placementId":${JSON.stringify(pick(placements))},"userId":"u_${Math.floor(Math.random() * users)}","device":"${pick(DEVICES)}","country":"${pick(COUNTRIES)}","count":3${category}}`;
  return `POST ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

const warm = Math.round(rate * WARM_UP_S);
const total = warm + Math.round(rate * seconds);
const latencies: number[] = [];
let errors = 0, done = 0, sent = 0, maxWaiting = 0;
/** Due times of requests waiting for a free connection (their number: the backlog). */
const waiting: { n: number; due: number }[] = [];
let head = 0;

interface Conn { socket: Socket; busy: { n: number; due: number } | null; buf: Buffer }
const idle: Conn[] = [];

function settle(job: { n: number; due: number }, ok: boolean): void {
  if (job.n >= warm) { if (ok) latencies.push(performance.now() - job.due); else errors++; }
  if (++done === total) finish();
}

function send(conn: Conn, job: { n: number; due: number }): void {
  conn.busy = job;
  conn.socket.write(request());
}

function next(conn: Conn): void {
  conn.busy = null;
  if (head < waiting.length) {
    send(conn, waiting[head++]!);
    if (head > 4096 && head * 2 > waiting.length) { waiting.splice(0, head); head = 0; }
  } else idle.push(conn);
}

/** Reads whole responses (status line, headers with Content-Length, body) off a connection. */
function onData(conn: Conn, chunk: Buffer): void {
  conn.buf = conn.buf.length ? Buffer.concat([conn.buf, chunk]) : chunk;
  for (;;) {
    const end = conn.buf.indexOf('\r\n\r\n');
    if (end < 0 || !conn.busy) return;
    const header = conn.buf.subarray(0, end).toString('latin1');
    const m = /\r\ncontent-length:\s*(\d+)/i.exec(header);
    const size = end + 4 + (m ? Number(m[1]) : 0);
    if (conn.buf.length < size) return;
    const ok = header.startsWith('HTTP/1.1 200');
    conn.buf = conn.buf.subarray(size);
    const job = conn.busy;
    settle(job, ok);
    next(conn);
  }
}

function open(): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.hostname, port: Number(target.port), noDelay: true }, () => { idle.push(conn); resolve(); });
    const conn: Conn = { socket, busy: null, buf: Buffer.alloc(0) };
    socket.on('data', (d: Buffer) => onData(conn, d));
    socket.on('error', reject);
    socket.on('close', () => { if (conn.busy) { const job = conn.busy; conn.busy = null; settle(job, false); } });
  });
}

let start = 0;
function tick(): void {
  const now = performance.now();
  // Every request due by now is sent, or queued for the first free connection, timed from when it fell due.
  while (sent < total && start + (sent * 1000) / rate <= now) {
    const job = { n: sent, due: start + (sent * 1000) / rate };
    sent++;
    const conn = idle.pop();
    if (conn) send(conn, job); else waiting.push(job);
  }
  maxWaiting = Math.max(maxWaiting, waiting.length - head);
  if (sent < total) setTimeout(tick, 1);
}

let finished = false;
function finish(): void {
  if (finished) return;
  finished = true;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]! : NaN);
  const elapsed = (performance.now() - start) / 1000 - WARM_UP_S;
  console.log(JSON.stringify({
    offered: rate, answered: latencies.length, errors, achieved: latencies.length / elapsed, maxWaiting,
    p50Ms: at(0.5), p90Ms: at(0.9), p99Ms: at(0.99), p999Ms: at(0.999), maxMs: latencies.at(-1) ?? NaN,
  }));
  process.exit(0);
}

await Promise.all(Array.from({ length: connections }, open));
start = performance.now();
tick();
// Answers that never come count as errors: the run ends half a minute after its last request fell due.
setTimeout(() => { errors = total - warm - latencies.length; finish(); }, (WARM_UP_S + seconds + 30) * 1000).unref();
