// The SQL of training sets: the label queries over the source tables and the snapshot rows.
import type { Kysely } from 'kysely';
import type { Db, Tx } from '../../platform/db/database.js';
import type { DatasetSnapshotTable } from './dataset.table.js';

// Source tables are described by the contract's table specs, not Kysely interfaces.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const untyped = (db: Db | Tx) => db as unknown as Kysely<any>;

export interface LabelWindow {
  from: number;
  to: number;
  /** Only source rows ingested at or before `to` (what was known when the window closed). */
  ingestedBy?: number;
}

export interface ProposalLabelRow { id: string; provider_id: string; job_id: string; client_id: string | null; event_at: number }

/**
 * Every proposal with event time in [from, to), oldest first, with its job's client. Sorted here,
 * not by the server: proposal has no index on event_at alone, and MySQL's filesort of 500,000 rows
 * (plus a join per row for the client) took longer than reading jobs once and sorting in memory.
 */
export async function readProposalLabels(db: Db | Tx, w: LabelWindow): Promise<ProposalLabelRow[]> {
  let q = untyped(db).selectFrom('proposal').select(['id', 'provider_id', 'job_id', 'event_at'])
    .where('event_at', '>=', w.from).where('event_at', '<', w.to);
  if (w.ingestedBy !== undefined) q = q.where('ingested_at', '<=', w.ingestedBy);
  const clients = new Map<string, string | null>();
  const [rows] = await Promise.all([
    q.execute(),
    (async () => { for await (const j of untyped(db).selectFrom('job').select(['id', 'client_id']).stream(10_000)) clients.set(String(j.id), j.client_id ?? null); })(),
  ]);
  const out: ProposalLabelRow[] = rows.map((r) => ({
    id: String(r.id), provider_id: String(r.provider_id), job_id: String(r.job_id), client_id: clients.get(String(r.job_id)) ?? null, event_at: Number(r.event_at),
  }));
  return out.sort((a, b) => a.event_at - b.event_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Every (job, provider) with a hire, as `job\u0000provider`. One pass over hires (far fewer than
 * proposals) instead of an EXISTS per proposal: 500,000 correlated lookups cost MySQL seconds.
 */
export async function readHiredPairs(db: Db | Tx, w: LabelWindow): Promise<Set<string>> {
  let q = untyped(db).selectFrom('hire').select(['job_id', 'provider_id']);
  if (w.ingestedBy !== undefined) q = q.where('ingested_at', '<=', w.ingestedBy);
  const pairs = new Set<string>();
  for await (const r of q.stream(10_000)) pairs.add(`${r.job_id}\u0000${r.provider_id}`);
  return pairs;
}

export interface ImpressionLabelRow {
  id: string; campaign_id: string; creative_id: string; placement_id: string; advertiser_id: string | null;
  user_id: string | null; ip: string | null; device: string | null; fraud_label: number | null; event_at: number;
}

/** Every impression with event time in [from, to), oldest first (sorted in memory, as proposals), with its campaign's advertiser. */
export async function readImpressionLabels(db: Db | Tx, w: LabelWindow): Promise<ImpressionLabelRow[]> {
  let q = untyped(db).selectFrom('impression')
    .select(['id', 'campaign_id', 'creative_id', 'placement_id', 'user_id', 'ip', 'device', 'fraud_label', 'event_at'])
    .where('event_at', '>=', w.from).where('event_at', '<', w.to);
  if (w.ingestedBy !== undefined) q = q.where('ingested_at', '<=', w.ingestedBy);
  const [rows, campaigns] = await Promise.all([q.execute(), untyped(db).selectFrom('campaign').select(['id', 'advertiser_id']).execute()]);
  const advertiser = new Map(campaigns.map((c) => [String(c.id), c.advertiser_id == null ? null : String(c.advertiser_id)]));
  const out = rows.map((r) => ({
    ...r, advertiser_id: advertiser.get(String(r.campaign_id)) ?? null,
    event_at: Number(r.event_at), fraud_label: r.fraud_label == null ? null : Number(r.fraud_label),
  }) as ImpressionLabelRow);
  return out.sort((a, b) => a.event_at - b.event_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Ids of impressions some click references, among clicks at or after `from` (a click follows its
 * impression). One pass over clicks: click.impression_id has no index, so a per-impression
 * EXISTS would scan the table for each label.
 */
export async function readClickedImpressionIds(db: Db | Tx, w: LabelWindow): Promise<Set<string>> {
  let q = untyped(db).selectFrom('click').select('impression_id')
    .where('impression_id', 'is not', null).where('event_at', '>=', w.from);
  if (w.ingestedBy !== undefined) q = q.where('ingested_at', '<=', w.ingestedBy);
  const ids = new Set<string>();
  for await (const r of q.stream(10_000)) ids.add(String(r.impression_id));
  return ids;
}

// --- snapshots --------------------------------------------------------------------------------

export async function insertSnapshot(db: Db | Tx, row: DatasetSnapshotTable): Promise<void> {
  await db.insertInto('dataset_snapshot').values(row).execute();
}

export async function getSnapshot(db: Db | Tx, id: string): Promise<DatasetSnapshotTable | undefined> {
  return db.selectFrom('dataset_snapshot').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listSnapshots(db: Db | Tx, q: { kind?: string; limit?: number } = {}): Promise<DatasetSnapshotTable[]> {
  let query = db.selectFrom('dataset_snapshot').selectAll();
  if (q.kind) query = query.where('kind', '=', q.kind);
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(q.limit ?? 100).execute();
}

/** Every connection made before `to`, oldest first: the graph grows along the labels' time. */
export async function readConnectionTimeline(db: Db | Tx, to: number): Promise<{ a: string; b: string; at: number }[]> {
  const rows = await untyped(db).selectFrom('connection').select(['user_a', 'user_b', 'connected_at'])
    .where('connected_at', '<', to).orderBy('connected_at').orderBy('user_a').orderBy('user_b').execute();
  return rows.map((r) => ({ a: String(r.user_a), b: String(r.user_b), at: Number(r.connected_at) }));
}
