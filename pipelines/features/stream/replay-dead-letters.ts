// `gigintel pipeline replay-dead-letters`: lists the dead-lettered jobs of the event processors
// (events.apply and features.stream, or one named job) and puts them back in line with fresh
// attempts. Both processors are idempotent on event_id, so a replay never counts an event twice.
import { Command, InvalidArgumentError } from 'commander';
import { ValidationError } from '../../../platform/errors/app-error.js';
import type { DeadJob, JobName, JobQueue } from '../../../platform/queue/queue.types.js';
import { configFrom, withPlatform } from '../../../services/cli/cli-context.js';

/** The jobs replayed when --job is not given. */
export const EVENT_PROCESSOR_JOBS = ['events.apply', 'features.stream'] as const;
export const DEFAULT_REPLAY_LIMIT = 1_000;

export interface ReplayOptions {
  jobs: readonly JobName[];
  /** At most this many dead jobs over all the named jobs. */
  limit: number;
  /** List only. */
  dryRun: boolean;
  /** Called per dead job, after it was re-queued (or not: false when it left the dead list meanwhile). */
  onJob?: (job: DeadJob, replayed: boolean) => void;
}

export interface ReplayReport { listed: number; replayed: number; gone: number; byJob: Record<string, { listed: number; replayed: number }> }

export async function replayDeadLetters(queue: JobQueue, opts: ReplayOptions): Promise<ReplayReport> {
  const report: ReplayReport = { listed: 0, replayed: 0, gone: 0, byJob: {} };
  for (const name of opts.jobs) {
    const left = opts.limit - report.listed;
    const stats = { listed: 0, replayed: 0 };
    report.byJob[name] = stats;
    if (left <= 0) continue;
    for (const job of await queue.deadLetters(name, left)) {
      stats.listed++;
      report.listed++;
      const replayed = opts.dryRun ? false : await queue.retryDead(name, job.id);
      if (replayed) { stats.replayed++; report.replayed++; } else if (!opts.dryRun) report.gone++;
      opts.onJob?.(job, replayed);
    }
  }
  return report;
}

function limitArg(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 100_000) throw new InvalidArgumentError('must be a whole number from 1 to 100000');
  return Number(v);
}

const oneLine = (s: string, max = 160) => {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

export function replayDeadLettersCommand(): Command {
  return new Command('replay-dead-letters')
    .description(`list dead-lettered event-processor jobs (${EVENT_PROCESSOR_JOBS.join(', ')}) and put them back in line with fresh attempts`)
    .option('--job <name>', 'only this job type (any registered job name)')
    .option('--limit <n>', `at most this many jobs (default ${DEFAULT_REPLAY_LIMIT})`, limitArg)
    .option('--dry-run', 'list them without re-queueing')
    .addHelpText('after', '\nEach job is printed as: id, job name, failed at (UTC), error. The processors are idempotent on\nevent_id, so a replayed job never applies or counts an event twice. Exit 0 unless the queue is unreachable.')
    .action(async function (this: Command, o: { job?: string; limit?: number; dryRun?: boolean }) {
      await withPlatform(configFrom(this), {}, async (platform, services) => {
        const registered = services.jobs.map((j) => j.name as string);
        if (o.job !== undefined && !registered.includes(o.job)) {
          throw new ValidationError(`unknown job "${o.job}"; registered jobs: ${registered.join(', ')}`, [{ path: 'job', message: `must be one of ${registered.join(', ')}` }]);
        }
        const jobs = (o.job !== undefined ? [o.job] : [...EVENT_PROCESSOR_JOBS]) as JobName[];
        const dryRun = o.dryRun ?? false;
        const out = process.stdout;
        const report = await replayDeadLetters(platform.queue, {
          jobs, limit: o.limit ?? DEFAULT_REPLAY_LIMIT, dryRun,
          onJob: (job, replayed) => {
            const mark = dryRun ? 'dead    ' : replayed ? 'replayed' : 'gone    ';
            out.write(`${mark} ${job.id}  ${job.name}  ${new Date(job.failedAt).toISOString()}  ${oneLine(job.error)}\n`);
          },
        });
        const per = Object.entries(report.byJob).map(([name, s]) => `${name} ${s.listed}`).join(', ');
        out.write(dryRun
          ? `[dry run] ${report.listed} dead-lettered job${report.listed === 1 ? '' : 's'} (${per}); nothing re-queued\n`
          : `${report.replayed} of ${report.listed} dead-lettered job${report.listed === 1 ? '' : 's'} re-queued (${per})${report.gone ? `; ${report.gone} had left the dead-letter list` : ''}\n`);
      });
    });
}
