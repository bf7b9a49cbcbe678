// SQL of the pacing state (table ad_pacing) and the campaigns the slot job paces.
import { sql, type Kysely } from 'kysely';
import { isMysql, type Db } from '../../../../platform/db/database.js';
import './budget.table.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const untyped = (db: Db) => db as unknown as Kysely<any>;

export async function readPacing(db: Db, campaignIds: readonly string[]): Promise<Map<string, { rate: number; slotStart: number }>> {
  const out = new Map<string, { rate: number; slotStart: number }>();
  if (campaignIds.length === 0) return out;
  const rows = await db.selectFrom('ad_pacing').select(['campaign_id', 'rate', 'slot_start']).where('campaign_id', 'in', [...campaignIds]).execute();
  for (const r of rows) out.set(r.campaign_id, { rate: Number(r.rate), slotStart: Number(r.slot_start) });
  return out;
}

/** Upsert rates, each only over a state of an earlier slot: a replayed or concurrent slot job changes nothing. */
export async function writePacing(db: Db, states: { campaignId: string; rate: number; slotStart: number }[], at: number): Promise<void> {
  if (states.length === 0) return;
  const values = states.map((s) => ({ campaign_id: s.campaignId, rate: s.rate, slot_start: s.slotStart, updated_at: at }));
  if (isMysql(untyped(db))) {
    // SET runs left to right, each seeing the values already assigned: slot_start goes last.
    const newer = sql`slot_start < values(slot_start)`;
    await db.insertInto('ad_pacing').values(values).onDuplicateKeyUpdate({
      rate: sql`if(${newer}, values(rate), rate)`,
      updated_at: sql`if(${newer}, values(updated_at), updated_at)`,
      slot_start: sql`greatest(slot_start, values(slot_start))`,
    }).execute();
  } else {
    await db.insertInto('ad_pacing').values(values).onConflict((oc) => oc.column('campaign_id').doUpdateSet({
      rate: sql`excluded.rate`, slot_start: sql`excluded.slot_start`, updated_at: sql`excluded.updated_at`,
    }).where(sql<boolean>`ad_pacing.slot_start < excluded.slot_start`)).execute();
  }
}

export async function listPacingCampaigns(db: Db): Promise<string[]> {
  return (await db.selectFrom('ad_pacing').select('campaign_id').execute()).map((r) => r.campaign_id);
}

/** Campaigns that are running at `at` and have a daily budget: the ones pacing applies to. */
export async function listBudgetedCampaigns(db: Db, at: number): Promise<string[]> {
  const rows = await untyped(db).selectFrom('campaign').select('id')
    .where('status', '=', 'active').where('daily_budget_minor', 'is not', null).where('starts_at', '<=', at)
    .where((eb) => eb.or([eb('ends_at', 'is', null), eb('ends_at', '>', at)]))
    .execute();
  return rows.map((r) => String(r.id));
}
