// The privacy rules of exports: user ids leave as keyed pseudonyms (the same id gives the same
// pseudonym under one key, so rows still join within and across files of that key, but the raw id
// cannot be recovered or guessed without it), and aggregate rows that describe fewer than k units
// are dropped before any writer sees them.
import { createHmac } from 'node:crypto';
import type { ReportRow, ReportSheet } from './report.types.js';

/** Hex characters kept of the HMAC: 80 bits, collision-free in practice for any user base. */
const PSEUDONYM_HEX = 20;
/** Pseudonyms remembered per pseudonymiser: user ids repeat (a Zipf of activity), HMACs cost ~1 µs each. */
const CACHE_LIMIT = 100_000;

/** `u_` + the first 20 hex characters of HMAC-SHA256(key, userId). */
export function createPseudonymiser(key: string): (userId: string) => string {
  if (key.length === 0) throw new Error('a pseudonymisation key must not be empty');
  const cache = new Map<string, string>();
  return (userId) => {
    let p = cache.get(userId);
    if (p === undefined) {
      p = `u_${createHmac('sha256', key).update(userId, 'utf8').digest('hex').slice(0, PSEUDONYM_HEX)}`;
      if (cache.size >= CACHE_LIMIT) cache.clear();
      cache.set(userId, p);
    }
    return p;
  };
}

/**
 * The sheet without the rows whose `unitsKey` value is below k (a missing or non-numeric count
 * counts as 0: unknown support is not enough support). Streaming: rows are filtered as they pass;
 * `suppressed()` tells how many were dropped so far (all of them once the rows are consumed).
 * A sheet without `unitsKey` passes through untouched.
 */
export function suppressSmallGroups(sheet: ReportSheet, k: number): { sheet: ReportSheet; suppressed(): number } {
  const key = sheet.unitsKey;
  if (!key) return { sheet, suppressed: () => 0 };
  const unitsKey: string = key;
  let dropped = 0;
  const source = sheet.rows;
  async function* kept(): AsyncGenerator<ReportRow> {
    for await (const row of source) {
      if (unitsOf(row[unitsKey]) < k) { dropped++; continue; }
      yield row;
    }
  }
  return { sheet: { ...sheet, rows: { [Symbol.asyncIterator]: kept } }, suppressed: () => dropped };
}

function unitsOf(v: ReportRow[string] | undefined): number {
  if (typeof v === 'number') return Number.isFinite(v) ? v : 0;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : 0;
  }
  return 0;
}
