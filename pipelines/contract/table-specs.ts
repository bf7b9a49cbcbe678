// The marketplace data contract in code: for every source table, its columns with their types and
// rules, its natural key and what it references. Bulk import and event ingestion validate with
// these specs (validate-row.ts), so a CSV row and an HTTP event obey exactly the same rules.

export type ColumnType =
  | 'id' | 'text' | 'int' | 'float' | 'money' | 'currency' | 'country' | 'timezone'
  | 'time' | 'enum' | 'bool' | 'json' | 'ip' | 'url';

export interface ColumnSpec {
  name: string;
  type: ColumnType;
  required?: boolean;
  values?: readonly string[];
  min?: number;
  max?: number;
  maxLength?: number;
  /** The table whose id this column holds (declared as a foreign key). */
  ref?: string;
  /** Value for an empty optional field: the column's default in the database. */
  default?: number;
}

export interface TableSpec {
  table: string;
  /** Natural key: re-importing a row with the same key updates it. */
  key: readonly string[];
  columns: readonly ColumnSpec[];
  /** Event-like tables carry event_at (from the data) and ingested_at (set on arrival). */
  eventLike: boolean;
  /** Cross-field rules, run after every column passed. */
  check?: (row: Record<string, unknown>) => { path: string; message: string }[];
}

const idCol = (name = 'id', ref?: string, required = true): ColumnSpec => ({ name, type: 'id', required, ...(ref ? { ref } : {}) });
const eventAt: ColumnSpec = { name: 'event_at', type: 'time', required: true };
export const PROVIDER_LEVELS = ['entry', 'intermediate', 'expert'] as const;
export const JOB_STATUSES = ['draft', 'open', 'closed', 'filled', 'cancelled'] as const;
export const TRANSACTION_KINDS = ['escrow_deposit', 'escrow_release', 'refund', 'wallet_topup', 'payout', 'platform_fee', 'ad_charge'] as const;

const specs: TableSpec[] = [
  { table: 'category', key: ['id'], eventLike: false, columns: [
    idCol(), { name: 'slug', type: 'text', required: true, maxLength: 100 }, { name: 'name', type: 'text', required: true, maxLength: 200 },
    idCol('parent_id', 'category', false)] },
  { table: 'skill', key: ['id'], eventLike: false, columns: [
    idCol(), { name: 'slug', type: 'text', required: true, maxLength: 100 }, { name: 'name', type: 'text', required: true, maxLength: 200 },
    idCol('category_id', 'category', false)] },
  { table: 'qualification', key: ['id'], eventLike: false, columns: [
    idCol(), { name: 'name', type: 'text', required: true, maxLength: 200 }, { name: 'issuer', type: 'text', maxLength: 200 }] },
  { table: 'seo_tag', key: ['id'], eventLike: false, columns: [idCol(), { name: 'slug', type: 'text', required: true, maxLength: 100 }] },
  { table: 'client', key: ['id'], eventLike: false, columns: [
    idCol(), { name: 'name', type: 'text', required: true, maxLength: 200 }, { name: 'country', type: 'country', required: true },
    { name: 'timezone', type: 'timezone', required: true }, { name: 'joined_at', type: 'time', required: true }] },
  { table: 'provider', key: ['id'], eventLike: false, columns: [
    idCol(), { name: 'headline', type: 'text', required: true, maxLength: 300 },
    { name: 'hourly_rate_minor', type: 'money', required: true, min: 0 }, { name: 'currency', type: 'currency', required: true },
    { name: 'country', type: 'country', required: true }, { name: 'timezone', type: 'timezone', required: true },
    { name: 'level', type: 'enum', required: true, values: PROVIDER_LEVELS },
    { name: 'rating', type: 'float', min: 0, max: 5 }, { name: 'review_count', type: 'int', min: 0, default: 0 },
    { name: 'response_rate', type: 'float', min: 0, max: 1 }, { name: 'completed_jobs', type: 'int', min: 0, default: 0 },
    { name: 'joined_at', type: 'time', required: true }, { name: 'last_active_at', type: 'time' }] },
  { table: 'provider_skill', key: ['provider_id', 'skill_id'], eventLike: false, columns: [
    idCol('provider_id', 'provider'), idCol('skill_id', 'skill'), { name: 'level', type: 'int', required: true, min: 1, max: 5 },
    { name: 'years', type: 'float', min: 0, max: 80, default: 0 }] },
  { table: 'provider_qualification', key: ['provider_id', 'qualification_id'], eventLike: false, columns: [
    idCol('provider_id', 'provider'), idCol('qualification_id', 'qualification'), { name: 'obtained_at', type: 'time' }] },
  { table: 'job', key: ['id'], eventLike: false, columns: [
    idCol(), idCol('client_id', 'client'), idCol('category_id', 'category', false),
    { name: 'kind', type: 'enum', required: true, values: ['job', 'gig'] }, { name: 'title', type: 'text', required: true, maxLength: 300 },
    { name: 'budget_min_minor', type: 'money', min: 0 }, { name: 'budget_max_minor', type: 'money', min: 0 },
    { name: 'fixed_price_minor', type: 'money', min: 0 }, { name: 'currency', type: 'currency', required: true },
    { name: 'posted_at', type: 'time', required: true }, { name: 'closes_at', type: 'time' },
    { name: 'status', type: 'enum', required: true, values: JOB_STATUSES }],
  check: (r) => {
    const out = [];
    if (r.budget_min_minor != null && r.budget_max_minor != null && Number(r.budget_min_minor) > Number(r.budget_max_minor)) {
      out.push({ path: 'budget_max_minor', message: 'must not be below budget_min_minor' });
    }
    if (r.fixed_price_minor == null && r.budget_max_minor == null) out.push({ path: 'fixed_price_minor', message: 'a job needs a fixed price or a budget range' });
    if (r.closes_at != null && Number(r.closes_at) < Number(r.posted_at)) out.push({ path: 'closes_at', message: 'must not be before posted_at' });
    return out;
  } },
  { table: 'job_skill', key: ['job_id', 'skill_id'], eventLike: false, columns: [
    idCol('job_id', 'job'), idCol('skill_id', 'skill'), { name: 'required', type: 'bool', required: true }] },
  { table: 'job_qualification', key: ['job_id', 'qualification_id'], eventLike: false, columns: [idCol('job_id', 'job'), idCol('qualification_id', 'qualification')] },
  { table: 'job_tag', key: ['job_id', 'tag_id'], eventLike: false, columns: [idCol('job_id', 'job'), idCol('tag_id', 'seo_tag')] },
  { table: 'connection', key: ['user_a', 'user_b'], eventLike: false, columns: [
    idCol('user_a'), idCol('user_b'), { name: 'kind', type: 'enum', required: true, values: ['follow', 'colleague', 'past_work', 'referral'] },
    { name: 'connected_at', type: 'time', required: true }],
  check: (r) => (r.user_a === r.user_b ? [{ path: 'user_b', message: 'a user cannot connect to themselves' }] : []) },
  { table: 'sensitive_attribute', key: ['subject_id', 'attribute'], eventLike: false, columns: [
    idCol('subject_id'), { name: 'attribute', type: 'text', required: true, maxLength: 64 }, { name: 'value', type: 'text', required: true, maxLength: 100 }] },
  { table: 'proposal', key: ['id'], eventLike: true, columns: [
    idCol(), idCol('provider_id', 'provider'), idCol('job_id', 'job'), { name: 'price_minor', type: 'money', required: true, min: 0 },
    { name: 'currency', type: 'currency', required: true }, eventAt] },
  { table: 'hire', key: ['id'], eventLike: true, columns: [
    idCol(), idCol('job_id', 'job'), idCol('provider_id', 'provider'), idCol('proposal_id', 'proposal', false),
    { name: 'amount_minor', type: 'money', required: true, min: 0 }, { name: 'currency', type: 'currency', required: true }, eventAt] },
  { table: 'completion', key: ['id'], eventLike: true, columns: [
    idCol(), idCol('hire_id', 'hire'), { name: 'outcome', type: 'enum', required: true, values: ['completed', 'cancelled', 'disputed'] },
    { name: 'rating', type: 'float', min: 1, max: 5 }, eventAt] },
  { table: 'advertiser', key: ['id'], eventLike: false, columns: [
    idCol(), { name: 'name', type: 'text', required: true, maxLength: 200 }, idCol('client_id', 'client', false)] },
  { table: 'campaign', key: ['id'], eventLike: false, columns: [
    idCol(), idCol('advertiser_id', 'advertiser'), { name: 'name', type: 'text', required: true, maxLength: 200 },
    { name: 'bid_type', type: 'enum', required: true, values: ['cpc', 'cpm'] }, { name: 'bid_minor', type: 'money', required: true, min: 0 },
    { name: 'currency', type: 'currency', required: true }, { name: 'daily_budget_minor', type: 'money', min: 0 },
    { name: 'lifetime_budget_minor', type: 'money', min: 0 }, { name: 'starts_at', type: 'time', required: true }, { name: 'ends_at', type: 'time' },
    { name: 'targeting', type: 'json' }, { name: 'status', type: 'enum', required: true, values: ['draft', 'active', 'paused', 'ended'] }],
  check: (r) => (r.ends_at != null && Number(r.ends_at) < Number(r.starts_at) ? [{ path: 'ends_at', message: 'must not be before starts_at' }] : []) },
  { table: 'creative', key: ['id'], eventLike: false, columns: [
    idCol(), idCol('campaign_id', 'campaign'), { name: 'title', type: 'text', required: true, maxLength: 300 }, { name: 'url', type: 'url', required: true }] },
  { table: 'placement', key: ['id'], eventLike: false, columns: [
    idCol(), { name: 'slot', type: 'text', required: true, maxLength: 100 }, { name: 'name', type: 'text', required: true, maxLength: 200 }] },
  ...(['impression', 'click'] as const).map((table): TableSpec => ({ table, key: ['id'], eventLike: true, columns: [
    idCol(), ...(table === 'click' ? [idCol('impression_id', undefined, false)] : []),
    idCol('campaign_id', 'campaign'), idCol('creative_id', 'creative'), idCol('placement_id', 'placement'),
    idCol('user_id', undefined, false), { name: 'ip', type: 'ip' }, { name: 'device', type: 'text', maxLength: 32 },
    { name: 'fraud_label', type: 'bool' }, eventAt] })),
  { table: 'conversion', key: ['id'], eventLike: true, columns: [
    idCol(), idCol('click_id', undefined, false), idCol('campaign_id', 'campaign'), { name: 'value_minor', type: 'money', min: 0, default: 0 },
    { name: 'currency', type: 'currency', required: true }, eventAt] },
  { table: 'transaction', key: ['id'], eventLike: true, columns: [
    idCol(), { name: 'kind', type: 'enum', required: true, values: TRANSACTION_KINDS },
    { name: 'status', type: 'enum', required: true, values: ['pending', 'succeeded', 'failed'] },
    { name: 'amount_minor', type: 'money', required: true }, { name: 'currency', type: 'currency', required: true },
    { name: 'idempotency_key', type: 'text', required: true, maxLength: 128 }, idCol('user_id'),
    idCol('job_id', 'job', false), idCol('hire_id', 'hire', false), idCol('campaign_id', 'campaign', false), eventAt],
  check: (r) => (r.kind === 'ad_charge' && r.campaign_id == null ? [{ path: 'campaign_id', message: 'an ad charge names its campaign' }] : []) },
];

export const TABLE_SPECS: ReadonlyMap<string, TableSpec> = new Map(specs.map((s) => [s.table, s]));
export const IMPORTABLE_TABLES = specs.map((s) => s.table);

export function tableSpec(table: string): TableSpec | undefined {
  return TABLE_SPECS.get(table);
}
