// Figure for issue #9: a CSV of 1,000,000 rows × 12 columns written by writeCsv to a file (target
// ≥ 300,000 rows/s), with Python's csv module writing the same rows as a peer in the same run
// (bench/peers/openpyxl-write.py csv mode).
// Run: npm run bench -- bench/exports-csv.ts [rows, default 1000000] [--no-peer]
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCsv } from '../exports/format/csv-writer.js';
import { benchColumns, benchRows, peakRssMb } from './exports-data.js';

const args = process.argv.slice(2);
const N = Number(args.find((a) => !a.startsWith('--')) ?? 1_000_000);
const PEER = !args.includes('--no-peer');
const TARGET = 300_000;
const dir = mkdtempSync(join(tmpdir(), 'gigintel-bench-csv-'));
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

try {
  console.log(`rows ${N.toLocaleString('en')} × ${benchColumns.length} columns; load average before: ${load()}`);
  const file = join(dir, 'gigintel.csv');
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const { rows } = await writeCsv({ name: 'Data', columns: benchColumns, rows: benchRows(N) }, createWriteStream(file), { title: 'Bench', params: [] });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const rate = rows / (ms / 1000);
  // On a shared box the wall clock mostly measures the queue for a core; CPU time is the cost.
  console.log(`CPU ${(cpuMs / 1000).toFixed(2)} s (user ${(cpu.user / 1e6).toFixed(2)}, sys ${(cpu.system / 1e6).toFixed(2)}) → ${Math.round(rows / (cpuMs / 1000)).toLocaleString('en')} rows per CPU-second`);
  console.log(`gigintel writeCsv: ${(ms / 1000).toFixed(2)} s, ${Math.round(rate).toLocaleString('en')} rows/s ` +
    `(target ≥ ${TARGET.toLocaleString('en')}: ${rate >= TARGET ? 'met' : 'MISSED'}), ${(statSync(file).size / 1e6).toFixed(1)} MB, ` +
    `peak RSS ${(await peakRssMb()).toFixed(0)} MB; load ${load()}`);
  // What the row source alone costs (building the row objects stands in for the database driver).
  const s0 = process.cpuUsage();
  for await (const _row of benchRows(N)) { /* drain */ }
  const src = process.cpuUsage(s0);
  const srcMs = (src.user + src.system) / 1000;
  console.log(`row source alone: CPU ${(srcMs / 1000).toFixed(2)} s; the writer itself: ${Math.round(rows / ((cpuMs - srcMs) / 1000)).toLocaleString('en')} rows per CPU-second`);
  if (PEER) {
    const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
    const peer = spawnSync(python, [new URL('./peers/openpyxl-write.py', import.meta.url).pathname, String(N), join(dir, 'python.csv'), 'csv'], { encoding: 'utf8' });
    if (peer.status !== 0) throw new Error(`csv peer failed:\n${peer.stderr}`);
    const res = JSON.parse(peer.stdout.trim().split('\n').at(-1)!) as { write_ms: number };
    console.log(`python csv module: ${(res.write_ms / 1000).toFixed(2)} s, ${Math.round(N / (res.write_ms / 1000)).toLocaleString('en')} rows/s; ` +
      `ratio ${(res.write_ms / ms).toFixed(2)}×; load ${load()}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
