import { Command } from 'commander';
import { SETTINGS } from '../../platform/config/config.settings.js';
import { getPath, redactedConfig } from '../../platform/config/load-config.js';
import { configFrom } from './cli-context.js';

export function configCommand(): Command {
  return new Command('config')
    .description('print the effective configuration (secrets redacted), or the table of settings')
    .option('--json', 'print JSON instead of one setting per line')
    .option('--settings', 'list every setting: variable, default and meaning')
    .action(function (this: Command, opts: { json?: boolean; settings?: boolean }) {
      if (opts.settings) {
        for (const s of SETTINGS) process.stdout.write(`${s.env.padEnd(38)} ${JSON.stringify(s.default).padEnd(28)} ${s.doc}\n`);
        return;
      }
      const shown = redactedConfig(configFrom(this));
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
        return;
      }
      for (const s of SETTINGS) process.stdout.write(`${s.path.padEnd(26)} ${JSON.stringify(getPath(shown, s.path))}   (${s.env})\n`);
    });
}
