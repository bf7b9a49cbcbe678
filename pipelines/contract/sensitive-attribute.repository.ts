// Reads of `sensitive_attribute`: the protected attributes fairness audits group by. Only the
// audit code and the admin route call these; feature code must never join them in.
import type { Kysely } from 'kysely';
import type { Db, Tx } from '../../platform/db/database.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const untyped = (db: Db | Tx) => db as unknown as Kysely<any>;

export interface SensitiveAttribute { subjectId: string; attribute: string; value: string }

export interface SensitiveQuery {
  subjectIds?: readonly string[];
  attribute?: string;
  /** Keyset paging: rows after this (subject, attribute). */
  after?: { subjectId: string; attribute: string };
  limit: number;
}

export async function readSensitiveAttributes(db: Db | Tx, q: SensitiveQuery): Promise<SensitiveAttribute[]> {
  if (q.subjectIds && q.subjectIds.length === 0) return [];
  let query = untyped(db).selectFrom('sensitive_attribute').select(['subject_id', 'attribute', 'value']);
  if (q.subjectIds) query = query.where('subject_id', 'in', [...q.subjectIds]);
  if (q.attribute !== undefined) query = query.where('attribute', '=', q.attribute);
  const after = q.after;
  if (after) {
    query = query.where((eb) => eb.or([
      eb('subject_id', '>', after.subjectId),
      eb.and([eb('subject_id', '=', after.subjectId), eb('attribute', '>', after.attribute)]),
    ]));
  }
  const rows = await query.orderBy('subject_id').orderBy('attribute').limit(q.limit).execute() as { subject_id: string; attribute: string; value: string }[];
  return rows.map((r) => ({ subjectId: r.subject_id, attribute: r.attribute, value: r.value }));
}

/** The declared attributes and how many subjects carry each (what an audit can group by). */
export async function listSensitiveAttributeNames(db: Db | Tx): Promise<{ attribute: string; subjects: number }[]> {
  const rows = await untyped(db).selectFrom('sensitive_attribute')
    .select(['attribute', (eb) => eb.fn.countAll<number>().as('subjects')])
    .groupBy('attribute').orderBy('attribute').execute() as { attribute: string; subjects: number | string }[];
  return rows.map((r) => ({ attribute: r.attribute, subjects: Number(r.subjects) }));
}
