// Figure for issue #7: the analysis of an experiment with 10,000,000 exposures and three metrics
// on MySQL (target < 30 s), and the same analysis in pandas + scipy as the peer, in the same run.
// Run: npm run bench -- bench/experiments-analysis.ts [sizes in millions, default "1,10"] [--explain] [--keep] [--no-full] [--buffer-pool=8G]
// Per size: a fresh MySQL database (migrated), an experiment created and started through the
// service (unit user, 2 variants; primary events.converted, secondary events.revenue.sum, guardrail
// events.latency_ms.sum), seeded exposures and events written to CSV. Everything before a cut time
// (the last few hours of exposures are after it) is bulk-loaded with LOAD DATA LOCAL INFILE (load
// time reported, not the figure); then, each SQL statement timed:
//   1. the first analysis, which builds the kept per-unit tables (incremental analysis);
//   2. the rows after the cut come in through the service's repository (multi-row INSERTs, as the
//      API and the exposure job write them), and the scheduled analysis runs: the figure;
//   3. the analysis again with nothing new;
//   4. (unless --no-full) the same analysis joining all facts, the kept tables not used.
// The peer reads the same CSVs (all rows) and does the same joins, caps and Welch t-tests; the
// service's per-variant means, caps and n must agree with it to 1e-9.
import { spawnSync } from 'node:child_process';
import { appendFileSync, createReadStream, createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, type WriteStream } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import { createConnection, type Connection } from 'mysql2/promise';
import { insertExposures, insertMetricEvents, type ExposureRow, type MetricEventRow } from '../experiments/experiment.repository.js';
import { createExperimentService, type ExperimentReport } from '../experiments/experiment.service.js';
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

/** Leaves out step 4 (the full join, a minute or more at 10M). */
const FULL = !args.includes('--no-full');
/**
 * `--buffer-pool=8G`: sets the server's innodb_buffer_pool_size for the run (restored after), as
 * docs/operations.md advises for experiments of millions of units. MariaDB's default of 128 MB
 * holds a twentieth of the indexes at 10M, so refreshing 1% of the units, spread over the key
 * space, reads most index pages from the OS again.
 */
const BUFFER_POOL = (() => {
  const v = args.find((a) => a.startsWith('--buffer-pool='))?.slice('--buffer-pool='.length);
  if (v === undefined) return null;
  const m = /^(\d+)([MG])$/i.exec(v);
  if (!m) throw new Error(`--buffer-pool: expected a size like 8G or 512M, got "${v}"`);
  return Number(m[1]) * 2 ** (m[2]!.toUpperCase() === 'G' ? 30 : 20);
})();
const SIZES = (args.find((a) => !a.startsWith('--')) ?? '1,10').split(',').map((m) => Math.round(Number(m) * 1_000_000));
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 9, 1);
/** The time of the analysis: 14 days into the experiment (exposures spread over them; later facts have not happened yet). */
const TO = T0 + 14 * DAY;
/** Rows (exposures, events) from this time on arrive after the first analysis: the last 1% of the exposures (3.4 hours) and the facts of that time. */
const CUT = TO - Math.floor(0.14 * DAY);
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
 * every unit has one latency measure. Events are written in time order, as a fact table fills;
 * facts dated after the analysis time (TO, 14 days in) are left out, and rows from CUT on go to
 * the late files.
 */
async function writeData(dir: string, n: number): Promise<{ events: number; late: { exposures: number; events: number } }> {
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
  // Before the cut: bulk-loaded; from it on: inserted through the repository after the first analysis.
  const late = { exposures: 0, events: 0 };
  for (const [file, pick] of [['exposures.csv', (at: number) => at < CUT], ['exposures-late.csv', (at: number) => at >= CUT]] as const) {
    await writeLines(createWriteStream(join(dir, file)), (function* () {
      yield 'unit_id,variant,exposed_at\n';
      for (let i = 0; i < n; i++) if (pick(exposedAt[i]!)) yield `${unitId(i)},${variant[i]},${exposedAt[i]}\n`;
    })());
  }
  for (let i = 0; i < n; i++) if (exposedAt[i]! >= CUT) late.exposures++;
  const order = new Uint32Array(m);
  for (let i = 0; i < m; i++) order[i] = i;
  order.sort((a, b) => evAt[a]! - evAt[b]! || a - b);
  const names = ['converted', 'revenue', 'latency_ms'];
  // Facts after the analysis time have not happened yet.
  let events = 0;
  for (const [file, pick] of [['events.csv', (at: number) => at < CUT], ['events-late.csv', (at: number) => at >= CUT && at < TO]] as const) {
    await writeLines(createWriteStream(join(dir, file)), (function* () {
      yield 'name,unit_id,value,event_at\n';
      for (const k of order) if (pick(evAt[k]!)) yield `${names[evName[k]!]},${unitId(evUnit[k]!)},${evValue[k]},${evAt[k]}\n`;
    })());
  }
  for (const k of order) if (evAt[k]! < TO) { events++; if (evAt[k]! >= CUT) late.events++; }
  return { events, late };
}

/** The rows of a late CSV through the repository (as the API and the exposure job insert them), then appended to the full CSV for the peer. */
async function insertLate(db: Db, dir: string): Promise<void> {
  const lines = (file: string) => readFileSync(join(dir, file), 'utf8').split('\n').slice(1).filter(Boolean);
  const exposures: ExposureRow[] = lines('exposures-late.csv').map((l) => {
    const [unit, v, at] = l.split(',');
    return { experiment: KEY, unit_id: unit!, phase: 1, variant: Number(v), exposed_at: Number(at) };
  });
  const events: MetricEventRow[] = lines('events-late.csv').map((l) => {
    const [name, unit, value, at] = l.split(',');
    return { name: name!, unit_id: unit!, value: Number(value), event_at: Number(at) };
  });
  // Exposures and facts interleaved in batches, as they would arrive.
  for (let i = 0, j = 0; i < exposures.length || j < events.length; i += 5_000, j += 5_000) {
    await insertExposures(db, exposures.slice(i, i + 5_000));
    await insertMetricEvents(db, events.slice(j, j + 5_000));
  }
  appendFileSync(join(dir, 'exposures.csv'), lines('exposures-late.csv').map((l) => `${l}\n`).join(''));
  appendFileSync(join(dir, 'events.csv'), lines('events-late.csv').map((l) => `${l}\n`).join(''));
}

/** The secondary indexes of the two tables, as the migrations define them: dropped for the load and built after it. */
const LOAD_INDEXES = [
  { table: 'experiment_exposure', name: 'experiment_exposure_variant', columns: '(experiment, phase, variant)' },
  { table: 'experiment_exposure', name: 'experiment_exposure_unit_key', columns: '(unit_key, experiment, phase, variant, exposed_at)' },
  { table: 'metric_event', name: 'metric_event_name_key', columns: '(name, unit_key, unit_id, event_at, value)' },
  { table: 'experiment_exposure', name: 'experiment_exposure_ingested', columns: '(experiment, phase, ingested_at, unit_key)' },
  { table: 'metric_event', name: 'metric_event_ingested', columns: '(name, ingested_at, unit_key, unit_id)' },
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

interface Statement { label: string; sql: string; parameters: readonly unknown[]; ms: number }

/** Times every statement the service runs (transformQuery starts the clock, transformResult stops it). */
function statementTimer(db: Db): { plugin: KyselyPlugin; take(): Statement[] } {
  const open = new WeakMap<object, { started: number; node: RootOperationNode }>();
  let done: Statement[] = [];
  let metric = '';
  const label = (text: string, parameters: readonly unknown[]) => {
    const named = () => { metric = String(parameters.find((p) => typeof p === 'string' && p !== KEY) ?? metric); };
    if (text.startsWith('INSERT IGNORE INTO gi_touched')) return text.includes('metric_event') ? (named(), `kept ${metric}: units with events ingested since the watermark`) : 'kept: units with exposures ingested since the watermark';
    if (text.includes('FROM gi_touched')) return `kept ${metric}: ${text.startsWith('SELECT COUNT') ? 'count of units to compute again' : 'their values computed again'}`;
    if (text.startsWith('DELETE k FROM')) return `kept ${metric}: their old rows deleted`;
    if (text.startsWith('INSERT INTO gi_rollup_')) { named(); return `kept ${metric}: build, per-unit values (the join)`; }
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
        done.push({ label: label(c.sql, c.parameters), sql: c.sql, parameters: c.parameters, ms: performance.now() - o.started });
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
    if (seen.has(st.label) || !/^\s*select/i.test(select) || select.includes('gi_metric_units') || select.includes('gi_touched')) continue;
    seen.add(st.label);
    const [rows] = await conn.query(`EXPLAIN ${select}`, st.parameters as unknown[]);
    console.log(`EXPLAIN ${st.label}`);
    for (const r of rows as Record<string, unknown>[]) {
      console.log(`  ${[r.id, r.select_type, r.table, r.type, r.key, r.key_len, r.ref, r.rows, r.Extra].map((x) => x ?? '').join(' | ')}`);
    }
  }
}

async function runSize(n: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gigintel-bench-analysis-'));
  const name = uniqueName('gi_bench_analysis');
  let handle: DatabaseHandle | undefined;
  let conn: Connection | undefined;
  let pool: number | null = null;
  try {
    console.log(`\n== ${n.toLocaleString('en')} exposures (load average ${loadavg().map((x) => x.toFixed(2)).join(' ')})`);
    let t = performance.now();
    const { events, late } = await writeData(dir, n);
    console.log(`data: ${n.toLocaleString('en')} exposures, ${events.toLocaleString('en')} events written to CSV in ${s(performance.now() - t)}; `
      + `${late.exposures.toLocaleString('en')} exposures and ${late.events.toLocaleString('en')} events of them after the cut`);

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
    if (BUFFER_POOL !== null) {
      const [[row]] = await conn.query('SELECT @@innodb_buffer_pool_size AS b') as unknown as [[{ b: number }]];
      pool = Number(row.b);
      await conn.query('SET GLOBAL innodb_buffer_pool_size = ?', [BUFFER_POOL]);
      // The resize runs in the background, a chunk at a time.
      for (let i = 0; i < 120; i++) {
        const [[st]] = await conn.query("SHOW STATUS LIKE 'Innodb_buffer_pool_resize_status'") as unknown as [[{ Value: string }]];
        if (!st?.Value || /completed/i.test(st.Value)) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      const [[now]] = await conn.query('SELECT @@innodb_buffer_pool_size AS b') as unknown as [[{ b: number }]];
      console.log(`innodb_buffer_pool_size ${(pool / 2 ** 20).toFixed(0)} MB → ${(Number(now.b) / 2 ** 20).toFixed(0)} MB for this run`);
    }
    t = performance.now();
    await load(conn, dir);
    console.log(`load: LOAD DATA LOCAL INFILE + index builds + ANALYZE TABLE in ${s(performance.now() - t)} (not the figure)`);
    timer.take();

    const runs: { which: string; ms: number; statements: Statement[]; report: ExperimentReport }[] = [];
    const analyse = async (which: string, service = experiments) => {
      const la = loadavg()[0]!.toFixed(2);
      const cpu0 = serverCpuSeconds();
      t = performance.now();
      // Open-ended, as the schedule runs it: every fact so far (none is dated after TO).
      const report = await service.analyze(KEY, { trigger: 'manual', act: false });
      const ms = performance.now() - t;
      const cpu1 = serverCpuSeconds();
      const statements = timer.take();
      runs.push({ which, ms, statements, report });
      console.log(`analyze ${which}: ${s(ms)} (load average ${la}${cpu0 !== null && cpu1 !== null ? `; database server CPU ${(cpu1 - cpu0).toFixed(2)} s` : ''})`);
      for (const st of statements) if (st.ms >= 5) console.log(`  ${st.label.padEnd(58)} ${s(st.ms).padStart(9)}`);
    };
    await analyse('1, the first: builds the kept per-unit tables');
    t = performance.now();
    await insertLate(handle.db, dir);
    console.log(`new data: ${late.exposures.toLocaleString('en')} exposures and ${late.events.toLocaleString('en')} events (the last 3.4 hours) inserted through the repository in ${s(performance.now() - t)} (not the figure)`);
    await analyse('2, after the new data (the figure)');
    await analyse('3, again with nothing new');
    if (FULL) await analyse('4, joining all facts (incremental analysis off)', createExperimentService({ db, audit: createAuditLog({ db: handle.db }), queue, log, incrementalAnalysis: false }));
    if (EXPLAIN && runs[0]) await explain(conn, runs[0].statements);
    const peer = runPeer(dir);
    console.log(`peer: pandas ${peer.pandas}, scipy ${peer.scipy}: analysis ${s(peer.analysis_ms)} (CPU ${s(peer.cpu_ms)}; CSV read ${s(peer.read_ms)} not counted)`);
    const figure = runs[1]!;
    for (const r of [figure, ...(FULL ? [runs[3]!] : [])]) {
      const { worst, lines } = compare(r.report, peer);
      console.log(`analysis ${r.which} against the peer:`);
      for (const l of lines) console.log(`  ${l}`);
      console.log(worst <= 1e-9 ? `  results agree: per-variant means, caps and n within 1e-9 (worst ${worst.toExponential(1)})` : `  RESULTS DIFFER (worst relative difference ${worst})`);
    }
    console.log(`${n.toLocaleString('en')} exposures, 3 metrics: gigintel on MySQL ${s(figure.ms)} after the new data (first analysis ${s(runs[0]!.ms)}, nothing new ${s(runs[2]!.ms)}`
      + `${FULL ? `, joining all facts ${s(runs[3]!.ms)}` : ''}), pandas + scipy ${s(peer.analysis_ms)}; gigintel / pandas = ${(figure.ms / peer.analysis_ms).toFixed(2)}×`
      + `${n >= 10_000_000 ? `; target < ${TARGET_S} s ${figure.ms < TARGET_S * 1000 ? 'PASS' : 'MISS'}` : ''}`);
  } finally {
    if (pool !== null) await conn?.query('SET GLOBAL innodb_buffer_pool_size = ?', [pool]).then(() => console.log(`innodb_buffer_pool_size set back to ${(pool! / 2 ** 20).toFixed(0)} MB`));
    await conn?.end();
    await handle?.close();
    if (KEEP) console.log(`kept database ${name}`);
    else await dropMysqlDatabase(name);
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const n of SIZES) await runSize(n);
