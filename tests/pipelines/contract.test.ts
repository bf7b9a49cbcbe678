// The data contract: row validation, and idempotent chunked writes on both dialects.
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { insertNewRows, upsertRows } from '../../pipelines/contract/source.repository.js';
import { tableSpec } from '../../pipelines/contract/table-specs.js';
import { validateRow } from '../../pipelines/contract/validate-row.js';
import { DIALECTS, useTestEnv } from '../helpers/test-env.js';

const provider = {
  id: 'prov_1', headline: 'Senior TypeScript engineer', hourly_rate_minor: '8500', currency: 'EUR', country: 'DE',
  timezone: 'Europe/Berlin', level: 'expert', rating: '4.8', review_count: '31', response_rate: '0.9', completed_jobs: '40',
  joined_at: '2024-03-01T09:00:00Z', last_active_at: '1764000000000',
};

describe('row validation', () => {
  const spec = tableSpec('provider')!;

  it('turns a CSV record into a typed row', () => {
    const r = validateRow(spec, provider, 123);
    expect(r).toEqual({ ok: true, row: expect.objectContaining({ hourly_rate_minor: 8500, rating: 4.8, joined_at: Date.UTC(2024, 2, 1, 9), last_active_at: 1764000000000, updated_at: 123 }) });
  });

  it('names every bad field and why', () => {
    const r = validateRow(spec, { ...provider, hourly_rate_minor: '85.50', currency: 'EURO', country: 'XX', timezone: 'Mars/Olympus',
      level: 'guru', rating: '7', joined_at: '2024-03-01 09:00', colour: 'red', headline: '' }, 1);
    expect(r.ok).toBe(false);
    const problems = Object.fromEntries((r as { problems: { path: string; message: string }[] }).problems.map((p) => [p.path, p.message]));
    expect(problems.hourly_rate_minor).toContain('whole number of minor units');
    expect(problems.currency).toContain('ISO 4217');
    expect(problems.country).toContain('ISO 3166');
    expect(problems.timezone).toContain('IANA');
    expect(problems.level).toContain('one of entry, intermediate, expert');
    expect(problems.rating).toContain('at most 5');
    expect(problems.joined_at).toContain('with a zone');
    expect(problems.colour).toContain('is not a column of provider');
    expect(problems.headline).toBe('is required');
  });

  it('accepts time-zone aliases and fills empty optional fields with their database default', () => {
    const r = validateRow(spec, { ...provider, timezone: 'Asia/Kolkata', review_count: '', completed_jobs: '', rating: '' }, 1);
    expect(r).toEqual({ ok: true, row: expect.objectContaining({ timezone: 'Asia/Kolkata', review_count: 0, completed_jobs: 0, rating: null }) });
    expect(validateRow(spec, { ...provider, timezone: 'Asia/Kolkatta' }, 1).ok).toBe(false);
  });

  it('applies cross-field rules', () => {
    const job = { id: 'job_1', client_id: 'cl_1', kind: 'job', title: 'Build an API', budget_min_minor: 5000, budget_max_minor: 1000,
      currency: 'USD', posted_at: 1000, closes_at: 500, status: 'open' };
    const r = validateRow(tableSpec('job')!, job, 1);
    expect(r.ok ? [] : r.problems.map((p) => p.path)).toEqual(['budget_max_minor', 'closes_at']);
  });
});

describe.each(DIALECTS)('source writes on %s', (dialect) => {
  const env = useTestEnv({ dialect });

  it('upserts: inserts, leaves identical rows alone, updates changed ones', async () => {
    const db = env.db.db;
    const row = (over: Record<string, unknown>, at: number) => {
      const r = validateRow(tableSpec('provider')!, { ...provider, ...over }, at);
      if (!r.ok) throw new Error(JSON.stringify(r.problems));
      return r.row;
    };
    await upsertRows(db, 'provider', ['id'], [row({}, 100), row({ id: 'prov_2' }, 100)], 'updated_at');
    await upsertRows(db, 'provider', ['id'], [row({}, 200), row({ id: 'prov_2', hourly_rate_minor: '9000' }, 200)], 'updated_at');
    const rows = (await sql<{ id: string; hourly_rate_minor: number; updated_at: number }>`select id, hourly_rate_minor, updated_at from provider order by id`.execute(db)).rows;
    expect(rows.map((r) => [r.id, Number(r.hourly_rate_minor), Number(r.updated_at)])).toEqual([['prov_1', 8500, 100], ['prov_2', 9000, 200]]);
  });

  it('inserts only new keys for immutable rows', async () => {
    const db = env.db.db;
    await insertNewRows(db, 'event_receipt', ['event_id'], [{ event_id: 'e1', type: 'click', event_at: 1, ingested_at: 1 }]);
    await insertNewRows(db, 'event_receipt', ['event_id'], [
      { event_id: 'e1', type: 'changed', event_at: 2, ingested_at: 2 }, { event_id: 'e2', type: 'click', event_at: 3, ingested_at: 3 }]);
    const rows = (await sql<{ event_id: string; type: string }>`select event_id, type from event_receipt order by event_id`.execute(db)).rows;
    expect(rows).toEqual([{ event_id: 'e1', type: 'click' }, { event_id: 'e2', type: 'click' }]);
  });

  it('stores an object value as JSON text rather than letting it become SQL', async () => {
    const db = env.db.db;
    const row = { id: 'adv_1', name: "O'Brien & Co; drop table x", client_id: null, updated_at: 1 };
    await upsertRows(db, 'advertiser', ['id'], [row], 'updated_at');
    await upsertRows(db, 'campaign', ['id'], [{ id: 'cmp_1', advertiser_id: 'adv_1', name: 'c', bid_type: 'cpc', bid_minor: 10, currency: 'USD',
      daily_budget_minor: null, lifetime_budget_minor: null, starts_at: 1, ends_at: null, targeting: { country: ['DE'], 'a = 1': 'x' }, status: 'active', updated_at: 1 }], 'updated_at');
    const adv = (await sql<{ name: string }>`select name from advertiser`.execute(db)).rows;
    expect(adv[0]?.name).toBe("O'Brien & Co; drop table x");
    const c = (await sql<{ targeting: string }>`select targeting from campaign`.execute(db)).rows;
    expect(JSON.parse(c[0]!.targeting)).toEqual({ country: ['DE'], 'a = 1': 'x' });
  });

  it('records a payment submitted twice (same idempotency key, new id) once, on both dialects', async () => {
    const db = env.db.db;
    const tx = (id: string) => ({ id, kind: 'wallet_topup', status: 'succeeded', amount_minor: 500, currency: 'USD',
      idempotency_key: 'topup-42', user_id: 'u1', job_id: null, hire_id: null, campaign_id: null, event_at: 1, ingested_at: 1 });
    await insertNewRows(db, 'transaction', ['id'], [tx('t1')]);
    await insertNewRows(db, 'transaction', ['id'], [tx('t2')]);
    const rows = (await sql<{ id: string }>`select id from ${sql.table('transaction')}`.execute(db)).rows;
    expect(rows.map((r) => r.id)).toEqual(['t1']);
  });
});
