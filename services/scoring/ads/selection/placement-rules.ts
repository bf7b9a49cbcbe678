// Per-placement serving rules: which categories and advertisers may show there, how many ads, the
// least predicted CTR worth showing, the devices and countries it serves, and whether one
// advertiser may fill two slots. A placement without a stored rule serves under DEFAULT_RULE.
import type { Db } from '../../../../platform/db/database.js';
import { NotFoundError, ValidationError, type FieldProblem } from '../../../../platform/errors/app-error.js';
import { deletePlacementRule, readPlacementIds, readPlacementRule, readPlacementRules, writePlacementRule } from './ad-selection.repository.js';
import type { PlacementRuleTable } from './ad-selection.table.js';

export interface PlacementRule {
  placementId: string;
  /** null: any category. A campaign passes when one of its targeted categories is allowed. */
  allowedCategories: string[] | null;
  blockedCategories: string[];
  /** null: any advertiser. */
  allowedAdvertisers: string[] | null;
  blockedAdvertisers: string[];
  maxAds: number;
  /** Creatives predicted below this CTR are not shown here. */
  minPctr: number;
  /** null: any device; else the request's device must be listed. */
  devices: string[] | null;
  /** null: any country; else the request's country (ISO 3166-1 alpha-2) must be listed. */
  countries: string[] | null;
  onePerAdvertiser: boolean;
  updatedAt: number;
}

export type PlacementRuleInput = Partial<Omit<PlacementRule, 'placementId' | 'updatedAt'>>;

/** What a placement without a stored rule serves under. */
export const DEFAULT_RULE: Omit<PlacementRule, 'placementId' | 'updatedAt'> = {
  allowedCategories: null, blockedCategories: [], allowedAdvertisers: null, blockedAdvertisers: [],
  maxAds: 3, minPctr: 0, devices: null, countries: null, onePerAdvertiser: true,
};

/** Most ads one placement may return. */
export const MAX_ADS_LIMIT = 50;

const list = (text: string | null): string[] | null => (text === null ? null : (JSON.parse(text) as string[]));

export function toPlacementRule(r: PlacementRuleTable): PlacementRule {
  return {
    placementId: r.placement_id, allowedCategories: list(r.allowed_categories), blockedCategories: list(r.blocked_categories) ?? [],
    allowedAdvertisers: list(r.allowed_advertisers), blockedAdvertisers: list(r.blocked_advertisers) ?? [],
    maxAds: Number(r.max_ads), minPctr: Number(r.min_pctr), devices: list(r.devices), countries: list(r.countries),
    onePerAdvertiser: Boolean(Number(r.one_per_advertiser)), updatedAt: Number(r.updated_at),
  };
}

function validate(input: PlacementRuleInput): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const strings = (name: keyof PlacementRuleInput, nullable: boolean) => {
    const v = input[name];
    if (v === undefined || (v === null && nullable)) return;
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || s.length === 0 || s.length > 200) || v.length > 1000) {
      problems.push({ path: name, message: `must be ${nullable ? 'null or ' : ''}a list of at most 1000 non-empty strings` });
    }
  };
  strings('allowedCategories', true); strings('blockedCategories', false);
  strings('allowedAdvertisers', true); strings('blockedAdvertisers', false);
  strings('devices', true); strings('countries', true);
  if (input.countries?.some((c) => !/^[A-Z]{2}$/.test(c))) problems.push({ path: 'countries', message: 'must be ISO 3166-1 alpha-2 codes (upper case)' });
  if (input.maxAds !== undefined && (!Number.isInteger(input.maxAds) || input.maxAds < 1 || input.maxAds > MAX_ADS_LIMIT)) problems.push({ path: 'maxAds', message: `must be an integer from 1 to ${MAX_ADS_LIMIT}` });
  if (input.minPctr !== undefined && !(typeof input.minPctr === 'number' && input.minPctr >= 0 && input.minPctr <= 1)) problems.push({ path: 'minPctr', message: 'must be a number from 0 to 1' });
  if (input.onePerAdvertiser !== undefined && typeof input.onePerAdvertiser !== 'boolean') problems.push({ path: 'onePerAdvertiser', message: 'must be a boolean' });
  return problems;
}

export type PlacementRuleService = ReturnType<typeof createPlacementRuleService>;

export function createPlacementRuleService(deps: { db: Db; now?: () => number; onChange?: (placementId: string) => void }) {
  const now = deps.now ?? Date.now;
  return {
    /** Creates or replaces a placement's rule; fields left out take DEFAULT_RULE's values. */
    async upsert(placementId: string, input: PlacementRuleInput): Promise<PlacementRule> {
      const problems = validate(input);
      if (problems.length) throw new ValidationError(`invalid placement rule: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, problems);
      if (!(await readPlacementIds(deps.db)).includes(placementId)) throw new NotFoundError(`placement ${placementId} does not exist`, { placementId });
      const r = { ...DEFAULT_RULE, ...input };
      const json = (v: string[] | null) => (v === null ? null : JSON.stringify([...new Set(v)].sort()));
      const row: PlacementRuleTable = {
        placement_id: placementId, allowed_categories: json(r.allowedCategories), blocked_categories: json(r.blockedCategories)!,
        allowed_advertisers: json(r.allowedAdvertisers), blocked_advertisers: json(r.blockedAdvertisers)!, max_ads: r.maxAds,
        min_pctr: r.minPctr, devices: json(r.devices), countries: json(r.countries), one_per_advertiser: r.onePerAdvertiser ? 1 : 0,
        updated_at: now(),
      };
      await writePlacementRule(deps.db, row);
      deps.onChange?.(placementId);
      return toPlacementRule(row);
    },

    /** The stored rule, or null (the placement serves under DEFAULT_RULE). */
    async get(placementId: string): Promise<PlacementRule | null> {
      const row = await readPlacementRule(deps.db, placementId);
      return row ? toPlacementRule(row) : null;
    },

    async list(): Promise<PlacementRule[]> {
      return (await readPlacementRules(deps.db)).map(toPlacementRule);
    },

    async remove(placementId: string): Promise<boolean> {
      const removed = await deletePlacementRule(deps.db, placementId);
      if (removed) deps.onChange?.(placementId);
      return removed;
    },
  };
}
