// `gigintel seed`: build a deterministic synthetic marketplace into the configured database.
import { Command, InvalidArgumentError } from 'commander';
import { configFrom, withPlatform } from '../../services/cli/cli-context.js';

const whole = (min: number) => (v: string): number => {
  if (!/^\d+$/.test(v) || Number(v) < min) throw new InvalidArgumentError(`must be a whole number of at least ${min}`);
  return Number(v);
};
const nonNegative = (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number of at least 0');
  return n;
};

export function seedCommand(): Command {
  return new Command('seed')
    .description('fill the database with a deterministic synthetic marketplace (same seed, same rows)')
    .option('--providers <n>', 'providers', whole(1), 2000)
    .option('--jobs <n>', 'jobs', whole(0), 500)
    .option('--days <n>', 'days of history, ending 2026-01-01', whole(1), 30)
    .option('--seed <s>', 'random seed', '1')
    .option('--bias <b>', 'hire-utility penalty for one gender group (0: none)', nonNegative, 0)
    .option('--events <n>', 'target event rows (default: 10 per provider)', whole(0))
    .action(async function (this: Command, o: { providers: number; jobs: number; days: number; seed: string; bias: number; events?: number }) {
      await withPlatform(configFrom(this), {}, async ({ db }) => {
        const { seedMarketplace } = await import('./seed-marketplace.js');
        const progress = await createProgress(process.stderr);
        try {
          const summary = await seedMarketplace(db.db, { ...o }, progress.update);
          progress.stop();
          const total = Object.values(summary.rows).reduce((a, b) => a + b, 0);
          process.stdout.write(`seeded ${total} rows (${summary.eventRows} events) in ${(summary.ms / 1000).toFixed(1)} s\n`);
          for (const [table, n] of Object.entries(summary.rows)) process.stdout.write(`  ${table.padEnd(20)} ${n}\n`);
        } finally {
          progress.stop();
        }
      });
    });
}

/** A bar per phase on a terminal; elsewhere one line per finished phase (logs stay readable). */
async function createProgress(stream: NodeJS.WriteStream): Promise<{ update: (phase: string, done: number, total: number) => void; stop: () => void }> {
  if (!stream.isTTY) {
    return { update: (phase, done, total) => { if (done === total) stream.write(`${phase}: ${total} done\n`); }, stop: () => {} };
  }
  const { default: cliProgress } = await import('cli-progress');
  let bar: InstanceType<typeof cliProgress.SingleBar> | null = null;
  let current = '';
  const stop = () => { bar?.stop(); bar = null; };
  return {
    update(phase, done, total) {
      if (phase !== current) {
        stop();
        current = phase;
        bar = new cliProgress.SingleBar({ format: `${phase.padEnd(12)} [{bar}] {value}/{total}`, stream }, cliProgress.Presets.shades_classic);
        bar.start(total, 0);
      }
      bar?.update(done);
    },
    stop,
  };
}
