// Figure for issue #7: the analysis of an experiment with 10,000,000 exposures and three metrics
// on MySQL (target < 30 s), and the same analysis in pandas + scipy as the peer, in the same run.
// Run: npm run bench -- bench/experiments-analysis.ts [sizes in millions, default "1,10"] [--explain] [--keep] [--proposed] [--runs=2]
// Per size: a fresh MySQL database (migrated), an experiment created and started through the
// service (unit user, 2 variants; primary events.converted, secondary events.revenue.sum, guardrail
// events.latency_ms.sum), seeded exposures and events written to CSV and bulk-loaded with LOAD DATA
// LOCAL INFILE (load time reported, not the figure), then experiments.analyze() twice (first
// run after the load, then warm), each SQL statement timed. The peer reads the same CSVs and
// does the same joins, caps and Welch t-tests; both sides' per-variant means must agree to 1e-9.
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, type WriteStream } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import { createConnection, type Connection } from 'mysql2/promise';
import { createExperimentService, type ExperimentReport } from '../experiments/experiment.service.js';
import { metricDefinition } from '../experiments/metrics/metric-catalog.js';
import { createAuditLog } from '../platform/audit/audit-log.js';
import { createDatabase, type DatabaseHandle, type Db } from '../platform/db/database.js';
import { createMigrationRunner, loadMigrationFiles } from '../platform/db/migrator.js';
import { createLogger } from '../platform/logging/logger.js';
import { createInlineQueue } from '../platform/queue/inline-queue.js';
import { Random } from '../pipelines/synthetic/random.js';
import { createMysqlDatabase, dropMysqlDatabase, uniqueName } from '../tests/helpers/test-env.js';

const TARGET_S = 30;
const args = process.argv.slice(2);
const EXPLAIN = args.includes('--explain');
/** Leaves the database in place (its name printed) to try query shapes by hand; drop it afterwards. */
const KEEP = args.includes('--keep');
/** Also times the query shape proposed for the repository (see proposedShape), with and without a covering index. */
const PROPOSED = args.includes('--proposed');

/** How many times the service analyses each size (2: first after the load, then warm); 0 with --proposed at sizes it cannot finish in time. */
const RUNS = Number(args.find((a) => a.startsWith('--runs='))?.slice('--runs='.length) ?? 2);
const SIZES = (args.find((a) => !a.startsWith('--')) ?? '1,10').split(',').map((m) => Math.round(Number(m) * 1_000_000));
const DAY = 86_400_000;
/** The service's default CUPED window (experiment.service.ts). */
const COVARIATE_WINDOW_MS = 14 * DAY;
const T0 = Date.UTC(2026, 9, 1);
/** The analysis time: exposures run 14 days, conversions trail, so a few facts fall after it. */
const TO = T0 + 21 * DAY;
const KEY = 'checkout-redesign';
const METRICS = { primary: 'events.converted', secondary: 'events.revenue.sum', guardrail: 'events.latency_ms.sum' };
const actor = { type: 'system', id: 'bench' } as const;

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const unitId = (i: number) => `user_${i.toString(36).padStart(5, '0')}`;

/** Writes lines through a stream in 64k-line chunks, waiting for drain. */
async function writeLines(out: WriteStream, lines: Iterable<string>): Promise<void> {
  let buf: string[] = [];
  const flush = async () => {
    if (!out.write(buf.join(''))) await new Promise<void>((r) => out.once('drain', () => r()));
    buf = [];
  };
  for (const l of lines) { buf.push(l); if (buf.length === 65_536) await flush(); }
  await flush();
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

/**
 * Seeded data: units sorted by id (a warehouse export) with a variant (50/50) and a first exposure
 * over 14 days; ~3% converted before exposure (left out, CUPED's covariate), ~12% (control) and
 * ~12.4% (treatment) convert after it with a purchase of lognormal value (a fifth buy twice), and
 * every unit has one latency measure. Events are written in time order, as a fact table fills.
 */
async function writeData(dir: string, n: number): Promise<{ events: number }> {
  const r = new Random('bench-experiments-analysis', String(n));
  const variant = new Uint8Array(n);
  const exposedAt = new Float64Array(n);
  const cap = Math.ceil(n * 1.45) + 16;
  const evUnit = new Uint32Array(cap), evName = new Uint8Array(cap), evValue = new Float64Array(cap), evAt = new Float64Array(cap);
  let m = 0;
  const push = (unit: number, name: number, value: number, at: number) => { evUnit[m] = unit; evName[m] = name; evValue[m] = value; evAt[m] = at; m++; };
  for (let i = 0; i < n; i++) {
    const v = r.next() < 0.5 ? 0 : 1;
    const at = T0 + Math.floor(r.next() * 14 * DAY);
    variant[i] = v; exposedAt[i] = at;
    if (r.next() < 0.03) push(i, 0, 1, at - 1 - Math.floor(r.next() * 10 * DAY));
    if (r.next() < (v ? 0.124 : 0.12)) {
      const bought = at + Math.floor(r.exponential(3 * DAY));
      push(i, 0, 1, bought);
      push(i, 1, Math.round(r.logNormal(3.6 + v * 0.02, 1.1) * 100) / 100, bought);
      if (r.next() < 0.2) push(i, 1, Math.round(r.logNormal(3.6, 1.1) * 100) / 100, bought + Math.floor(r.exponential(5 * DAY)));
    }
    push(i, 2, Math.round(r.logNormal(Math.log(180) + v * 0.01, 0.4)), at + Math.floor(r.next() * 60_000));
  }
  await writeLines(createWriteStream(join(dir, 'exposures.csv')), (function* () {
    yield 'unit_id,variant,exposed_at\n';
    for (let i = 0; i < n; i++) yield `${unitId(i)},${variant[i]},${exposedAt[i]}\n`;
  })());
  const order = new Uint32Array(m);
  for (let i = 0; i < m; i++) order[i] = i;
  order.sort((a, b) => evAt[a]! - evAt[b]! || a - b);
  const names = ['converted', 'revenue', 'latency_ms'];
  await writeLines(createWriteStream(join(dir, 'events.csv')), (function* () {
    yield 'name,unit_id,value,event_at\n';
    for (const k of order) yield `${names[evName[k]!]},${unitId(evUnit[k]!)},${evValue[k]},${evAt[k]}\n`;
  })());
  return { events: m };
}

/** The secondary indexes of the two tables, as the migrations define them: dropped for the load and built after it. */
const LOAD_INDEXES = [
  { table: 'experiment_exposure', name: 'experiment_exposure_variant', columns: '(experiment, phase, variant)' },
  { table: 'experiment_exposure', name: 'experiment_exposure_unit_key', columns: '(unit_key, experiment, phase, variant, exposed_at)' },
  { table: 'metric_event', name: 'metric_event_name_key', columns: '(name, unit_key, unit_id, event_at, value)' },
];

/** LOAD DATA LOCAL INFILE (the stored unit_key column is generated by the server as rows arrive). */
async function load(conn: Connection, dir: string): Promise<void> {
  for (const i of LOAD_INDEXES) await conn.query(`ALTER TABLE ${i.table} DROP INDEX ${i.name}`);
  await conn.query({
    sql: `LOAD DATA LOCAL INFILE ? INTO TABLE experiment_exposure FIELDS TERMINATED BY ',' LINES TERMINATED BY '\\n' IGNORE 1 LINES
      (unit_id, variant, exposed_at) SET experiment = ?, phase = 1`,
    values: [join(dir, 'exposures.csv'), KEY], infileStreamFactory: (p: string) => createReadStream(p),
  });
  await conn.query({
    sql: `LOAD DATA LOCAL INFILE ? INTO TABLE metric_event FIELDS TERMINATED BY ',' LINES TERMINATED BY '\\n' IGNORE 1 LINES (name, unit_id, value, event_at)`,
    values: [join(dir, 'events.csv')], infileStreamFactory: (p: string) => createReadStream(p),
  });
  for (const i of LOAD_INDEXES) await conn.query(`CREATE INDEX ${i.name} ON ${i.table} ${i.columns}`);
  await conn.query('ANALYZE TABLE experiment_exposure, metric_event');
}

/**
 * CPU seconds the local database server has used so far (utime + stime of mariadbd/mysqld from
 * /proc), or null when it is not on this machine: on a shared box the analysis's CPU time is the
 * steadier figure, set beside the peer's CPU time. Other clients' queries count too.
 */
function serverCpuSeconds(): number | null {
  for (const name of ['mariadbd', 'mysqld']) {
    const pid = spawnSync('pgrep', ['-xo', name], { encoding: 'utf8' }).stdout?.trim();
    if (!pid) continue;
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      return null;
    }
  }
  return null;
}

interface Statement { label: string; sql: string; parameters: readonly unknown[]; ms: number; rows: readonly UnknownRow[] }

/** Times every statement the service runs (transformQuery starts the clock, transformResult stops it). */
function statementTimer(db: Db): { plugin: KyselyPlugin; take(): Statement[] } {
  const open = new WeakMap<object, { started: number; node: RootOperationNode }>();
  let done: Statement[] = [];
  let metric = '';
  const label = (text: string, parameters: readonly unknown[]) => {
    if (text.startsWith('INSERT INTO gi_metric_units')) {
      // The metric: its event name (a parameter of the keyed join, a literal in the text one's facts).
      metric = /name = '([a-z0-9_-]+)'/.exec(text)?.[1] ?? String(parameters.find((p) => typeof p === 'string' && p !== KEY) ?? '?');
      return `metricUnits ${metric}: per-unit values (the join)`;
    }
    if (text.includes('ORDER BY x DESC LIMIT 1 OFFSET')) return `metricCap ${metric}: value at the percentile`;
    if (text.includes('ORDER BY x DESC LIMIT')) return `metricCap ${metric}: a part's values from the top`;
    if (text.includes('COUNT(*) AS n FROM')) return `metricCap ${metric}: count of units with a value`;
    if (text.includes('AS sxx')) return `metricSums ${metric}`;
    if (/count\(\*\)/i.test(text) && /group by/i.test(text)) return 'exposureCounts';
    return text.replace(/\s+/g, ' ').slice(0, 40);
  };
  const plugin: KyselyPlugin = {
    transformQuery(a: PluginTransformQueryArgs): RootOperationNode {
      open.set(a.queryId, { started: performance.now(), node: a.node });
      return a.node;
    },
    async transformResult(a: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
      const o = open.get(a.queryId);
      if (o) {
        const c = db.getExecutor().compileQuery(o.node, a.queryId);
        done.push({ label: label(c.sql, c.parameters), sql: c.sql, parameters: c.parameters, ms: performance.now() - o.started, rows: a.result.rows });
      }
      return a.result;
    },
  };
  return { plugin, take: () => { const d = done; done = []; return d; } };
}

interface PeerMetric { n: number[]; mean: number[]; cap: number | null; t: number; p: number }
interface PeerResult { analysis_ms: number; cpu_ms: number; read_ms: number; pandas: string; scipy: string; metrics: Record<string, PeerMetric> }

function runPeer(dir: string): PeerResult {
  const spec = { to: TO, metrics: Object.values(METRICS).map((k) => ({ key: k, name: k.split('.')[1], kind: k.endsWith('.sum') ? 'mean' : 'binomial', cap: k.endsWith('.sum') ? 0.99 : null })) };
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const peer = spawnSync(python, [new URL('./peers/experiments-analysis-peer.py', import.meta.url).pathname, dir, JSON.stringify(spec)], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (peer.status !== 0) throw new Error(`pandas peer failed:\n${peer.stderr}`);
  return JSON.parse(peer.stdout.trim().split('\n').pop()!) as PeerResult;
}

/** The relative differences of the per-variant means (gigintel's unadjusted ones) and the caps. */
function compare(report: ExperimentReport, peer: PeerResult): { worst: number; lines: string[] } {
  let worst = 0;
  const lines: string[] = [];
  const rel = (a: number, b: number) => (a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b)));
  for (const m of report.metrics) {
    const p = peer.metrics[m.metric];
    if (!p || !m.analysis) { worst = Infinity; lines.push(`${m.metric}: missing on one side`); continue; }
    const ours = m.analysis.variants.map((v) => v.unadjustedMean ?? v.mean);
    const ns = m.analysis.variants.map((v) => v.n);
    const diffs = ours.map((x, i) => rel(x, p.mean[i]!));
    const capDiff = m.cap === null && p.cap === null ? 0 : rel(m.cap ?? NaN, p.cap ?? NaN);
    const nSame = ns.every((x, i) => x === p.n[i]);
    worst = Math.max(worst, ...diffs, Number.isNaN(capDiff) ? Infinity : capDiff, nSame ? 0 : Infinity);
    const cmp = m.analysis.comparisons[0]!;
    lines.push(`${m.metric.padEnd(22)} means ${ours.map((x) => x.toPrecision(10)).join(' / ')} vs peer ${p.mean.map((x) => x.toPrecision(10)).join(' / ')} `
      + `(max rel. diff ${Math.max(...diffs).toExponential(1)}), cap ${m.cap ?? '–'} vs ${p.cap ?? '–'}, n ${nSame ? 'equal' : `${ns.join('/')} vs ${p.n.join('/')}`}; `
      + `p ${cmp.fixed.absolute.pValue?.toExponential(2)}${m.analysis.cuped ? ' (CUPED)' : ''} vs Welch ${p.p.toExponential(2)}`);
  }
  return { worst, lines };
}

async function explain(conn: Connection, statements: Statement[]): Promise<void> {
  const seen = new Set<string>();
  for (const st of statements) {
    // The SELECTs, and the SELECT of each per-unit INSERT (its temporary table is gone by now).
    const select = st.sql.replace(/^INSERT INTO \w+ \([^)]*\)\s*/, '');
    if (seen.has(st.label) || !/^\s*select/i.test(select) || select.includes('gi_metric_units')) continue;
    seen.add(st.label);
    const [rows] = await conn.query(`EXPLAIN ${select}`, st.parameters as unknown[]);
    console.log(`EXPLAIN ${st.label}`);
    for (const r of rows as Record<string, unknown>[]) {
      console.log(`  ${[r.id, r.select_type, r.table, r.type, r.key, r.key_len, r.ref, r.rows, r.Extra].map((x) => x ?? '').join(' | ')}`);
    }
  }
}

/**
 * The query shape proposed for the repository, timed on the same data (`--proposed`): per metric
 * ONE grouped pass over the facts joined to the exposures, computing a unit's post-exposure value
 * and its CUPED covariate together (conditional sums), into a narrow temporary table (variant, x,
 * c: no unit id kept), from which the cap and the per-variant sums are read. Grouping by the
 * exposure's primary key (not the fact's unit) lets the join run in that key's order with no
 * temporary table or filesort for the GROUP BY.
 * Units without facts add 0 to every sum, so n comes from the exposure counts, as analyze() has them.
 */
async function proposedShape(conn: Connection, covariateWindowMs: number): Promise<{ metric: string; ms: number; steps: string; sums: Map<number, number[]> }[]> {
  const out = [];
  for (const key of Object.values(METRICS)) {
    const def = metricDefinition(key);
    const facts = def.facts.replace(/"(\w+)"/g, '`$1`');
    const unitValue = (cond: string) => (def.kind === 'binomial'
      ? `CASE WHEN SUM(CASE WHEN ${cond} THEN f.num ELSE 0 END) > 0 THEN 1 ELSE 0 END`
      : `SUM(CASE WHEN ${cond} THEN f.num ELSE 0 END)`);
    const t0 = performance.now();
    await conn.query('DROP TEMPORARY TABLE IF EXISTS bench_unit_values');
    await conn.query(`CREATE TEMPORARY TABLE bench_unit_values AS
      SELECT MIN(e.variant) AS variant, ${unitValue('f.at >= e.exposed_at AND f.at < ?')} AS x, ${unitValue('f.at < e.exposed_at')} AS c
      FROM (${facts}) f JOIN experiment_exposure e ON e.experiment = ? AND e.unit_id = f.unit AND e.phase = 1
      WHERE f.at >= e.exposed_at - ? AND f.at < GREATEST(e.exposed_at, ?)
      GROUP BY e.unit_id`, [TO, KEY, covariateWindowMs, TO]);
    const t1 = performance.now();
    let cap: number | null = null;
    if (def.kind === 'mean' && def.defaultCap !== null) {
      const [[{ k }]] = await conn.query('SELECT COUNT(*) AS k FROM bench_unit_values WHERE x > 0') as unknown as [[{ k: number }]];
      if (Number(k) > 0) {
        const offset = Math.min(Number(k) - 1, Math.max(0, Math.ceil(def.defaultCap * Number(k)) - 1));
        const [[row]] = await conn.query('SELECT x FROM bench_unit_values WHERE x > 0 ORDER BY x LIMIT 1 OFFSET ?', [offset]) as unknown as [[{ x: number }]];
        cap = Number(row.x);
      }
    }
    const t2 = performance.now();
    const x = cap === null ? 'x' : `LEAST(x, ${cap})`, c = cap === null ? 'c' : `LEAST(c, ${cap})`;
    const [rows] = await conn.query(`SELECT variant, SUM(${x}) AS sx, SUM(${x} * ${x}) AS sxx, SUM(${c}) AS sc, SUM(${c} * ${c}) AS scc, SUM(${x} * ${c}) AS sxc
      FROM bench_unit_values GROUP BY variant ORDER BY variant`) as unknown as [Record<string, unknown>[]];
    const t3 = performance.now();
    await conn.query('DROP TEMPORARY TABLE bench_unit_values');
    out.push({
      metric: key, ms: t3 - t0, steps: `unit values ${s(t1 - t0)}, cap ${s(t2 - t1)}, sums ${s(t3 - t2)}`,
      sums: new Map(rows.map((r) => [Number(r.variant), ['sx', 'sxx', 'sc', 'scc', 'sxc'].map((f) => Number(r[f] ?? 0))])),
    });
  }
  return out;
}

/** The worst relative difference between the proposed shape's sums and the service's metricSums rows. */
function compareSums(service: Statement[], proposed: { metric: string; sums: Map<number, number[]> }[]): number {
  let worst = 0;
  for (const p of proposed) {
    const name = p.metric.split('.')[1];
    const st = service.find((x) => x.label === `metricSums ${name}`);
    if (!st) return Infinity;
    for (const r of st.rows) {
      const ours = ['sx', 'sxx', 'sc', 'scc', 'sxc'].map((f) => Number(r[f] ?? 0));
      const theirs = p.sums.get(Number(r.variant));
      if (!theirs) return Infinity;
      ours.forEach((a, i) => { const b = theirs[i]!; worst = Math.max(worst, a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b))); });
    }
  }
  return worst;
}

async function runSize(n: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gigintel-bench-analysis-'));
  const name = uniqueName('gi_bench_analysis');
  let handle: DatabaseHandle | undefined;
  let conn: Connection | undefined;
  try {
    console.log(`\n== ${n.toLocaleString('en')} exposures (load average ${loadavg().map((x) => x.toFixed(2)).join(' ')})`);
    let t = performance.now();
    const { events } = await writeData(dir, n);
    console.log(`data: ${n.toLocaleString('en')} exposures, ${events.toLocaleString('en')} events written to CSV in ${s(performance.now() - t)}`);

    const url = await createMysqlDatabase(name);
    handle = createDatabase({ url });
    await createMigrationRunner(handle.db, await loadMigrationFiles()).up();
    const timer = statementTimer(handle.db);
    const db = handle.db.withPlugin(timer.plugin);
    const log = createLogger({ level: 'silent' });
    const queue = createInlineQueue({ db: handle, log, defaults: { concurrency: 1, attempts: 1, backoffMs: 0, lockDurationMs: 30_000, pollIntervalMs: 1000 } });
    const experiments = createExperimentService({ db, audit: createAuditLog({ db: handle.db }), queue, log });
    await experiments.create({
      key: KEY, hypothesis: 'the redesigned checkout converts better without slowing pages', unitType: 'user',
      variants: [{ key: 'control' }, { key: 'treatment' }], primaryMetric: METRICS.primary, secondaryMetrics: [METRICS.secondary],
      guardrails: [{ metric: METRICS.guardrail, maxDegradation: 0.05 }],
    }, actor);
    await experiments.start(KEY, actor);

    const u = new URL(url);
    conn = await createConnection({ host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username || 'root'), password: decodeURIComponent(u.password), database: u.pathname.slice(1) });
    t = performance.now();
    await load(conn, dir);
    console.log(`load: LOAD DATA LOCAL INFILE + index builds + ANALYZE TABLE in ${s(performance.now() - t)} (not the figure)`);
    timer.take();

    const runs: { ms: number; statements: Statement[]; report: ExperimentReport }[] = [];
    for (const which of ['first (after the load)', 'second (warm)', 'third', 'fourth'].slice(0, RUNS)) {
      const la = loadavg()[0]!.toFixed(2);
      const cpu0 = serverCpuSeconds();
      t = performance.now();
      const report = await experiments.analyze(KEY, { trigger: 'manual', to: TO, act: false });
      const ms = performance.now() - t;
      const cpu1 = serverCpuSeconds();
      const statements = timer.take();
      runs.push({ ms, statements, report });
      console.log(`analyze ${which}: ${s(ms)} (load average ${la}${cpu0 !== null && cpu1 !== null ? `; database server CPU ${(cpu1 - cpu0).toFixed(2)} s` : ''})`);
      for (const st of statements) console.log(`  ${st.label.padEnd(52)} ${s(st.ms).padStart(9)}`);
    }
    if (EXPLAIN && runs[0]) await explain(conn, runs[0].statements);
    const [countRows] = await conn.query('SELECT COUNT(*) AS k FROM experiment_exposure WHERE experiment = ? AND phase = 1 GROUP BY variant ORDER BY variant', [KEY]) as unknown as [{ k: number }[]];
    const exposed = countRows.map((r) => Number(r.k));
    const proposedRuns: { index: string; ms: number; shape: Awaited<ReturnType<typeof proposedShape>> }[] = [];
    if (PROPOSED) {
      for (const index of ['existing indexes', 'covering index metric_event (name, unit_id, event_at, value)']) {
        if (index.startsWith('covering')) {
          t = performance.now();
          await conn.query('CREATE INDEX bench_metric_event_covering ON metric_event (name, unit_id, event_at, value)');
          console.log(`proposed: covering index built in ${s(performance.now() - t)}`);
        }
        const la = loadavg()[0]!.toFixed(2);
        const shape = await proposedShape(conn, COVARIATE_WINDOW_MS);
        const total = shape.reduce((a, x) => a + x.ms, 0) + (runs.at(-1)?.statements.find((x) => x.label === 'exposureCounts')?.ms ?? 0);
        proposedRuns.push({ index, ms: total, shape });
        const vsService = runs.length ? `; sums vs the service's: worst relative difference ${compareSums(runs.at(-1)!.statements, shape).toExponential(1)}` : '';
        console.log(`proposed shape, ${index}: ${s(total)}${runs.length ? ' with exposureCounts' : ''} (load average ${la})${vsService}`);
        for (const m of shape) console.log(`  ${m.metric.padEnd(22)} ${s(m.ms).padStart(9)} (${m.steps})`);
      }
    }

    const peer = runPeer(dir);
    console.log(`peer: pandas ${peer.pandas}, scipy ${peer.scipy}: analysis ${s(peer.analysis_ms)} (CPU ${s(peer.cpu_ms)}; CSV read ${s(peer.read_ms)} not counted)`);
    if (runs.length) {
      const { worst, lines } = compare(runs.at(-1)!.report, peer);
      for (const l of lines) console.log(`  ${l}`);
      const best = Math.min(...runs.map((x) => x.ms));
      console.log(`${n.toLocaleString('en')} exposures, 3 metrics: gigintel on MySQL ${runs.map((x) => s(x.ms)).join(' / ')}${runs.length === 2 ? ' (first / warm)' : ''}, pandas + scipy ${s(peer.analysis_ms)}; `
        + `gigintel / pandas = ${(best / peer.analysis_ms).toFixed(2)}× (best run)`
        + `${n >= 10_000_000 ? `; target < ${TARGET_S} s ${best < TARGET_S * 1000 ? 'PASS' : 'MISS'}` : ''}`);
      console.log(worst <= 1e-9 ? `results agree: per-variant means, caps and n within 1e-9 (worst ${worst.toExponential(1)})` : `RESULTS DIFFER (worst relative difference ${worst})`);
    }
    for (const p of proposedRuns) {
      // Means from the proposed sums and the exposure counts against the peer's.
      let worst = 0;
      for (const m of p.shape) {
        const peerMeans = peer.metrics[m.metric]?.mean ?? [];
        exposed.forEach((k, v) => {
          const a = (m.sums.get(v)?.[0] ?? 0) / k, b = peerMeans[v] ?? NaN;
          worst = Math.max(worst, a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b)));
        });
      }
      console.log(`proposed shape (${p.index}) ${s(p.ms)}, pandas + scipy ${s(peer.analysis_ms)}: ${(p.ms / peer.analysis_ms).toFixed(2)}× pandas; `
        + `means ${worst <= 1e-9 ? 'agree with the peer' : 'DIFFER from the peer'} (worst ${Number.isNaN(worst) ? 'NaN' : worst.toExponential(1)})`
        + `${n >= 10_000_000 ? `; under ${TARGET_S} s: ${p.ms < TARGET_S * 1000 ? 'yes' : 'no'}` : ''}`);
    }
  } finally {
    await conn?.end();
    await handle?.close();
    if (KEEP) console.log(`kept database ${name}`);
    else await dropMysqlDatabase(name);
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const n of SIZES) await runSize(n);
