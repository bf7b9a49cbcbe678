// The process's infrastructure, created once in dependency order and registered with the
// lifecycle so it is torn down in reverse: database → migrations → Redis → queue (→ HTTP, added
// by the caller last, so it is closed first and in-flight requests still have their pools).
import type { Redis } from 'ioredis';
import type { Config } from './config/config.settings.js';
import { checkCharset, createDatabase, type DatabaseHandle } from './db/database.js';
import { createMigrationRunner, loadMigrationFiles, type MigrationRunner } from './db/migrator.js';
import { createLifecycle, type Lifecycle } from './lifecycle/lifecycle.js';
import { createLogger, type Logger } from './logging/logger.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';
import { createQueue } from './queue/create-queue.js';
import type { JobQueue } from './queue/queue.types.js';

export interface Platform {
  config: Readonly<Config>;
  log: Logger;
  metrics: Metrics;
  lifecycle: Lifecycle;
  db: DatabaseHandle;
  migrations: MigrationRunner;
  redis: Redis | null;
  queue: JobQueue;
}

export interface PlatformOptions {
  /** Apply pending migrations (default: config.database.autoMigrate). */
  migrate?: boolean;
  /** Refuse to start when an applied migration was edited or is missing (default true). */
  verifyMigrations?: boolean;
  logger?: Logger;
}

export async function createPlatform(config: Readonly<Config>, opts: PlatformOptions = {}): Promise<Platform> {
  const log = opts.logger ?? createLogger({ level: config.log.level, pretty: config.log.pretty });
  const metrics = createMetrics();
  const lifecycle = createLifecycle(log, config.http.shutdownTimeoutMs);
  try {
    const db = createDatabase(config.database);
    lifecycle.onStop('database', () => db.close());
    await checkCharset(db);
    metrics.watchPool(() => db.poolStats());

    const migrations = createMigrationRunner(db.db, await loadMigrationFiles());
    if (opts.verifyMigrations !== false) await migrations.verify();
    if (opts.migrate ?? config.database.autoMigrate) {
      const applied = await migrations.up();
      if (applied.length) log.info({ applied }, 'migrations applied');
    }

    const redis = config.redis.url ? await createRedisClient(config.redis.url, log) : null;
    if (redis) lifecycle.onStop('redis', async () => { await redis.quit().catch(() => redis.disconnect()); });

    const queue = await createQueue({ config, db, log, metrics: metrics.queueHooks });
    lifecycle.onStop('queue', () => queue.close(Math.max(100, config.http.shutdownTimeoutMs - 1_000)));
    metrics.watchQueue(() => queue.counts());

    return { config, log, metrics, lifecycle, db, migrations, redis, queue };
  } catch (err) {
    await lifecycle.stop();
    throw err;
  }
}

/** A client that fails fast while Redis is down (no offline queue) and reconnects by itself. */
export async function createRedisClient(url: string, log: Logger): Promise<Redis> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
  let lastWarn = 0;
  redis.on('error', (err) => {
    if (Date.now() - lastWarn > 10_000) { // one line per outage, not one per retry
      lastWarn = Date.now();
      log.warn({ err: err.message }, 'redis connection error; retrying');
    }
  });
  return redis;
}
