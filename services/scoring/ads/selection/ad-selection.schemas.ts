// Proposed TypeBox schemas of POST /v1/ads/select and the placement-rule admin endpoints
// (PUT/GET/DELETE /v1/ads/placements/{placementId}/rule); the lead mounts the routes.
import { Type } from 'typebox';
import { MAX_ADS_LIMIT } from './placement-rules.js';

const Id = Type.String({ minLength: 1, maxLength: 200 });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const Strings = Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 1000 });

export const SelectIn = Type.Object({
  placementId: Id,
  userId: Type.Optional(Nullable(Id)),
  sessionId: Type.Optional(Nullable(Id)),
  device: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 32, description: 'mobile, desktop, tablet…' }))),
  country: Type.Optional(Nullable(Type.String({ pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2' }))),
  category: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 200, description: 'the category being browsed' }))),
  count: Type.Integer({ minimum: 1, maximum: MAX_ADS_LIMIT, default: 1 }),
  debug: Type.Optional(Type.Boolean({ default: false, description: 'list every campaign not served and the rule that excluded it' })),
}, { additionalProperties: false });

export const SelectedAdOut = Type.Object({
  creativeId: Type.String(), campaignId: Type.String(), advertiserId: Type.String(),
  pctr: Type.Number(), expectedValue: Type.Number({ description: 'minor units per impression: pCTR × CPC bid, or CPM bid / 1000' }),
  bidType: Type.Union([Type.Literal('cpc'), Type.Literal('cpm')]),
  priceMinor: Type.Integer({ description: 'the bid: per click (cpc) or per 1,000 impressions (cpm)' }),
  currency: Type.String(),
  token: Type.String({ description: 'signed impression token: send it with the impression and the click' }),
});

export const ExclusionOut = Type.Object({ campaignId: Type.String(), rule: Type.String(), detail: Type.String() });

export const SelectOut = Type.Object({
  results: Type.Array(SelectedAdOut),
  excluded: Type.Optional(Type.Array(ExclusionOut)),
  model: Type.String(), version: Type.Integer(),
});

export const PlacementRuleIn = Type.Object({
  allowedCategories: Type.Optional(Nullable(Strings)), blockedCategories: Type.Optional(Strings),
  allowedAdvertisers: Type.Optional(Nullable(Strings)), blockedAdvertisers: Type.Optional(Strings),
  maxAds: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_ADS_LIMIT })),
  minPctr: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  devices: Type.Optional(Nullable(Strings)),
  countries: Type.Optional(Nullable(Type.Array(Type.String({ pattern: '^[A-Z]{2}$' }), { maxItems: 300 }))),
  onePerAdvertiser: Type.Optional(Type.Boolean()),
}, { additionalProperties: false, description: 'fields left out take the defaults (any category / advertiser / device / country, 3 ads, min pCTR 0, one per advertiser)' });

export const PlacementRuleOut = Type.Object({
  placementId: Type.String(),
  allowedCategories: Nullable(Type.Array(Type.String())), blockedCategories: Type.Array(Type.String()),
  allowedAdvertisers: Nullable(Type.Array(Type.String())), blockedAdvertisers: Type.Array(Type.String()),
  maxAds: Type.Integer(), minPctr: Type.Number(),
  devices: Nullable(Type.Array(Type.String())), countries: Nullable(Type.Array(Type.String())),
  onePerAdvertiser: Type.Boolean(), updatedAt: Type.Integer(),
});
