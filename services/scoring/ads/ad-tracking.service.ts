// Impressions and clicks by impression token. An impression counts against the user's frequency
// caps and flows into the marketplace's impression events; a click is checked for fraud first (a
// flagged click is stored with every reason and never charged), then charged against the
// campaign's budget exactly once (the spend ledger is keyed by click id), and the click and its
// `ad_charge` transaction flow through the event queue into the source tables, the stream
// features and finance — idempotently, their event ids derived from the click.
import type { Actor } from '../../../platform/audit/audit-log.js';
import type { Db } from '../../../platform/db/database.js';
import { NotFoundError, ValidationError } from '../../../platform/errors/app-error.js';
import type { EventsService } from '../../../pipelines/events/events.service.js';
import type { ChargeResult, ClickInput, FraudVerdict, ImpressionToken } from './ad-types.js';
import type { BudgetService } from './budget/budget.service.js';
import type { FraudService } from './fraud/fraud.service.js';
import type { TokenCheck } from './fraud/fraud.types.js';
import { readCampaignAdvertiser } from '../scoring.repository.js';
import { verifyToken } from './impression-token.js';
import type { AdSelector } from './selection/ad-selector.js';

export interface ImpressionCommand { token: string; at?: number; sessionId?: string | null; ip?: string | null; device?: string | null }
export interface ClickCommand { token: string | null; clickId?: string; at?: number; ip?: string | null; device?: string | null; userAgent?: string | null; userId?: string | null }

export interface ClickOutcome {
  clickId: string;
  flagged: boolean;
  reasons: FraudVerdict['reasons'];
  charged: boolean;
  amountMinor: number;
  currency: string | null;
  /** Why it was not charged: fraud, an exhausted budget, a click already charged, an inactive campaign. */
  reason: ChargeResult['reason'] | 'flagged' | 'cpm_campaign' | null;
}

export interface AdTrackingDeps {
  db: Db;
  tokenSecret: string;
  selector: Pick<AdSelector, 'recordImpression'>;
  fraud: FraudService;
  budget: BudgetService;
  events: EventsService;
  now?: () => number;
}

export type AdTracking = ReturnType<typeof createAdTracking>;

const clickIdOf = (impressionId: string) => `clk_${impressionId}`;

export function createAdTracking(deps: AdTrackingDeps) {
  const now = deps.now ?? Date.now;

  // The advertiser of a campaign (the payer of its ad charges), cached: campaigns do not change hands.
  const advertisers = new Map<string, string>();
  async function advertiserOf(campaignId: string): Promise<string> {
    let a = advertisers.get(campaignId);
    if (a === undefined) {
      const found = await readCampaignAdvertiser(deps.db, campaignId);
      if (found === null) throw new NotFoundError(`no campaign ${campaignId}`, { campaignId });
      a = found;
      if (advertisers.size > 100_000) advertisers.clear();
      advertisers.set(campaignId, a);
    }
    return a;
  }

  function eventRow(t: ImpressionToken, id: string, type: 'impression' | 'click', at: number, extra: { ip?: string | null; device?: string | null; fraud?: boolean; impressionId?: string }) {
    return {
      event_id: id, type, event_at: at,
      ...(type === 'click' ? { impression_id: extra.impressionId ?? t.impressionId } : {}),
      campaign_id: t.campaignId, creative_id: t.creativeId, placement_id: t.placementId,
      ...(t.userId ? { user_id: t.userId } : {}),
      ...(extra.ip ? { ip: extra.ip } : {}), ...(extra.device ? { device: extra.device.slice(0, 32) } : {}),
      fraud_label: extra.fraud ? 1 : 0,
    };
  }

  async function ingest(events: Record<string, unknown>[]): Promise<void> {
    const r = await deps.events.ingest(events);
    if (r.rejected) throw new ValidationError(`events refused: ${r.errors.map((e) => e.problems.map((p) => `${p.path} ${p.message}`).join(', ')).join('; ')}`, r.errors.flatMap((e) => e.problems));
  }

  /** Charges a click that passed the fraud rules (or was released by an operator). */
  async function charge(t: ImpressionToken, clickId: string, at: number, c: { ip?: string | null; device?: string | null }, flaggedBefore: boolean): Promise<ClickOutcome> {
    const base = { clickId, flagged: false, reasons: [], currency: t.currency };
    if (t.bidType !== 'cpc') {
      // CPM campaigns pay per impression, not per click: the click is recorded, nothing charged here.
      await ingest([eventRow(t, clickId, 'click', at, c)]);
      return { ...base, charged: false, amountMinor: 0, reason: 'cpm_campaign' };
    }
    const r = await deps.budget.charge(t.campaignId, clickId, t.priceMinor, at);
    const events: Record<string, unknown>[] = flaggedBefore ? [] : [eventRow(t, clickId, 'click', at, c)];
    if (r.charged) {
      events.push({
        event_id: `txn_${clickId}`, type: 'transaction', event_at: at, kind: 'ad_charge', status: 'succeeded',
        amount_minor: r.amountMinor, currency: t.currency, idempotency_key: `ad_charge:${clickId}`,
        user_id: await advertiserOf(t.campaignId), campaign_id: t.campaignId,
      });
    }
    if (events.length) await ingest(events);
    return { ...base, charged: r.charged, amountMinor: r.charged ? r.amountMinor : 0, reason: r.reason };
  }

  return {
    async impression(cmd: ImpressionCommand): Promise<{ impressionId: string; campaignId: string; capped: boolean }> {
      const v = verifyToken(cmd.token, deps.tokenSecret, now());
      if (!v.valid) throw new ValidationError(`the impression token is ${v.reason === 'expired_token' ? 'expired' : 'invalid'}`, [{ path: 'token', message: v.reason }]);
      const t = v.payload;
      const at = cmd.at ?? now();
      const cap = await deps.selector.recordImpression(t, at, cmd.sessionId ?? null);
      await ingest([eventRow(t, t.impressionId, 'impression', at, cmd)]);
      return { impressionId: t.impressionId, campaignId: t.campaignId, capped: Boolean(cap && (cap as { overCap?: boolean }).overCap) };
    },

    async click(cmd: ClickCommand): Promise<ClickOutcome> {
      const at = cmd.at ?? now();
      const v = cmd.token ? verifyToken(cmd.token, deps.tokenSecret, at) : { valid: false as const, reason: 'invalid_token' as const };
      const check: TokenCheck = v.valid ? { valid: true, payload: v.payload } : { valid: false, reason: v.reason };
      const clickId = cmd.clickId ?? (v.valid ? clickIdOf(v.payload.impressionId) : `clk_untracked_${at}_${Math.random().toString(36).slice(2, 10)}`);
      const input: ClickInput = { clickId, token: cmd.token, at, ip: cmd.ip ?? null, device: cmd.device ?? null, userAgent: cmd.userAgent ?? null, userId: cmd.userId ?? (v.valid ? v.payload.userId : null) };
      const verdict = await deps.fraud.checkClick(input, check);
      if (verdict.flagged) {
        // Recorded (when we know what was clicked) with our verdict, never charged.
        if (v.valid) await ingest([eventRow(v.payload, clickId, 'click', at, { ...cmd, fraud: true })]);
        return { clickId, flagged: true, reasons: verdict.reasons, charged: false, amountMinor: 0, currency: v.valid ? v.payload.currency : null, reason: 'flagged' };
      }
      return charge((v as { payload: ImpressionToken }).payload, clickId, at, cmd, false);
    },

    /** An operator's decision on a flagged click; a release charges it then (once). */
    async review(clickId: string, decision: 'release' | 'confirm', actor: Actor): Promise<{ status: string; outcome: ClickOutcome | null }> {
      const r = await deps.fraud.review(clickId, decision, actor);
      if (!r.charge) return { status: r.click.status, outcome: null };
      const outcome = await charge(r.charge.impression, r.charge.clickId, r.charge.at, {}, true);
      return { status: r.click.status, outcome };
    },
  };
}
