// Charged clicks per second with budgets enforced: N clicks (default 40,000) over 200 campaigns,
// C at a time (default 256: clicks come from many requests and jobs at once), each through
// BudgetService.charge() — the Redis Lua reservation and the ledger row in MySQL (written in
// batches by ledger-writer.ts) — then the same on the database counters (MySQL, SQLite) as the peer.
// Some campaigns' budgets run out midway, so refusals are part of the load; at the end every
// campaign's ledger is checked against its budget (target: ≥ 5,000 charged clicks/s on MySQL + Redis).
//   npm run bench -- bench/ads-charges.ts [clicks] [concurrency] [targets: mysql+redis,mysql,sqlite]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { createDatabase, type DatabaseHandle } from '../platform/db/database.js';
import { createMigrationRunner, loadMigrationFiles } from '../platform/db/migrator.js';
import { createBudgetService } from '../services/scoring/ads/budget/budget.service.js';
import { createMysqlDatabase, deleteRedisKeys, dropMysqlDatabase, REDIS_URL, uniqueName } from '../tests/helpers/test-env.js';
import { uniform } from '../pipelines/synthetic/random.js';

const CLICKS = Number(process.argv[2] ?? 40_000);
const CONCURRENCY = Number(process.argv[3] ?? 256);
const TARGETS = (process.argv[4] ?? 'mysql+redis,mysql,sqlite').split(',');
const CAMPAIGNS = 200;
const AT = Date.UTC(2026, 10, 26, 12);

interface Run { label: string; seconds: number; cpuSeconds: number; charged: number; refused: number; overspent: number }

async function seed(handle: DatabaseHandle): Promise<Map<string, number>> {
  await createMigrationRunner(handle.db, await loadMigrationFiles()).up();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const k = handle.db as unknown as Kysely<any>;
  await k.insertInto('advertiser').values({ id: 'adv_bench', name: 'Bench', client_id: null, updated_at: AT }).execute();
  const budgets = new Map<string, number>();
  const rows = [];
  for (let i = 0; i < CAMPAIGNS; i++) {
    const id = `cmp_bench_${i}`;
    // One in four campaigns can afford only half its clicks: refusals are part of the load.
    const daily = i % 4 === 0 ? Math.floor(CLICKS / CAMPAIGNS / 2) * 100 : CLICKS * 1_000;
    budgets.set(id, daily);
    rows.push({ id, advertiser_id: 'adv_bench', name: id, bid_type: 'cpc', bid_minor: 100, currency: 'USD', daily_budget_minor: daily,
      lifetime_budget_minor: null, starts_at: AT - 86_400_000, ends_at: null, targeting: null, status: 'active', updated_at: AT });
  }
  await k.insertInto('campaign').values(rows).execute();
  return budgets;
}

async function run(label: string, handle: DatabaseHandle, redis: Redis | null, prefix: string): Promise<Run> {
  const budgetOf = await seed(handle);
  const service = createBudgetService({ db: handle.db, redis, prefix });
  const r = uniform(11, label);
  const plan = Array.from({ length: CLICKS }, (_, i) => ({ campaign: `cmp_bench_${Math.floor(r() * CAMPAIGNS)}`, click: `clk_${i}`, price: 50 + Math.floor(r() * 100) }));
  // Warm: campaign cache, scripts, counters.
  await Promise.all([...budgetOf.keys()].map((id) => service.remaining([id], AT)));
  let next = 0;
  let charged = 0;
  let refused = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < plan.length) {
      const p = plan[next++]!;
      const res = await service.charge(p.campaign, p.click, p.price, AT);
      if (res.charged) charged++; else refused++;
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  const sums = await handle.db.selectFrom('ad_spend_ledger').select(['campaign_id', (eb) => eb.fn.sum<number>('amount_minor').as('s')]).groupBy('campaign_id').execute();
  const overspent = sums.filter((s) => Number(s.s) > budgetOf.get(s.campaign_id)!).length;
  const rows = Number((await handle.db.selectFrom('ad_spend_ledger').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  if (rows !== charged) throw new Error(`${label}: ${rows} ledger rows for ${charged} charges`);
  return { label, seconds, cpuSeconds, charged, refused, overspent };
}

async function main(): Promise<void> {
  const results: Run[] = [];
  for (const target of TARGETS) {
    const name = uniqueName('gi_bench_ads');
    let tmp: string | undefined;
    const url = target === 'sqlite' ? `sqlite:${join(tmp = mkdtempSync(join(tmpdir(), 'gi-ads-')), 'bench.db')}` : await createMysqlDatabase(name);
    const handle = createDatabase({ url, poolSize: 16 });
    const redis = target === 'mysql+redis' ? new Redis(REDIS_URL) : null;
    const prefix = `gibench:${name}`;
    try {
      results.push(await run(target, handle, redis, prefix));
    } finally {
      redis?.disconnect();
      await handle.close();
      if (target !== 'sqlite') await dropMysqlDatabase(name);
      if (tmp) rmSync(tmp, { recursive: true, force: true });
      await deleteRedisKeys(prefix);
    }
  }
  console.log(`charge(): ${CLICKS} clicks over ${CAMPAIGNS} campaigns, ${CONCURRENCY} at a time, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  for (const r of results) {
    console.log(`  ${r.label.padEnd(12)} ${(r.charged / r.seconds).toFixed(0).padStart(6)} charged/s  ${((r.charged + r.refused) / r.seconds).toFixed(0).padStart(6)} calls/s`
      + `  (${r.charged} charged, ${r.refused} refused, ${r.seconds.toFixed(2)} s, bench process CPU ${(r.cpuSeconds / r.seconds * 100).toFixed(0)} %, campaigns over budget: ${r.overspent})`);
  }
  const main = results[0]!;
  console.log(`mysql+redis: ${(main.charged / main.seconds).toFixed(0)} charged/s (target ≥ 5,000) ${main.charged / main.seconds >= 5_000 ? 'MET' : 'MISS'}`);
}

await main();
