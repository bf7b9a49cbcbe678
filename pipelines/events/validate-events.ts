// Validates a batch of events against the data contract: each event type is a source table's row
// (validated with that table's spec), profile_update a partial provider row. Returns the events
// ready to queue (normalised rows), the per-index problems, and how many repeated an event_id.
import type { FieldProblem } from '../../platform/errors/app-error.js';
import type { TableSpec } from '../contract/table-specs.js';
import { tableSpec } from '../contract/table-specs.js';
import { validateRow } from '../contract/validate-row.js';

/** Event types that are rows of their source table, in the order a batch is written (referenced tables first). */
export const TABLE_EVENT_TYPES = ['proposal', 'hire', 'completion', 'impression', 'click', 'conversion', 'transaction'] as const;
export const EVENT_TYPES = [...TABLE_EVENT_TYPES, 'profile_update'] as const;
export type TableEventType = (typeof TABLE_EVENT_TYPES)[number];
export type EventType = (typeof EVENT_TYPES)[number];

/** An accepted event as it travels through the queue: its type and the validated, normalised row. */
export type QueuedEvent =
  | { type: TableEventType; row: Record<string, unknown> & { id: string; event_at: number } }
  | { type: 'profile_update'; row: Record<string, unknown> & { event_id: string; provider_id: string; event_at: number } };

export interface EventError { index: number; eventId: string | null; problems: FieldProblem[] }
export interface ValidatedBatch { accepted: QueuedEvent[]; duplicates: number; errors: EventError[] }

const PROVIDER = tableSpec('provider')!;
/** Provider columns a profile_update may set: all but the id. */
export const PROFILE_FIELDS = PROVIDER.columns.filter((c) => c.name !== 'id').map((c) => c.name);
// Partial provider spec: every updatable column optional; omitted fields stay as they are.
const PROFILE_SPEC: TableSpec = {
  table: 'profile_update', key: ['event_id'], eventLike: false,
  columns: [
    { name: 'event_id', type: 'id', required: true },
    { name: 'provider_id', type: 'id', required: true, ref: 'provider' },
    { name: 'event_at', type: 'time', required: true },
    ...PROVIDER.columns.filter((c) => c.name !== 'id').map((c) => ({ ...c, required: false })),
  ],
};
const TYPE_SET = new Set<string>(EVENT_TYPES);
const SPECS = new Map<string, TableSpec>(TABLE_EVENT_TYPES.map((t) => [t, tableSpec(t)!]));

export function eventIdOf(e: QueuedEvent): string {
  return e.type === 'profile_update' ? e.row.event_id : e.row.id;
}

export function validateEvents(events: readonly unknown[], now: number): ValidatedBatch {
  const accepted: QueuedEvent[] = [];
  const errors: EventError[] = [];
  const seen = new Set<string>();
  let duplicates = 0;
  events.forEach((raw, index) => {
    const result = validateEvent(raw, now);
    if ('problems' in result) {
      const id = isRecord(raw) && typeof raw.event_id === 'string' ? raw.event_id : null;
      errors.push({ index, eventId: id, problems: result.problems });
      return;
    }
    const id = eventIdOf(result.event);
    if (seen.has(id)) { duplicates++; return; } // a repeat inside one batch is accepted once
    seen.add(id);
    accepted.push(result.event);
  });
  return { accepted, duplicates, errors };
}

function validateEvent(raw: unknown, now: number): { event: QueuedEvent } | { problems: FieldProblem[] } {
  if (!isRecord(raw)) return { problems: [{ path: '', message: 'must be an object { event_id, type, event_at, ... }' }] };
  const type = raw.type;
  if (typeof type !== 'string' || !TYPE_SET.has(type)) {
    return { problems: [{ path: 'type', message: `must be one of ${EVENT_TYPES.join(', ')} (got ${JSON.stringify(type ?? null)})` }] };
  }
  if ('id' in raw) return { problems: [{ path: 'id', message: 'is not an event field: the row id is event_id' }] };
  // A plain loop, not `{ type, event_id, ...fields }`: rest spreads are slow on the hot path.
  const fields: Record<string, unknown> = {};
  for (const k in raw) if (k !== 'type' && k !== 'event_id') fields[k] = raw[k];
  if (type === 'profile_update') return validateProfileUpdate(raw.event_id, fields, now);
  fields.id = raw.event_id;
  const res = validateRow(SPECS.get(type)!, fields, now);
  if (!res.ok) return { problems: res.problems.map((p) => (p.path === 'id' ? { ...p, path: 'event_id' } : p)) };
  return { event: { type: type as TableEventType, row: res.row as QueuedEvent['row'] & { id: string; event_at: number } } };
}

function validateProfileUpdate(eventId: unknown, fields: Record<string, unknown>, now: number): { event: QueuedEvent } | { problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const given = Object.keys(fields).filter((f) => f !== 'provider_id' && f !== 'event_at');
  for (const f of given) {
    const v = fields[f];
    if (v === null || (typeof v === 'string' && v.trim() === '')) problems.push({ path: f, message: 'cannot be empty in a profile_update; omit the field to leave it unchanged' });
  }
  if (given.length === 0) problems.push({ path: '', message: `a profile_update sets at least one of ${PROFILE_FIELDS.join(', ')}` });
  const res = validateRow(PROFILE_SPEC, { ...fields, event_id: eventId }, now);
  if (!res.ok) problems.push(...res.problems.map((p) => (p.message.startsWith('is not a column') ? { ...p, message: 'is not an updatable provider field' } : p)));
  if (problems.length || !res.ok) return { problems };
  // Keep only the fields the event names: validateRow filled the others with null.
  const row: Record<string, unknown> = { event_id: res.row.event_id, provider_id: res.row.provider_id, event_at: res.row.event_at, updated_at: res.row.updated_at };
  for (const f of given) row[f] = res.row[f];
  return { event: { type: 'profile_update', row: row as QueuedEvent['row'] & { event_id: string; provider_id: string; event_at: number } } };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
