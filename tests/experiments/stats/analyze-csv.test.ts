// gigintel experiments analyze-csv: the Udacity ab_data.csv (gzipped fixture) reproduces its known
// result; generated CSVs cover ratio metrics, CUPED, SRM and errors that name line and column.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Command, CommanderError } from 'commander';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { analyzeCsv, analyzeCsvCommand, parseWeights, type CsvAnalysis } from '../../../experiments/analyze-csv.command.js';
import { uniform } from '../../../pipelines/synthetic/random.js';
import { ValidationError } from '../../../platform/errors/app-error.js';

const AB_DATA = join(import.meta.dirname, '../../fixtures/ab_data/ab_data.csv.gz');
const AB_ARGS = ['--unit', 'user_id', '--variant', 'group', '--metric', 'converted'];
const AB_CLEAN = [...AB_ARGS, '--expect', 'landing_page=control:old_page,treatment:new_page', '--dedupe', 'first'];

const dir = mkdtempSync(join(tmpdir(), 'gigintel-analyze-csv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => { vi.restoreAllMocks(); });

/** The command as `gigintel experiments` mounts it, stdout captured. */
async function run(args: string[]): Promise<string> {
  let stdout = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => { stdout += String(chunk); return true; });
  const experiments = new Command('experiments').addCommand(analyzeCsvCommand());
  const cli = new Command('gigintel').exitOverride().addCommand(experiments);
  for (const c of [experiments, ...experiments.commands]) c.exitOverride().configureOutput({ writeOut: (s) => { stdout += s; }, writeErr: () => {} });
  try {
    await cli.parseAsync(['node', 'gigintel', 'experiments', 'analyze-csv', ...args]);
  } catch (err) {
    if (!(err instanceof CommanderError && err.code === 'commander.helpDisplayed')) throw err;
  } finally {
    vi.restoreAllMocks();
  }
  return stdout;
}

async function rejection(p: Promise<unknown>): Promise<ValidationError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(ValidationError);
  return err as ValidationError;
}

function writeCsv(name: string, lines: string[], gzip = false): string {
  const path = join(dir, name);
  const text = `${lines.join('\n')}\n`;
  writeFileSync(path, gzip ? gzipSync(text) : text);
  return path;
}

describe('analyze-csv on ab_data.csv (Udacity A/B test)', () => {
  it('reproduces the known result: control ≈ 0.1204, treatment ≈ 0.1188, two-sided p ≈ 0.19', async () => {
    const r = JSON.parse(await run([AB_DATA, ...AB_CLEAN, '--json'])) as CsvAnalysis;
    expect(r.rows).toBe(294_478);
    expect(r.droppedMismatched).toBe(3_893);
    expect(r.droppedDuplicates).toBe(1);
    expect(r.units).toBe(290_584);
    const [control, treatment] = r.analysis.variants;
    expect(control).toMatchObject({ name: 'control', n: 145_274 });
    expect(treatment).toMatchObject({ name: 'treatment', n: 145_310 });
    expect(control!.mean).toBeCloseTo(0.1204, 4);
    expect(treatment!.mean).toBeCloseTo(0.1188, 4);
    const c = r.analysis.comparisons[0]!;
    expect(c.fixed.absolute.pValue!).toBeGreaterThan(0.185);
    expect(c.fixed.absolute.pValue!).toBeLessThan(0.195);
    expect(c.significant).toBe(false);
    expect(r.analysis.srm.mismatch).toBe(false);
    expect(r.analysis.trustworthy).toBe(true);
  });

  it('prints a readable table with the sequential and Bayesian read-outs', async () => {
    const text = await run([AB_DATA, ...AB_CLEAN, '--sequential', '--bayesian']);
    expect(text).toMatch(/control\s+145,274\s+0\.4999\s+0\.5000\s+0\.120386/);
    expect(text).toMatch(/treatment\s+145,310/);
    expect(text).toContain('3,893 row(s) dropped by --expect');
    expect(text).toMatch(/absolute lift\s+-0\.001578\s+95% CI \[/);
    expect(text).toMatch(/p 0\.18\d\d|p 0\.19\d\d/);
    expect(text).toContain('sequential (always valid, tuning 5000)');
    expect(text).toMatch(/chance to win \d+\.\d%/);
    expect(text).toContain('no mismatch');
  });

  it('without --dedupe lists the first repeated user ids with their lines', async () => {
    const err = await rejection(analyzeCsv(AB_DATA, { unit: 'user_id', variant: 'group', metric: 'converted' }));
    expect(err.message).toContain('3894 row(s) repeat a unit id in column "user_id"');
    expect(err.message).toContain('--dedupe first');
    expect(err.problems[0]).toEqual({ path: 'line 2658, column user_id', message: 'unit "698120" already seen on line 990' });
    expect(err.problems.length).toBe(10);
  });
});

describe('analyze-csv on generated data', () => {
  const rand = uniform('analyze-csv');
  // 600 users, 50/50, clicks and impressions (treatment CTR higher), spend before the experiment.
  const users = Array.from({ length: 600 }, (_, i) => {
    const arm = i % 2 === 0 ? 'a' : 'b';
    const impressions = 5 + Math.floor(rand() * 40);
    const ctr = arm === 'b' ? 0.14 : 0.1;
    let clicks = 0;
    for (let k = 0; k < impressions; k++) if (rand() < ctr) clicks++;
    const before = 20 + rand() * 80;
    const revenue = (0.8 * before + rand() * 20 + (arm === 'b' ? 3 : 0)).toFixed(2);
    return `u${i},${arm},${clicks},${impressions},${revenue},${before.toFixed(2)}`;
  });
  const header = 'user,arm,clicks,impressions,revenue,revenue_before';
  const file = writeCsv('clicks.csv.gz', [header, ...users], true);

  it('a ratio metric is Σclicks / Σimpressions per variant, with the control named explicitly', async () => {
    const r = JSON.parse(await run([file, '--unit', 'user', '--variant', 'arm', '--metric', 'clicks', '--ratio-denominator', 'impressions', '--control', 'a', '--json'])) as CsvAnalysis;
    let clicks = 0; let impressions = 0;
    for (const line of users.filter((u) => u.split(',')[1] === 'a')) { const f = line.split(','); clicks += Number(f[2]); impressions += Number(f[3]); }
    expect(r.analysis.metric).toBe('ratio');
    expect(r.analysis.variants[0]!.mean).toBeCloseTo(clicks / impressions, 12);
    expect(r.analysis.comparisons[0]!.fixed.relative!.estimate).toBeGreaterThan(0.2);
    expect(r.analysis.comparisons[0]!.significant).toBe(true);
  });

  it('--covariate applies CUPED and reports the variance reduction', async () => {
    const plain = JSON.parse(await run([file, '--unit', 'user', '--variant', 'arm', '--metric', 'revenue', '--control', 'a', '--json'])) as CsvAnalysis;
    const adjusted = JSON.parse(await run([file, '--unit', 'user', '--variant', 'arm', '--metric', 'revenue', '--control', 'a', '--covariate', 'revenue_before', '--json'])) as CsvAnalysis;
    expect(adjusted.analysis.cuped!.theta).toBeGreaterThan(0.7);
    expect(adjusted.analysis.variants[0]!.varianceReduction).toBeGreaterThan(0.8);
    expect(adjusted.analysis.comparisons[0]!.fixed.absolute.stdError).toBeLessThan(plain.analysis.comparisons[0]!.fixed.absolute.stdError / 2);
    const text = await run([file, '--unit', 'user', '--variant', 'arm', '--metric', 'revenue', '--control', 'a', '--covariate', 'revenue_before']);
    expect(text).toContain('CUPED θ = ');
    expect(text).toMatch(/var\. reduction/);
  });

  it('flags a sample-ratio mismatch against --weights and withholds the lifts', async () => {
    const skewed = writeCsv('skewed.csv', ['id,v,y', ...Array.from({ length: 1300 }, (_, i) => `${i},${i < 720 ? 'control' : 'test'},${i % 3 === 0 ? 1 : 0}`)]);
    const text = await run([skewed, '--unit', 'id', '--variant', 'v', '--metric', 'y']);
    expect(text).toContain('SAMPLE RATIO MISMATCH');
    expect(text).toContain('lifts withheld');
    expect(text).not.toContain('absolute lift');
    // The same split is what was configured (72:58): no mismatch.
    const ok = await run([skewed, '--unit', 'id', '--variant', 'v', '--metric', 'y', '--weights', 'control=72,test=58']);
    expect(ok).toContain('no mismatch');
    expect(ok).toContain('absolute lift');
    expect(await run([skewed, '--unit', 'id', '--variant', 'v', '--metric', 'y', '--show-untrustworthy'])).toContain('absolute lift');
  });

  it('names the line and column of bad values and missing columns', async () => {
    const bad = writeCsv('bad.csv', ['id,v,y', '1,control,1', '2,test,x', '3,test,', '4,control,0']);
    const err = await rejection(analyzeCsv(bad, { unit: 'id', variant: 'v', metric: 'y' }));
    expect(err.problems).toEqual([
      { path: 'line 3, column y', message: 'must be a number (or true/false), got "x"' },
      { path: 'line 4, column y', message: 'must be a number (or true/false), got ""' },
    ]);
    const missing = await rejection(analyzeCsv(bad, { unit: 'id', variant: 'variant', metric: 'y' }));
    expect(missing.problems[0]).toMatchObject({ path: '--variant', message: expect.stringContaining('no column "variant"') });
    await expect(analyzeCsv(join(dir, 'nope.csv'), { unit: 'id', variant: 'v', metric: 'y' })).rejects.toThrow(/no such file/);
    const notGzip = writeCsv('plain.csv.gz', ['id,v,y', '1,a,1']);
    await expect(analyzeCsv(notGzip, { unit: 'id', variant: 'v', metric: 'y' })).rejects.toThrow(/gzip/);
    const one = writeCsv('one.csv', ['id,v,y', '1,control,1', '2,control,0']);
    await expect(analyzeCsv(one, { unit: 'id', variant: 'v', metric: 'y' })).rejects.toThrow(/at least two variants/);
  });

  it('parses --weights as a list in variant order or as name=weight pairs', () => {
    expect(parseWeights('0.2,0.8', ['control', 'b'])).toEqual({ control: 0.2, b: 0.8 });
    expect(parseWeights('b=3, control=1', ['control', 'b'])).toEqual({ b: 3, control: 1 });
    expect(() => parseWeights('0.5', ['control', 'b'])).toThrow(ValidationError);
    expect(() => parseWeights('0.5,-1', ['control', 'b'])).toThrow(ValidationError);
  });

  it('--help documents the options', async () => {
    const text = await run(['--help']);
    expect(text).toContain('--ratio-denominator');
    expect(text).toContain('--dedupe');
  });
});
