// Click-fraud detection before charging (issue #8). checkClick runs every rule and collects every
// reason; a flagged click is stored with its reasons and measurements, counted in the metrics and
// never charged until an operator releases it. The state the rules need (first click per
// impression, sliding-window counts per IP and device, the IP population of the last hour) lives
// in Redis or, in the embedded shape, in the database (FraudCounters).
//
// The anomaly score: x = log(1 + the IP's clicks in the sliding hour up to this click) against the
// per-IP click counts of the previous whole hour (the reference population), as a robust z-score
// z = (x − median) / scale, scale = 1.4826·MAD, or 1.253314·mean absolute deviation when more
// than half the IPs share one count (Iglewicz & Hoaglin), never below anomalyMinScale (with most
// IPs at one click an hour both collapse). ip_anomaly fires at z ≥ anomalyThreshold
// once the IP has anomalyMinClicks clicks and the population anomalyMinPopulation IPs. Why the count:
// on TalkingData's clicks, IPs with ≥ 50 clicks install ~6× less often than IPs with ≤ 2.
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { Actor, AuditLog } from '../../../../platform/audit/audit-log.js';
import type { Db } from '../../../../platform/db/database.js';
import { ConflictError, NotFoundError, ValidationError } from '../../../../platform/errors/app-error.js';
import type { ClickInput, FraudReason, FraudVerdict, ImpressionToken } from '../ad-types.js';
import { createFraudCounters } from './create-fraud-counters.js';
import { fraudMetrics, type FraudMetrics } from './fraud-metrics.js';
import { gapCv, ipBlockList, normaliseIp, resolveFraudRules, robustStats, robustZ, userAgentBlockList, type RobustStats } from './fraud-rules.js';
import { getFlaggedClick, impressionEventAt, insertFlaggedClick, listFlaggedClicks, setReview } from './fraud.repository.js';
import type { FlaggedClickTable } from './fraud.table.js';
import type {
  FlaggedClick, FraudCounters, FraudRulesConfig, ListFlaggedQuery, ReviewResult, TokenCheck,
} from './fraud.types.js';
import { HOUR } from './redis-fraud-counters.js';

const DAY = 86_400_000;
/** How long a reference population is reused before it is read again (late clicks of that hour still land). */
const POPULATION_REFRESH_MS = 60_000;
/** How often (in click time) the database counters drop what no window reads. */
const PRUNE_EVERY_MS = 10 * 60_000;
const MAX_LIST = 1_000;

export interface FraudServiceDeps {
  db: Db;
  /** The configured Redis client, or null in the embedded shape (the database counts instead). */
  redis: Redis | null;
  /** The configured redis.prefix. */
  prefix: string;
  rules?: Partial<FraudRulesConfig>;
  /** The process's prom-client registry; the flagged-click counter goes there. */
  metrics?: Registry | null;
  /** Records review decisions in audit_log when given. */
  audit?: AuditLog | null;
  /**
   * The recorded time of an impression, when the caller records impressions: the too_fast rule
   * measures from it (else from the token's issuedAt). `impressionTimeFromDb(db)` reads the
   * marketplace's impression table.
   */
  impressionAt?: ((impressionId: string) => Promise<number | null>) | null;
  /** Wall clock for created_at / reviewed_at (tests and replays pass their own). */
  now?: () => number;
  /** Replace the counters (the bench passes its own); default Redis or database by `redis`. */
  counters?: FraudCounters;
}

export interface FraudService {
  readonly rules: Readonly<FraudRulesConfig>;
  readonly countersKind: 'redis' | 'database';
  checkClick(click: ClickInput, token: TokenCheck): Promise<FraudVerdict>;
  listFlagged(q?: ListFlaggedQuery): Promise<{ items: FlaggedClick[]; nextCursor: string | null }>;
  getFlagged(clickId: string): Promise<FlaggedClick | null>;
  review(clickId: string, decision: 'release' | 'confirm', actor: Actor): Promise<ReviewResult>;
}

/** Reads impression.event_at by id (a lookup per checked click: wire it only where impressions are recorded before clicks). */
export function impressionTimeFromDb(db: Db): (impressionId: string) => Promise<number | null> {
  return (id) => impressionEventAt(db, id);
}

export function createFraudService(deps: FraudServiceDeps): FraudService {
  const rules = Object.freeze(resolveFraudRules(deps.rules));
  const now = deps.now ?? Date.now;
  const counters = deps.counters ?? createFraudCounters({ db: deps.db, redis: deps.redis, prefix: deps.prefix });
  const metrics: FraudMetrics | null = deps.metrics ? fraudMetrics(deps.metrics) : null;
  const ipBlocked = ipBlockList(rules.blockedIps);
  const uaBlocked = userAgentBlockList(rules.blockedUserAgents);
  const population = new Map<number, { at: number; stats: Promise<RobustStats> }>();
  let prunedAt = -Infinity;

  // One read per reference hour per refresh interval, shared by the clicks that ask meanwhile.
  function referenceStats(bucket: number): Promise<RobustStats> {
    const held = population.get(bucket);
    if (held && now() - held.at < POPULATION_REFRESH_MS) return held.stats;
    const stats = counters.ipPopulation(bucket).then((s) => robustStats(s.counts, rules.anomalyMinScale));
    const entry = { at: now(), stats };
    population.set(bucket, entry);
    stats.catch(() => { if (population.get(bucket) === entry) population.delete(bucket); });
    for (const b of population.keys()) if (b < bucket - 1) population.delete(b);
    return stats;
  }

  function checkInput(click: ClickInput): void {
    const problems: { path: string; message: string }[] = [];
    if (typeof click.clickId !== 'string' || click.clickId.length === 0 || click.clickId.length > 64) problems.push({ path: 'clickId', message: 'must be a string of 1-64 characters' });
    if (!Number.isSafeInteger(click.at) || click.at < 0) problems.push({ path: 'at', message: 'must be UTC milliseconds' });
    if (click.ip !== null && (typeof click.ip !== 'string' || click.ip.length > 45)) problems.push({ path: 'ip', message: 'at most 45 characters' });
    if (click.device !== null && click.device.length > 191) problems.push({ path: 'device', message: 'at most 191 characters' });
    if (problems.length) throw new ValidationError('invalid click', problems);
  }

  return {
    rules,
    countersKind: counters.kind,

    async checkClick(click, token) {
      checkInput(click);
      const reasons: FraudReason[] = [];
      const details: Record<string, unknown> = {};
      const payload = token.valid ? token.payload : null;
      if (!token.valid) reasons.push(token.reason);

      const ip = click.ip ? normaliseIp(click.ip) : null;
      if (ipBlocked(ip)) { reasons.push('blocked_ip'); details.blockedIp = ip; }
      const uaRule = uaBlocked(click.userAgent);
      if (uaRule !== null) { reasons.push('blocked_user_agent'); details.blockedUserAgent = uaRule; }

      const keys: { kind: 'ip' | 'device'; key: string }[] = [];
      if (ip) keys.push({ kind: 'ip', key: ip });
      if (click.device) keys.push({ kind: 'device', key: click.device });
      const wantAnomaly = ip !== null && rules.anomalyThreshold > 0;
      const [claim, shownAt, counts, stats] = await Promise.all([
        // The claim expires a day after the token does: later clicks on it are expired_token anyway.
        payload ? counters.claimImpression(payload.impressionId, click.clickId, click.at, Math.max(payload.expiresAt, click.at) + DAY) : null,
        payload && deps.impressionAt ? deps.impressionAt(payload.impressionId) : null,
        counters.recordClick(keys, click.clickId, click.at),
        wantAnomaly ? referenceStats(Math.floor(click.at / HOUR) - 1) : null,
      ]);

      if (claim && !claim.first) { reasons.push('duplicate_click'); details.firstClickId = claim.firstClickId; }

      if (payload && rules.minClickDelayMs > 0) {
        const from = shownAt ?? payload.issuedAt;
        const delayMs = click.at - from;
        details.delayMs = delayMs;
        if (delayMs < rules.minClickDelayMs) reasons.push('too_fast');
      }

      const velocity = (kind: 'ip' | 'device', perMinute: number, perHour: number, reason: FraudReason) => {
        const i = keys.findIndex((k) => k.kind === kind);
        if (i < 0) return;
        const c = counts[i]!;
        details[`${kind}Clicks`] = { minute: c.minute, hour: c.hour, limits: { minute: perMinute, hour: perHour } };
        if ((perMinute > 0 && c.minute > perMinute) || (perHour > 0 && c.hour > perHour)) reasons.push(reason);
      };
      velocity('ip', rules.ipClicksPerMinute, rules.ipClicksPerHour, 'ip_velocity');
      velocity('device', rules.deviceClicksPerMinute, rules.deviceClicksPerHour, 'device_velocity');

      let score = 0;
      if (stats) {
        const c = counts[0]!; // the IP is the first key whenever there is an IP
        const enough = stats.n >= rules.anomalyMinPopulation;
        if (enough) score = round(robustZ(c.hour, stats), 3);
        details.anomaly = {
          clicksLastHour: c.hour, z: enough ? score : null, populationIps: stats.n,
          populationMedianClicks: round(Math.expm1(stats.median), 3), scale: round(stats.scale, 4), scaleKind: stats.scaleKind,
          gapCv: gapCv(c.recent) === null ? null : round(gapCv(c.recent)!, 3),
        };
        if (enough && c.hour >= rules.anomalyMinClicks && score >= rules.anomalyThreshold) reasons.push('ip_anomaly');
      }

      const verdict: FraudVerdict = { flagged: reasons.length > 0, reasons, score, details };
      metrics?.checks.inc({ outcome: verdict.flagged ? 'flagged' : 'passed' });
      if (verdict.flagged) {
        const fresh = await insertFlaggedClick(deps.db, flaggedRow(click, payload, verdict, now()));
        if (fresh && metrics) for (const r of reasons) metrics.flagged.inc({ reason: r });
      }
      // Pruned as of the older of the click's time and the clock: one click stamped in the future must not wipe the windows.
      const pruneAt = Math.min(click.at, now());
      if (counters.kind === 'database' && pruneAt - prunedAt > PRUNE_EVERY_MS) {
        prunedAt = pruneAt;
        // Housekeeping, not the click's business: a deadlock with concurrent counting (MySQL) or
        // any other failure here leaves the rows for the next prune, never fails the click.
        await counters.prune(pruneAt).catch(() => { prunedAt = 0; });
      }
      return verdict;
    },

    async listFlagged(q = {}) {
      const limit = q.limit ?? 100;
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIST) throw new ValidationError('invalid query', [{ path: 'limit', message: `must be 1-${MAX_LIST}` }]);
      const rows = await listFlaggedClicks(deps.db, { ...q, limit: limit + 1, before: q.cursor ? decodeCursor(q.cursor) : undefined });
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return {
        items: page.map(toFlaggedClick),
        nextCursor: rows.length > limit && last ? Buffer.from(`${Number(last.created_at)}:${last.click_id}`).toString('base64url') : null,
      };
    },

    async getFlagged(clickId) {
      const row = await getFlaggedClick(deps.db, clickId);
      return row ? toFlaggedClick(row) : null;
    },

    async review(clickId, decision, actor) {
      if (decision !== 'release' && decision !== 'confirm') throw new ValidationError('invalid review', [{ path: 'decision', message: 'release or confirm' }]);
      const status = decision === 'release' ? 'released' : 'confirmed';
      return deps.db.transaction().execute(async (tx) => {
        const changed = await setReview(tx, clickId, status, actor.id, now());
        const row = await getFlaggedClick(tx, clickId);
        if (!row) throw new NotFoundError(`no flagged click ${clickId}`, { clickId });
        if (!changed && row.status !== status) {
          throw new ConflictError(`click ${clickId} was already reviewed: ${row.status}`, { clickId, status: row.status, reviewedBy: row.reviewed_by });
        }
        const click = toFlaggedClick(row);
        if (changed) await deps.audit?.record(tx, actor, `ads.click.${status}`, { type: 'click', id: clickId }, { reasons: click.reasons, campaignId: click.campaignId });
        const charge = changed && status === 'released' && click.token ? { clickId, at: click.clickedAt, impression: click.token } : null;
        return { click, changed, charge };
      });
    },
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function flaggedRow(click: ClickInput, payload: ImpressionToken | null, v: FraudVerdict, at: number): FlaggedClickTable {
  return {
    click_id: click.clickId,
    campaign_id: payload?.campaignId ?? null,
    impression_id: payload?.impressionId ?? null,
    reasons: JSON.stringify(v.reasons),
    score: v.score,
    status: 'flagged',
    details: JSON.stringify(v.details),
    token_payload: payload ? JSON.stringify(payload) : null,
    clicked_at: click.at,
    ip: click.ip ? normaliseIp(click.ip).slice(0, 45) : null,
    device: click.device,
    user_agent: click.userAgent ? click.userAgent.slice(0, 512) : null,
    user_id: click.userId,
    reviewed_by: null,
    reviewed_at: null,
    created_at: at,
  };
}

function toFlaggedClick(r: FlaggedClickTable): FlaggedClick {
  return {
    clickId: r.click_id,
    campaignId: r.campaign_id,
    impressionId: r.impression_id,
    reasons: JSON.parse(r.reasons) as FraudReason[],
    score: Number(r.score),
    status: r.status,
    details: JSON.parse(r.details) as Record<string, unknown>,
    token: r.token_payload ? JSON.parse(r.token_payload) as ImpressionToken : null,
    clickedAt: Number(r.clicked_at),
    ip: r.ip,
    device: r.device,
    userAgent: r.user_agent,
    userId: r.user_id,
    reviewedBy: r.reviewed_by,
    reviewedAt: r.reviewed_at === null ? null : Number(r.reviewed_at),
    createdAt: Number(r.created_at),
  };
}

function decodeCursor(cursor: string): { createdAt: number; clickId: string } {
  const m = /^(\d+):(.+)$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!m) throw new ValidationError('invalid query', [{ path: 'cursor', message: 'not a cursor from this list' }]);
  return { createdAt: Number(m[1]), clickId: m[2]! };
}
