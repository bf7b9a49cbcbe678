// Bulk import: the streaming core on both dialects, the HTTP route, and the CLI once end to end.
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertRows } from '../../pipelines/contract/source.repository.js';
import { importRows, type ImportOptions } from '../../pipelines/import/import-rows.js';
import { DIALECTS, useTestEnv } from '../helpers/test-env.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

const FIXTURES = new URL('../fixtures/import/', import.meta.url).pathname;
const fixture = (name: string) => join(FIXTURES, name);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(DIALECTS)('bulk import on %s', (dialect) => {
  const env = useTestEnv({ dialect });
  const db = () => env.db.db;
  const run = (table: string, file: string, over: Partial<ImportOptions> = {}) => importRows({
    db: db(), table, format: file.endsWith('.csv') ? 'csv' : 'ndjson', input: createReadStream(fixture(file)), ...over,
  });
  const dump = async (table: string) => (await sql<Record<string, unknown>>`select * from ${sql.table(table)} order by 1, 2`.execute(db())).rows
    .map((r) => JSON.stringify(Object.entries(r).map(([k, v]) => [k, v === null ? null : String(v)])));

  it('loads exactly the good rows and reports bad, duplicate and short rows by line and field', async () => {
    // prov_7 exists with other values: the import updates it.
    await upsertRows(db(), 'provider', ['id'], [{ id: 'prov_7', headline: 'Old headline', hourly_rate_minor: 1, currency: 'EUR', country: 'FR',
      timezone: 'Europe/Paris', level: 'entry', rating: null, review_count: 0, response_rate: null, completed_jobs: 0,
      joined_at: 1, last_active_at: null, updated_at: 1 }], 'updated_at');
    const report = await run('provider', 'providers.csv');
    expect(report).toMatchObject({ table: 'provider', format: 'csv', dryRun: false, rows: 8, written: 4, rejected: 4 });
    const byLine = (line: number) => report.rejects.filter((r) => r.line === line);
    expect(byLine(4)).toEqual([{ line: 4, field: 'hourly_rate_minor', reason: expect.stringContaining('whole number of minor units') }]);
    expect(byLine(5).map((r) => r.field).sort()).toEqual(['country', 'currency', 'joined_at', 'level', 'rating']);
    expect(byLine(6)).toEqual([{ line: 6, field: 'id', reason: 'duplicate of line 2 (same id)' }]);
    expect(byLine(8)).toEqual([{ line: 8, field: '', reason: 'has 3 fields; the header has 13' }]);
    expect(report.rejectsTotal).toBe(report.rejects.length);

    const rows = (await sql<{ id: string; headline: string; hourly_rate_minor: number; updated_at: number }>`select id, headline, hourly_rate_minor, updated_at from provider order by id`.execute(db())).rows;
    expect(rows.map((r) => r.id)).toEqual(['prov_1', 'prov_2', 'prov_5', 'prov_7']);
    expect(rows.find((r) => r.id === 'prov_1')).toMatchObject({ headline: 'Senior TypeScript engineer' }); // the first, not the duplicate
    expect(rows.find((r) => r.id === 'prov_2')?.headline).toBe('Designer, brand and UI');
    expect(rows.find((r) => r.id === 'prov_7')).toMatchObject({ headline: 'SEO specialist' });
    expect(Number(rows.find((r) => r.id === 'prov_7')!.updated_at)).toBeGreaterThan(1);
  });

  it('changes nothing when the same file is imported again, and updates a changed row', async () => {
    const before = await dump('provider');
    await sleep(5); // a later clock: any rewrite would show in updated_at
    const again = await run('provider', 'providers.csv');
    expect(again).toMatchObject({ written: 4, rejected: 4 });
    expect(await dump('provider')).toEqual(before);

    const changed = await run('provider', 'providers-changed.csv');
    expect(changed).toMatchObject({ rows: 2, written: 2, rejected: 0 });
    const after = (await sql<{ id: string; hourly_rate_minor: number; level: string; updated_at: number }>`select id, hourly_rate_minor, level, updated_at from provider where id in ('prov_1', 'prov_2') order by id`.execute(db())).rows;
    const old = (id: string) => JSON.parse(before.find((r) => r.includes(`"${id}"`))!) as [string, string][];
    expect(String(after[0]!.updated_at)).toBe(Object.fromEntries(old('prov_1')).updated_at); // identical row untouched
    expect([Number(after[1]!.hourly_rate_minor), after[1]!.level]).toEqual([6500, 'expert']);
    expect(Number(after[1]!.updated_at)).toBeGreaterThan(Number(Object.fromEntries(old('prov_2')).updated_at));
  });

  it('rejects only the rows of a chunk that break a foreign key', async () => {
    await run('skill', 'skills.csv');
    const report = await run('provider_skill', 'provider-skills.csv', { chunkSize: 100 });
    expect(report).toMatchObject({ rows: 6, written: 4, rejected: 2 });
    expect(report.rejects).toEqual([
      { line: 4, field: 'provider_id', reason: 'no provider with id "prov_missing"' },
      { line: 6, field: 'skill_id', reason: 'no skill with id "sk_nope"' },
    ]);
    const keys = (await sql<{ provider_id: string; skill_id: string }>`select provider_id, skill_id from provider_skill order by provider_id, skill_id`.execute(db())).rows;
    expect(keys.map((k) => `${k.provider_id}/${k.skill_id}`)).toEqual(['prov_1/sk_ts', 'prov_1/sk_ui', 'prov_2/sk_ui', 'prov_5/sk_ts']);
  });

  it('imports NDJSON, one object per line', async () => {
    const report = await run('provider', 'providers.ndjson');
    expect(report).toMatchObject({ format: 'ndjson', rows: 6, written: 2, rejected: 4 });
    expect(report.rejects.map((r) => [r.line, r.field])).toEqual([[3, 'hourly_rate_minor'], [4, ''], [5, ''], [6, 'nickname']]);
    expect(report.rejects[1]!.reason).toMatch(/^is not valid JSON/);
    const ids = (await sql<{ id: string }>`select id from provider where id like 'prov_n%' order by id`.execute(db())).rows.map((r) => r.id);
    expect(ids).toEqual(['prov_n1', 'prov_n4']);
  });

  it('counts file lines across blank lines, multi-line fields, stray and unclosed quotes', async () => {
    const csv = [
      'id,headline,hourly_rate_minor,currency,country,timezone,level,review_count,completed_jobs,joined_at',
      '',
      'p_a,"Two',
      'line headline",100,EUR,DE,Europe/Berlin,entry,0,0,1700000000000',
      'p_b,stray "quote" here,100,EURO,DE,Europe/Berlin,entry,0,0,1700000000000',
      'p_c,Fine,100,EUR,DE,Europe/Berlin,entry,0,0,1700000000000',
      'p_d,"never closed,100,EUR,DE,Europe/Berlin,entry,0,0,1700000000000',
      'p_e,Swallowed by the open quote,100,EUR,DE,Europe/Berlin,entry,0,0,1700000000000',
    ].join('\r\n');
    const report = await importRows({ db: db(), table: 'provider', format: 'csv', input: Readable.from([csv]), dryRun: true });
    expect(report.rejects.map((r) => [r.line, r.field])).toEqual([[5, 'currency'], [7, '']]);
    expect(report.rejects[1]!.reason).toMatch(/^unreadable CSV: Quote Not Closed/);
    expect(report).toMatchObject({ rows: 4, written: 2, rejected: 2 });
  });

  it('writes nothing on a dry run', async () => {
    const before = await dump('provider');
    const csv = 'id,headline,hourly_rate_minor,currency,country,timezone,level,joined_at\n' +
      'prov_dry,Dry run,100,EUR,DE,Europe/Berlin,entry,1700000000000\nprov_1,Changed,1,EUR,DE,Europe/Berlin,entry,1700000000000\n';
    const report = await importRows({ db: db(), table: 'provider', format: 'csv', input: Readable.from([csv]), dryRun: true });
    expect(report).toMatchObject({ dryRun: true, rows: 2, written: 2, rejected: 0 });
    expect(await dump('provider')).toEqual(before);
  });

  it('refuses an unknown table listing the importable ones, and a header that does not match', async () => {
    await expect(importRows({ db: db(), table: 'providers', format: 'csv', input: Readable.from(['id\n']) }))
      .rejects.toMatchObject({ code: 'validation_failed', message: expect.stringContaining('importable tables: category, skill') });
    await expect(importRows({ db: db(), table: 'provider', format: 'csv', input: Readable.from(['id,colour\nx,red\n']) }))
      .rejects.toMatchObject({ code: 'validation_failed', problems: expect.arrayContaining([{ path: 'colour', message: 'is not a column of provider' }]) });
    await expect(run('provider', 'providers.csv', { maxBytes: 100 })).rejects.toMatchObject({ code: 'payload_too_large', status: 413 });
  });
});

describe.each(DIALECTS)('POST /v1/import/:table on %s', (dialect) => {
  const env = useTestEnv({ dialect });
  let t: TestApp;
  let ingestKey = '';
  let scoreKey = '';
  beforeAll(async () => {
    t = await startTestApp(env.config());
    const actor = { type: 'system' as const, id: 'test' };
    ingestKey = (await t.services.apiKeys.create({ name: 'ingest', scopes: ['ingest'] }, actor)).key;
    scoreKey = (await t.services.apiKeys.create({ name: 'score', scopes: ['score'] }, actor)).key;
  });
  afterAll(async () => { await t?.close(); });

  const post = (key: string, payload: string, contentType = 'text/csv', url = '/v1/import/provider') =>
    t.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${key}`, 'content-type': contentType }, payload });

  it('imports a CSV body and returns the report; records an audit entry', async () => {
    const res = await post(ingestKey, readFileSync(fixture('providers.csv'), 'utf8'));
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ table: 'provider', rows: 8, written: 4, rejected: 4, rejectsTotal: 8 });
    expect(body.rejects[0]).toEqual({ line: 4, field: 'hourly_rate_minor', reason: expect.any(String) });
    const audit = await t.services.audit.list({ objectType: 'table', objectId: 'provider' });
    expect(audit[0]).toMatchObject({ action: 'import.completed', details: expect.objectContaining({ rows: 8, written: 4, rejected: 4 }) });
  });

  it('takes NDJSON, needs scope ingest, and explains an unknown table or content type', async () => {
    const nd = await post(ingestKey, readFileSync(fixture('providers.ndjson'), 'utf8'), 'application/x-ndjson');
    expect(nd.json()).toMatchObject({ format: 'ndjson', written: 2 });
    const forbidden = await post(scoreKey, 'id\n');
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().error.code).toBe('forbidden');
    const unknown = await post(ingestKey, 'id\n', 'text/csv', '/v1/import/nope');
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.message).toContain('importable tables: category');
    const json = await post(ingestKey, '{"id":"x"}', 'application/json');
    expect(json.statusCode).toBe(415);
  });
});

describe('gigintel import (CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gigintel-import-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 3 with --strict when rows were rejected and writes the rejects file', () => {
    const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GIGINTEL_')));
    const bin = new URL('../../bin/gigintel.js', import.meta.url).pathname;
    const rejects = join(dir, 'rejects.csv');
    const r = spawnSync(process.execPath, [bin, 'import', 'provider', fixture('providers.csv'), '--strict', '--rejects', rejects], {
      env: { ...baseEnv, GIGINTEL_DATABASE_URL: `sqlite:${join(dir, 'cli.db')}`, GIGINTEL_LOG_LEVEL: 'warn' }, encoding: 'utf8', timeout: 60_000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(3);
    expect(r.stdout).toMatch(/^provider: 8 rows, 4 written, 4 rejected \(details in .*rejects\.csv\)/);
    const lines = readFileSync(rejects, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('line,field,reason');
    expect(lines).toContain('6,id,duplicate of line 2 (same id)');
    expect(lines).toContain('8,,has 3 fields; the header has 13');
    expect(lines).toHaveLength(9);

    const missing = spawnSync(process.execPath, [bin, 'import', 'provider', join(dir, 'nope.csv')], { env: { ...baseEnv, GIGINTEL_DATABASE_URL: `sqlite:${join(dir, 'cli.db')}` }, encoding: 'utf8' });
    expect([missing.status, missing.stderr]).toEqual([2, `gigintel: file not found: ${join(dir, 'nope.csv')}\n`]);
    expect(existsSync(`${join(dir, 'nope.csv')}.rejects.csv`)).toBe(false);
  });
});
