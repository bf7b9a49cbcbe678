// gigintel dataset build|list|show|export: point-in-time training sets from the CLI.
import { Command } from 'commander';
import { ValidationError } from '../../platform/errors/app-error.js';
import { configFrom, withPlatform } from '../../services/cli/cli-context.js';
import { DATASET_KINDS, type BuildPhase, type DatasetKind, type DatasetSnapshot } from './build-dataset.js';

/** An ISO 8601 date or date-time (UTC unless it says otherwise) as UTC ms; a clear error naming the option otherwise. */
export function parseTime(value: string | undefined, option: string): number {
  const ms = value && /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)
    ? Date.parse(/[T ]/.test(value) && !/(Z|[+-]\d{2}:?\d{2})$/.test(value) ? `${value}Z` : value) : NaN;
  if (!Number.isFinite(ms)) {
    throw new ValidationError(`--${option} must be an ISO 8601 date or time, e.g. 2026-11-01 or 2026-11-01T00:00:00Z (got ${JSON.stringify(value ?? '')})`,
      [{ path: option, message: 'must be an ISO 8601 date or time' }]);
  }
  return ms;
}

const iso = (ms: number) => new Date(ms).toISOString();
const pct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(2)}%`);

export function datasetCommand(): Command {
  const cmd = new Command('dataset').description('point-in-time training sets: build, list, show, export');

  cmd.command('build')
    .description('join labels with feature values as they were at label time (event and created time ≤ label time, within TTL) into a snapshot')
    .argument('<kind>', `one of ${DATASET_KINDS.join(', ')}`)
    .requiredOption('--from <time>', 'window start, ISO 8601 (inclusive)')
    .requiredOption('--to <time>', 'window end, ISO 8601 (exclusive)')
    .option('--as-of-created', 'also leave out labels whose source rows were ingested after --to (the set as it could have been built when the window closed)')
    .action(async function (this: Command, kind: string, o: { from: string; to: string; asOfCreated?: boolean }) {
      if (!DATASET_KINDS.includes(kind as DatasetKind)) {
        throw new ValidationError(`unknown dataset kind "${kind}"; one of ${DATASET_KINDS.join(', ')}`, [{ path: 'kind', message: `must be one of ${DATASET_KINDS.join(', ')}` }]);
      }
      const from = parseTime(o.from, 'from'), to = parseTime(o.to, 'to');
      if (to <= from) throw new ValidationError('--to must be after --from', [{ path: 'to', message: 'must be after from' }]);
      const config = configFrom(this);
      const { buildDataset } = await import('./build-dataset.js');
      const progress = await progressBar();
      try {
        const { snapshot, created } = await withPlatform(config, {}, (p) => buildDataset(
          { db: p.db.db, dataDir: config.data.dir }, { kind: kind as DatasetKind, from, to, asOfCreated: o.asOfCreated ?? false }, progress.update));
        progress.stop();
        process.stdout.write(`${created ? 'built' : 'already built'} ${snapshot.id}: ${snapshot.rowCount} rows, label rate ${pct(snapshot.labelRate)}, ` +
          `${snapshot.columns.length} columns, ${(snapshot.byteSize / 1e6).toFixed(1)} MB, ${(snapshot.buildMs / 1000).toFixed(1)} s\n`);
      } finally {
        progress.stop();
      }
    });

  cmd.command('list')
    .description('the latest snapshots, newest first')
    .option('--kind <kind>', `only ${DATASET_KINDS.join(' or ')}`)
    .option('--json', 'print JSON')
    .action(async function (this: Command, o: { kind?: string; json?: boolean }) {
      if (o.kind && !DATASET_KINDS.includes(o.kind as DatasetKind)) throw new ValidationError(`--kind must be one of ${DATASET_KINDS.join(', ')}`, [{ path: 'kind', message: 'unknown kind' }]);
      const config = configFrom(this);
      const { listDatasets } = await import('./build-dataset.js');
      const list = await withPlatform(config, {}, (p) => listDatasets({ db: p.db.db }, o.kind ? { kind: o.kind as DatasetKind } : {}));
      if (o.json) { process.stdout.write(`${JSON.stringify(list, null, 2)}\n`); return; }
      if (list.length === 0) { process.stdout.write('no dataset snapshots\n'); return; }
      for (const s of list) {
        process.stdout.write(`${s.id}  ${s.kind.padEnd(8)} ${iso(s.from)} → ${iso(s.to)}  ${String(s.rowCount).padStart(9)} rows  label rate ${pct(s.labelRate)}\n`);
      }
    });

  cmd.command('show')
    .description('one snapshot: lineage, hashes, columns and null rates')
    .argument('<id>', 'snapshot id (ds_<kind>_<time>_<hash>)')
    .option('--json', 'print JSON')
    .action(async function (this: Command, id: string, o: { json?: boolean }) {
      const config = configFrom(this);
      const { getDataset } = await import('./build-dataset.js');
      const s = await withPlatform(config, {}, (p) => getDataset({ db: p.db.db }, id));
      process.stdout.write(o.json ? `${JSON.stringify(s, null, 2)}\n` : describe(s));
    });

  cmd.command('export')
    .description('write a snapshot\'s rows to CSV (after checking its content hash)')
    .argument('<id>', 'snapshot id')
    .requiredOption('--csv <file>', 'the CSV file to write')
    .action(async function (this: Command, id: string, o: { csv: string }) {
      const config = configFrom(this);
      const { loadDataset } = await import('./build-dataset.js');
      const { writeCsv } = await import('./dataset-file.js');
      const rows = await withPlatform(config, {}, async (p) => writeCsv((await loadDataset({ db: p.db.db, dataDir: config.data.dir }, id)).table, o.csv));
      process.stdout.write(`${id}: ${rows} rows written to ${o.csv}\n`);
    });
  return cmd;
}

function describe(s: DatasetSnapshot): string {
  const lines = [
    `${s.id} (${s.kind})`,
    `  window        ${iso(s.from)} → ${iso(s.to)}${s.asOfCreated ? ' (as of created: labels ingested by the window end)' : ''}`,
    `  built         ${iso(s.createdAt)} in ${(s.buildMs / 1000).toFixed(1)} s`,
    `  rows          ${s.rowCount}, label rate ${pct(s.labelRate)}`,
    `  content hash  ${s.contentHash} (${s.storagePath}, ${s.byteSize} bytes)`,
    `  feature sets  ${s.featureSetHash}`,
    ...s.featureSets.map((f) => `    ${f.name}@v${f.version}  ${f.schemaHash}`),
    '  columns (null rate for features)',
    ...s.columns.map((c) => `    ${c.name.padEnd(48)} ${c.type.padEnd(6)} ${c.role}${c.role === 'feature' ? `  ${pct(s.nullRates[c.name] ?? 0)}` : ''}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** A bar per phase on a terminal (stderr); nothing otherwise. */
async function progressBar(): Promise<{ update: (phase: BuildPhase, done: number, total: number, detail?: string) => void; stop: () => void }> {
  if (!process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const { SingleBar, Presets } = await import('cli-progress');
  const bar = new SingleBar({ stream: process.stderr, hideCursor: true, clearOnComplete: true, format: '{phase} {bar} {value}/{total} {detail}' }, Presets.shades_classic);
  let phase: BuildPhase | null = null;
  let stopped = false;
  return {
    update: (p, done, total, detail = '') => {
      if (stopped) return;
      if (p !== phase) { if (phase) bar.stop(); bar.start(Math.max(total, 1), done, { phase: p.padEnd(7), detail }); phase = p; }
      bar.setTotal(Math.max(total, 1));
      bar.update(done, { phase: p.padEnd(7), detail });
    },
    stop: () => { if (!stopped) { stopped = true; if (phase) bar.stop(); } },
  };
}
