// Migrations on both dialects: up, down, status, and the refusal of an edited applied migration.
import { describe, expect, it } from 'vitest';
import { createMigrationRunner, loadMigrationFiles, type MigrationFile } from '../../platform/db/migrator.js';
import { DIALECTS, useTestEnv } from '../helpers/test-env.js';

describe.each(DIALECTS)('migrations on %s', (dialect) => {
  const env = useTestEnv({ dialect, migrate: false });

  it('applies every migration, reports status, rolls back one step and re-applies it', async () => {
    const files = await loadMigrationFiles();
    expect(files.length).toBeGreaterThan(0);
    const runner = createMigrationRunner(env.db.db, files);

    expect((await runner.status()).every((s) => s.state === 'pending')).toBe(true);
    expect(await runner.up()).toEqual(files.map((f) => f.name));
    expect(await runner.pending()).toBe(0);
    expect((await runner.status()).map((s) => s.state)).toEqual(files.map(() => 'applied'));
    const tables = (await env.db.db.introspection.getTables()).map((t) => t.name);
    expect(tables).toEqual(expect.arrayContaining(['api_key', 'audit_log', 'queue_job']));

    const last = files.at(-1)!.name;
    expect(await runner.down()).toBe(last);
    expect((await runner.status()).find((s) => s.name === last)?.state).toBe('pending');
    expect(await runner.up()).toEqual([last]);
    expect(await runner.up()).toEqual([]); // nothing left: a second up is a no-op
  });

  it('refuses to run when an applied migration was edited (drift), naming the file', async () => {
    const files = await loadMigrationFiles();
    const edited: MigrationFile[] = files.map((f, i) => (i === 0 ? { ...f, checksum: 'f'.repeat(64) } : f));
    const runner = createMigrationRunner(env.db.db, edited);
    await expect(runner.verify()).rejects.toThrow(new RegExp(`migration ${files[0]!.name} was edited after it was applied`));
    await expect(runner.up()).rejects.toMatchObject({ code: 'migration_drift' });
    expect((await runner.status())[0]?.state).toBe('changed');
    // The unedited files still verify.
    await expect(createMigrationRunner(env.db.db, files).verify()).resolves.toBeUndefined();
  });

  it('refuses to run when an applied migration has no file any more', async () => {
    const files = await loadMigrationFiles();
    const runner = createMigrationRunner(env.db.db, files.slice(0, -1));
    await expect(runner.verify()).rejects.toMatchObject({ code: 'migration_missing' });
    expect((await runner.status()).at(-1)?.state).toBe('missing-file');
  });
});
