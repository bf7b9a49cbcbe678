// Kysely over MySQL/MariaDB (mysql2 pool) or SQLite (better-sqlite3, WAL), chosen by the URL.
// Domains add their tables to `Database` by declaration merging in their *.table.ts files, so the
// platform never names a domain table.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, MysqlDialect, SqliteDialect, sql, type Transaction } from 'kysely';
import { createPool, type Pool } from 'mysql2';
import { ServiceUnavailableError } from '../errors/app-error.js';

// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by each domain's *.table.ts
export interface Database {}
export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
export type Dialect = 'mysql' | 'sqlite';

export interface DatabaseOptions {
  url: string;
  poolSize?: number;
  connectTimeoutMs?: number;
}

export interface DatabaseHandle {
  db: Db;
  dialect: Dialect;
  /** Round trip to the server; rejects with a ServiceUnavailableError when it does not answer in time. */
  ping(timeoutMs?: number): Promise<void>;
  poolStats(): { size: number; inUse: number; idle: number; waiting: number };
  close(): Promise<void>;
}

export function dialectOf(url: string): Dialect {
  return url.startsWith('sqlite:') ? 'sqlite' : 'mysql';
}

export function createDatabase(opts: DatabaseOptions): DatabaseHandle {
  return dialectOf(opts.url) === 'sqlite' ? createSqlite(opts.url) : createMysql(opts);
}

function createSqlite(url: string): DatabaseHandle {
  const file = url.slice('sqlite:'.length) || ':memory:';
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const conn = new SQLite(file);
  conn.pragma('journal_mode = WAL');
  conn.pragma('synchronous = NORMAL');
  conn.pragma('foreign_keys = ON');
  conn.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: conn }) });
  let closed = false;
  return {
    db,
    dialect: 'sqlite',
    async ping() {
      if (closed) throw new ServiceUnavailableError('database', 'database is closed');
      await sql`select 1`.execute(db);
    },
    poolStats: () => ({ size: 1, inUse: 0, idle: 1, waiting: 0 }),
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
    },
  };
}

function createMysql(opts: DatabaseOptions): DatabaseHandle {
  const u = new URL(opts.url.replace(/^mariadb:/, 'mysql:'));
  const pool: Pool = createPool({
    host: u.hostname,
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || undefined,
    connectionLimit: opts.poolSize ?? 10,
    connectTimeout: opts.connectTimeoutMs ?? 5_000,
    charset: 'utf8mb4_unicode_ci',
    timezone: 'Z',
    supportBigNumbers: true,
    bigNumberStrings: false,
    decimalNumbers: true,
    enableKeepAlive: true,
    multipleStatements: false,
  });
  const db = new Kysely<Database>({ dialect: new MysqlDialect({ pool: validatingPool(pool) }) });
  let closed = false;
  const internals = pool as unknown as { _allConnections?: { length: number }; _freeConnections?: { length: number }; _connectionQueue?: { length: number } };
  return {
    db,
    dialect: 'mysql',
    async ping(timeoutMs = 2_000) {
      await withTimeout(sql`select 1`.execute(db), timeoutMs, 'database');
    },
    poolStats() {
      const size = internals._allConnections?.length ?? 0;
      const idle = internals._freeConnections?.length ?? 0;
      return { size, idle, inUse: size - idle, waiting: internals._connectionQueue?.length ?? 0 };
    },
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
    },
  };
}

/** Connections idle longer than this are pinged before use (HikariCP's rule, at its default). */
const VALIDATE_IDLE_MS = 500;
type PoolConnection = PoolConnectionOf<Pool>;
type PoolConnectionOf<P> = P extends { getConnection(cb: (err: unknown, c: infer C) => void): void } ? C : never;

/**
 * The pool as Kysely sees it, checking a connection that sat idle before handing it out. mysql2
 * notices a server that went away only when a connection is next used: a plain query then fails
 * fast, but a streamed query (exports) on such a connection never settles. A failed ping destroys
 * the connection and takes another (or a fresh one, whose connect error is the honest answer).
 * Busy connections skip the ping, so the hot path pays nothing.
 */
function validatingPool(pool: Pool) {
  const releasedAt = new WeakMap<object, number>();
  const patched = new WeakSet<object>();
  const patch = (conn: PoolConnection): void => {
    const release = conn.release.bind(conn);
    // Kysely releases through the connection: remember when, to know how long it sat idle.
    conn.release = () => { releasedAt.set(conn, Date.now()); release(); };
    // mysql2 reports a connection lost under a streamed query (no callback) only on the
    // connection, never on the query: forward it, or the stream waits forever.
    const query = conn.query.bind(conn) as (...args: unknown[]) => unknown;
    (conn as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const q = query(...args);
      if (typeof args[args.length - 1] === 'function') return q;
      const emitter = q as { emit(e: string, err: unknown): void; once(e: string, f: () => void): void };
      const lost = (err: unknown) => emitter.emit('error', err);
      conn.once('error', lost);
      const done = () => conn.off('error', lost);
      emitter.once('end', done);
      emitter.once('error', done);
      return q;
    };
  };
  const acquire = (tries: number, cb: (err: unknown, c: PoolConnection) => void): void => {
    pool.getConnection((err, conn) => {
      if (err) { cb(err, conn); return; }
      // Already known dead (the pool had not dropped it yet): a query on it would never settle.
      if ((conn as unknown as { state?: string }).state !== 'authenticated') {
        conn.destroy();
        if (tries > 0) acquire(tries - 1, cb);
        else cb(Object.assign(new Error('the database connection is closed'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true }), conn);
        return;
      }
      const idleSince = releasedAt.get(conn);
      if (idleSince === undefined || Date.now() - idleSince < VALIDATE_IDLE_MS) { cb(null, conn); return; }
      conn.ping((pingErr) => {
        if (!pingErr) { cb(null, conn); return; }
        conn.destroy();
        if (tries > 0) acquire(tries - 1, cb);
        else cb(pingErr, conn);
      });
    });
  };
  return {
    getConnection(cb: (err: unknown, c: PoolConnection) => void): void {
      acquire(3, (err, conn) => {
        if (err) { cb(err, conn); return; }
        if (!patched.has(conn)) { patched.add(conn); patch(conn); }
        cb(null, conn);
      });
    },
    end: (cb: (err: unknown) => void) => pool.end(cb),
  };
}

/** Rejects with a ServiceUnavailableError naming `dependency` if `p` takes longer than `ms`. */
export async function withTimeout<T>(p: Promise<T>, ms: number, dependency: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ServiceUnavailableError(dependency, `${dependency} did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } catch (err) {
    if (err instanceof ServiceUnavailableError) throw err;
    throw new ServiceUnavailableError(dependency, `${dependency} unavailable: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}

/** MySQL must store and talk utf8mb4 (real emoji and CJK in profiles), checked at start. */
export async function checkCharset(handle: DatabaseHandle): Promise<void> {
  if (handle.dialect !== 'mysql') return;
  const { rows } = await sql<{ db: string; conn: string }>`select @@character_set_database as db, @@character_set_connection as conn`.execute(handle.db);
  const row = rows[0];
  if (!row || row.db !== 'utf8mb4' || row.conn !== 'utf8mb4') {
    throw new Error(
      `the MySQL database must use utf8mb4 (database: ${row?.db}, connection: ${row?.conn}); ` +
      'run: ALTER DATABASE <name> CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci',
    );
  }
}

/** True when `db` talks to MySQL/MariaDB; migrations use it for the few types that differ. */
export function isMysql(db: Kysely<unknown>): boolean {
  return db.getExecutor().adapter.constructor.name === 'MysqlAdapter';
}
