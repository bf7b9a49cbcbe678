// Ads delivery over HTTP: selection (scope score), impressions and clicks by token (score), and
// the operator's side (admin): placement rules and the review of flagged clicks.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Actor } from '../../../platform/audit/audit-log.js';
import type { Db } from '../../../platform/db/database.js';
import { NotFoundError } from '../../../platform/errors/app-error.js';
import type { Principal } from '../../api/auth/api-key.service.js';
import { withErrors } from '../../api/schemas.js';
import type { AdTracking } from './ad-tracking.service.js';
import type { BudgetService } from './budget/budget.service.js';
import { campaignOverview } from './budget/campaign-overview.js';
import type { Pacer } from './budget/pacing.js';
import type { FraudService } from './fraud/fraud.service.js';
import { PlacementRuleIn, PlacementRuleOut, SelectIn, SelectOut } from './selection/ad-selection.schemas.js';
import type { AdSelector } from './selection/ad-selector.js';
import { DEFAULT_RULE, type createPlacementRuleService } from './selection/placement-rules.js';

const tags = ['ads'];
const security = [{ bearer: [] }];
const actorOf = (p: Principal | null): Actor => ({ type: 'api_key', id: p?.keyId ?? 'unknown', ...(p?.name ? { name: p.name } : {}) });
const Placement = Type.Object({ placementId: Type.String({ minLength: 1, maxLength: 200 }) });
const Time = Type.Optional(Type.Integer({ minimum: 0, description: 'event time, ms (default now)' }));
const ClickOut = Type.Object({
  clickId: Type.String(), flagged: Type.Boolean(), reasons: Type.Array(Type.String()), charged: Type.Boolean(),
  amountMinor: Type.Integer(), currency: Type.Union([Type.String(), Type.Null()]),
  reason: Type.Union([Type.String(), Type.Null()], { description: 'why not charged: flagged, daily_budget, lifetime_budget, already_charged, campaign_inactive, cpm_campaign' }),
});

const Minor = Type.Union([Type.Integer(), Type.Null()]);
const CampaignsOut = Type.Object({
  day: Type.String(), slotMs: Type.Integer(),
  campaigns: Type.Array(Type.Object({
    id: Type.String(), name: Type.String(), advertiserId: Type.String(), status: Type.String(), active: Type.Boolean(),
    bidType: Type.String(), bidMinor: Type.Integer(), currency: Type.String(),
    dailyBudgetMinor: Minor, lifetimeBudgetMinor: Minor, spentTodayMinor: Type.Integer(), spentLifetimeMinor: Type.Integer(),
    pacingRate: Type.Union([Type.Number(), Type.Null()]),
    pacing: Type.Array(Type.Object({ at: Type.Integer(), spentMinor: Type.Integer(), targetMinor: Minor })),
  })),
}, { description: 'Money in minor units of each campaign\'s currency; times UTC ms.' });

export interface AdsRouteDeps {
  selector: AdSelector;
  tracking: AdTracking;
  rules: ReturnType<typeof createPlacementRuleService>;
  fraud: FraudService;
  /** For the campaign overview (GET /v1/ads/campaigns). */
  budget?: BudgetService;
  pacer?: Pacer | null;
  db?: Db;
}

export const adsRoutes: FastifyPluginAsyncTypebox<AdsRouteDeps> = async (app, opts) => {
  const score = app.requireScope('score');
  const admin = app.requireScope('admin');

  app.post('/v1/ads/select', {
    schema: { tags, security, summary: 'Choose ads for a placement: eligible by rules, caps, budget and pacing, ranked by expected value, each with a signed impression token', body: SelectIn, response: withErrors({ 200: SelectOut }) },
    preHandler: score,
  }, async (req) => opts.selector.select({ ...req.body, ip: req.ip }));

  app.post('/v1/ads/impressions', {
    schema: { tags, security, summary: 'Record a shown ad by its token (frequency caps, impression events)',
      body: Type.Object({ token: Type.String({ minLength: 1, maxLength: 4000 }), at: Time, sessionId: Type.Optional(Type.String({ maxLength: 200 })), device: Type.Optional(Type.String({ maxLength: 32 })) }, { additionalProperties: false }),
      response: withErrors({ 200: Type.Object({ impressionId: Type.String(), campaignId: Type.String(), capped: Type.Boolean() }) }) },
    preHandler: score,
  }, async (req) => opts.tracking.impression({ ...req.body, ip: req.ip }));

  app.post('/v1/ads/clicks', {
    schema: { tags, security, summary: 'Record a click by its impression token: fraud rules first, then charged once against the budget',
      body: Type.Object({ token: Type.Union([Type.String({ maxLength: 4000 }), Type.Null()]), clickId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })), at: Time, device: Type.Optional(Type.String({ maxLength: 32 })), userId: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false }),
      response: withErrors({ 200: ClickOut }) },
    preHandler: score,
  }, async (req) => opts.tracking.click({ ...req.body, ip: req.ip, userAgent: req.headers['user-agent'] ?? null }));

  app.get('/v1/ads/placements/:placementId/rule', {
    schema: { tags, security, summary: 'A placement\'s rule (the defaults when none was set)', params: Placement, response: withErrors({ 200: PlacementRuleOut }) },
    preHandler: admin,
  }, async (req) => {
    // A placement without a rule of its own serves under the defaults: show those.
    return await opts.rules.get(req.params.placementId) ?? { placementId: req.params.placementId, ...DEFAULT_RULE, updatedAt: 0 };
  });

  app.put('/v1/ads/placements/:placementId/rule', {
    schema: { tags, security, summary: 'Set a placement\'s rule: categories, advertisers, maximum ads, minimum pCTR, devices, countries, one ad per advertiser', params: Placement, body: PlacementRuleIn, response: withErrors({ 200: PlacementRuleOut }) },
    preHandler: admin,
  }, async (req) => opts.rules.upsert(req.params.placementId, req.body));

  app.delete('/v1/ads/placements/:placementId/rule', {
    schema: { tags, security, summary: 'Back to the default rule', params: Placement, response: withErrors({ 200: Type.Object({ removed: Type.Boolean() }) }) },
    preHandler: admin,
  }, async (req) => {
    if (!await opts.rules.remove(req.params.placementId)) throw new NotFoundError(`placement ${req.params.placementId} has no rule of its own`, { placementId: req.params.placementId });
    return { removed: true };
  });

  app.get('/v1/ads/campaigns', {
    schema: { tags, security, summary: 'Campaigns with budgets, spend (from the ledger) and the pass-through rate, and today\'s pacing curve against its target',
      querystring: Type.Object({
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
        slotMs: Type.Optional(Type.Integer({ minimum: 60_000, maximum: 86_400_000, description: 'pacing curve step (default 1 h)' })),
      }, { additionalProperties: false }),
      response: withErrors({ 200: CampaignsOut }) },
    preHandler: admin,
  }, async (req) => {
    if (!opts.budget || !opts.db) throw new NotFoundError('the campaign overview is not configured in this process', {});
    return campaignOverview({ db: opts.db, budget: opts.budget, pacer: opts.pacer ?? null }, { at: Date.now(), ...req.query });
  });

  app.get('/v1/ads/flagged-clicks', {
    schema: { tags, security, summary: 'Clicks the fraud rules flagged, newest first, with every reason',
      querystring: Type.Object({
        status: Type.Optional(Type.Union([Type.Literal('flagged'), Type.Literal('released'), Type.Literal('confirmed')])),
        campaignId: Type.Optional(Type.String({ maxLength: 200 })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
        cursor: Type.Optional(Type.String({ maxLength: 200 })),
      }, { additionalProperties: false }),
      response: withErrors({ 200: Type.Object({ items: Type.Array(Type.Record(Type.String(), Type.Unknown())), nextCursor: Type.Union([Type.String(), Type.Null()]) }) }) },
    preHandler: admin,
  }, async (req) => opts.fraud.listFlagged(req.query) as unknown as Promise<{ items: Record<string, unknown>[]; nextCursor: string | null }>);

  app.post('/v1/ads/flagged-clicks/:clickId/review', {
    schema: { tags, security, summary: 'Release (then charged once) or confirm a flagged click; audited',
      params: Type.Object({ clickId: Type.String({ minLength: 1, maxLength: 64 }) }),
      body: Type.Object({ decision: Type.Union([Type.Literal('release'), Type.Literal('confirm')]) }, { additionalProperties: false }),
      response: withErrors({ 200: Type.Object({ status: Type.String(), outcome: Type.Union([ClickOut, Type.Null()]) }) }) },
    preHandler: admin,
  }, async (req) => opts.tracking.review(req.params.clickId, req.body.decision, actorOf(req.principal)));
};
