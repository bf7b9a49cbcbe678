import { Command } from 'commander';
import { configFrom, withPlatform } from './cli-context.js';

export function migrateCommand(): Command {
  const cmd = new Command('migrate').description('apply, undo or list database migrations');
  cmd.command('up').description('apply every pending migration')
    .action(async function (this: Command) {
      await withPlatform(configFrom(this), { migrate: false, verifyMigrations: false }, async ({ migrations }) => {
        const applied = await migrations.up();
        process.stdout.write(applied.length ? applied.map((n) => `applied ${n}\n`).join('') : 'already up to date\n');
      });
    });
  cmd.command('down').description('undo the most recently applied migration')
    .action(async function (this: Command) {
      await withPlatform(configFrom(this), { migrate: false, verifyMigrations: false }, async ({ migrations }) => {
        const undone = await migrations.down();
        process.stdout.write(undone ? `reverted ${undone}\n` : 'nothing to revert\n');
      });
    });
  cmd.command('status').description('list migrations and whether each is applied')
    .option('--json', 'print JSON')
    .action(async function (this: Command, opts: { json?: boolean }) {
      await withPlatform(configFrom(this), { migrate: false, verifyMigrations: false }, async ({ migrations }) => {
        const list = await migrations.status();
        if (opts.json) process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        else for (const m of list) process.stdout.write(`${m.state.padEnd(12)} ${m.name}${m.appliedAt ? `  (${new Date(m.appliedAt).toISOString()})` : ''}\n`);
      });
    });
  return cmd;
}
