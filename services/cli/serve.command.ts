import { Argument, Command, InvalidArgumentError } from 'commander';
import type { Config } from '../../platform/config/config.settings.js';
import type { Lifecycle } from '../../platform/lifecycle/lifecycle.js';
import type { Logger } from '../../platform/logging/logger.js';
import type { Platform } from '../../platform/platform.js';
import type { ServeMode } from '../api/app.js';
import { configFrom } from './cli-context.js';

export interface Started { url: string; lifecycle: Lifecycle; log: Logger }

/**
 * Start a process: platform, services, HTTP, and in modes "all" and "worker" the job workers (the
 * embedded shape is one process). Returns once listening; SIGTERM/SIGINT stop it gracefully.
 */
export async function startServer(
  config: Readonly<Config>, mode: ServeMode, out: NodeJS.WritableStream = process.stdout, opts: { http?: boolean } = {},
): Promise<Started> {
  const started = performance.now();
  const { createPlatform } = await import('../../platform/platform.js');
  const { createAppServices } = await import('../api/app-services.js');
  const { buildApp } = await import('../api/app.js');
  const platform = await createPlatform(config);
  const { log, lifecycle } = platform;
  try {
    const services = createAppServices(config, platform);
    if ((mode === 'all' || mode === 'scoring') && !config.ads.tokenSecret) {
      log.warn('GIGINTEL_ADS_TOKEN_SECRET is not set: impression tokens verify only in this process and until it restarts');
    }
    const { generated } = await services.apiKeys.ensureAdminKey(config.auth.adminKey);
    const seeded = mode === 'all' && config.features.demoSeed && await seedDemo(platform.db.db, log);
    if (mode === 'all' || mode === 'worker') {
      await platform.queue.startWorkers();
      await services.featurePipeline.ensureSchedule(config.pipeline.schedule);
      if (config.scoring.auditSchedule === 'off') await platform.queue.removeSchedule('scoring-audit');
      else await platform.queue.upsertSchedule('scoring-audit', config.scoring.auditSchedule, { name: 'scoring.audit', payload: {} });
      // Pacing: every slot end (the default 15 min slot; a custom slot runs on the quarter hours and the job skips early calls).
      if (config.ads.pacing.enabled) await platform.queue.upsertSchedule('ads-pacing', '*/15 * * * *', { name: 'ads.pacing.slot', payload: {} });
      else await platform.queue.removeSchedule('ads-pacing');
      if (config.experiments.analyzeSchedule === 'off') await platform.queue.removeSchedule('experiments-analyze');
      else await platform.queue.upsertSchedule('experiments-analyze', config.experiments.analyzeSchedule, { name: 'experiments.analyze', payload: {} });
      await services.exports.ensureSchedules();
    }
    // A freshly seeded demo gets its features computed in the background, once serving: daily as of
    // each day of the seeded period, stamped as computed then (the synthetic history is what would
    // have been known), so point-in-time training sets find values; then as of now.
    const computeDemoFeatures = async () => {
      const day = 86_400_000;
      const end = seeded ? seeded.end : Date.now();
      const from = end - DEMO_DAYS * day;
      const base = { trigger: 'startup' as const, requestedBy: 'startup', from, to: end, reconstruct: true };
      const runs = [
        ...await services.featurePipeline.backfill({ ...base, everyMs: day }),
        // Most proposals come within hours of a job's posting: job features every 2 h, so
        // training rows find the job as it was (a daily cadence would leave most of them empty).
        ...await services.featurePipeline.backfill({ ...base, everyMs: 2 * 3_600_000, sets: ['job_profile'] }),
      ];
      const now = await services.featurePipeline.start({ trigger: 'startup', requestedBy: 'startup', full: true });
      log.info({ runs: runs.length + 1 }, 'demo features queued: a daily backfill of the seeded period and a run as of now (gigintel pipeline runs)');
      // Then the first models, trained on the reconstructed history and promoted through the gates.
      const { bootstrapDemoModels } = await import('../../model-registry/demo-models.js');
      const models = await bootstrapDemoModels(
        { db: platform.db.db, dataDir: config.data.dir, registry: services.registry, featurePipeline: services.featurePipeline, log },
        [...runs, now], { from, to: end },
      );
      log.info({ models }, 'demo models ready (gigintel models list)');
    };
    if (opts.http === false) {
      log.info({ mode, queue: platform.queue.kind }, 'gigintel worker started (no HTTP)');
      return { url: '', lifecycle, log };
    }

    if (mode === 'all' || mode === 'api') {
      // The console is served from dist/console: build it when missing or stale (a few seconds, once).
      const { ensureConsoleBuilt } = await import('../console/build-console.js');
      const built = await ensureConsoleBuilt({ quiet: true }).catch((err: unknown) => {
        log.warn({ err }, 'could not build the console (/console answers 503): run npm run build:console');
        return 'fresh' as const;
      });
      if (built !== 'fresh') log.info({ ms: built.ms, files: built.files, brotliBytes: built.brotliBytes }, 'console built into dist/console');
    }
    const app = await buildApp(config, { ...platform, services }, { mode });
    await app.listen({ host: config.http.host, port: config.http.port });
    lifecycle.onStop('http', () => app.close()); // registered last: closed first, pools still open to finish requests

    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.http.port;
    const host = config.http.host === '0.0.0.0' || config.http.host === '::' ? '127.0.0.1' : config.http.host;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    log.info({ url, mode, queue: platform.queue.kind, database: platform.db.dialect, ms: Math.round(performance.now() - started) }, 'gigintel ready');
    out.write([
      '',
      `  gigintel is running (${mode}; ${platform.db.dialect} database, ${platform.queue.kind} queue)`,
      `  ${mode === 'worker' ? 'Probes:' : 'API:   '}   ${url}`,
      ...(mode === 'all' || mode === 'api' ? [`  Console:  ${url}/console`] : []),
      ...(config.features.docs && mode !== 'worker' ? [`  Docs:     ${url}/docs`] : []),
      `  Health:   ${url}/readyz`,
      generated
        ? `  Admin key (shown once, store it now): ${generated}`
        : `  Admin key: ${config.auth.adminKey ? 'from GIGINTEL_ADMIN_KEY' : 'created on first start'}; more with: gigintel keys create --name NAME --scopes SCOPES`,
      '',
      '',
    ].join('\n'));
    if (seeded) computeDemoFeatures().catch((err: unknown) => log.error({ err }, 'could not build the demo features and models'));
    return { url, lifecycle, log };
  } catch (err) {
    await lifecycle.stop();
    throw err;
  }
}

const DEMO_DAYS = 30;

/**
 * The embedded shape starts with something to look at: a small synthetic marketplace, once. Its
 * history ends at today's midnight (UTC), so features computed now and the models trained on the
 * reconstructed month describe the same world the scoring API is asked about.
 */
async function seedDemo(db: Platform['db']['db'], log: Logger): Promise<{ end: number } | null> {
  const { marketplaceIsEmpty, seedMarketplace } = await import('../../pipelines/synthetic/seed-marketplace.js');
  if (!await marketplaceIsEmpty(db)) return null;
  const end = Math.floor(Date.now() / 86_400_000) * 86_400_000;
  const summary = await seedMarketplace(db, { providers: 2000, jobs: 500, days: DEMO_DAYS, seed: 'demo', end });
  log.info({ ms: summary.ms, events: summary.eventRows, end: new Date(end).toISOString() }, 'seeded a demo marketplace (GIGINTEL_FEATURE_DEMO_SEED=false to skip)');
  return { end };
}

export function serveCommand(): Command {
  return new Command('serve')
    .description('run the HTTP server: all (API, scoring and workers in one process), api, or scoring')
    .addArgument(new Argument('[mode]', 'what to serve').choices(['all', 'api', 'scoring']).default('all'))
    .option('--port <port>', 'override GIGINTEL_PORT', portNumber)
    .option('--host <host>', 'override GIGINTEL_HOST')
    .action(async function (this: Command, mode: ServeMode, o: { port?: number; host?: string }) {
      const config = configFrom(this, listenOverrides(o));
      const { lifecycle, log } = await startServer(config, mode);
      const { exitOnSignals } = await import('../../platform/lifecycle/lifecycle.js');
      exitOnSignals(lifecycle, log);
    });
}

export function workerCommand(): Command {
  return new Command('worker')
    .description('run background job workers; start as many as the queue needs. Serves /healthz, /readyz and /metrics only')
    .option('--port <port>', 'port for the probes and metrics (default GIGINTEL_PORT)', portNumber)
    .option('--host <host>', 'override GIGINTEL_HOST')
    .option('--no-http', 'no HTTP at all')
    .action(async function (this: Command, o: { port?: number; host?: string; http: boolean }) {
      const config = configFrom(this, listenOverrides(o));
      const { lifecycle, log } = await startServer(config, 'worker', process.stdout, { http: o.http });
      const { exitOnSignals } = await import('../../platform/lifecycle/lifecycle.js');
      exitOnSignals(lifecycle, log);
    });
}

function portNumber(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) > 65535) throw new InvalidArgumentError('must be a whole number from 0 to 65535');
  return Number(v);
}

function listenOverrides(o: { port?: number; host?: string }): Record<string, unknown> {
  return {
    ...(o.port !== undefined ? { 'http.port': o.port } : {}),
    ...(o.host !== undefined ? { 'http.host': o.host } : {}),
  };
}
