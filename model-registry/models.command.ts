// gigintel models list | show | compare | promote | rollback | history: the registry from the
// command line, over the same service as the API. The CLI runs with database access, so it may
// --force (an admin right over HTTP); every move is recorded with the operating-system user.
import { userInfo } from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import type { Actor } from '../platform/audit/audit-log.js';
import { configFrom, withPlatform } from '../services/cli/cli-context.js';
import type { GateVerdict } from './gates.js';
import type { AliasMove, RegistryService } from './registry.service.js';

function positive(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError('must be a version number (1, 2, …)');
  return Number(v);
}
function limitArg(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 1000) throw new InvalidArgumentError('must be a whole number from 1 to 1000');
  return Number(v);
}
function expectArg(v: string): number | null {
  if (v === 'none') return null;
  return positive(v);
}

const cliActor = (): Actor => ({ type: 'cli', id: userInfo().username });
const out = (line: string) => process.stdout.write(`${line}\n`);
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

function table(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  for (const line of [head, ...rows]) out(line.map((c, i) => (c ?? '').padEnd(widths[i]!)).join('  ').trimEnd());
}


function withRegistry(cmd: Command, fn: (r: RegistryService) => Promise<void>): Promise<void> {
  const config = configFrom(cmd);
  return withPlatform(config, {}, (platform, services) => fn(services.registry));
}

function printMove(m: AliasMove): void {
  out(`${m.model}/${m.alias}: ${m.fromVersion === null ? '(unset)' : `v${m.fromVersion}`} → v${m.toVersion} (${m.kind}${m.forced ? ', forced' : ''}) #${m.id}`);
  if (m.gates) printGates(m.gates);
}

function printGates(v: GateVerdict): void {
  for (const c of v.checks) out(`  ${c.passed ? 'pass' : 'FAIL'}  ${c.name.padEnd(48)} ${c.message}`);
}

export function modelsCommand(): Command {
  const models = new Command('models')
    .description('the model registry: registered models, versions, aliases (champion…), promotion gates, history and rollback')
    .addHelpText('after', '\nExamples:\n  gigintel models list\n  gigintel models show matching-ranker --version 3\n  gigintel models compare matching-ranker 2 3\n  gigintel models promote matching-ranker 3 --reason "better AUC"\n  gigintel models rollback matching-ranker --reason "CTR dropped"\n  gigintel models history matching-ranker --alias champion');

  models.command('list')
    .description('registered models with their latest version and aliases')
    .option('--json', 'one JSON object per line')
    .action(async function (this: Command, o: { json?: boolean }) {
      await withRegistry(this, async (r) => {
        const all = await r.listModels({ limit: 1000 });
        if (o.json) { for (const m of all) out(JSON.stringify(m)); return; }
        if (all.length === 0) { out('no registered models (train one with gigintel train, or POST /v1/models)'); return; }
        table(['model', 'latest', 'aliases', 'description'], all.map((m) => [
          m.name, m.latestVersion === null ? '-' : `v${m.latestVersion}`,
          Object.entries(m.aliases).map(([a, v]) => `${a}=v${v}`).join(' '), m.description,
        ]));
      });
    });

  models.command('show')
    .description('one model and its versions, or one version in full with --version')
    .argument('<model>', 'the model name, e.g. matching-ranker')
    .option('--version <n>', 'show this version: lineage, metrics, fairness, gates for champion', positive)
    .option('--json', 'JSON output')
    .action(async function (this: Command, name: string, o: { version?: number; json?: boolean }) {
      await withRegistry(this, async (r) => {
        if (o.version !== undefined) {
          const v = await r.getVersion(name, o.version);
          const gates = v.status === 'ready' ? await r.checkGates(name, o.version, 'champion') : null;
          if (o.json) { out(JSON.stringify({ ...v, championGates: gates })); return; }
          out(`${v.model} v${v.version}  ${v.status}${v.statusReason ? ` (${v.statusReason})` : ''}${v.aliases.length ? `  [${v.aliases.join(', ')}]` : ''}`);
          out(`  algorithm     ${v.algorithm} ${JSON.stringify(v.hyperparameters)}`);
          out(`  feature sets  ${v.featureSets.map((f) => `${f.name}@v${f.version} (${f.schemaHash.slice(0, 12)})`).join(', ') || '-'}`);
          out(`  dataset       ${v.dataset ? `${v.dataset.id} (${v.dataset.contentHash.slice(0, 12)})` : '-'}`);
          out(`  code          ${v.codeVersion}`);
          out(`  artifact      ${v.artifact ? `${v.artifact.format}, ${v.artifact.bytes} bytes, sha256 ${v.artifact.sha256}` : '-'}`);
          out(`  created       ${iso(v.createdAt)} by ${v.createdBy}`);
          out(`  metrics       ${Object.entries(v.metrics).map(([k, x]) => `${k}=${x}`).join('  ')}`);
          for (const [attr, f] of Object.entries(v.fairness ?? {})) {
            out(`  fairness ${attr}: DI ratio ${f.disparateImpactRatio ?? 'n/a'}, DP diff ${f.demographicParityDifference}, EO diff ${f.equalOpportunityDifference}, EOdds diff ${f.equalizedOddsDifference}`);
          }
          if (gates) { out(`  gates for champion: ${gates.passed ? 'pass' : 'FAIL'}`); printGates(gates); }
          return;
        }
        const m = await r.getModel(name);
        const versions = await r.listVersions(name, { limit: 50 });
        if (o.json) { out(JSON.stringify({ ...m, versions })); return; }
        out(`${m.name}: ${m.description || '(no description)'}${Object.keys(m.tags).length ? `  tags ${JSON.stringify(m.tags)}` : ''}`);
        table(['version', 'status', 'algorithm', 'auc', 'aliases', 'created', 'by'], versions.map((v) => [
          `v${v.version}`, v.status, v.algorithm, v.metrics.auc === undefined ? '-' : String(v.metrics.auc), v.aliases.join(' '), iso(v.createdAt), v.createdBy,
        ]));
      });
    });

  models.command('compare')
    .description('two versions side by side: metrics, fairness, feature importance, calibration (delta = b − a)')
    .argument('<model>', 'the model name')
    .argument('<a>', 'version a', positive)
    .argument('<b>', 'version b', positive)
    .option('--json', 'JSON output')
    .action(async function (this: Command, name: string, a: number, b: number, o: { json?: boolean }) {
      await withRegistry(this, async (r) => {
        const c = await r.compare(name, a, b);
        if (o.json) { out(JSON.stringify(c)); return; }
        const f = (x: number | null) => (x === null ? '-' : String(x));
        const d = (x: number | null) => (x === null ? '-' : `${x > 0 ? '+' : ''}${x}`);
        table(['metric', `v${a}`, `v${b}`, 'delta'], c.metrics.map((m) => [m.name, f(m.a), f(m.b), d(m.delta)]));
        out('');
        table(['fairness', 'measure', `v${a}`, `v${b}`, 'delta'], c.fairness.map((m) => [m.attribute, m.measure, f(m.a), f(m.b), d(m.delta)]));
        out('');
        table(['feature', `rank v${a}`, `rank v${b}`, `v${a}`, `v${b}`, 'delta'], c.importance.slice(0, 30).map((m) => [m.feature, f(m.rankA), f(m.rankB), f(m.a), f(m.b), d(m.delta)]));
        out('');
        out(`calibration (ECE): v${a} ${f(c.calibration.ece.a)}  v${b} ${f(c.calibration.ece.b)}  delta ${d(c.calibration.ece.delta)}`);
      });
    });

  models.command('promote')
    .description('point an alias (default champion) at a version, behind the promotion gates')
    .argument('<model>', 'the model name')
    .argument('<version>', 'the version to promote', positive)
    .option('--alias <alias>', 'the alias to move', 'champion')
    .option('--reason <text>', 'why (recorded in the history)')
    .option('--expect <version>', 'compare-and-set: only if the alias points at this version now ("none": unset)', expectArg)
    .option('--force', 'override failed gates (needs --reason; recorded as forced); a version that is not ready is never promoted')
    .option('--json', 'JSON output')
    .addHelpText('after', '\nA failed gate exits 2 and lists every failed check with what was required and by how much.\n`gigintel models show <model> --version <n>` shows the gates without moving anything.')
    .action(async function (this: Command, name: string, version: number, o: { alias: string; reason?: string; expect?: number | null; force?: boolean; json?: boolean }) {
      await withRegistry(this, async (r) => {
        const move = await r.promote({
          model: name, alias: o.alias, version, ...(o.reason ? { reason: o.reason } : {}), ...(o.expect !== undefined ? { expectedVersion: o.expect } : {}), ...(o.force ? { force: true } : {}),
        }, cliActor(), { canForce: true });
        if (o.json) out(JSON.stringify(move)); else printMove(move);
      });
    });

  models.command('rollback')
    .description('move an alias back to the version it pointed at before, in one call (recorded as a rollback)')
    .argument('<model>', 'the model name')
    .option('--alias <alias>', 'the alias to roll back', 'champion')
    .requiredOption('--reason <text>', 'why (recorded in the history)')
    .option('--json', 'JSON output')
    .action(async function (this: Command, name: string, o: { alias: string; reason: string; json?: boolean }) {
      await withRegistry(this, async (r) => {
        const move = await r.rollback({ model: name, alias: o.alias, reason: o.reason }, cliActor());
        if (o.json) out(JSON.stringify(move)); else printMove(move);
      });
    });

  models.command('history')
    .description('alias moves and rollbacks, newest first: who, when, from, to, why, gates, forced')
    .argument('<model>', 'the model name')
    .option('--alias <alias>', 'only this alias')
    .option('--limit <n>', 'how many entries (default 50)', limitArg)
    .option('--json', 'one JSON object per line')
    .action(async function (this: Command, name: string, o: { alias?: string; limit?: number; json?: boolean }) {
      await withRegistry(this, async (r) => {
        const h = await r.history({ model: name, ...(o.alias ? { alias: o.alias } : {}), limit: o.limit ?? 50 });
        if (o.json) { for (const m of h) out(JSON.stringify(m)); return; }
        if (h.length === 0) { out(`no alias moves for ${name}`); return; }
        table(['#', 'at', 'alias', 'kind', 'from', 'to', 'gates', 'by', 'reason'], h.map((m) => [
          String(m.id), iso(m.at), m.alias, m.kind, m.fromVersion === null ? '-' : `v${m.fromVersion}`, `v${m.toVersion}`,
          m.gates === null ? '-' : m.forced ? 'FORCED' : m.gates.passed ? 'pass' : 'fail', `${m.actor.type}:${m.actor.id}`, m.reason,
        ]));
      });
    });

  return models;
}
