// The scoring service's reads of marketplace tables: the candidate pre-filter for "find them"
// ranking and the creatives' campaigns for ads. Source tables are described by table-specs.ts,
// not Kysely interfaces, so these speak to an untyped view of the connection.
import type { Kysely } from 'kysely';
import type { Db, Tx } from '../../platform/db/database.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const untyped = (db: Db | Tx) => db as unknown as Kysely<any>;

export interface CandidateQuery {
  /** Providers holding at least one of these skills (the job's required skills)… */
  skillIds: readonly string[];
  /** …or, when the job requires none, any skill of this category. */
  categoryId: string | null;
  /** Available: active at or after this time. */
  activeSince: number;
  limit: number;
}

/**
 * Provider ids passing the pre-filter, most required skills matched first, then best rated.
 * Empty when the job names neither skills nor a category (nothing to filter on).
 */
export async function findCandidateProviders(db: Db | Tx, q: CandidateQuery): Promise<string[]> {
  const k = untyped(db);
  let skills: readonly string[] = q.skillIds;
  if (skills.length === 0) {
    if (!q.categoryId) return [];
    const rows = await k.selectFrom('skill').select('id').where('category_id', '=', q.categoryId).execute();
    skills = rows.map((r) => String(r.id));
    if (skills.length === 0) return [];
  }
  const rows = await k.selectFrom('provider_skill as ps')
    .innerJoin('provider as p', 'p.id', 'ps.provider_id')
    .select(['ps.provider_id', k.fn.count('ps.skill_id').as('matched'), k.fn.max('p.rating').as('rating')])
    .where('ps.skill_id', 'in', skills)
    .where('p.last_active_at', '>=', q.activeSince)
    .groupBy('ps.provider_id')
    .orderBy('matched', 'desc').orderBy('rating', 'desc').orderBy('ps.provider_id')
    .limit(q.limit)
    .execute();
  return rows.map((r) => String(r.provider_id));
}

export interface CreativeRow { id: string; campaignId: string; advertiserId: string; status: string }

/** The creatives' campaigns and advertisers; unknown ids are absent from the map. */
export async function readCreatives(db: Db | Tx, ids: readonly string[]): Promise<Map<string, CreativeRow>> {
  if (ids.length === 0) return new Map();
  const rows = await untyped(db).selectFrom('creative as cr')
    .innerJoin('campaign as c', 'c.id', 'cr.campaign_id')
    .select(['cr.id', 'cr.campaign_id', 'c.advertiser_id', 'c.status'])
    .where('cr.id', 'in', [...new Set(ids)])
    .execute();
  return new Map(rows.map((r) => [String(r.id), { id: String(r.id), campaignId: String(r.campaign_id), advertiserId: String(r.advertiser_id), status: String(r.status) }]));
}

/** The advertiser of a campaign (who pays its ad charges), or null for an unknown campaign. */
export async function readCampaignAdvertiser(db: Db | Tx, campaignId: string): Promise<string | null> {
  const row = await untyped(db).selectFrom('campaign').select('advertiser_id').where('id', '=', campaignId).executeTakeFirst();
  return row ? String(row.advertiser_id) : null;
}
