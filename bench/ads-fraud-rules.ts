// The click-fraud rules (services/scoring/ads/fraud) replayed over TalkingData's clicks
// (../shared/datasets/talkingdata_clicks_sample.csv: 100,000 real clicks with install labels),
// through the real service and counters, in click-time order. Prints, per rule, the share of
// clicks it flags and the install (is_attributed) rate of flagged vs unflagged clicks.
//
// What the data allows: no impression tokens, user agents or real addresses (ip is an id), and
// click_time has minute resolution. So: every click carries a synthetic valid token whose impression
// is the (ip, app, device, os, channel) tuple (any repeat of it = duplicate_click, the
// "duplicate-ish repeat"); too_fast, invalid/expired token and the block lists are not evaluated;
// the device is (ip, device, os), the usual TalkingData user proxy (its `device` alone is a phone
// model code); one minute window = one calendar minute. The sample is ~1/1,850 of the full data set
// (184 M clicks over the same 4 days), so velocity limits are scaled down to what the sample can show.
// `--compress K` replays the clicks K× faster (click times divided by K from the first one), a
// stand-in for the full traffic's per-IP rates (~1,850× the sample's): at K = 24 a 1-hour window
// spans a day of the sample, so the per-IP totals behind the data's known facts come into reach.
//   npm run bench -- bench/ads-fraud-rules.ts [--redis redis://127.0.0.1:6379] [--compress 24] [path to csv]
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createDatabase } from '../platform/db/database.js';
import { createMigrationRunner, loadMigrationFiles } from '../platform/db/migrator.js';
import type { FraudReason } from '../services/scoring/ads/ad-types.js';
import { createFraudService } from '../services/scoring/ads/fraud/fraud.service.js';
import type { FraudRulesConfig } from '../services/scoring/ads/fraud/fraud.types.js';
import { deleteRedisKeys } from '../tests/helpers/test-env.js';

const ROOT = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const redisAt = args.indexOf('--redis');
const REDIS_URL = redisAt >= 0 ? args.splice(redisAt, 2)[1] : null;
const compressAt = args.indexOf('--compress');
const COMPRESS = compressAt >= 0 ? Number(args.splice(compressAt, 2)[1]) : 1;
const CSV = args[0] ?? join(ROOT, '../shared/datasets/talkingdata_clicks_sample.csv');
if (!existsSync(CSV)) {
  console.error(`no data at ${CSV} (the shared datasets folder is not here): nothing to replay`);
  process.exit(1);
}

const MIN = 60_000;
// Claims outlive the whole sample (4 days), in click time on the database and wall time on Redis alike.
const DAY = 86_400_000;
// Sample-scaled limits (see the header); the anomaly rule runs at its production defaults.
const RULES: Partial<FraudRulesConfig> = COMPRESS === 1
  ? { minClickDelayMs: 0, ipClicksPerMinute: 2, ipClicksPerHour: 10, deviceClicksPerMinute: 1, deviceClicksPerHour: 4, anomalyThreshold: 3.5, anomalyMinClicks: 5, anomalyMinPopulation: 30 }
  : { minClickDelayMs: 0, ipClicksPerMinute: 5, ipClicksPerHour: 20, deviceClicksPerMinute: 3, deviceClicksPerHour: 10, anomalyThreshold: 3.5, anomalyMinClicks: 5, anomalyMinPopulation: 30 };

/** `2017-11-07 9:30` (UTC, hour not zero-padded) → ms. */
function parseTime(t: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(t.trim());
  if (!m) throw new Error(`click_time not understood: ${t}`);
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +(m[6] ?? 0));
}

interface Row { ip: string; device: string; at: number; impression: string; installed: boolean }
const lines = readFileSync(CSV, 'utf8').split('\n').slice(1).filter((l) => l.length > 0);
const rows: Row[] = lines.map((l) => {
  const [ip, app, device, os, channel, clickTime, , attributed] = l.split(',');
  return {
    ip: ip!, device: `${ip}|${device}|${os}`, at: parseTime(clickTime!),
    impression: createHash('sha1').update(`${ip}|${app}|${device}|${os}|${channel}`).digest('hex').slice(0, 32),
    installed: attributed?.trim() === '1',
  };
});
rows.sort((a, b) => a.at - b.at); // stable: the file's order within a minute
if (COMPRESS !== 1) {
  const first = rows[0]!.at;
  for (const r of rows) r.at = first + Math.floor((r.at - first) / COMPRESS);
}

// The data's own facts (README): installs by the IP's click count over the whole sample.
const perIp = new Map<string, number>();
for (const r of rows) perIp.set(r.ip, (perIp.get(r.ip) ?? 0) + 1);
const rate = (xs: Row[]) => (xs.length ? xs.filter((r) => r.installed).length / xs.length : NaN);
const heavy = rows.filter((r) => perIp.get(r.ip)! >= 50);
const light = rows.filter((r) => perIp.get(r.ip)! <= 2);

const dir = mkdtempSync(join(tmpdir(), 'ads-fraud-bench-'));
const handle = createDatabase({ url: `sqlite:${join(dir, 'bench.db')}` });
await createMigrationRunner(handle.db, await loadMigrationFiles()).up();
const redis = REDIS_URL ? new Redis(REDIS_URL) : null;
const prefix = `bench:fraud:${Date.now().toString(36)}`;
const fraud = createFraudService({ db: handle.db, redis, prefix, rules: RULES, now: () => 0 });

interface Seen { row: Row; reasons: Set<FraudReason>; ipMinute: number; ipHour: number; devMinute: number; devHour: number; z: number | null }
const seen: Seen[] = [];
const t0 = performance.now();
for (const [i, r] of rows.entries()) {
  const v = await fraud.checkClick(
    { clickId: `c${i}`, token: 'replay', at: r.at, ip: r.ip, device: r.device, userAgent: null, userId: null },
    { valid: true, payload: { impressionId: r.impression, campaignId: 'td', creativeId: 'td', placementId: 'td', userId: null, bidType: 'cpc', priceMinor: 1, currency: 'USD', issuedAt: r.at - MIN, expiresAt: r.at + 5 * DAY } },
  );
  const ip = v.details.ipClicks as { minute: number; hour: number };
  const dev = v.details.deviceClicks as { minute: number; hour: number };
  const z = (v.details.anomaly as { z: number | null } | undefined)?.z ?? null;
  seen.push({ row: r, reasons: new Set(v.reasons), ipMinute: ip.minute, ipHour: ip.hour, devMinute: dev.minute, devHour: dev.hour, z });
}
const seconds = (performance.now() - t0) / 1000;

/** Wilson 95 % interval of k successes in n: with a few hundred installs in all, the flagged rates are uncertain. */
function wilson(k: number, n: number): [number, number] {
  if (n === 0) return [NaN, NaN];
  const z = 1.959964;
  const p = k / n;
  const mid = (p + z * z / (2 * n)) / (1 + z * z / n);
  const half = (z / (1 + z * z / n)) * Math.sqrt(p * (1 - p) / n + z * z / (4 * n * n));
  return [Math.max(0, mid - half), mid + half];
}
const pct = (x: number, digits = 2) => (Number.isNaN(x) ? '–' : `${(100 * x).toFixed(digits)} %`);
function line(label: string, flagged: (s: Seen) => boolean): string {
  const f = seen.filter(flagged).map((s) => s.row);
  const u = seen.filter((s) => !flagged(s)).map((s) => s.row);
  const rf = rate(f);
  const ru = rate(u);
  const ratio = f.length && ru > 0 ? (rf / ru).toFixed(2) : '–';
  const k = f.filter((r) => r.installed).length;
  const [lo, hi] = wilson(k, f.length);
  const flaggedRate = f.length ? `${pct(rf, 3)} (${k}; ${pct(lo, 3)}–${pct(hi, 3)})` : '–';
  return `| ${label} | ${f.length.toLocaleString('en-US')} | ${pct(f.length / seen.length)} | ${flaggedRate} | ${pct(ru, 3)} | ${ratio} |`;
}
const has = (r: FraudReason) => (s: Seen) => s.reasons.has(r);
const header = '| rule | clicks flagged | share | install rate flagged (installs; Wilson 95 %) | install rate unflagged | flagged ÷ unflagged |\n|---|---|---|---|---|---|';
console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}, Node ${process.version}, counters: ${fraud.countersKind}, time compressed ×${COMPRESS}`);
console.log(`${rows.length.toLocaleString('en-US')} clicks, ${rows.filter((r) => r.installed).length} installs (${pct(rate(rows), 3)}), ${perIp.size.toLocaleString('en-US')} IPs; replayed in ${seconds.toFixed(1)} s (${Math.round(rows.length / seconds).toLocaleString('en-US')} clicks/s, one at a time)`);
console.log(`data check: IPs with ≥ 50 clicks convert ${pct(rate(heavy), 3)} (${heavy.length} clicks), ≤ 2 clicks ${pct(rate(light), 3)} (${light.length} clicks)`);
console.log(`\nrules as configured: ${JSON.stringify(RULES)}\n`);
console.log(header);
console.log(line(`ip_velocity (> ${RULES.ipClicksPerMinute}/min or > ${RULES.ipClicksPerHour}/h)`, has('ip_velocity')));
console.log(line(`device_velocity (ip+device+os > ${RULES.deviceClicksPerMinute}/min or > ${RULES.deviceClicksPerHour}/h)`, has('device_velocity')));
console.log(line(`ip_anomaly (robust z ≥ ${RULES.anomalyThreshold}, ≥ ${RULES.anomalyMinClicks} clicks/h)`, has('ip_anomaly')));
console.log(line('duplicate_click (a repeat of ip, app, device, os, channel)', has('duplicate_click')));
console.log(line('any rule', (s) => s.reasons.size > 0));
console.log(line('any rule but duplicate_click', (s) => [...s.reasons].some((r) => r !== 'duplicate_click')));

// Other limits, from the counts every verdict carries (the same replay, other thresholds).
console.log(`\nthreshold sweep (from the verdicts' counts)\n\n${header}`);
for (const n of [1, 2, 5, 10]) console.log(line(`IP clicks in the minute > ${n}`, (s) => s.ipMinute > n));
for (const n of [5, 10, 20, 50]) console.log(line(`IP clicks in the hour > ${n}`, (s) => s.ipHour > n));
for (const n of [2, 4, 10]) console.log(line(`ip+device+os clicks in the hour > ${n}`, (s) => s.devHour > n));
for (const z of [2, 3.5, 5]) console.log(line(`IP robust z ≥ ${z} (no click minimum)`, (s) => s.z !== null && s.z >= z));
console.log(`clicks with an anomaly z (reference hour ≥ ${RULES.anomalyMinPopulation} IPs): ${seen.filter((s) => s.z !== null).length.toLocaleString('en-US')} of ${seen.length.toLocaleString('en-US')}`);

await redis?.quit();
if (redis) await deleteRedisKeys(prefix); // the replay's claims and windows: a million keys otherwise
await handle.close();
rmSync(dir, { recursive: true, force: true });
