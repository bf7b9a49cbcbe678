// For the console's screenshot script and benchmark (outside vitest): the seeded console demo on a
// temporary SQLite database and data directory, removed again by close().
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../platform/config/load-config.js';
import { CONSOLE_DEMO_SETTINGS, startConsoleDemo, type ConsoleDemo, type DemoSize } from '../tests/console/console-fixture.js';

export async function startTempConsoleDemo(size?: DemoSize): Promise<ConsoleDemo> {
  const dir = mkdtempSync(join(tmpdir(), 'gigintel-console-'));
  const config = loadConfig({
    env: {},
    overrides: {
      ...CONSOLE_DEMO_SETTINGS, 'database.url': `sqlite:${join(dir, 'console.db')}`, 'data.dir': dir, 'log.level': 'silent',
      'features.demoSeed': false, 'redis.url': null, 'auth.cacheTtlMs': 1000, 'auth.adminKey': 'gi_console_demo_admin_key_000000000000',
    },
  });
  const demo = await startConsoleDemo(config, undefined, size);
  return { ...demo, async close() { await demo.close(); rmSync(dir, { recursive: true, force: true }); } };
}
