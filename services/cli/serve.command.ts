import { Argument, Command, InvalidArgumentError } from 'commander';
import type { Config } from '../../platform/config/config.settings.js';
import type { Lifecycle } from '../../platform/lifecycle/lifecycle.js';
import type { Logger } from '../../platform/logging/logger.js';
import type { ServeMode } from '../api/app.js';
import { configFrom } from './cli-context.js';

export interface Started { url: string; lifecycle: Lifecycle; log: Logger }

/**
 * Start a server: platform, services, HTTP, and in mode "all" the workers too (the embedded shape
 * is one process). Returns once listening; SIGTERM/SIGINT stop it gracefully.
 */
export async function startServer(config: Readonly<Config>, mode: ServeMode, out = process.stdout): Promise<Started> {
  const started = performance.now();
  const { createPlatform } = await import('../../platform/platform.js');
  const { createAppServices } = await import('../api/app-services.js');
  const { buildApp } = await import('../api/app.js');
  const platform = await createPlatform(config);
  const { log, lifecycle } = platform;
  try {
    const services = createAppServices(config, { db: platform.db.db });
    const { generated } = await services.apiKeys.ensureAdminKey(config.auth.adminKey);
    if (mode === 'all') await platform.queue.startWorkers();

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
      `  API:      ${url}`,
      ...(config.features.docs ? [`  Docs:     ${url}/docs`] : []),
      `  Health:   ${url}/readyz`,
      generated
        ? `  Admin key (shown once, store it now): ${generated}`
        : `  Admin key: ${config.auth.adminKey ? 'from GIGINTEL_ADMIN_KEY' : 'created on first start'}; more with: gigintel keys create --name NAME --scopes SCOPES`,
      '',
      '',
    ].join('\n'));
    return { url, lifecycle, log };
  } catch (err) {
    await lifecycle.stop();
    throw err;
  }
}

export function serveCommand(): Command {
  return new Command('serve')
    .description('run the HTTP server: all (API, scoring and workers in one process), api, or scoring')
    .addArgument(new Argument('[mode]', 'what to serve').choices(['all', 'api', 'scoring']).default('all'))
    .option('--port <port>', 'override GIGINTEL_PORT', (v) => {
      if (!/^\d+$/.test(v)) throw new InvalidArgumentError('--port must be a whole number');
      return Number(v);
    })
    .option('--host <host>', 'override GIGINTEL_HOST')
    .action(async function (this: Command, mode: ServeMode, o: { port?: number; host?: string }) {
      const config = configFrom(this, {
        ...(o.port !== undefined ? { 'http.port': o.port } : {}),
        ...(o.host !== undefined ? { 'http.host': o.host } : {}),
      });
      const { lifecycle, log } = await startServer(config, mode);
      const { exitOnSignals } = await import('../../platform/lifecycle/lifecycle.js');
      exitOnSignals(lifecycle, log);
    });
}

export function workerCommand(): Command {
  return new Command('worker')
    .description('run background job workers (no HTTP); start as many as the queue needs')
    .action(async function (this: Command) {
      const config = configFrom(this);
      const { createPlatform } = await import('../../platform/platform.js');
      const { createAppServices } = await import('../api/app-services.js');
      const { exitOnSignals } = await import('../../platform/lifecycle/lifecycle.js');
      const platform = await createPlatform(config);
      createAppServices(config, { db: platform.db.db });
      await platform.queue.startWorkers();
      platform.log.info({ queue: platform.queue.kind }, 'worker started');
      exitOnSignals(platform.lifecycle, platform.log);
    });
}
