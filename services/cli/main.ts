// Entry point of the gigintel command. Bad flags and bad config exit with a message that names
// the problem (exit code 2), never a stack trace.
import { CommanderError } from 'commander';
import { AppError, ValidationError } from '../../platform/errors/app-error.js';
import { buildCli } from './cli.js';

async function main(argv: string[]) {
  try {
    await buildCli().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    if (err instanceof AppError) {
      const problems = err instanceof ValidationError ? err.problems.map((p) => `  - ${p.path}: ${p.message}\n`).join('') : '';
      process.stderr.write(`gigintel: ${err.message}\n${problems}`);
      process.exit(2);
    }
    process.stderr.write(`gigintel: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

await main(process.argv);
