// Writes ledger rows for the Redis path in batches: charges that arrive while a write is in flight
// share the next multi-row INSERT, so MySQL commits (and syncs its log) once per batch instead of
// once per click. Idle, a row is written at once (one event-loop turn of delay).
import type { Db } from '../../../../platform/db/database.js';
import { insertLedgerBatch, type LedgerRow } from './budget.repository.js';

export interface LedgerWriter {
  /** Resolves true when the row was written, false when the click was already in the ledger. */
  write(row: LedgerRow): Promise<boolean>;
}

interface Pending { row: LedgerRow; resolve(written: boolean): void; reject(err: unknown): void }

export function createLedgerWriter(db: Db, opts: { maxBatch?: number; maxInFlight?: number } = {}): LedgerWriter {
  const maxBatch = opts.maxBatch ?? 500;
  const maxInFlight = opts.maxInFlight ?? 8;
  let queue: Pending[] = [];
  let inFlight = 0;
  let scheduled = false;

  async function flush(batch: Pending[]): Promise<void> {
    // A click twice in one batch: the later ones are duplicates of the first.
    const first = new Map<string, Pending>();
    const dups: Pending[] = [];
    for (const p of batch) {
      if (first.has(p.row.clickId)) dups.push(p);
      else first.set(p.row.clickId, p);
    }
    const inserted = await insertLedgerBatch(db, [...first.values()].map((p) => p.row));
    for (const p of first.values()) p.resolve(inserted.has(p.row.clickId));
    for (const p of dups) p.resolve(false);
  }

  function pump(): void {
    scheduled = false;
    while (queue.length > 0 && inFlight < maxInFlight) {
      const batch = queue.length <= maxBatch ? queue : queue.slice(0, maxBatch);
      queue = queue.length <= maxBatch ? [] : queue.slice(maxBatch);
      inFlight++;
      flush(batch).catch((err) => { for (const p of batch) p.reject(err); }).finally(() => {
        inFlight--;
        if (queue.length > 0) pump();
      });
    }
  }

  return {
    write(row) {
      return new Promise<boolean>((resolve, reject) => {
        queue.push({ row, resolve, reject });
        if (!scheduled && inFlight < maxInFlight) {
          scheduled = true;
          setImmediate(pump);
        }
      });
    },
  };
}
