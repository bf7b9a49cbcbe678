// The privacy rules of exports on their own: keyed pseudonyms (stable, per key, never the raw id,
// equal to HMAC-SHA256 computed independently) and small-group suppression that drops exactly the
// rows below k, counts them, and streams (rows are filtered as they are read).
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createPseudonymiser, suppressSmallGroups } from '../../exports/privacy.js';
import type { ReportRow, ReportSheet } from '../../exports/report.types.js';

async function collect(rows: AsyncIterable<ReportRow>): Promise<ReportRow[]> {
  const out: ReportRow[] = [];
  for await (const r of rows) out.push(r);
  return out;
}

function sheetOf(rows: ReportRow[], unitsKey?: string): ReportSheet {
  return {
    name: 'S', columns: [{ key: 'g', header: 'G', type: 'string' }, { key: 'units', header: 'Units', type: 'integer' }],
    rows: { async *[Symbol.asyncIterator]() { yield* rows; } }, ...(unitsKey ? { unitsKey } : {}),
  };
}

describe('createPseudonymiser', () => {
  it('is stable per key, differs between keys, never the raw id, and is the keyed HMAC', () => {
    const a = createPseudonymiser('key-one');
    const b = createPseudonymiser('key-two');
    const ids = Array.from({ length: 500 }, (_, i) => `u_${i}`).concat(['', 'ünïcødé 用户', 'c_00001']);
    const seen = new Set<string>();
    for (const id of ids) {
      const p = a(id);
      expect(p).toBe(a(id));
      expect(p).toBe(createPseudonymiser('key-one')(id));
      expect(p).not.toBe(id);
      expect(b(id)).not.toBe(p);
      expect(p).toMatch(/^u_[0-9a-f]{20}$/);
      expect(p).toBe(`u_${createHmac('sha256', 'key-one').update(id, 'utf8').digest('hex').slice(0, 20)}`);
      seen.add(p);
    }
    expect(seen.size).toBe(ids.length);
  });

  it('refuses an empty key', () => {
    expect(() => createPseudonymiser('')).toThrow(/empty/);
  });
});

describe('suppressSmallGroups', () => {
  const rows: ReportRow[] = [
    { g: 'a', units: 1 }, { g: 'b', units: 10 }, { g: 'c', units: 9 }, { g: 'd', units: 25 },
    { g: 'e', units: null }, { g: 'f', units: '12' }, { g: 'g', units: 0 }, { g: 'h', units: BigInt(10) },
  ];

  it('drops exactly the rows with fewer than k units (missing counts as 0) and counts them', async () => {
    const s = suppressSmallGroups(sheetOf(rows, 'units'), 10);
    const kept = await collect(s.sheet.rows);
    expect(kept.map((r) => r.g)).toEqual(['b', 'd', 'f', 'h']);
    expect(s.suppressed()).toBe(4);
    expect(s.sheet.columns).toEqual(sheetOf(rows).columns);
    expect(s.sheet.unitsKey).toBe('units');
  });

  it('keeps everything at k = 0 and drops only empty groups at k = 1', async () => {
    const none = suppressSmallGroups(sheetOf(rows, 'units'), 0);
    expect(await collect(none.sheet.rows)).toHaveLength(rows.length);
    expect(none.suppressed()).toBe(0);
    const one = suppressSmallGroups(sheetOf(rows, 'units'), 1);
    expect((await collect(one.sheet.rows)).map((r) => r.g)).toEqual(['a', 'b', 'c', 'd', 'f', 'h']);
    expect(one.suppressed()).toBe(2);
  });

  it('passes a sheet without unitsKey through untouched', async () => {
    const sheet = sheetOf(rows);
    const s = suppressSmallGroups(sheet, 100);
    expect(s.sheet).toBe(sheet);
    expect(await collect(s.sheet.rows)).toHaveLength(rows.length);
    expect(s.suppressed()).toBe(0);
  });

  it('streams: rows are read one at a time as the consumer pulls, the count grows as it goes', async () => {
    let produced = 0;
    const sheet: ReportSheet = {
      name: 'S', columns: [], unitsKey: 'units',
      rows: { async *[Symbol.asyncIterator]() { for (let i = 0; i < 1_000_000; i++) { produced++; yield { units: i % 2 }; } } },
    };
    const s = suppressSmallGroups(sheet, 1);
    const it = s.sheet.rows[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual({ units: 1 });
    expect(produced).toBe(2);
    expect(s.suppressed()).toBe(1);
    await it.return?.();
    expect(produced).toBe(2);
  });
});
