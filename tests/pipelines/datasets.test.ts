// Point-in-time training sets on both dialects: no leakage (future rows, backfills), the latest
// eligible value, TTL expiry, labels of a hand-made marketplace, stable content hashes, tamper
// detection and the CSV export round trip.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as aq from 'arquero';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertRows } from '../../pipelines/contract/source.repository.js';
import { buildDataset, loadDataset, type DatasetKind } from '../../pipelines/datasets/build-dataset.js';
import { DatasetIntegrityError } from '../../pipelines/datasets/dataset.errors.js';
import { writeCsv } from '../../pipelines/datasets/dataset-file.js';
import { HistoryIndex } from '../../pipelines/datasets/point-in-time-join.js';
import { appendHistory } from '../../pipelines/features/store/offline-store.repository.js';
import type { FeatureValues } from '../../pipelines/features/feature-set.js';
import type { Db } from '../../platform/db/database.js';
import { DIALECTS, useTestEnv } from '../helpers/test-env.js';

const H = 3_600_000;
const T0 = Date.UTC(2026, 10, 1);
const FROM = T0, TO = T0 + 48 * H;

/** A hand-made marketplace: proposals, hires, impressions, a click, and feature history around them. */
async function seedHandMade(db: Db): Promise<void> {
  const person = { currency: 'USD', country: 'US', timezone: 'UTC', joined_at: 0, updated_at: 0 };
  await upsertRows(db, 'client', ['id'], [{ id: 'c1', name: 'Client', country: 'US', timezone: 'UTC', joined_at: 0, updated_at: 0 }], 'updated_at');
  await upsertRows(db, 'provider', ['id'], ['p1', 'p2', 'p3'].map((id) => ({ id, headline: id, hourly_rate_minor: 5000, level: 'expert',
    rating: null, review_count: 0, response_rate: null, completed_jobs: 0, last_active_at: null, ...person })), 'updated_at');
  await upsertRows(db, 'job', ['id'], ['j1', 'j2'].map((id) => ({ id, client_id: 'c1', category_id: null, kind: 'hourly', title: id,
    budget_min_minor: 1000, budget_max_minor: 9000, fixed_price_minor: null, currency: 'USD', posted_at: 0, closes_at: null, status: 'open', updated_at: 0 })), 'updated_at');
  const proposal = (id: string, provider: string, job: string, at: number) => ({ id, provider_id: provider, job_id: job, price_minor: 1, currency: 'USD', event_at: at, ingested_at: at });
  await upsertRows(db, 'proposal', ['id'], [
    proposal('pr_a', 'p1', 'j1', T0 + 10 * H), proposal('pr_b', 'p2', 'j1', T0 + 40 * H), proposal('pr_c', 'p3', 'j2', T0 + 5 * H),
    proposal('pr_e', 'p3', 'j1', T0 + 20 * H),
    { ...proposal('pr_d', 'p2', 'j2', T0 + 30 * H), ingested_at: TO + 5 * H }, // arrived after the window closed
    proposal('pr_late', 'p1', 'j2', TO + H), // outside the window
  ], 'ingested_at');
  const hire = (id: string, job: string, provider: string, at: number, ingestedAt = at) =>
    ({ id, job_id: job, provider_id: provider, proposal_id: null, amount_minor: 1, currency: 'USD', event_at: at, ingested_at: ingestedAt });
  await upsertRows(db, 'hire', ['id'], [
    { ...hire('h1', 'j1', 'p1', T0 + 11 * H), proposal_id: 'pr_a' },
    hire('h2', 'j2', 'p2', T0 + 31 * H, TO + 6 * H),
    hire('h3', 'j1', 'p3', TO + 2 * H), // hired after the window: still the proposal's outcome
  ], 'ingested_at');

  await upsertRows(db, 'advertiser', ['id'], [{ id: 'ad1', name: 'Adv', client_id: null, updated_at: 0 }], 'updated_at');
  await upsertRows(db, 'campaign', ['id'], [{ id: 'cp1', advertiser_id: 'ad1', name: 'C', bid_type: 'cpc', bid_minor: 10, currency: 'USD', daily_budget_minor: null,
    lifetime_budget_minor: null, starts_at: 0, ends_at: null, targeting: null, status: 'active', updated_at: 0 }], 'updated_at');
  await upsertRows(db, 'creative', ['id'], [{ id: 'cr1', campaign_id: 'cp1', title: 't', url: 'https://x.test', updated_at: 0 }], 'updated_at');
  await upsertRows(db, 'placement', ['id'], [{ id: 'pl1', slot: 'top', name: 'Top', updated_at: 0 }], 'updated_at');
  const ad = (id: string, at: number, fraud: number | null) => ({ id, campaign_id: 'cp1', creative_id: 'cr1', placement_id: 'pl1', user_id: 'u1', ip: '10.0.0.1',
    device: 'mobile', fraud_label: fraud, event_at: at, ingested_at: at });
  await upsertRows(db, 'impression', ['id'], [ad('i1', T0 + H, 0), ad('i2', T0 + 2 * H, 1), ad('i3', T0 + 3 * H, null)], 'ingested_at');
  await upsertRows(db, 'click', ['id'], [{ ...ad('k1', T0 + 2 * H + 5000, 1), impression_id: 'i2' }], 'ingested_at');

  const hist = (featureSet: string, entityKey: string, eventAt: number, createdAt: number, values: FeatureValues) =>
    ({ featureSet, version: 1, entityKey, eventAt, createdAt, values });
  const provider = (rating: number, days: number): FeatureValues => ({ provider_id: 'p1', skill_ids: ['s1'], smoothed_rating: rating, days_since_active: days, currency: 'USD' });
  await appendHistory(db, [
    hist('provider_profile', 'p1', T0 + H, T0 + H, provider(4.0, 1)),
    hist('provider_profile', 'p1', T0 + 2 * H, T0 + 2 * H, provider(4.2, 0.5)), // the latest eligible for pr_a (t = 10 h)
    hist('provider_profile', 'p1', T0 + 3 * H, T0 + 20 * H, provider(9.9, 0)), // backfilled at 20 h: must not reach pr_a
    hist('provider_profile', 'p1', T0 + 12 * H, T0 + 12 * H, provider(4.8, 0)), // after pr_a's time
    hist('provider_profile', 'p2', T0 + H, T0 + H, { provider_id: 'p2', skill_ids: [], smoothed_rating: 4.4, days_since_active: 1 }), // 39 h old at pr_b
    hist('job_profile', 'j1', T0, T0, { required_skill_ids: ['s1', 's2'], client_id: 'c1', currency: 'USD' }),
    hist('skill_idf', 's1', T0, T0, { idf: 2 }), hist('skill_idf', 's2', T0, T0, { idf: 2 }),
    hist('provider_activity', 'p1', T0 + 9 * H, T0 + 9 * H, { proposals_24h: 3, proposals_7d: 5 }),
    hist('creative_ctr', 'cr1', T0 + H / 2, T0 + H / 2, { ctr_1h: 0.05, ctr_24h: 0.04 }),
    hist('creative_ctr', 'cr1', T0 + 2 * H + 1000, T0 + 2 * H + 1000, { ctr_1h: 0.5, ctr_24h: 0.5 }), // 1 s after i2: future for it
  ]);
}

describe.each(DIALECTS)('point-in-time training sets on %s', (dialect) => {
  const env = useTestEnv({ dialect });
  let dataDir = '';
  const deps = () => ({ db: env.db.db, dataDir });
  const rowsOf = async (kind: DatasetKind, now: number) => {
    const built = await buildDataset(deps(), { kind, from: FROM, to: TO, now });
    const { table, snapshot } = await loadDataset(deps(), built.snapshot.id);
    return { built, snapshot, rows: table.objects() as Record<string, unknown>[] };
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'gigintel-datasets-'));
    await seedHandMade(env.db.db);
  });

  afterAll(() => { if (dataDir) rmSync(dataDir, { recursive: true, force: true }); });

  it('labels every proposal in the window by whether its (job, provider) was hired', async () => {
    const { rows, snapshot } = await rowsOf('matching', T0 + 100 * H);
    expect(rows.map((r) => [r.proposal_id, r.label, r.label_at])).toEqual([
      ['pr_c', 0, T0 + 5 * H], ['pr_a', 1, T0 + 10 * H], ['pr_e', 1, T0 + 20 * H], ['pr_d', 1, T0 + 30 * H], ['pr_b', 0, T0 + 40 * H],
    ]);
    expect(snapshot).toMatchObject({ kind: 'matching', rowCount: 5, labelRate: 3 / 5, from: FROM, to: TO, asOfCreated: false });
    expect(snapshot.featureSets.map((s) => s.name)).toEqual(['provider_profile', 'job_profile', 'provider_activity', 'skill_idf', 'match_pair']);
  });

  it('joins the latest value with event and created time at or before the label time, never a future or backfilled one', async () => {
    const { rows } = await rowsOf('matching', T0 + 100 * H);
    const a = rows.find((r) => r.proposal_id === 'pr_a')!;
    expect(a.provider_profile__smoothed_rating).toBe(4.2); // not 4.8 (future), not 9.9 (backfilled later)
    expect(a.provider_profile__days_since_active).toBe(0.5);
    expect(a.provider_activity__proposals_24h).toBe(3);
    expect(a.job_profile__required_skill_ids).toBe('["s1","s2"]'); // lists as JSON text
    expect(a.match_pair__required_skill_coverage).toBe(0.5);
    expect(a.match_pair__skill_overlap_idf).toBe(0.5);
    expect(a.match_pair__past_client_work).toBe(false);
  });

  it('nulls a feature past its TTL and leaves entities without history null', async () => {
    const { rows, snapshot } = await rowsOf('matching', T0 + 100 * H);
    const b = rows.find((r) => r.proposal_id === 'pr_b')!;
    expect(b.provider_profile__smoothed_rating).toBe(4.4); // no TTL
    expect(b.provider_profile__days_since_active).toBeNull(); // 39 h old, TTL 1 day
    expect(b.provider_activity__proposals_24h).toBeNull();
    const c = rows.find((r) => r.proposal_id === 'pr_c')!;
    expect(c.provider_profile__smoothed_rating).toBeNull();
    expect(c.match_pair__required_skill_coverage).toBeNull();
    expect(snapshot.nullRates['provider_profile__smoothed_rating']).toBeCloseTo(2 / 5);
    expect(snapshot.nullRates['provider_profile__days_since_active']).toBeCloseTo(4 / 5);
  });

  it('with asOfCreated, leaves out proposals and hires ingested after the window', async () => {
    const built = await buildDataset(deps(), { kind: 'matching', from: FROM, to: TO, asOfCreated: true, now: T0 + 100 * H });
    const rows = (await loadDataset(deps(), built.snapshot.id)).table.objects() as Record<string, unknown>[];
    expect(rows.map((r) => [r.proposal_id, r.label])).toEqual([['pr_c', 0], ['pr_a', 1], ['pr_e', 0], ['pr_b', 0]]);
    expect(built.snapshot.asOfCreated).toBe(true);
  });

  it('labels impressions by clicks, keeps fraud_label, joins CTRs as of the impression and computes request features', async () => {
    const { rows, snapshot } = await rowsOf('ads', T0 + 100 * H);
    expect(rows.map((r) => [r.impression_id, r.label, r.fraud_label])).toEqual([['i1', 0, 0], ['i2', 1, 1], ['i3', 0, null]]);
    expect(snapshot.labelRate).toBeCloseTo(1 / 3);
    expect(rows[0]!.creative_ctr__ctr_1h).toBe(0.05);
    expect(rows[1]!.creative_ctr__ctr_1h).toBeNull(); // 1.5 h old at i2 (TTL 1 h); the 0.5 row is 1 s in its future
    expect(rows[1]!.creative_ctr__ctr_24h).toBe(0.04);
    expect(rows[2]!.creative_ctr__ctr_1h).toBe(0.5); // 59 min 59 s old at i3: still within its TTL
    expect(rows[0]).toMatchObject({ ad_request__hour_of_day: 1, ad_request__device: 'mobile', device_id: 'mobile', user_id: 'u1' });
    expect(snapshot.columns.find((c) => c.name === 'fraud_label')?.role).toBe('evaluation');
  });

  it('gives the same content hash for the same inputs, and loadDataset refuses a tampered file', async () => {
    const first = await buildDataset(deps(), { kind: 'matching', from: FROM, to: TO, now: T0 + 200 * H });
    const second = await buildDataset(deps(), { kind: 'matching', from: FROM, to: TO, now: T0 + 300 * H });
    expect(second.snapshot.contentHash).toBe(first.snapshot.contentHash);
    expect(second.snapshot.featureSetHash).toBe(first.snapshot.featureSetHash);
    expect(second.snapshot.id).not.toBe(first.snapshot.id);
    expect(first.snapshot.id).toMatch(/^ds_matching_\d{8}T\d{4}_[0-9a-f]{8}$/);
    const again = await buildDataset(deps(), { kind: 'matching', from: FROM, to: TO, now: T0 + 200 * H });
    expect(again.created).toBe(false);

    const path = join(dataDir, second.snapshot.storagePath);
    const bytes = readFileSync(path);
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
    writeFileSync(path, bytes);
    await expect(loadDataset(deps(), second.snapshot.id)).rejects.toBeInstanceOf(DatasetIntegrityError);
    await expect(loadDataset(deps(), first.snapshot.id)).resolves.toBeTruthy();
  });

  it('exports to CSV and reads back the same rows', async () => {
    const built = await buildDataset(deps(), { kind: 'ads', from: FROM, to: TO, now: T0 + 400 * H });
    const { table } = await loadDataset(deps(), built.snapshot.id);
    const file = join(dataDir, 'ads.csv');
    expect(await writeCsv(table, file)).toBe(3);
    const back = aq.fromCSV(readFileSync(file, 'utf8'));
    expect(back.columnNames()).toEqual(table.columnNames());
    expect(back.objects()).toEqual(table.objects());
  });
});

describe('the history index', () => {
  const set = { name: 's', version: 1, features: [{ name: 'v', ttlMs: null }, { name: 'w', ttlMs: 10 }] };
  const index = new HistoryIndex(set);
  for (const [eventAt, createdAt, v] of [[100, 100, 1], [200, 500, 2], [300, 300, 3], [300, 350, 4], [50, 900, 5]] as const) {
    index.add({ entityKey: 'e', eventAt, createdAt, values: { v, w: v } });
  }
  index.seal();
  const at = (t: number) => index.lookup('e', t)?.values ?? null;

  it('sees a row only once both its event and created times have passed, and takes the latest event time', () => {
    expect(at(99)).toBeNull();
    expect(at(150)).toEqual({ v: 1, w: null }); // w is 50 ms old, TTL 10
    expect(at(299)).toEqual({ v: 1, w: null }); // the 200 row exists only from 500
    expect(at(300)).toEqual({ v: 3, w: 3 });
    expect(at(360)).toEqual({ v: 4, w: null }); // same event time, corrected later: the correction wins
    expect(at(500)).toEqual({ v: 4, w: null }); // the backfilled 200 row is older than 300
    expect(at(1000)).toEqual({ v: 4, w: null }); // so is the one backfilled at 900
    expect(index.lookup('unknown', 1000)).toBeNull();
  });

  it('keeps a cursor of every entity value moving forward in time', () => {
    const c = index.cursor('v');
    expect([...c.at(150)]).toEqual([['e', 1]]);
    expect([...c.at(360)]).toEqual([['e', 4]]);
    expect([...c.at(1000)]).toEqual([['e', 4]]);
    expect([...c.at(150)]).toEqual([['e', 1]]); // back in time: rescans
  });
});

describe('gigintel dataset (CLI)', () => {
  const env = useTestEnv({ dialect: 'sqlite' });
  const dataDir = mkdtempSync(join(tmpdir(), 'gigintel-datasets-cli-'));
  beforeAll(async () => { await seedHandMade(env.db.db); });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  const run = (...args: string[]) => {
    const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GIGINTEL_')));
    return spawnSync(process.execPath, [new URL('../../bin/gigintel.js', import.meta.url).pathname, 'dataset', ...args], {
      env: { ...baseEnv, GIGINTEL_DATABASE_URL: env.databaseUrl, GIGINTEL_DATA_DIR: dataDir, GIGINTEL_LOG_LEVEL: 'warn' }, encoding: 'utf8', timeout: 60_000,
    });
  };

  it('builds, lists, shows and exports a snapshot; a bad date exits 2 with the option named', () => {
    const built = run('build', 'matching', '--from', '2026-11-01', '--to', '2026-11-03T00:00:00Z');
    expect([built.status, built.stderr]).toEqual([0, '']);
    const id = /^built (ds_matching_\d{8}T\d{4}_[0-9a-f]{8}): 5 rows, label rate 60\.00%/.exec(built.stdout)?.[1];
    expect(id).toBeDefined();
    expect(run('list').stdout).toContain(id);
    const shown = run('show', id!);
    expect(shown.stdout).toContain('provider_profile@v1');
    expect(shown.stdout).toMatch(/provider_profile__smoothed_rating\s+float\s+feature\s+40\.00%/);
    const csv = join(dataDir, 'out.csv');
    expect(run('export', id!, '--csv', csv).status).toBe(0);
    expect(readFileSync(csv, 'utf8').split('\n')[0]).toMatch(/^proposal_id,provider_id,job_id,client_id,label_at,label,provider_profile__/);

    const bad = run('build', 'matching', '--from', 'yesterday', '--to', '2026-11-03');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--from must be an ISO 8601 date or time');
    expect(run('build', 'nope', '--from', '2026-11-01', '--to', '2026-11-03').status).toBe(2);
    expect(run('show', 'ds_missing').status).toBe(2);
  });
});
