// The synthetic marketplace: determinism (same seed, same bytes) and the planted properties that
// models, fairness audits and fraud detection are evaluated against.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../platform/db/database.js';
import { createMigrationRunner, loadMigrationFiles } from '../../platform/db/migrator.js';
import { generateMarketplace, proximity, SEED_TABLES, seedTableKey, type MarketplaceOptions } from '../../pipelines/synthetic/generate-marketplace.js';
import {
  budgetTarget, clickProbability, creativeQuality, hireUtility, PENALISED_GENDER, PLACEMENTS, priceFit, qualificationMatch, skillCoverage,
  userAffinity,
} from '../../pipelines/synthetic/hire-utility.js';
import { seedMarketplace } from '../../pipelines/synthetic/seed-marketplace.js';
import { QUALIFICATIONS, slugify } from '../../pipelines/synthetic/taxonomy.js';
import { useTestEnv } from '../helpers/test-env.js';

type Row = Record<string, unknown>;
const SMALL: MarketplaceOptions = { providers: 300, jobs: 80, days: 10, seed: 'small' };
const MEDIUM: MarketplaceOptions = { providers: 1500, jobs: 400, days: 20, seed: 'planted', events: 60_000 };

const dir = mkdtempSync(join(tmpdir(), 'gigintel-synthetic-'));
const handles: DatabaseHandle[] = [];
afterAll(async () => {
  for (const h of handles) await h.close();
  rmSync(dir, { recursive: true, force: true });
});

async function freshSqlite(name: string): Promise<DatabaseHandle> {
  const h = createDatabase({ url: `sqlite:${join(dir, `${name}.db`)}` });
  handles.push(h);
  await createMigrationRunner(h.db, await loadMigrationFiles()).up();
  return h;
}

async function rows(h: DatabaseHandle, query: string): Promise<Row[]> {
  return (await sql.raw<Row>(query).execute(h.db)).rows;
}

async function dumpHash(h: DatabaseHandle): Promise<string> {
  const hash = createHash('sha256');
  for (const table of SEED_TABLES) {
    const key = seedTableKey(table).map((k) => `"${k}"`).join(', ');
    for (const r of await rows(h, `select * from "${table}" order by ${key}`)) hash.update(`${table}\t${JSON.stringify(r)}\n`);
  }
  return hash.digest('hex');
}

describe('determinism', () => {
  it('gives the same bytes for the same seed, different bytes for another, and re-seeding changes nothing', async () => {
    const [a, b, c] = await Promise.all([freshSqlite('a'), freshSqlite('b'), freshSqlite('c')]);
    await seedMarketplace(a.db, SMALL);
    await seedMarketplace(b.db, SMALL);
    await seedMarketplace(c.db, { ...SMALL, seed: 'other' });
    const hashA = await dumpHash(a);
    expect(await dumpHash(b)).toBe(hashA);
    expect(await dumpHash(c)).not.toBe(hashA);
    await seedMarketplace(a.db, SMALL); // idempotent writers: a second run is a no-op
    expect(await dumpHash(a)).toBe(hashA);
  }, 30_000);

  it('hashes every table the seed writes, the qualification and tag tables included', () => {
    for (const t of ['qualification', 'seo_tag', 'provider_qualification', 'job_qualification', 'job_tag']) expect(SEED_TABLES).toContain(t);
  });
});

describe('planted properties', () => {
  let h: DatabaseHandle;
  beforeAll(async () => {
    h = await freshSqlite('medium');
    await seedMarketplace(h.db, MEDIUM);
  }, 30_000);

  it('hires the proposal with high hidden utility', async () => {
    const jobs = await rows(h, 'select * from job order by posted_at, id');
    const required = new Map<string, string[]>();
    for (const r of await rows(h, 'select job_id, skill_id from job_skill where required = 1')) {
      required.set(String(r.job_id), [...(required.get(String(r.job_id)) ?? []), String(r.skill_id)]);
    }
    const skills = new Map<string, Set<string>>();
    for (const r of await rows(h, 'select provider_id, skill_id from provider_skill')) {
      const s = skills.get(String(r.provider_id)) ?? new Set<string>();
      s.add(String(r.skill_id));
      skills.set(String(r.provider_id), s);
    }
    const requiredQuals = new Map<string, string[]>();
    for (const r of await rows(h, 'select job_id, qualification_id from job_qualification')) {
      requiredQuals.set(String(r.job_id), [...(requiredQuals.get(String(r.job_id)) ?? []), String(r.qualification_id)]);
    }
    const held = new Map<string, Set<string>>();
    for (const r of await rows(h, 'select provider_id, qualification_id from provider_qualification')) {
      held.set(String(r.provider_id), (held.get(String(r.provider_id)) ?? new Set<string>()).add(String(r.qualification_id)));
    }
    const rating = new Map((await rows(h, 'select id, rating from provider')).map((r) => [String(r.id), r.rating as number | null]));
    const adj = new Map<string, Set<string>>();
    for (const r of await rows(h, 'select user_a, user_b from connection')) {
      for (const [x, y] of [[r.user_a, r.user_b], [r.user_b, r.user_a]] as const) {
        adj.set(String(x), (adj.get(String(x)) ?? new Set()).add(String(y)));
      }
    }
    const connected = (x: string, y: string) => adj.get(x)?.has(y) ?? false;
    const proposals = new Map<string, Row[]>();
    for (const r of await rows(h, 'select * from proposal')) proposals.set(String(r.job_id), [...(proposals.get(String(r.job_id)) ?? []), r]);
    const hires = new Map((await rows(h, 'select job_id, provider_id from hire')).map((r) => [String(r.job_id), String(r.provider_id)]));

    const hiredBy = new Map<string, { postedAt: number; provider: string }[]>();
    let judged = 0, aboveMedian = 0;
    for (const job of jobs) {
      const jobId = String(job.id), client = String(job.client_id), postedAt = Number(job.posted_at);
      const earlier = (hiredBy.get(client) ?? []).filter((x) => x.postedAt < postedAt).map((x) => x.provider);
      const target = budgetTarget(job as Parameters<typeof budgetTarget>[0]);
      const utility = (p: Row) => hireUtility({
        skillCoverage: skillCoverage(required.get(jobId) ?? [], skills.get(String(p.provider_id)) ?? new Set()),
        priceFit: priceFit(Number(p.price_minor), target), rating: rating.get(String(p.provider_id)) ?? null,
        proximity: proximity(connected, String(p.provider_id), client, earlier),
        qualificationMatch: qualificationMatch(requiredQuals.get(jobId) ?? [], held.get(String(p.provider_id)) ?? new Set()),
      });
      const hired = hires.get(jobId);
      const props = proposals.get(jobId) ?? [];
      if (hired) hiredBy.set(client, [...(hiredBy.get(client) ?? []), { postedAt, provider: hired }]);
      if (!hired || props.length < 3) continue;
      const us = props.map(utility).sort((x, y) => x - y);
      const median = us[Math.floor(us.length / 2)]!;
      judged++;
      if (utility(props.find((p) => p.provider_id === hired)!) >= median) aboveMedian++;
    }
    expect(judged).toBeGreaterThan(200);
    expect(aboveMedian / judged).toBeGreaterThan(0.8);
  });

  it('fills qualifications and SEO tags', async () => {
    for (const table of ['qualification', 'seo_tag', 'provider_qualification', 'job_qualification', 'job_tag']) {
      const [r] = await rows(h, `select count(*) as n from ${table}`);
      expect([table, Number(r!.n) > 0]).toEqual([table, true]);
    }
    const [{ n: nQuals }] = (await rows(h, 'select count(*) as n from qualification')) as [{ n: number }];
    expect(Number(nQuals)).toBe(QUALIFICATIONS.length);
    const [{ n: nTags }] = (await rows(h, 'select count(*) as n from seo_tag')) as [{ n: number }];
    expect(Number(nTags)).toBeGreaterThan(100);
    // Providers hold 0–3, experts more often than entry-level providers.
    const perProvider = await rows(h, `
      select p.level, count(q.qualification_id) as n from provider p
      left join provider_qualification q on q.provider_id = p.id group by p.id, p.level`);
    expect(perProvider.every((r) => Number(r.n) <= 3)).toBe(true);
    const mean = (level: string) => {
      const xs = perProvider.filter((r) => r.level === level).map((r) => Number(r.n));
      return xs.reduce((a, x) => a + x, 0) / xs.length;
    };
    expect(mean('expert')).toBeGreaterThan(2 * mean('entry'));
    // Jobs: 2–6 tags each; 0–2 qualifications, most none.
    const tagsPerJob = await rows(h, 'select j.id, count(t.tag_id) as n from job j left join job_tag t on t.job_id = j.id group by j.id');
    expect(tagsPerJob.every((r) => Number(r.n) >= 2 && Number(r.n) <= 6)).toBe(true);
    const qualsPerJob = await rows(h, 'select j.id, count(q.qualification_id) as n from job j left join job_qualification q on q.job_id = j.id group by j.id');
    expect(qualsPerJob.every((r) => Number(r.n) <= 2)).toBe(true);
    expect(qualsPerJob.filter((r) => Number(r.n) === 0).length / qualsPerJob.length).toBeGreaterThan(0.5);
  });

  it('requires only qualifications of the job\'s category family', async () => {
    const parentOf = new Map((await rows(h, 'select id, parent_id from category')).map((r) => [String(r.id), String(r.parent_id ?? r.id)]));
    const families = new Map(QUALIFICATIONS.map((q) => [`ql_${q.slug}`, new Set(q.categories.map((c) => parentOf.get(`cat_${slugify(c)}`)!))]));
    const required = await rows(h, 'select q.qualification_id, j.category_id from job_qualification q join job j on j.id = q.job_id');
    expect(required.length).toBeGreaterThan(20);
    for (const r of required) {
      const family = parentOf.get(String(r.category_id))!;
      expect([r.qualification_id, families.get(String(r.qualification_id))?.has(family)]).toEqual([r.qualification_id, true]);
    }
  });

  it('hires providers holding a required qualification more often than they propose', async () => {
    const share = async (table: 'proposal' | 'hire') => {
      const [r] = await rows(h, `
        select count(*) as n, sum(case when exists (
          select 1 from job_qualification jq join provider_qualification pq on pq.qualification_id = jq.qualification_id
          where jq.job_id = x.job_id and pq.provider_id = x.provider_id) then 1 else 0 end) as held
        from ${table} x where exists (select 1 from job_qualification jq where jq.job_id = x.job_id)`);
      return { n: Number(r!.n), share: Number(r!.held) / Number(r!.n) };
    };
    const proposals = await share('proposal'), hires = await share('hire');
    expect(hires.n).toBeGreaterThan(30);
    expect(hires.share).toBeGreaterThan(1.5 * proposals.share);
  });

  it('plants click-fraud bursts: one IP, sub-second clicks, labelled', async () => {
    const fraud = await rows(h, 'select ip, event_at, impression_id from click where fraud_label = 1 order by ip, event_at');
    expect(fraud.length).toBeGreaterThan(100);
    let gaps = 0, fast = 0;
    for (let i = 1; i < fraud.length; i++) {
      if (fraud[i]!.ip !== fraud[i - 1]!.ip) continue;
      gaps++;
      if (Number(fraud[i]!.event_at) - Number(fraud[i - 1]!.event_at) < 1000) fast++;
    }
    expect(fast / gaps).toBeGreaterThan(0.95);
    expect(fraud.every((r) => r.impression_id === null)).toBe(true);
    const [overlap] = await rows(h, `select count(*) as n from click where fraud_label = 0 and ip like '203.0.113.%'`);
    expect(Number(overlap!.n)).toBe(0);
  });

  it('clicks genuine impressions at the rate the CTR function predicts', async () => {
    const base = new Map(PLACEMENTS.map((p) => [`pl_${p.slot}`, p.baseCtr]));
    let expected = 0;
    for (const r of await rows(h, 'select creative_id, placement_id, user_id from impression')) {
      expected += clickProbability(base.get(String(r.placement_id))!, creativeQuality(MEDIUM.seed, String(r.creative_id)), userAffinity(MEDIUM.seed, String(r.user_id)));
    }
    const [{ n }] = (await rows(h, 'select count(*) as n from click where fraud_label = 0')) as [{ n: number }];
    expect(expected).toBeGreaterThan(500);
    expect(Math.abs(Number(n) - expected)).toBeLessThan(4 * Math.sqrt(expected)); // binomial noise
  });

  it('keeps finance consistent with hires', async () => {
    const perHire = await rows(h, `
      select h.id, h.amount_minor as amount,
        sum(case when t.kind = 'escrow_deposit' then t.amount_minor else 0 end) as deposit,
        sum(case when t.kind = 'escrow_deposit' then 1 else 0 end) as deposits,
        sum(case when t.kind in ('escrow_release', 'platform_fee', 'refund') then t.amount_minor else 0 end) as paid_out
      from hire h left join "transaction" t on t.hire_id = h.id group by h.id, h.amount_minor`);
    expect(perHire.length).toBeGreaterThan(200);
    for (const r of perHire) {
      expect(Number(r.deposits)).toBe(1);
      expect(Number(r.deposit)).toBe(Number(r.amount));
      expect(Number(r.paid_out)).toBeLessThanOrEqual(Number(r.deposit));
    }
    const [cpc] = await rows(h, `select count(*) as n from click c join campaign k on k.id = c.campaign_id where k.bid_type = 'cpc'`);
    const [charges] = await rows(h, `select count(*) as n from "transaction" where kind = 'ad_charge' and idempotency_key not like '%:cpm:%'`);
    expect(Number(charges!.n)).toBe(Number(cpc!.n));
  });
});

describe('the bias knob', () => {
  // Straight from the generator: the rows are the same ones the writer stores.
  function hireRateRatio(bias: number): number {
    const gender = new Map<string, string>();
    const proposals = new Map<string, number>(), hires = new Map<string, number>();
    const add = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
    for (const { table, rows: batch } of generateMarketplace({ providers: 1500, jobs: 2000, days: 20, seed: 'bias', bias, events: 30_000 })) {
      if (table === 'sensitive_attribute') for (const r of batch) if (r.attribute === 'gender') gender.set(String(r.subject_id), String(r.value));
      if (table === 'proposal') for (const r of batch) add(proposals, gender.get(String(r.provider_id))!);
      if (table === 'hire') for (const r of batch) add(hires, gender.get(String(r.provider_id))!);
    }
    const rate = (g: string) => (hires.get(g) ?? 0) / (proposals.get(g) ?? 1);
    return rate(PENALISED_GENDER) / rate('m');
  }

  it('leaves hire rates alike at 0 and clearly lowers the penalised group when large', () => {
    const fair = hireRateRatio(0);
    expect(fair).toBeGreaterThan(0.85);
    expect(fair).toBeLessThan(1.15);
    expect(hireRateRatio(2)).toBeLessThan(0.5);
  }, 20_000);
});

describe('the writer on MySQL', () => {
  const env = useTestEnv({ dialect: 'mysql' });

  it('stores the same rows as on SQLite, and re-seeding is a no-op', async () => {
    const lite = await freshSqlite('counts');
    const expected = await seedMarketplace(lite.db, SMALL);
    const first = await seedMarketplace(env.db.db, SMALL);
    expect(first.rows).toEqual(expected.rows);
    await seedMarketplace(env.db.db, SMALL);
    for (const table of SEED_TABLES) {
      const [r] = (await sql.raw<{ n: number }>(`select count(*) as n from \`${table}\``).execute(env.db.db)).rows;
      expect([table, Number(r!.n)]).toEqual([table, expected.rows[table] ?? 0]);
    }
    const sums = async (q: string) => (await sql.raw<{ s: string }>(q).execute(env.db.db)).rows[0]!.s;
    expect(String(await sums('select sum(amount_minor) as s from `transaction`'))).toBe(String((await rows(lite, 'select sum(amount_minor) as s from "transaction"'))[0]!.s));
  }, 30_000);
});
