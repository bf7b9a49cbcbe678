// The gigintel command end to end, as a user runs it: help, config errors, migrations, keys,
// and `serve` (the npm start path) from first start to SIGTERM.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { buildCli } from '../../../services/cli/cli.js';
import { bannerUrl } from '../../helpers/banner-url.js';

const BIN = new URL('../../../bin/gigintel.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'gigintel-cli-'));
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GIGINTEL_')));
const env = { ...baseEnv, GIGINTEL_DATABASE_URL: `sqlite:${join(dir, 'cli.db')}`, GIGINTEL_LOG_LEVEL: 'warn', GIGINTEL_FEATURE_DEMO_SEED: 'false', GIGINTEL_SCORING_MODELS: '' };

function run(args: string[], extraEnv: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { env: { ...env, ...extraEnv }, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('gigintel CLI', () => {
  it('has --help on every command', async () => {
    expect(run(['--help']).out).toMatch(/^Usage: gigintel/m); // the real binary once
    // Every command of the tree, so a new command without help fails here.
    const paths = (c: Command, prefix: string[]): string[][] => c.commands.flatMap((sub) => [[...prefix, sub.name()], ...paths(sub, [...prefix, sub.name()])]);
    const commands = paths(buildCli(), []);
    expect(commands.map((c) => c.join(' '))).toEqual(expect.arrayContaining(['serve', 'migrate up', 'import', 'pipeline run', 'pipeline runs', 'pipeline replay-dead-letters', 'features list', 'dataset build']));
    for (const args of commands) {
      let out = '';
      const cli = buildCli();
      const capture = (c: Command): void => {
        c.exitOverride().configureOutput({ writeOut: (s) => { out += s; } });
        c.commands.forEach(capture);
      };
      capture(cli);
      await expect(cli.parseAsync(['node', 'gigintel', ...args, '--help'])).rejects.toMatchObject({ code: 'commander.helpDisplayed', exitCode: 0 });
      expect(out, args.join(' ')).toMatch(new RegExp(`^Usage: gigintel ${args.join(' ')}`, 'm'));
      expect(out, args.join(' ')).toMatch(/\n\S.*\n|Options:/);
    }
  });

  it('refuses bad configuration naming the variable, without a stack trace', () => {
    const r = run(['config'], { GIGINTEL_PORT: 'eighty', GIGINTEL_LOG_LEVL: 'x' });
    expect(r.code).toBe(2);
    expect(r.err).toContain('GIGINTEL_PORT: must be an integer from 0 to 65535 (got "eighty")');
    expect(r.err).toContain('GIGINTEL_LOG_LEVL: unknown setting; did you mean GIGINTEL_LOG_LEVEL?');
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it('prints the effective config with secrets redacted', () => {
    const r = run(['config', '--json'], { GIGINTEL_METRICS_TOKEN: 'very-secret-token-123' });
    expect(r.code).toBe(0);
    const shown = JSON.parse(r.out);
    expect(shown.metrics.token).toBe('***');
    expect(shown.http.port).toBe(8080);
  });

  it('migrates up, reports status, and rolls back', { timeout: 90_000 }, () => {
    expect(run(['migrate', 'status']).out).toMatch(/^pending\s+\d{8}T\d{4}_platform/m);
    expect(run(['migrate', 'up']).out).toMatch(/^applied \d{8}T\d{4}_platform/m);
    expect(run(['migrate', 'up']).out).toBe('already up to date\n');
    const down = run(['migrate', 'down']);
    const latest = /^reverted (\d{8}T\d{4}_\w+)$/m.exec(down.out)?.[1];
    expect(latest, down.out + down.err).toBeDefined();
    expect(run(['migrate', 'status']).out).toMatch(new RegExp(`^pending\\s+${latest}`, 'm'));
    expect(run(['migrate', 'up']).out).toMatch(new RegExp(`^applied ${latest}$`, 'm'));
    expect(run(['migrate', 'status']).out).toMatch(/^applied\s+\d{8}T\d{4}_platform/m);
  });

  it('creates, lists and revokes keys, rejecting unknown scopes', { timeout: 120_000 }, () => {
    const created = run(['keys', 'create', '--name', 'matching', '--scopes', 'score,ingest', '--json']);
    expect(created.code).toBe(0);
    const { key, apiKey } = JSON.parse(created.out);
    expect(key).toMatch(/^gi_[A-Za-z0-9_-]{32}$/);
    expect(apiKey.scopes).toEqual(['score', 'ingest']);
    expect(run(['keys', 'list']).out).toContain(apiKey.id);
    expect(run(['keys', 'revoke', apiKey.id]).out).toContain(`revoked ${apiKey.id}`);
    expect(run(['keys', 'list']).out).not.toContain(apiKey.id);
    expect(run(['keys', 'list', '--all']).out).toContain(`${apiKey.id}`);

    const bad = run(['keys', 'create', '--name', 'x', '--scopes', 'score,fly']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('unknown scope "fly"');
    const badFlag = run(['keys', 'create', '--name', 'x', '--scopes', 'score', '--expires-in', 'soon']);
    expect(badFlag.code).toBe(2);
    expect(badFlag.err).toContain('use a number with d, h or m');
  });

  it('shows an edited migration in migrate status and refuses to serve with it', () => {
    const db = new Database(join(dir, 'cli.db'));
    const { name, checksum } = db.prepare('select name, checksum from schema_migration_checksum order by name limit 1').get() as { name: string; checksum: string };
    db.prepare('update schema_migration_checksum set checksum = ? where name = ?').run('0'.repeat(64), name);
    try {
      expect(run(['migrate', 'status']).out).toMatch(new RegExp(`^changed\\s+${name}`, 'm'));
      const serve = run(['serve', 'all', '--port', '0']);
      expect(serve.code).toBe(2);
      expect(serve.err).toContain(`migration ${name} was edited after it was applied`);
      expect(serve.err).not.toMatch(/\n\s+at /);
    } finally {
      db.prepare('update schema_migration_checksum set checksum = ? where name = ?').run(checksum, name);
      db.close();
    }
  });

  it('exits 2 on usage errors, and quietly when its output pipe closes early', () => {
    const r = run(['serve', 'everything']);
    expect(r.code).toBe(2);
    expect(r.err).toContain("value 'everything' is invalid for argument 'mode'");
    expect(run(['keys', 'create', '--name', 'x']).code).toBe(2); // missing --scopes
    const piped = spawnSync('bash', ['-c', `"${process.execPath}" "${BIN}" config --settings | head -1`], { env, encoding: 'utf8' });
    expect(piped.stdout).toMatch(/^GIGINTEL_HOST/);
    expect(piped.stderr).toBe('');
  });

  it('runs workers with probes and metrics but no API', async () => {
    const fresh = { GIGINTEL_DATABASE_URL: `sqlite:${join(dir, 'worker.db')}`, GIGINTEL_PORT: '0', GIGINTEL_METRICS_TOKEN: 'worker-metrics-token-123' };
    const child = spawn(process.execPath, [BIN, 'worker'], { env: { ...env, ...fresh }, stdio: ['ignore', 'pipe', 'pipe'] });
    const url = await bannerUrl(child, /Probes:\s+(http:\/\/\S+)/);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const metrics = await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer worker-metrics-token-123' } });
    expect(await metrics.text()).toContain('gigintel_jobs_completed_total');
    expect((await fetch(`${url}/v1/admin/keys`)).status).toBe(404);
    expect((await fetch(`${url}/docs/json`)).status).toBe(404);
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('serves: prints the URLs and a one-time admin key, is ready, and stops on SIGTERM', async () => {
    const fresh = { GIGINTEL_DATABASE_URL: `sqlite:${join(dir, 'serve.db')}`, GIGINTEL_PORT: '0' };
    const first = await serveOnce(fresh);
    expect(first.banner).toMatch(/API:\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(first.banner).toMatch(/Docs:\s+http:\/\/127\.0\.0\.1:\d+\/docs/);
    expect(first.adminKey).toMatch(/^gi_/);
    expect(first.keysStatus).toBe(200);
    expect(first.exitCode).toBe(0);

    const second = await serveOnce(fresh);
    expect(second.adminKey).toBeNull(); // shown once
    expect(second.banner).toContain('created on first start');
    expect(second.exitCode).toBe(0);
  });
});

async function serveOnce(extraEnv: Record<string, string>) {
  const child = spawn(process.execPath, [BIN, 'serve', 'all'], { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  let banner = '';
  child.stdout.on('data', (d) => { banner += d; });
  const url = await bannerUrl(child, /API:\s+(http:\/\/\S+)/);
  const adminKey = /shown once, store it now\): (\S+)/.exec(banner)?.[1] ?? null;
  const ready = await fetch(`${url}/readyz`);
  expect(ready.status).toBe(200);
  const keysStatus = adminKey ? (await fetch(`${url}/v1/admin/keys`, { headers: { authorization: `Bearer ${adminKey}` } })).status : null;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  const exitCode = await exited;
  return { banner, adminKey, keysStatus, exitCode };
}
