// gigintel experiments from the command line: a definition from a file (refused by field when
// bad), start, assign, analyze with the table output, kill, and the power calculator.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = new URL('../../bin/gigintel.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'gigintel-experiments-cli-'));
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GIGINTEL_')));
const env = { ...baseEnv, GIGINTEL_DATABASE_URL: `sqlite:${join(dir, 'x.db')}`, GIGINTEL_LOG_LEVEL: 'warn', GIGINTEL_FEATURE_DEMO_SEED: 'false', GIGINTEL_SCORING_MODELS: '' };
const run = (args: string[]) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe('gigintel experiments', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates from a file, starts, assigns, analyses, kills', () => {
    expect(run(['migrate', 'up']).code).toBe(0);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ key: 'cli-exp', hypothesis: 'h', unitType: 'planet', variants: [{ key: 'a' }], primaryMetric: 'ctr' }));
    const refused = run(['experiments', 'create', '--file', bad]);
    expect(refused.code).not.toBe(0);
    expect(refused.err).toMatch(/\/unitType/);
    expect(refused.err).not.toMatch(/\n\s+at /);
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ key: 'cli-exp', hypothesis: 'a bigger button', unitType: 'user', variants: [{ key: 'control' }, { key: 'big' }], primaryMetric: 'events.converted' }));
    expect(run(['experiments', 'create', '--file', good]).out).toMatch(/^cli-exp\s+draft/);
    expect(run(['experiments', 'start', 'cli-exp']).out).toMatch(/running\s+phase 1/);
    const assigned = run(['experiments', 'assign', 'cli-exp', 'user-1']);
    expect(assigned.out).toMatch(/^user-1: (control|big), bucket 0\.\d{4}/);
    expect(run(['experiments', 'list']).out).toMatch(/cli-exp\s+running\s+1\s+user/);
    const analysed = run(['experiments', 'analyze', 'cli-exp', '--no-act']);
    expect(analysed.code).toBe(0);
    expect(analysed.out).toMatch(/events\.converted\s+primary/);
    expect(run(['experiments', 'kill', 'cli-exp', '--reason', 'wrong audience']).out).toMatch(/rolled_back \(wrong audience\)/);
    expect(run(['experiments', 'results', 'cli-exp']).out).toContain('cli-exp phase 1');
  }, 120_000);

  it('sizes an experiment', () => {
    expect(run(['experiments', 'power', '--baseline', '0.12', '--mde', '0.05']).out).toMatch(/^47033 units per variant/);
    const missing = run(['experiments', 'power', '--mde', '0.05']);
    expect(missing.code).not.toBe(0);
    expect(missing.err).toContain('--baseline');
  });
});
