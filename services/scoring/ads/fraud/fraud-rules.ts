// The pure parts of the rules: settings validation, the IP and user-agent block lists, and the
// anomaly statistic. Nothing here touches a store, so the bench replays the same code.
import { BlockList, isIP } from 'node:net';
import { ValidationError, type FieldProblem } from '../../../../platform/errors/app-error.js';
import { DEFAULT_FRAUD_RULES, type FraudRulesConfig } from './fraud.types.js';

const LIMITS = ['minClickDelayMs', 'ipClicksPerMinute', 'ipClicksPerHour', 'deviceClicksPerMinute', 'deviceClicksPerHour',
  'anomalyMinClicks', 'anomalyMinPopulation'] as const;

/** Defaults filled in and every field checked; throws ValidationError listing each bad field. */
export function resolveFraudRules(input: Partial<FraudRulesConfig> = {}, path = 'rules'): FraudRulesConfig {
  const rules: FraudRulesConfig = { ...DEFAULT_FRAUD_RULES, ...stripUndefined(input) };
  const problems: FieldProblem[] = [];
  for (const k of LIMITS) {
    if (!Number.isSafeInteger(rules[k]) || rules[k] < 0) problems.push({ path: `${path}.${k}`, message: 'must be an integer ≥ 0 (0 turns the rule off)' });
  }
  if (typeof rules.anomalyThreshold !== 'number' || !Number.isFinite(rules.anomalyThreshold) || rules.anomalyThreshold < 0) {
    problems.push({ path: `${path}.anomalyThreshold`, message: 'must be a number ≥ 0 (0 turns the rule off)' });
  }
  if (typeof rules.anomalyMinScale !== 'number' || !Number.isFinite(rules.anomalyMinScale) || rules.anomalyMinScale <= 0) {
    problems.push({ path: `${path}.anomalyMinScale`, message: 'must be a number > 0' });
  }
  if (!Array.isArray(rules.blockedIps)) problems.push({ path: `${path}.blockedIps`, message: 'must be a list of addresses or CIDR ranges' });
  else rules.blockedIps.forEach((s, i) => { if (parseIpRule(s) === null) problems.push({ path: `${path}.blockedIps.${i}`, message: `not an IP address or CIDR range: ${JSON.stringify(s)}` }); });
  if (!Array.isArray(rules.blockedUserAgents)) problems.push({ path: `${path}.blockedUserAgents`, message: 'must be a list of substrings or /regex/flags' });
  else rules.blockedUserAgents.forEach((s, i) => {
    try { uaMatcher(s); } catch (err) { problems.push({ path: `${path}.blockedUserAgents.${i}`, message: (err as Error).message }); }
  });
  if (problems.length) throw new ValidationError('invalid click-fraud rules', problems);
  return rules;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

interface IpRule { address: string; prefix: number; family: 'ipv4' | 'ipv6' }

function parseIpRule(s: unknown): IpRule | null {
  if (typeof s !== 'string') return null;
  const [addr, bits, extra] = s.trim().split('/');
  if (extra !== undefined || !addr) return null;
  const v = isIP(addr);
  if (v === 0) return null;
  const max = v === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
  if (!(prefix >= 0 && prefix <= max)) return null;
  return { address: addr, prefix, family: v === 4 ? 'ipv4' : 'ipv6' };
}

/** IPv4-mapped IPv6 (::ffff:1.2.3.4, what a dual-stack socket reports) is checked as the IPv4 address. */
export function normaliseIp(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip.trim());
  return m ? m[1]! : ip.trim();
}

/** The blocked-IP check: exact addresses and CIDR ranges, IPv4 and IPv6 (node's BlockList). */
export function ipBlockList(rules: readonly string[]): (ip: string | null) => boolean {
  if (rules.length === 0) return () => false;
  const list = new BlockList();
  for (const s of rules) {
    const r = parseIpRule(s)!;
    list.addSubnet(r.address, r.prefix, r.family);
  }
  return (ip) => {
    if (!ip) return false;
    const a = normaliseIp(ip);
    const v = isIP(a);
    return v !== 0 && list.check(a, v === 4 ? 'ipv4' : 'ipv6');
  };
}

function uaMatcher(s: unknown): (ua: string) => boolean {
  if (typeof s !== 'string' || s.length === 0) throw new Error('must be a non-empty string');
  const m = /^\/(.+)\/([a-z]*)$/.exec(s);
  if (m) {
    let re: RegExp;
    try { re = new RegExp(m[1]!, m[2]!.replace(/[gy]/g, '')); } catch (err) { throw new Error(`bad regular expression ${s}: ${(err as Error).message}`); }
    return (ua) => re.test(ua);
  }
  const needle = s.toLowerCase();
  return (ua) => ua.toLowerCase().includes(needle);
}

/** The blocked-user-agent check: the first rule that matches, or null. */
export function userAgentBlockList(rules: readonly string[]): (ua: string | null) => string | null {
  const matchers = rules.map((s) => ({ s, test: uaMatcher(s) }));
  return (ua) => {
    if (!ua || matchers.length === 0) return null;
    return matchers.find((m) => m.test(ua))?.s ?? null;
  };
}

/** Location and scale of a population for the robust z-score (log1p of per-IP hourly clicks). */
export interface RobustStats { n: number; median: number; scale: number; scaleKind: 'mad' | 'meanad' | 'floor' }

/** Default scale floor (log units): a population of identical IPs must not make one extra click infinitely odd. */
export const MIN_SCALE = 0.5;

function medianOf(sorted: readonly number[]): number {
  const n = sorted.length;
  if (n === 0) return 0;
  const h = n >> 1;
  return n % 2 ? sorted[h]! : (sorted[h - 1]! + sorted[h]!) / 2;
}

/**
 * Median and scale of log(1 + count) over the population. The scale is 1.4826·MAD (σ for normal
 * data); when more than half the IPs share one value the MAD is 0, and the scale is
 * 1.253314·mean absolute deviation instead (Iglewicz & Hoaglin's rule, the same σ for normal data);
 * never below `minScale` ('floor' when that decides).
 */
export function robustStats(counts: readonly number[], minScale = MIN_SCALE): RobustStats {
  const xs = counts.map((c) => Math.log1p(c)).sort((a, b) => a - b);
  const median = medianOf(xs);
  const dev = xs.map((x) => Math.abs(x - median)).sort((a, b) => a - b);
  const mad = medianOf(dev);
  const meanAd = xs.length ? dev.reduce((s, d) => s + d, 0) / xs.length : 0;
  const [scale, scaleKind] = mad > 0 ? [1.4826 * mad, 'mad' as const] : [1.253314 * meanAd, 'meanad' as const];
  return scale >= minScale ? { n: xs.length, median, scale, scaleKind } : { n: xs.length, median, scale: minScale, scaleKind: 'floor' };
}

/** The robust z-score of an IP with `count` clicks in the last hour against the population's statistics. */
export function robustZ(count: number, stats: RobustStats): number {
  return (Math.log1p(count) - stats.median) / stats.scale;
}

/** Coefficient of variation of the gaps between click times (0: metronome-regular, ≈1: Poisson); null under 3 clicks. */
export function gapCv(times: readonly number[]): number | null {
  if (times.length < 3) return null;
  const t = [...times].sort((a, b) => a - b);
  const gaps = t.slice(1).map((x, i) => x - t[i]!);
  const mean = gaps.reduce((s, g) => s + g, 0) / gaps.length;
  if (mean === 0) return 0;
  const sd = Math.sqrt(gaps.reduce((s, g) => s + (g - mean) ** 2, 0) / gaps.length);
  return sd / mean;
}
