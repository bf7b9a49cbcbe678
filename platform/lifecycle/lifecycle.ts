// Start things once, stop them in reverse order. stop() is idempotent (a second SIGTERM gets the
// same promise) and bounded: after `timeoutMs` it resolves anyway, reporting what did not finish.
import type { Logger } from '../logging/logger.js';

export interface Lifecycle {
  /** Register a stop step; steps run last-registered first. */
  onStop(name: string, stop: () => Promise<void> | void): void;
  stop(): Promise<{ timedOut: boolean; failed: string[] }>;
  readonly stopping: boolean;
}

export function createLifecycle(log: Logger, timeoutMs: number): Lifecycle {
  const steps: { name: string; stop: () => Promise<void> | void }[] = [];
  let stopping: Promise<{ timedOut: boolean; failed: string[] }> | null = null;

  async function runSteps(failed: string[]) {
    for (const step of [...steps].reverse()) {
      const started = Date.now();
      try {
        await step.stop();
        log.debug({ step: step.name, ms: Date.now() - started }, 'stopped');
      } catch (err) {
        failed.push(step.name);
        log.error({ err, step: step.name }, 'stop step failed');
      }
    }
  }

  return {
    onStop(name, stop) {
      steps.push({ name, stop });
    },
    get stopping() {
      return stopping !== null;
    },
    stop() {
      stopping ??= (async () => {
        const failed: string[] = [];
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([
          runSteps(failed).then(() => false),
          new Promise<boolean>((r) => { timer = setTimeout(() => r(true), timeoutMs); timer.unref(); }),
        ]);
        clearTimeout(timer);
        if (timedOut) log.warn({ timeoutMs }, 'shutdown timed out; exiting with work unfinished (queued jobs will be retried)');
        return { timedOut, failed };
      })();
      return stopping;
    },
  };
}

/** SIGTERM/SIGINT → graceful stop, then exit. A second signal exits at once. */
export function exitOnSignals(lifecycle: Lifecycle, log: Logger): void {
  let signalled = false;
  const handler = (signal: NodeJS.Signals) => {
    if (signalled) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    signalled = true;
    log.info({ signal }, 'shutting down');
    void lifecycle.stop().then(({ timedOut, failed }) => process.exit(timedOut || failed.length ? 1 : 0));
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
