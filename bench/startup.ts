// `npm start` to ready (GET /readyz answers 200) on an already-migrated database, the embedded
// default shape. Target: under 3 s. Also times `node bin/gigintel.js serve all` (no npm in front).
//   npm run bench -- bench/startup.ts [runs, default 5]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv, freePort, median, start, stop, waitFor } from './bench-lib.js';

const runs = Number(process.argv[2] ?? 5);
const dir = mkdtempSync(join(tmpdir(), 'gigintel-bench-'));
const env = (port: number) => cleanEnv({
  GIGINTEL_DATABASE_URL: `sqlite:${join(dir, 'startup.db')}`, GIGINTEL_PORT: String(port), GIGINTEL_LOG_LEVEL: 'warn',
});

async function timeToReady(cmd: string, args: string[]): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const child = start(cmd, args, env(port));
  try {
    await waitFor(`http://127.0.0.1:${port}/readyz`);
    return performance.now() - started;
  } finally {
    await stop(child);
  }
}

try {
  await timeToReady(process.execPath, ['bin/gigintel.js', 'serve', 'all']); // first start: migrates, creates the admin key
  const viaNpm: number[] = [];
  const direct: number[] = [];
  for (let i = 0; i < runs; i++) {
    viaNpm.push(await timeToReady('npm', ['start', '--silent']));
    direct.push(await timeToReady(process.execPath, ['bin/gigintel.js', 'serve', 'all']));
  }
  const fmt = (xs: number[]) => `median ${(median(xs) / 1000).toFixed(2)} s (min ${(Math.min(...xs) / 1000).toFixed(2)}, max ${(Math.max(...xs) / 1000).toFixed(2)})`;
  console.log(`start to ready on a migrated SQLite database, ${runs} runs each`);
  console.log(`npm start:                        ${fmt(viaNpm)}  (target < 3 s) ${median(viaNpm) < 3000 ? 'PASS' : 'MISS'}`);
  console.log(`node bin/gigintel.js serve all:   ${fmt(direct)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
