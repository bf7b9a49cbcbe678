// The gigintel command tree: serve, worker, migrate, keys, config, seed, import, pipeline, dataset,
// features, models, train.
import { Command } from 'commander';
import { featuresCommand } from '../../pipelines/features/features.command.js';
import { datasetCommand } from '../../pipelines/datasets/dataset.command.js';
import { importCommand } from '../../pipelines/import/import.command.js';
import { pipelineCommand } from '../../pipelines/features/pipeline.command.js';
import { modelsCommand } from '../../model-registry/models.command.js';
import { seedCommand } from '../../pipelines/synthetic/seed.command.js';
import { trainCommand } from '../../model-registry/training/train.command.js';
import { auditCommand } from '../scoring/fairness/audit.command.js';
import { experimentsCommand } from '../../experiments/experiments.command.js';
import { exportCommand } from '../../exports/export.command.js';
import { configCommand } from './config.command.js';
import { keysCommand } from './keys.command.js';
import { migrateCommand } from './migrate.command.js';
import { serveCommand, workerCommand } from './serve.command.js';

export function buildCli(): Command {
  const program = new Command('gigintel')
    .description('gigintel: features, model registry, scoring, experiments and exports for a freelance marketplace')
    .option('-c, --config <file>', 'JSON config file (environment variables GIGINTEL_* override it)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  program.addCommand(serveCommand());
  program.addCommand(workerCommand());
  program.addCommand(migrateCommand());
  program.addCommand(keysCommand());
  program.addCommand(configCommand());
  program.addCommand(seedCommand());
  program.addCommand(importCommand());
  program.addCommand(pipelineCommand());
  program.addCommand(datasetCommand());
  program.addCommand(featuresCommand());
  program.addCommand(modelsCommand());
  program.addCommand(trainCommand());
  program.addCommand(auditCommand());
  program.addCommand(experimentsCommand());
  program.addCommand(exportCommand());
  // Commander exits by itself from subcommands added this way; make every level throw instead,
  // so main() maps usage errors to exit code 2 in one place.
  const throwInstead = (c: Command): void => { c.exitOverride(); c.commands.forEach(throwInstead); };
  throwInstead(program);
  return program;
}
