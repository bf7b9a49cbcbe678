// A snapshot's rows on disk: one Apache Arrow IPC file (arquero + flechette), named by the snapshot,
// whose sha256 is the snapshot's content hash. Written to a temporary name and renamed, so a reader
// never sees half a file.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as aq from 'arquero';
import { bool, columnFromArray, columnFromValues, dictionary, float64, tableFromColumns, tableToIPC, utf8, type Column } from '@uwdata/flechette';
import type { DatasetColumn } from './point-in-time-join.js';

export type ArqueroTable = ReturnType<typeof aq.table>;

/**
 * The Arrow IPC file bytes of the columns, in order; deterministic (the same columns give the same
 * bytes). Built with flechette directly from the typed columns: going through an arquero table
 * would box every number first.
 */
export function encodeDataset(columns: readonly DatasetColumn[]): Uint8Array {
  const arrow: [string, Column<unknown>][] = columns.map((c) => {
    const v = c.values;
    if (v instanceof Float64Array) return [c.name, columnFromValues((add: (x: number | null) => void) => { for (const x of v) add(Number.isNaN(x) ? null : x); }, float64())];
    if (v instanceof Int8Array) return [c.name, columnFromValues((add: (x: boolean | null) => void) => { for (const x of v) add(x === -1 ? null : x === 1); }, bool())];
    // Ids are unique per row; features and lists repeat (few categories, an entity's values on each
    // of its labels): a dictionary stores and encodes each distinct value once.
    return [c.name, columnFromArray(v, c.role === 'id' ? utf8() : dictionary(utf8()))];
  });
  return tableToIPC(tableFromColumns(arrow), { format: 'file' })!;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function writeDatasetFile(path: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Reads a file and its sha256 together (one read: the bytes verified are the bytes decoded). */
export async function readDatasetFile(path: string): Promise<{ bytes: Uint8Array; contentHash: string }> {
  const bytes = await readFile(path);
  return { bytes, contentHash: sha256(bytes) };
}

export function decodeDataset(bytes: Uint8Array): ArqueroTable {
  return aq.fromArrow(bytes);
}

/**
 * Streams a table to CSV (header row; null as an empty cell; JSON columns as quoted text), row by
 * row rather than one string, so 500,000 rows of 50 columns do not hit V8's string limit.
 */
export async function writeCsv(table: ArqueroTable, path: string): Promise<number> {
  const names = table.columnNames();
  const getters = names.map((n) => table.getter(n));
  const out = createWriteStream(path);
  const done = new Promise<void>((resolve, reject) => { out.on('finish', resolve); out.on('error', reject); });
  let buf = `${names.map(csvCell).join(',')}\n`;
  const rows = table.numRows();
  for (let r = 0; r < rows; r++) {
    let line = '';
    for (let c = 0; c < getters.length; c++) line += (c ? ',' : '') + csvCell(getters[c]!(r));
    buf += `${line}\n`;
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await done;
  return rows;
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'string' ? v : v instanceof Date ? v.toISOString() : String(v);
  return /[",\n\r]/.test(s) || s === '' ? `"${s.replace(/"/g, '""')}"` : s;
}
