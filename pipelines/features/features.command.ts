// gigintel features list|describe: the feature sets declared in code, as a table or one set in full.
// list and describe need no database (the catalog is code); drift computes a drift report.
import { Command, InvalidArgumentError } from 'commander';
import { featureSetId, schemaHash } from './feature-set.js';
import { FEATURE_SETS, featureSet } from './definitions/catalog.js';

function versionArg(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError('must be a whole number ≥ 1');
  return Number(v);
}

const ttl = (ms: number | null): string => {
  if (ms === null) return 'none';
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
};

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

export function featuresCommand(): Command {
  const cmd = new Command('features').description('the feature sets declared in code, and their drift');
  cmd.command('list')
    .description('every feature set version: entity, source, number of features, schema hash prefix')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) => {
      const sets = FEATURE_SETS.map((s) => ({
        id: featureSetId(s), name: s.name, version: s.version, entity: s.entity, source: s.source,
        features: s.features.length, batch: s.batch !== undefined, schemaHash: schemaHash(s),
      }));
      if (o.json) { process.stdout.write(`${JSON.stringify(sets, null, 2)}\n`); return; }
      process.stdout.write(table([['SET', 'ENTITY', 'SOURCE', 'FEATURES', 'BATCH', 'SCHEMA'],
        ...sets.map((s) => [s.id, s.entity, s.source, String(s.features), s.batch ? 'yes' : 'no', s.schemaHash.slice(0, 12)])]));
    });
  cmd.command('describe')
    .description('every feature of one set: name, type, TTL, description')
    .argument('<name>', 'feature set name (see `gigintel features list`)')
    .option('--version <n>', 'set version (default: the latest)', versionArg)
    .option('--json', 'print JSON')
    .action((name: string, o: { version?: number; json?: boolean }) => {
      const s = featureSet(name, o.version); // unknown → NotFoundError: message and exit 2
      const features = s.features.map((f) => ({ name: f.name, type: f.type, ttlMs: f.ttlMs, description: f.description, explained: f.explain !== undefined }));
      const hash = schemaHash(s);
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ name: s.name, version: s.version, entity: s.entity, source: s.source, description: s.description, schemaHash: hash, batch: s.batch !== undefined, features }, null, 2)}\n`);
        return;
      }
      process.stdout.write(`${featureSetId(s)}  entity ${s.entity}, source ${s.source}${s.batch ? ', batch-computable' : ''}\n${s.description}\nschema ${hash}\n\n`);
      process.stdout.write(table([['FEATURE', 'TYPE', 'TTL', 'DESCRIPTION'],
        ...features.map((f) => [f.name + (f.explained ? ' *' : ''), f.type, ttl(f.ttlMs), f.description])]));
      if (features.some((f) => f.explained)) process.stdout.write('\n* keeps readable parts for explanations\n');
    });
  cmd.command('drift')
    .description('population stability index per feature: a training snapshot vs the values served now (stored; GET /v1/features/drift serves the latest)')
    .option('--dataset <id>', 'the snapshot to compare with (default: the latest of each kind)')
    .option('--json', 'print the report as JSON')
    .action(async function (this: Command, o: { dataset?: string; json?: boolean }) {
      const { configFrom, withPlatform } = await import('../../services/cli/cli-context.js');
      await withPlatform(configFrom(this), {}, async (_p, services) => {
        const report = await services.drift.compute(o.dataset ? { datasetId: o.dataset } : {});
        if (o.json) { process.stdout.write(`${JSON.stringify(report, null, 2)}\n`); return; }
        process.stdout.write(`compared with ${report.datasets.join(', ')}: ${report.summary.drift} drifted, ${report.summary.warning} to watch, ${report.summary.stable} stable, ${report.summary.insufficient} with too few values\n\n`);
        process.stdout.write(table([['SET', 'FEATURE', 'PSI', 'STATUS', 'REFERENCE', 'CURRENT'],
          ...report.features.map((f) => [`${f.featureSet}@v${f.version}`, f.feature, f.psi === null ? '-' : f.psi.toFixed(4), f.status, String(f.referenceRows), String(f.currentRows)])]));
      });
    });
  return cmd;
}
