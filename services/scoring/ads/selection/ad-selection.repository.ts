// The only SQL of ad selection: placement rules, the serving catalog (running campaigns, their
// creatives, the placements) and the database fallback of the frequency-cap counters.
import type { Kysely } from 'kysely';
import type { Db, Tx } from '../../../../platform/db/database.js';
import type { PlacementRuleTable } from './ad-selection.table.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const untyped = (db: Db | Tx) => db as unknown as Kysely<any>;

export async function readPlacementRule(db: Db | Tx, placementId: string): Promise<PlacementRuleTable | null> {
  return (await db.selectFrom('placement_rule').selectAll().where('placement_id', '=', placementId).executeTakeFirst()) ?? null;
}

export async function readPlacementRules(db: Db | Tx): Promise<PlacementRuleTable[]> {
  return db.selectFrom('placement_rule').selectAll().orderBy('placement_id').execute();
}

export async function writePlacementRule(db: Db | Tx, row: PlacementRuleTable): Promise<void> {
  const { placement_id: _, ...set } = row;
  // Update first, insert when absent: portable, and a concurrent insert of the same id retries the update.
  const res = await db.updateTable('placement_rule').set(set).where('placement_id', '=', row.placement_id).executeTakeFirst();
  if (Number(res.numUpdatedRows) > 0) return;
  try {
    await db.insertInto('placement_rule').values(row).execute();
  } catch (err) {
    const again = await db.updateTable('placement_rule').set(set).where('placement_id', '=', row.placement_id).executeTakeFirst();
    if (Number(again.numUpdatedRows) === 0) throw err;
  }
}

export async function deletePlacementRule(db: Db | Tx, placementId: string): Promise<boolean> {
  const res = await db.deleteFrom('placement_rule').where('placement_id', '=', placementId).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

export interface CampaignRow {
  id: string; advertiserId: string; bidType: string; bidMinor: number; currency: string;
  startsAt: number; endsAt: number | null; targeting: string | null;
}

/** Active campaigns not ended before `at` (starts_at is checked per request: a campaign may start soon). */
export async function readServableCampaigns(db: Db | Tx, at: number): Promise<CampaignRow[]> {
  const rows = await untyped(db).selectFrom('campaign')
    .select(['id', 'advertiser_id', 'bid_type', 'bid_minor', 'currency', 'starts_at', 'ends_at', 'targeting'])
    .where('status', '=', 'active')
    .where((eb) => eb.or([eb('ends_at', 'is', null), eb('ends_at', '>', at)]))
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    id: String(r.id), advertiserId: String(r.advertiser_id), bidType: String(r.bid_type), bidMinor: Number(r.bid_minor),
    currency: String(r.currency), startsAt: Number(r.starts_at), endsAt: r.ends_at === null ? null : Number(r.ends_at),
    targeting: r.targeting === null ? null : String(r.targeting),
  }));
}

/** Creative ids of active, unended campaigns, by campaign (ordered by id). */
export async function readServableCreatives(db: Db | Tx, at: number): Promise<Map<string, string[]>> {
  const rows = await untyped(db).selectFrom('creative as cr').innerJoin('campaign as c', 'c.id', 'cr.campaign_id')
    .select(['cr.id', 'cr.campaign_id'])
    .where('c.status', '=', 'active')
    .where((eb) => eb.or([eb('c.ends_at', 'is', null), eb('c.ends_at', '>', at)]))
    .orderBy('cr.id')
    .execute();
  const out = new Map<string, string[]>();
  for (const r of rows) {
    const k = String(r.campaign_id);
    const list = out.get(k);
    if (list) list.push(String(r.id)); else out.set(k, [String(r.id)]);
  }
  return out;
}

export async function readPlacementIds(db: Db | Tx): Promise<string[]> {
  return (await untyped(db).selectFrom('placement').select('id').execute()).map((r) => String(r.id));
}

/** Open-window counts of a subject's campaigns (windows ended at or before `at` are absent; other campaigns may be present). */
export async function readCapCounters(db: Db | Tx, subjectId: string, at: number): Promise<Map<string, number>> {
  // All of the subject's open windows (few: the campaigns it saw lately), not an IN list of every candidate.
  const rows = await db.selectFrom('frequency_cap_counter').select(['campaign_id', 'impressions'])
    .where('subject_id', '=', subjectId).where('window_ends_at', '>', at)
    .execute();
  return new Map(rows.map((r) => [r.campaign_id, Number(r.impressions)]));
}

/**
 * Counts one impression: a window that ended by `at` restarts at 1 and ends at `at + windowMs`.
 * One UPDATE is atomic on both dialects (MySQL assigns left to right: `impressions` is computed
 * before `window_ends_at` changes). Returns the count in the current window and its end.
 */
export async function incrementCapCounter(db: Db, subjectId: string, campaignId: string, at: number, windowMs: number): Promise<{ count: number; windowEndsAt: number }> {
  const bump = (tx: Tx) => tx.updateTable('frequency_cap_counter')
    .set((eb) => ({
      impressions: eb.case().when('window_ends_at', '<=', at).then(1).else(eb('impressions', '+', 1)).end(),
      window_ends_at: eb.case().when('window_ends_at', '<=', at).then(at + windowMs).else(eb.ref('window_ends_at')).end(),
    }))
    .where('subject_id', '=', subjectId).where('campaign_id', '=', campaignId)
    .executeTakeFirst();
  return db.transaction().execute(async (tx) => {
    let res = await bump(tx);
    if (Number(res.numUpdatedRows) === 0) {
      try {
        await tx.insertInto('frequency_cap_counter').values({ subject_id: subjectId, campaign_id: campaignId, impressions: 1, window_ends_at: at + windowMs }).execute();
        return { count: 1, windowEndsAt: at + windowMs };
      } catch (err) {
        res = await bump(tx); // inserted concurrently by another impression
        if (Number(res.numUpdatedRows) === 0) throw err;
      }
    }
    const row = await tx.selectFrom('frequency_cap_counter').select(['impressions', 'window_ends_at'])
      .where('subject_id', '=', subjectId).where('campaign_id', '=', campaignId).executeTakeFirstOrThrow();
    return { count: Number(row.impressions), windowEndsAt: Number(row.window_ends_at) };
  });
}

/** Deletes counters whose window ended before `before`; returns how many. */
export async function sweepCapCounters(db: Db | Tx, before: number): Promise<number> {
  const res = await db.deleteFrom('frequency_cap_counter').where('window_ends_at', '<', before).executeTakeFirst();
  return Number(res.numDeletedRows);
}
