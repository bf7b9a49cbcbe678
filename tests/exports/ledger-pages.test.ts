// The ledger is read in keyset pages along (event_at, id): rows sharing a time are neither lost
// nor repeated at page boundaries, and the filters hold on every page.
import type { Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import { streamLedgerPages } from '../../exports/reports/finance.repository.js';
import { DIALECTS, useTestEnv } from '../helpers/test-env.js';

describe.each(DIALECTS)('ledger pages (%s)', (dialect) => {
  const env = useTestEnv({ dialect });

  it('walks ties across page boundaries exactly once, in order', async () => {
    const at = Date.UTC(2026, 10, 1);
    // 1,234 rows on only 7 distinct times, ids inserted out of order.
    const rows = Array.from({ length: 1234 }, (_, i) => {
      const n = (i * 7919) % 1234;
      return { id: `t_${String(n).padStart(5, '0')}`, kind: i % 3 ? 'wallet_topup' : 'payout', status: 'succeeded', amount_minor: n, currency: 'USD', idempotency_key: `k${n}`, user_id: `u${n % 50}`, job_id: null, hire_id: null, campaign_id: null, event_at: at + (n % 7) * 1000, ingested_at: at };
    });
    const db = env.db.db as unknown as Kysely<Record<string, Record<string, unknown>>>;
    for (let i = 0; i < rows.length; i += 200) await db.insertInto('transaction').values(rows.slice(i, i + 200)).execute();

    const seen: { id: string; at: number }[] = [];
    const sizes: number[] = [];
    for await (const page of streamLedgerPages(env.db.db, { from: at, to: at + 7000 }, 100)) {
      sizes.push(page.length);
      for (const r of page) seen.push({ id: r.id, at: Number(r.event_at) });
    }
    // Full pages while there is more (each next page was asked for while this one was handed on).
    expect(sizes).toEqual([...Array(12).fill(100), 34]);
    expect(seen).toHaveLength(1234);
    expect(new Set(seen.map((r) => r.id)).size).toBe(1234);
    const sorted = [...seen].sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    expect(seen).toEqual(sorted);

    const payouts: string[] = [];
    for await (const page of streamLedgerPages(env.db.db, { from: at, to: at + 7000, kind: 'payout' }, 50)) payouts.push(...page.map((r) => r.kind));
    expect(payouts).toHaveLength(rows.filter((r) => r.kind === 'payout').length);
    expect(new Set(payouts)).toEqual(new Set(['payout']));

    // Stopping after the first page leaves the read-ahead to finish on its own, without an error.
    for await (const page of streamLedgerPages(env.db.db, { from: at, to: at + 7000 }, 100)) { expect(page).toHaveLength(100); break; }
    const again: string[] = [];
    for await (const page of streamLedgerPages(env.db.db, { from: at, to: at + 1000 }, 1000)) again.push(...page.map((r) => r.id));
    expect(again).toHaveLength(rows.filter((r) => r.event_at < at + 1000).length);
  });
});
