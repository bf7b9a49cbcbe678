// gigintel audit --csv: a generated CSV of predictions through the command, table and JSON output,
// and errors that name the line and column of a bad value.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { ValidationError } from '../../../../platform/errors/app-error.js';
import { uniform } from '../../../../pipelines/synthetic/random.js';
import { auditCommand, auditCsv, readPredictionsCsv } from '../../../../services/scoring/fairness/audit.command.js';
import type { ClassificationReport } from '../../../../services/scoring/fairness/classification-metrics.js';

const dir = mkdtempSync(join(tmpdir(), 'gigintel-audit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => { vi.restoreAllMocks(); });

/** The command as the CLI mounts it, stdout captured. */
async function run(args: string[]): Promise<string> {
  let stdout = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => { stdout += String(chunk); return true; });
  const cli = new Command('gigintel').option('-c, --config <file>').exitOverride().addCommand(auditCommand());
  cli.commands.forEach((c) => c.exitOverride().configureOutput({ writeOut: (s) => { stdout += s; }, writeErr: () => {} }));
  try {
    await cli.parseAsync(['node', 'gigintel', 'audit', ...args]);
  } finally {
    vi.restoreAllMocks();
  }
  return stdout;
}

// 400 rows: group "a" scored higher than "b" on purpose, labels drawn from the scores.
const rand = uniform('audit-csv');
const rows = Array.from({ length: 400 }, (_, i) => {
  const group = i % 3 === 0 ? 'b' : 'a';
  const region = rand() < 0.5 ? 'north' : 'south';
  const score = Math.min(1, Math.max(0, rand() * 0.8 + (group === 'a' ? 0.2 : 0)));
  const y = rand() < score ? 1 : 0;
  return { y, score: Number(score.toFixed(4)), group, region };
});
const csv = join(dir, 'predictions.csv');
writeFileSync(csv, `id,y,score,group,region\n${rows.map((r, i) => `${i},${r.y},${r.score},${r.group},${r.region}`).join('\n')}\n`);

describe('gigintel audit --csv', () => {
  it('reads the columns and computes what a direct count gives', async () => {
    const report = await auditCsv(csv, { label: 'y', pred: 'score', sensitive: ['group'] });
    expect(report.rows).toBe(400);
    expect(report.threshold).toBe(0.5);
    for (const g of ['a', 'b']) {
      const mine = rows.filter((r) => r.group === g);
      const sel = mine.filter((r) => r.score >= 0.5).length / mine.length;
      const pos = mine.filter((r) => r.y === 1);
      const got = report.byAttribute.group!.groups.find((x) => x.group === g)!;
      expect(got.count).toBe(mine.length);
      expect(got.selectionRate).toBeCloseTo(sel, 12);
      expect(got.truePositiveRate).toBeCloseTo(pos.filter((r) => r.score >= 0.5).length / pos.length, 12);
    }
    const [a, b] = report.byAttribute.group!.groups;
    expect(report.byAttribute.group!.demographicParityDifference).toBeCloseTo(a!.selectionRate - b!.selectionRate, 12);
    expect(a!.selectionRate).toBeGreaterThan(b!.selectionRate); // the generated bias shows
  });

  it('prints a readable table, and JSON with --json, with several attributes and a threshold', async () => {
    const text = await run(['--csv', csv, '--label', 'y', '--pred', 'score', '--sensitive', 'group', '--sensitive', 'region']);
    expect(text).toMatch(/^rows 400, selected when score ≥ 0\.5/m);
    expect(text).toMatch(/^group:\n {2}group +count +selection +TPR +FPR +mean pred +frac pos +ECE\n {2}a +\d+ /m);
    expect(text).toContain('demographic parity difference');
    expect(text).toMatch(/^group × region:/m);
    const json = JSON.parse(await run(['--csv', csv, '--label', 'y', '--pred', 'score', '--sensitive', 'group', '--threshold', '0.7', '--json'])) as ClassificationReport;
    expect(json.threshold).toBe(0.7);
    const a = rows.filter((r) => r.group === 'a');
    expect(json.byAttribute.group!.groups[0]!.selectionRate).toBeCloseTo(a.filter((r) => r.score >= 0.7).length / a.length, 12);
  });

  it('treats 0/1 predictions as decisions', async () => {
    const file = join(dir, 'decisions.csv');
    writeFileSync(file, 'y,p,g\n1,1,x\n0,1,x\n1,0,y\n0,0,y\n');
    const r = await auditCsv(file, { label: 'y', pred: 'p', sensitive: ['g'] });
    expect(r.threshold).toBeNull();
    expect(r.overall.calibration).toBeNull();
    expect(r.byAttribute.g!.demographicParityDifference).toBe(1);
  });

  it('names the line and column of bad values, and missing columns', async () => {
    const file = join(dir, 'bad.csv');
    const lines = ['y,score,group', ...Array.from({ length: 15 }, () => '1,0.4,a'), '0,high,b', '2,0.1,a'];
    writeFileSync(file, `${lines.join('\n')}\n`);
    const err = await readPredictionsCsv(file, { label: 'y', pred: 'score', sensitive: ['group'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).problems).toEqual([
      { path: 'line 17, column score', message: 'prediction must be a number, got "high"' },
      { path: 'line 18, column y', message: 'label must be 0/1 (or true/false, yes/no), got "2"' },
    ]);
    const cols = await auditCsv(file, { label: 'label', pred: 'score', sensitive: ['sex'] }).catch((e: unknown) => e) as ValidationError;
    expect(cols.problems.map((p) => p.path)).toEqual(['--label', '--sensitive']);
    expect(cols.problems[0]!.message).toContain('no column "label" in the header (columns: y, score, group)');
    const missing = await auditCsv(join(dir, 'nope.csv'), { label: 'y', pred: 'score', sensitive: ['g'] }).catch((e: unknown) => e) as ValidationError;
    expect(missing.message).toContain('no such file');
  });

  it('refuses mixed forms and missing flags, and has --help', async () => {
    await expect(run(['--csv', csv, '--label', 'y', '--pred', 'score'])).rejects.toThrow('--csv needs --sensitive');
    await expect(run(['matching-ranker', '--csv', csv, '--label', 'y', '--pred', 'score', '--sensitive', 'group'])).rejects.toThrow('not both');
    await expect(run(['--csv', csv, '--label', 'y', '--pred', 'score', '--sensitive', 'group', '--version', '2'])).rejects.toThrow('--version applies to live audits');
    await expect(run([])).rejects.toThrow('give a model name, or --csv');
    let help = '';
    await run(['--help']).catch((e: { code?: string }) => { help = e.code ?? ''; });
    expect(help).toBe('commander.helpDisplayed');
  });
});
