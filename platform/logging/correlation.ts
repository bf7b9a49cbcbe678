// The request id of the work in progress, carried through async calls without threading it by
// hand: set by the HTTP layer for each request and by the queue for each job, read by the logger
// (so every line has it) and by enqueue (so a job carries the id of the request that caused it).
import { AsyncLocalStorage } from 'node:async_hooks';

interface CorrelationContext { correlationId: string }
const storage = new AsyncLocalStorage<CorrelationContext>();

export function runWithCorrelation<T>(correlationId: string, fn: () => T): T {
  return storage.run({ correlationId }, fn);
}

export function currentCorrelationId(): string | undefined {
  return storage.getStore()?.correlationId;
}
