// gigintel pipeline run features | pipeline runs: start (or resume) a batch feature run and follow
// it with a progress bar while this process helps work the queue; list the run history.
import { userInfo } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ValidationError } from '../../../platform/errors/app-error.js';
import { configFrom, withPlatform } from '../../../services/cli/cli-context.js';
import type { PipelineRun } from './feature-pipeline.service.js';

function isoTime(v: string): number {
  const t = Date.parse(v);
  if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(t)) throw new InvalidArgumentError('must be an ISO 8601 time, e.g. 2026-11-01T00:00:00Z');
  return t;
}

function limitArg(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 1000) throw new InvalidArgumentError('must be a whole number from 1 to 1000');
  return Number(v);
}

function duration(v: string): number {
  const m = /^(\d+)(m|h|d)$/.exec(v);
  if (!m || Number(m[1]) === 0) throw new InvalidArgumentError('must be a duration like 30m, 6h or 1d');
  return Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd'];
}

interface RunOptions { asOf?: number; from?: number; to?: number; every: number; full?: boolean; sets?: string; wait: boolean; new?: boolean; reconstruct?: boolean }

export function pipelineRunCommand(): Command {
  return new Command('run')
    .description('run the batch feature pipeline: recompute entity features into the offline history and the online store')
    .argument('<pipeline>', 'the pipeline to run: features')
    .option('--as-of <time>', 'compute values as they were at this ISO time (a backfill; does not move the incremental watermark)', isoTime)
    .option('--from <time>', 'backfill: one full run as of each time from this ISO time to --to, every --every', isoTime)
    .option('--to <time>', 'end of the backfill (default now)', isoTime)
    .option('--every <duration>', 'backfill step: 30m, 6h, 1d…', duration, 86_400_000)
    .option('--reconstruct', 'with --as-of or --from: stamp history as created at the as-of time, so training sets over imported history can use it (only correct when the source data as of then is what was known then)')
    .option('--full', 'recompute every entity, not only those changed since the last successful run')
    .option('--sets <names>', 'only these feature sets (comma-separated)')
    .option('--no-wait', 'queue the run and exit; workers (serve all / gigintel worker) compute it')
    .option('--new', 'start a new run even when the latest run failed (by default a failed run is resumed)')
    .addHelpText('after', '\nA run is split into chunks on the job queue; this command works the queue too while it waits.\nRe-running after a failure resumes the failed run: finished chunks are not computed again.')
    .action(async function (this: Command, pipeline: string, o: RunOptions) {
      if (pipeline !== 'features') throw new ValidationError(`unknown pipeline "${pipeline}"; pipelines: features`, [{ path: 'pipeline', message: 'must be features' }]);
      const config = configFrom(this);
      await withPlatform(config, {}, async (platform, services) => {
        const fp = services.featurePipeline;
        const sets = o.sets ? { sets: o.sets.split(',').map((s) => s.trim()).filter(Boolean) } : {};
        if (o.from !== undefined) {
          if (o.asOf !== undefined) throw new ValidationError('give either --as-of or --from/--to, not both', [{ path: 'as-of', message: 'conflicts with --from' }]);
          const runs = await fp.backfill({ trigger: 'cli', requestedBy: `cli:${userInfo().username}`, from: o.from, to: o.to ?? Date.now(), everyMs: o.every, ...sets, ...(o.reconstruct ? { reconstruct: true } : {}) });
          process.stderr.write(`backfill: ${runs.length} runs (${runs.reduce((n, r) => n + r.chunksTotal, 0)} chunks)\n`);
          if (!o.wait) return;
          await platform.queue.startWorkers();
          const done = await follow(async () => aggregate(await Promise.all(runs.map((r) => fp.get(r.id)))), runs.reduce((n, r) => n + r.chunksTotal, 0));
          process.stdout.write(`${JSON.stringify({ runs: runs.length, status: done.status, entities: done.entities, rows: done.rowsWritten })}\n`);
          if (done.status === 'failed') process.exitCode = 1;
          return;
        }
        const failed = o.new || o.asOf !== undefined || o.full || o.sets ? null : await fp.latestFailed();
        let run: PipelineRun;
        if (failed) {
          process.stderr.write(`resuming failed run ${failed.id} (${failed.chunksDone}/${failed.chunksTotal} chunks done): ${failed.error ?? ''}\n`);
          run = await fp.resume(failed.id);
        } else {
          run = await fp.start({
            trigger: 'cli', requestedBy: `cli:${userInfo().username}`,
            ...(o.asOf !== undefined ? { asOf: o.asOf } : {}), ...(o.full ? { full: true } : {}), ...(o.reconstruct ? { reconstruct: true } : {}),
            ...sets,
          });
        }
        process.stderr.write(`run ${run.id}: ${run.featureSets.map((s) => `${s.name} ${s.entities}`).join(', ')} (${run.chunksTotal} chunks)\n`);
        if (!o.wait || run.status === 'succeeded') {
          process.stdout.write(`${JSON.stringify(summary(run))}\n`);
          return;
        }
        await platform.queue.startWorkers();
        const done = await follow(() => fp.get(run.id), run.chunksTotal);
        process.stdout.write(`${JSON.stringify(summary(done))}\n`);
        if (done.status === 'failed') {
          process.stderr.write(`run ${done.id} failed: ${done.error}\nRun the same command again to resume it.\n`);
          process.exitCode = 1;
        }
      });
    });
}

export function pipelineRunsCommand(): Command {
  return new Command('runs')
    .description('the batch feature pipeline\'s run history, newest first')
    .option('--limit <n>', 'how many runs (default 20)', limitArg)
    .addOption(new Option('--status <status>', 'only runs in this state').choices(['planned', 'running', 'succeeded', 'failed']))
    .option('--json', 'one JSON object per line')
    .action(async function (this: Command, o: { limit?: number; status?: string; json?: boolean }) {
      await withPlatform(configFrom(this), {}, async (_p, services) => {
        const runs = await services.featurePipeline.list({ limit: o.limit ?? 20, ...(o.status ? { status: o.status } : {}) });
        if (o.json) {
          for (const r of runs) process.stdout.write(`${JSON.stringify(r)}\n`);
          return;
        }
        const rows = runs.map((r) => [r.id, r.status, r.trigger, new Date(r.asOf).toISOString(), r.full ? 'full' : 'incremental',
          `${r.chunksDone}/${r.chunksTotal}`, String(r.entities), r.durationMs === null ? '' : `${(r.durationMs / 1000).toFixed(1)} s`]);
        const head = ['run', 'status', 'trigger', 'as of', 'kind', 'chunks', 'entities', 'took'];
        const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
        for (const line of [head, ...rows]) process.stdout.write(`${line.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
      });
    });
}

/** Several runs followed as one: failed when any failed, succeeded when all did. */
function aggregate(runs: PipelineRun[]): PipelineRun {
  const status = runs.some((r) => r.status === 'failed') ? 'failed' : runs.every((r) => r.status === 'succeeded') ? 'succeeded' : 'running';
  return {
    ...runs[0]!, status, chunksDone: runs.reduce((n, r) => n + r.chunksDone, 0), entities: runs.reduce((n, r) => n + r.entities, 0),
    rowsWritten: runs.reduce((n, r) => n + r.rowsWritten, 0), error: runs.find((r) => r.error)?.error ?? null,
  };
}

function summary(r: PipelineRun) {
  return { id: r.id, status: r.status, asOf: new Date(r.asOf).toISOString(), full: r.full, chunks: r.chunksTotal, entities: r.entities, rows: r.rowsWritten, durationMs: r.durationMs };
}

/** Polls the run until it ends, with a progress bar on a terminal. */
async function follow(get: () => Promise<PipelineRun>, total: number): Promise<PipelineRun> {
  const { SingleBar, Presets } = await import('cli-progress');
  const tty = process.stderr.isTTY === true;
  const bar = new SingleBar({ format: 'features [{bar}] {value}/{total} chunks | {entities} entities | {eta_formatted} left', stream: process.stderr, noTTYOutput: false }, Presets.shades_classic);
  if (tty) bar.start(total, 0, { entities: 0 });
  try {
    for (;;) {
      const run = await get();
      if (tty) bar.update(run.chunksDone, { entities: run.entities });
      if (run.status === 'succeeded' || run.status === 'failed') return run;
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    if (tty) bar.stop();
  }
}
