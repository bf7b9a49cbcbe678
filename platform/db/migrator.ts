// Migrations: timestamp-named files in migrations/, applied in name order by Kysely's Migrator
// (which also takes a lock so two processes starting at once do not race). We add a checksum
// per applied file and verify them at every start: an edited, already-applied migration is
// refused, because the databases it already ran on would silently differ from new ones.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Migrator, type Kysely, type Migration } from 'kysely';
import { AppError } from '../errors/app-error.js';

// Checksums are taken from the TypeScript sources, whether this runs from them (tests) or from
// their transpiled copy in dist/ (the CLI), so both see the same migration as the same file.
const RUNTIME_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const PROJECT_ROOT = basename(RUNTIME_ROOT) === 'dist' ? resolve(RUNTIME_ROOT, '..') : RUNTIME_ROOT;
export const MIGRATIONS_DIR = join(PROJECT_ROOT, 'migrations');
const RUNTIME_DIR = join(RUNTIME_ROOT, 'migrations');
const RUNTIME_EXT = import.meta.url.endsWith('.js') ? '.js' : '.ts';
const TABLE = 'schema_migration';
const LOCK_TABLE = 'schema_migration_lock';
const CHECKSUM_TABLE = 'schema_migration_checksum';
const NAME = /^\d{8}T\d{4,6}_[a-z0-9_]+\.ts$/;

export class MigrationError extends AppError {
  constructor(code: string, message: string, details?: unknown) {
    super(code, 500, message, details);
  }
}

export interface MigrationFile { name: string; checksum: string; migration: Migration }
export type MigrationState = 'applied' | 'pending' | 'changed' | 'missing-file';
export interface MigrationStatus { name: string; state: MigrationState; appliedAt: number | null }

export async function loadMigrationFiles(dir = MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const names = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).sort();
  const out: MigrationFile[] = [];
  for (const file of names) {
    if (!NAME.test(file)) throw new MigrationError('migration_name', `migration file ${file} must be named YYYYMMDDTHHMM_snake_case.ts`);
    const text = readFileSync(join(dir, file), 'utf8').replace(/\r\n/g, '\n');
    const runtimeFile = dir === MIGRATIONS_DIR ? join(RUNTIME_DIR, file.replace(/\.ts$/, RUNTIME_EXT)) : join(dir, file);
    const mod = (await import(pathToFileURL(runtimeFile).href)) as Partial<Migration>;
    if (typeof mod.up !== 'function') throw new MigrationError('migration_invalid', `migration ${file} exports no up()`);
    out.push({
      name: file.replace(/\.ts$/, ''),
      checksum: createHash('sha256').update(text).digest('hex'),
      migration: { up: mod.up, ...(mod.down ? { down: mod.down } : {}) },
    });
  }
  return out;
}

export interface MigrationRunner {
  status(): Promise<MigrationStatus[]>;
  /** Throws a MigrationError when an applied migration was edited or its file is gone. */
  verify(): Promise<void>;
  up(): Promise<string[]>;
  down(): Promise<string | null>;
  pending(): Promise<number>;
}

// The migrator speaks to tables of its own that no domain declares, hence Kysely<any>.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function createMigrationRunner(db: Kysely<any>, files: MigrationFile[]): MigrationRunner {
  const byName = new Map(files.map((f) => [f.name, f]));
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => Object.fromEntries(files.map((f) => [f.name, f.migration])) },
    migrationTableName: TABLE,
    migrationLockTableName: LOCK_TABLE,
  });

  let tablesReady = false;
  async function ensureChecksumTable() {
    await db.schema.createTable(CHECKSUM_TABLE).ifNotExists()
      .addColumn('name', 'varchar(255)', (c) => c.primaryKey())
      .addColumn('checksum', 'char(64)', (c) => c.notNull())
      .addColumn('applied_at', 'bigint', (c) => c.notNull())
      .execute();
  }

  async function applied(): Promise<Map<string, { appliedAt: number; checksum: string | null }>> {
    const out = new Map<string, { appliedAt: number; checksum: string | null }>();
    if (!tablesReady) {
      await ensureChecksumTable();
      if (!(await tableExists(db, TABLE))) return out;
      tablesReady = true; // introspection once; after that the tables exist for good
    }
    const rows = await db.selectFrom(`${TABLE} as m`)
      .leftJoin(`${CHECKSUM_TABLE} as c`, 'c.name', 'm.name')
      .select(['m.name as name', 'm.timestamp as timestamp', 'c.checksum as checksum'])
      .execute();
    for (const r of rows) out.set(r.name, { appliedAt: new Date(r.timestamp).getTime(), checksum: r.checksum ?? null });
    return out;
  }

  async function record(names: string[]) {
    for (const name of names) {
      const f = byName.get(name)!;
      await db.deleteFrom(CHECKSUM_TABLE).where('name', '=', name).execute();
      await db.insertInto(CHECKSUM_TABLE).values({ name, checksum: f.checksum, applied_at: Date.now() }).execute();
    }
  }

  const runner: MigrationRunner = {
    async status() {
      const done = await applied();
      const list: MigrationStatus[] = files.map((f) => {
        const a = done.get(f.name);
        if (!a) return { name: f.name, state: 'pending', appliedAt: null };
        return { name: f.name, state: a.checksum && a.checksum !== f.checksum ? 'changed' : 'applied', appliedAt: a.appliedAt };
      });
      for (const [name, a] of done) if (!byName.has(name)) list.push({ name, state: 'missing-file', appliedAt: a.appliedAt });
      return list.sort((x, y) => x.name.localeCompare(y.name));
    },
    async verify() {
      const done = await applied();
      const adopt: string[] = [];
      for (const [name, a] of done) {
        const f = byName.get(name);
        if (!f) {
          throw new MigrationError('migration_missing', `migration ${name} was applied to this database but its file is not in migrations/; ` +
            'this code is older than the database (deploy the newer release) or the file was deleted (restore it)', { migration: name });
        }
        if (a.checksum === null) adopt.push(name); // applied before checksums were recorded
        else if (a.checksum !== f.checksum) {
          throw new MigrationError('migration_drift', `migration ${name} was edited after it was applied ` +
            `(recorded checksum ${a.checksum.slice(0, 12)}…, file now ${f.checksum.slice(0, 12)}…). ` +
            'Applied migrations are frozen: restore the file and put the change in a new migration.', { migration: name, recorded: a.checksum, current: f.checksum });
        }
      }
      await record(adopt);
    },
    async up() {
      await runner.verify();
      const { error, results } = await migrator.migrateToLatest();
      const names = (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
      await record(names);
      if (error) {
        const failed = results?.find((r) => r.status === 'Error')?.migrationName;
        throw new MigrationError('migration_failed', `migration ${failed ?? '?'} failed: ${(error as Error).message}`, { migration: failed });
      }
      return names;
    },
    async down() {
      await runner.verify();
      const { error, results } = await migrator.migrateDown();
      if (error) throw new MigrationError('migration_failed', `migrating down failed: ${(error as Error).message}`);
      const undone = results?.find((r) => r.status === 'Success')?.migrationName ?? null;
      if (undone) await db.deleteFrom(CHECKSUM_TABLE).where('name', '=', undone).execute();
      return undone;
    },
    async pending() {
      return (await runner.status()).filter((s) => s.state === 'pending').length;
    },
  };
  return runner;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function tableExists(db: Kysely<any>, name: string): Promise<boolean> {
  const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
  return tables.some((t) => t.name === name);
}

