// gigintel models …: list, show, compare, promote (gate failure exits with the checks, --force
// records forced), rollback and history, in-process against a test database; --help everywhere.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { modelsCommand } from '../../model-registry/models.command.js';
import { createRegistryService } from '../../model-registry/registry.service.js';
import { createAuditLog } from '../../platform/audit/audit-log.js';
import { GateFailedError } from '../../model-registry/registry.errors.js';
import { createLogger } from '../../platform/logging/logger.js';
import { createPlatform, type Platform } from '../../platform/platform.js';
import { DIALECTS, useTestEnv } from '../helpers/test-env.js';
import { artifactOf, specOf } from './registry-fixtures.js';

describe.each(DIALECTS)('gigintel models on %s', (dialect) => {
  const env = useTestEnv({ dialect });
  const dir = mkdtempSync(join(tmpdir(), 'gigintel-models-'));
  const configFile = join(dir, 'config.json');
  let platform: Platform;

  beforeAll(async () => {
    writeFileSync(configFile, JSON.stringify({ database: { url: env.databaseUrl }, log: { level: 'silent' }, features: { demoSeed: false } }));
    platform = await createPlatform(env.config(), { logger: createLogger({ level: 'silent' }) });
    const r = createRegistryService({ db: platform.db.db, audit: createAuditLog({ db: platform.db.db }), queue: platform.queue });
    const owner = { type: 'cli' as const, id: 'trainer' };
    await r.createModel({ name: 'ads-ctr', description: 'click-through rate' }, owner);
    await r.registerVersion('ads-ctr', await specOf({ auc: 0.75 }), artifactOf(1), owner);
    await r.registerVersion('ads-ctr', await specOf({ auc: 0.78 }), artifactOf(2), owner);
    await r.registerVersion('ads-ctr', await specOf({ auc: 0.78, di: 0.6 }), artifactOf(3), owner);
  });
  afterAll(async () => {
    await platform?.lifecycle.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function run(...args: string[]): Promise<string> {
    let out = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => { out += String(s); return true; });
    try {
      const root = new Command('gigintel').option('--config <file>').exitOverride();
      const models = modelsCommand();
      const quiet = (c: Command): void => { c.exitOverride().configureOutput({ writeOut: (s) => { out += s; }, writeErr: (s) => { out += s; } }); c.commands.forEach(quiet); };
      quiet(models);
      root.addCommand(models);
      await root.parseAsync(['--config', configFile, 'models', ...args], { from: 'user' });
      return out;
    } catch (err) {
      (err as Error & { output?: string }).output = out;
      throw err;
    } finally {
      spy.mockRestore();
    }
  }

  it('has --help on every subcommand', async () => {
    for (const sub of ['list', 'show', 'compare', 'promote', 'rollback', 'history']) {
      await expect(run(sub, '--help')).rejects.toMatchObject({ code: 'commander.helpDisplayed', output: expect.stringContaining(`Usage: gigintel models ${sub}`) });
    }
    await expect(run('promote', 'ads-ctr', 'two')).rejects.toMatchObject({ code: 'commander.invalidArgument' });
    await expect(run('rollback', 'ads-ctr')).rejects.toMatchObject({ code: 'commander.missingMandatoryOptionValue' });
  });

  it('lists, promotes, refuses a failed gate with the numbers, forces, rolls back and shows the history', async () => {
    expect(await run('list')).toMatch(/ads-ctr\s+v3\s+click-through rate/);
    expect(await run('promote', 'ads-ctr', '1', '--reason', 'first')).toContain('ads-ctr/champion: (unset) → v1 (move)');
    expect(await run('promote', 'ads-ctr', '2', '--expect', '1')).toContain('→ v2 (move)');
    const refused = await run('promote', 'ads-ctr', '3').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(GateFailedError);
    expect((refused as Error).message).toContain('gender: disparate-impact ratio 0.6 is 0.2 below 0.8');
    await expect(run('promote', 'ads-ctr', '3', '--force')).rejects.toMatchObject({ code: 'validation_failed' });
    expect(await run('promote', 'ads-ctr', '3', '--force', '--reason', 'accepted by the fairness board')).toContain('(move, forced)');
    expect(await run('rollback', 'ads-ctr', '--reason', 'complaints')).toContain('v3 → v2 (rollback)');
    const history = await run('history', 'ads-ctr', '--json');
    expect(history.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; toVersion: number; forced: boolean; actor: { type: string } }).map((m) => [m.kind, m.toVersion, m.forced, m.actor.type]))
      .toEqual([['rollback', 2, false, 'cli'], ['move', 3, true, 'cli'], ['move', 2, false, 'cli'], ['move', 1, false, 'cli']]);
    expect(await run('show', 'ads-ctr')).toMatch(/v2\s+ready\s+logistic\s+0\.78\s+champion/);
    expect(await run('show', 'ads-ctr', '--version', '3')).toContain('FAIL  fairness.gender.disparate_impact_ratio');
    expect(await run('compare', 'ads-ctr', '1', '2')).toMatch(/auc\s+0\.75\s+0\.78\s+\+0\.03/);
    await expect(run('show', 'nope')).rejects.toMatchObject({ code: 'not_found' });
  });
});
