// Figure for issue #9: an XLSX of 1,000,000 rows × 12 columns written by writeXlsx (exceljs's
// streaming WorkbookWriter) against openpyxl's write-only workbook writing the same rows with the
// same formats (bench/peers/openpyxl-write.py, Debian's python3-openpyxl), in the same run.
// Targets: ≥ 1.5× faster than openpyxl, peak RSS < 250 MB.
// Run: npm run bench -- bench/exports-xlsx.ts [rows, default 1000000] [--no-peer]
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeXlsx } from '../exports/format/xlsx-writer.js';
import { benchColumns, benchRows, peakRssMb } from './exports-data.js';

const args = process.argv.slice(2);
const N = Number(args.find((a) => !a.startsWith('--')) ?? 1_000_000);
const PEER = !args.includes('--no-peer');
const dir = mkdtempSync(join(tmpdir(), 'gigintel-bench-xlsx-'));
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

try {
  console.log(`rows ${N.toLocaleString('en')} × ${benchColumns.length} columns; load average before: ${load()}`);
  const file = join(dir, 'gigintel.xlsx');
  let sampledPeak = 0;
  const sampler = setInterval(() => { sampledPeak = Math.max(sampledPeak, process.memoryUsage().rss); }, 50);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const { rows } = await writeXlsx(
    { sheets: [{ name: 'Data', columns: benchColumns, rows: benchRows(N) }] },
    createWriteStream(file),
    { title: 'Bench', params: [{ name: 'rows', value: String(N) }] },
  );
  const ours = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  clearInterval(sampler);
  // CPU time includes zlib's threadpool; on a shared box the wall clock mostly measures the queue for a core.
  console.log(`CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s (user ${(cpu.user / 1e6).toFixed(2)}, sys ${(cpu.system / 1e6).toFixed(2)})`);
  const hwm = await peakRssMb();
  console.log(`gigintel writeXlsx: ${(ours / 1000).toFixed(2)} s (${Math.round(rows / (ours / 1000)).toLocaleString('en')} rows/s), ` +
    `${(statSync(file).size / 1e6).toFixed(1)} MB, peak RSS ${hwm.toFixed(0)} MB (VmHWM; sampled ${(sampledPeak / 2 ** 20).toFixed(0)} MB); load ${load()}`);

  if (PEER) {
    const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
    const peer = spawnSync(python, [new URL('./peers/openpyxl-write.py', import.meta.url).pathname, String(N), join(dir, 'openpyxl.xlsx')], { encoding: 'utf8' });
    if (peer.status !== 0) throw new Error(`openpyxl peer failed:\n${peer.stderr}`);
    const res = JSON.parse(peer.stdout.trim().split('\n').at(-1)!) as { write_ms: number; openpyxl: string };
    console.log(`openpyxl ${res.openpyxl} write_only: ${(res.write_ms / 1000).toFixed(2)} s, ${(statSync(join(dir, 'openpyxl.xlsx')).size / 1e6).toFixed(1)} MB; load ${load()}`);
    const ratio = res.write_ms / ours;
    console.log(`ratio: gigintel is ${ratio.toFixed(2)}× openpyxl's speed (target ≥ 1.5×: ${ratio >= 1.5 ? 'met' : 'MISSED'}); ` +
      `peak RSS target < 250 MB: ${hwm < 250 ? 'met' : 'MISSED'}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
