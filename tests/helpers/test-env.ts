// Each test file gets its own MySQL database (or SQLite file) and Redis key prefix, created in
// beforeAll and dropped in afterAll, so files run in parallel against the real servers.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createPool } from 'mysql2/promise';
import { afterAll, beforeAll } from 'vitest';
import { loadConfig } from '../../platform/config/load-config.js';
import type { Config } from '../../platform/config/config.settings.js';
import { createDatabase, type DatabaseHandle, type Dialect } from '../../platform/db/database.js';
import { createMigrationRunner, loadMigrationFiles } from '../../platform/db/migrator.js';

export const MYSQL_SERVER_URL = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const DIALECTS: readonly Dialect[] = ['sqlite', 'mysql'];

export interface TestEnvOptions {
  dialect: Dialect;
  /** Apply migrations in beforeAll (default true). */
  migrate?: boolean;
}

export interface TestEnv {
  readonly dialect: Dialect;
  readonly databaseUrl: string;
  readonly redisPrefix: string;
  /** A migrated handle on this file's database, opened in beforeAll. */
  readonly db: DatabaseHandle;
  /** A validated config pointing at this file's database (and Redis when asked). */
  config(overrides?: Record<string, unknown>, opts?: { redis?: boolean }): Readonly<Config>;
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

export async function createMysqlDatabase(name: string): Promise<string> {
  const admin = createPool({ uri: MYSQL_SERVER_URL, connectionLimit: 1 });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.end();
  return `${MYSQL_SERVER_URL}/${name}`;
}

export async function dropMysqlDatabase(name: string): Promise<void> {
  const admin = createPool({ uri: MYSQL_SERVER_URL, connectionLimit: 1 });
  await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
  await admin.end();
}

export async function deleteRedisKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  redis.disconnect();
}

export function useTestEnv(opts: TestEnvOptions): TestEnv {
  const name = uniqueName('gi_test');
  const redisPrefix = `gitest:${name}`;
  let tmp: string | undefined;
  let databaseUrl = '';
  let handle: DatabaseHandle | undefined;

  beforeAll(async () => {
    if (opts.dialect === 'mysql') {
      databaseUrl = await createMysqlDatabase(name);
    } else {
      tmp = mkdtempSync(join(tmpdir(), 'gigintel-test-'));
      databaseUrl = `sqlite:${join(tmp, 'test.db')}`;
    }
    handle = createDatabase({ url: databaseUrl });
    if (opts.migrate !== false) {
      await createMigrationRunner(handle.db, await loadMigrationFiles()).up();
    }
  });

  afterAll(async () => {
    await handle?.close();
    if (opts.dialect === 'mysql') await dropMysqlDatabase(name);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    await deleteRedisKeys(redisPrefix);
  });

  return {
    dialect: opts.dialect,
    get databaseUrl() { return databaseUrl; },
    redisPrefix,
    get db() {
      if (!handle) throw new Error('test env used outside a test (beforeAll has not run)');
      return handle;
    },
    config(overrides = {}, o = {}) {
      return loadConfig({
        overrides: {
          'database.url': databaseUrl,
          'log.level': 'silent',
          'redis.url': o.redis ? REDIS_URL : null,
          'redis.prefix': redisPrefix,
          'auth.cacheTtlMs': 0,
          'features.demoSeed': false,
          // No models to wait for unless a test serves some: /readyz would wait for them.
          'scoring.models': [],
          ...overrides,
        },
      });
    },
  };
}
