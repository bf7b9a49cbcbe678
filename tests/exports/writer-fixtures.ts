// Shared by the CSV / XLSX writer tests: row sources that record whether they were returned, and
// destinations that collect, stall, or die part-way.
import { Writable } from 'node:stream';
import type { ReportRow } from '../../exports/report.types.js';

export interface TrackedRows {
  rows: AsyncIterable<ReportRow>;
  /** Rows handed out so far. */
  read: number;
  /** The generator's `finally` ran (what closes a DB cursor). */
  finallyRan: boolean;
}

/** `count` rows from `make` (Infinity for an endless source), recording reads and the `finally`. */
export function trackedRows(count: number, make: (i: number) => ReportRow): TrackedRows {
  const state: TrackedRows = {
    read: 0,
    finallyRan: false,
    rows: {
      [Symbol.asyncIterator]: () => (async function* () {
        try {
          for (let i = 0; i < count; i++) {
            state.read++;
            yield make(i);
          }
        } finally {
          state.finallyRan = true;
        }
      })(),
    },
  };
  return state;
}

export function rowsOf(list: readonly ReportRow[]): AsyncIterable<ReportRow> {
  return (async function* () { yield* list; })();
}

/** Collects everything written; `buffer()` once finished. */
export function collector(): Writable & { buffer(): Buffer } {
  const parts: Buffer[] = [];
  const w = new Writable({
    write(chunk: Buffer, _enc, cb) { parts.push(Buffer.from(chunk)); cb(); },
  });
  return Object.assign(w, { buffer: () => Buffer.concat(parts) });
}

/** Accepts `limit` bytes, then destroys itself (a client that went away mid-download). */
export function dyingSink(limit: number): Writable & { received: number } {
  const w = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _enc, cb) {
      w.received += chunk.length;
      if (w.received >= limit) { cb(); setImmediate(() => w.destroy()); return; }
      cb();
    },
  }) as Writable & { received: number };
  w.received = 0;
  return w;
}

/** Takes the first chunk(s) up to its buffer, then never completes a write: a client that stopped reading. */
export function stalledSink(): Writable & { received: number } {
  const w = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _enc, _cb) { w.received += chunk.length; /* never calls back */ },
  }) as Writable & { received: number };
  w.received = 0;
  return w;
}

/** A slow reader: each write completes after `ms`, so the producer must wait for drain. */
export function slowSink(ms: number): Writable & { received: number; buffer(): Buffer } {
  const parts: Buffer[] = [];
  const w = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _enc, cb) { parts.push(Buffer.from(chunk)); w.received += chunk.length; setTimeout(cb, ms); },
  }) as Writable & { received: number; buffer(): Buffer };
  w.received = 0;
  w.buffer = () => Buffer.concat(parts);
  return w;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
