// What both writers need around a destination stream: notice at once when it is destroyed, errors
// or the caller aborts, wait for 'drain' without hanging if it dies meanwhile, and always return
// the row iterator (so a DB cursor behind it closes).
import type { Writable } from 'node:stream';

type Out = NodeJS.WritableStream | Writable;

export class DestinationClosedError extends Error {
  constructor(message = 'the destination closed before the export finished') {
    super(message);
    this.name = 'DestinationClosedError';
  }
}

export interface StreamGuard {
  /** Set once the destination is unusable or the signal aborted; the writers check it per row. */
  readonly failure: unknown;
  /** Throws the failure if there is one. */
  check(): void;
  /** Resolves on 'drain' of `stream` (default: the destination); rejects on failure. */
  drain(stream?: NodeJS.EventEmitter): Promise<void>;
  /** Resolves once `ready()` holds, re-checked on each of `events` from `emitter` (and every `pollMs`); rejects on failure. */
  until(emitter: NodeJS.EventEmitter, events: readonly string[], ready: () => boolean, pollMs?: number): Promise<void>;
  /** Resolves when the failure happens (for racing against work that would never settle). */
  readonly failed: Promise<never>;
  /** Marks the normal end: a later 'close' is no longer a failure. */
  finish(): void;
  dispose(): void;
}

export function guardStream(out: Out, signal?: AbortSignal): StreamGuard {
  let failure: unknown;
  let finished = false;
  let rejectFailed!: (e: unknown) => void;
  const failed = new Promise<never>((_, reject) => { rejectFailed = reject; });
  failed.catch(() => { /* observed by whoever races it */ });
  const waiters = new Set<(e: unknown) => void>();

  const fail = (e: unknown) => {
    if (failure !== undefined || finished) return;
    failure = e ?? new DestinationClosedError();
    rejectFailed(failure);
    for (const w of waiters) w(failure);
    waiters.clear();
  };
  const onError = (e: Error) => fail(e);
  const onClose = () => fail(new DestinationClosedError());
  const onAbort = () => fail(signal!.reason ?? new DestinationClosedError('the export was aborted'));

  out.on('error', onError);
  out.on('close', onClose);
  const w = out as Partial<Writable>;
  if (w.destroyed || w.writableEnded === true) fail(new DestinationClosedError());
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });

  return {
    get failure() { return failure; },
    check() { if (failure !== undefined) throw failure; },
    failed,
    drain(stream: NodeJS.EventEmitter = out) {
      if (failure !== undefined) return Promise.reject(failure);
      return new Promise<void>((resolve, reject) => {
        const done = () => { stream.off('drain', done); waiters.delete(onFail); resolve(); };
        const onFail = (e: unknown) => { stream.off('drain', done); reject(e); };
        stream.on('drain', done);
        waiters.add(onFail);
      });
    },
    until(emitter, events, ready, pollMs) {
      if (failure !== undefined) return Promise.reject(failure);
      if (ready()) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = pollMs ? setInterval(() => onEvent(), pollMs) : undefined;
        const off = () => {
          for (const ev of events) emitter.off(ev, onEvent);
          waiters.delete(onFail);
          if (timer) clearInterval(timer);
        };
        const onEvent = () => { if (ready()) { off(); resolve(); } };
        const onFail = (e: unknown) => { off(); reject(e); };
        for (const ev of events) emitter.on(ev, onEvent);
        waiters.add(onFail);
      });
    },
    finish() { finished = true; },
    dispose() {
      out.off('error', onError);
      out.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
    },
  };
}

/** Ends the stream and waits for 'finish' (or the guard's failure). */
export function endStream(out: Out, guard: StreamGuard): Promise<void> {
  return Promise.race([
    new Promise<void>((resolve) => {
      out.once('finish', () => { guard.finish(); resolve(); });
      out.end();
    }),
    guard.failed,
  ]);
}

/** A macrotask turn, so close/abort events and other requests get a look in on fast sinks. */
export const yieldTurn = () => new Promise<void>((r) => setImmediate(r));

/** Stops the row source (runs a generator's `finally`, closing a cursor) without masking the original error. */
export async function closeIterator(it: AsyncIterator<unknown> | undefined): Promise<void> {
  if (!it?.return) return;
  try { await it.return(); } catch { /* the export's own failure is the one to report */ }
}

/** After a failure: stop the destination so a reader sees a truncated transfer, not a short file. */
export function abandon(out: Out): void {
  const w = out as Partial<Writable>;
  if (typeof w.destroy === 'function' && !w.destroyed) w.destroy();
}
