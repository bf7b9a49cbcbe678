// Entry point of the gigintel command. Usage and configuration errors exit 2, runtime failures
// (database unreachable, port in use) exit 1; either way a message, never a stack trace.
import { CommanderError } from 'commander';
import { AppError, ValidationError } from '../../platform/errors/app-error.js';
import { buildCli } from './cli.js';

// `gigintel config --settings | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

async function main(argv: string[]) {
  try {
    await buildCli().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2); // help → 0, usage → 2
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
