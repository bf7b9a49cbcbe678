// /v1/exports over HTTP with the real report catalog on a seeded marketplace: the catalog, streamed
// CSV and XLSX downloads, errors that name the field, pseudonymised ids, export jobs, and a client
// that hangs up mid-download (the query stops and its connection returns to the pool).
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedMarketplace } from '../../pipelines/synthetic/seed-marketplace.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { createTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { useTestEnv } from '../helpers/test-env.js';

const DAY = 86_400_000;
const END = Math.floor(Date.now() / DAY) * DAY + DAY;
const range = `from=${new Date(END - 40 * DAY).toISOString().slice(0, 10)}&to=${new Date(END).toISOString().slice(0, 10)}`;

async function until(check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!await check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('exports over HTTP (mysql)', () => {
  const env = useTestEnv({ dialect: 'mysql' });
  let t: TestApp;
  let analyst: { authorization: string };
  let scorer: { authorization: string };

  beforeAll(async () => {
    await seedMarketplace(env.db.db, { providers: 80, jobs: 40, days: 10, seed: 'exports-http', events: 3_000, end: END });
    t = await startTestApp(env.config({ 'queue.pollIntervalMs': 20 }));
    await t.platform.queue.startWorkers();
    const actor = { type: 'cli' as const, id: 'test' };
    analyst = { authorization: `Bearer ${(await t.services.apiKeys.create({ name: 'analyst', scopes: ['exports'] }, actor)).key}` };
    scorer = { authorization: `Bearer ${(await t.services.apiKeys.create({ name: 'scorer', scopes: ['score'] }, actor)).key}` };
  }, 120_000);
  afterAll(async () => { await t?.close(); });

  it('lists the report catalog with each report\'s parameters', async () => {
    const res = await t.app.inject({ url: '/v1/exports', headers: analyst });
    expect(res.statusCode).toBe(200);
    const reports = res.json<{ reports: { key: string; params: { name: string; type: string }[] }[] }>().reports;
    expect(reports.map((r) => r.key).sort()).toEqual(['ads-monetisation', 'experiment-monetisation', 'finance-summary', 'matching-performance', 'model-governance', 'transactions']);
    const finance = reports.find((r) => r.key === 'finance-summary')!;
    expect(finance.params.map((p) => p.name)).toEqual(expect.arrayContaining(['from', 'to', 'grain']));
  });

  it('needs the exports scope', async () => {
    expect((await t.app.inject({ url: '/v1/exports' })).statusCode).toBe(401);
    expect((await t.app.inject({ url: '/v1/exports/transactions', headers: scorer })).statusCode).toBe(403);
  });

  it('streams the ledger as CSV: every transaction of the range, ids pseudonymised for non-admins', async () => {
    const res = await t.app.inject({ url: `/v1/exports/transactions?format=csv&bom=true&${range}`, headers: analyst });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="transactions_\d{4}-\d{2}-\d{2}_\d{4}-\d{2}-\d{2}\.csv"/);
    expect(res.rawPayload.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    const rows = parse(res.payload, { columns: true, bom: true }) as Record<string, string>[];
    const expected = await sql<{ n: number }>`SELECT COUNT(*) AS n FROM \`transaction\` WHERE event_at >= ${END - 40 * DAY} AND event_at < ${END}`.execute(env.db.db);
    expect(rows.length).toBe(Number(expected.rows[0]!.n));
    expect(rows.length).toBeGreaterThan(100);
    const raw = new Set((await sql<{ user_id: string }>`SELECT user_id FROM \`transaction\``.execute(env.db.db)).rows.map((r) => r.user_id));
    for (const row of rows) for (const cell of Object.values(row)) expect(raw.has(cell)).toBe(false);
    // An admin key gets the ids as they are.
    const admin = await t.app.inject({ url: `/v1/exports/transactions?format=csv&${range}`, headers: t.adminAuth });
    const adminRows = parse(admin.payload, { columns: true }) as Record<string, string>[];
    expect(adminRows.some((r) => Object.values(r).some((c) => raw.has(c)))).toBe(true);
  });

  it('streams XLSX that exceljs reads back, with the summary first', async () => {
    const res = await t.app.inject({ url: `/v1/exports/finance-summary?format=xlsx&grain=week&${range}`, headers: analyst });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(res.rawPayload as unknown as ArrayBuffer);
    expect(wb.worksheets.length).toBeGreaterThanOrEqual(2);
    expect(wb.worksheets[0]!.name).toBe('Summary');
    const summary: string[] = [];
    wb.worksheets[0]!.eachRow((row) => summary.push(row.values.toString()));
    expect(summary.join('\n')).toMatch(/grain.*week/);
  });

  it('names the field of a bad parameter, before any byte of the file', async () => {
    const res = await t.app.inject({ url: '/v1/exports/finance-summary?format=csv&grain=fortnight&colour=red', headers: analyst });
    expect(res.statusCode).toBe(400);
    const body = res.json<{ error: { code: string; details: { problems: { path: string }[] } } }>();
    expect(body.error.code).toBe('validation_failed');
    expect(body.error.details.problems.map((p) => p.path).sort()).toEqual(['colour', 'grain']);
    expect((await t.app.inject({ url: '/v1/exports/finance-summary?format=pdf', headers: analyst })).statusCode).toBe(400);
    expect((await t.app.inject({ url: '/v1/exports/no-such-report', headers: analyst })).statusCode).toBe(404);
  });

  it('runs an export job for big ranges: progress, then the same file as a direct download', async () => {
    const started = await t.app.inject({ method: 'POST', url: '/v1/exports', headers: analyst, payload: { report: 'transactions', format: 'csv', params: { from: new Date(END - 40 * DAY).toISOString().slice(0, 10), to: new Date(END).toISOString().slice(0, 10) } } });
    expect(started.statusCode).toBe(202);
    const id = started.json<{ job: { id: string } }>().job.id;
    await until(async () => (await t.app.inject({ url: `/v1/exports/jobs/${id}`, headers: analyst })).json<{ job: { status: string } }>().job.status === 'done');
    const job = (await t.app.inject({ url: `/v1/exports/jobs/${id}`, headers: analyst })).json<{ job: { rowsWritten: number; fileBytes: number } }>().job;
    const file = await t.app.inject({ url: `/v1/exports/jobs/${id}/file`, headers: analyst });
    expect(file.statusCode).toBe(200);
    expect(Number(file.headers['content-length'])).toBe(job.fileBytes);
    const direct = await t.app.inject({ url: `/v1/exports/transactions?format=csv&${range}`, headers: analyst });
    expect(parse(file.payload)).toEqual(parse(direct.payload));
    expect(job.rowsWritten).toBe((parse(direct.payload) as unknown[]).length - 1);
    const listed = (await t.app.inject({ url: '/v1/exports/jobs', headers: analyst })).json<{ jobs: { id: string }[] }>().jobs;
    expect(listed.map((j) => j.id)).toContain(id);
    // Another key cannot see or fetch it.
    const other = { authorization: `Bearer ${(await t.services.apiKeys.create({ name: 'other', scopes: ['exports'] }, { type: 'cli', id: 'test' })).key}` };
    expect((await t.app.inject({ url: `/v1/exports/jobs/${id}/file`, headers: other })).statusCode).toBe(404);
  });

  it('stops the query when the client hangs up mid-download', async () => {
    // Enough rows that the file outgrows the socket buffers, so the server is mid-stream when we leave.
    const base = END - 5 * DAY;
    for (let b = 0; b < 60; b += 1) {
      const rows = Array.from({ length: 1000 }, (_, i) => {
        const n = b * 1000 + i;
        return { id: `bulk_${n}`, kind: 'wallet_topup', status: 'succeeded', amount_minor: 1000 + n, currency: 'USD', idempotency_key: `bulk:${n}`, user_id: `bulk_user_${n % 500}`, job_id: null, hire_id: null, campaign_id: null, event_at: base + n, ingested_at: base + n };
      });
      await (env.db.db as unknown as Kysely<Record<string, Record<string, unknown>>>).insertInto('transaction').values(rows).execute();
    }
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = t.app.server.address() as AddressInfo;
    let received = 0;
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: `/v1/exports/transactions?format=csv&${range}`, headers: analyst }, (res) => {
        expect(res.statusCode).toBe(200);
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received > 64 * 1024) { res.pause(); req.destroy(); resolve(); }
        });
        res.on('end', () => reject(new Error('the whole file arrived before we could hang up')));
      });
      req.on('error', () => undefined);
      req.end();
    });
    // The query's connection comes back to the pool, and the service keeps answering.
    await until(async () => t.platform.db.poolStats().inUse === 0, 10_000);
    const again = await t.app.inject({ url: '/v1/exports/finance-summary?format=csv', headers: analyst });
    expect(again.statusCode).toBe(200);
  });
});

describe('exports when MySQL goes away (mysql)', () => {
  const env = useTestEnv({ dialect: 'mysql' });
  let proxy: TcpProxy;
  let t: TestApp;

  beforeAll(async () => {
    const real = new URL(env.databaseUrl);
    proxy = await createTcpProxy({ host: real.hostname, port: Number(real.port || 3306) });
    real.port = String(proxy.port);
    // Keys cached, so the export's own queries are what meets the outage.
    t = await startTestApp(env.config({ 'database.url': real.toString(), 'auth.cacheTtlMs': 600_000 }));
  });
  afterAll(async () => {
    await t?.close();
    await proxy?.close();
  });

  it('answers a structured 503 before any byte of the file, and serves again once it is back', async () => {
    const get = () => t.app.inject({ url: '/v1/exports/transactions?format=csv', headers: t.adminAuth });
    expect((await get()).statusCode).toBe(200);
    await proxy.stop();
    const down = await get();
    expect(down.statusCode).toBe(503);
    expect(down.headers['content-type']).toMatch(/application\/json/);
    expect(down.json().error).toMatchObject({ code: 'service_unavailable', details: { dependency: 'database' } });
    await proxy.start();
    await until(async () => (await get()).statusCode === 200);
  });
});
