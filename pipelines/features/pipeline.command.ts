// The `gigintel pipeline` command group of the feature pipelines. Each subcommand is a factory in
// its own module; adding one is one line in PIPELINE_SUBCOMMANDS.
import { Command } from 'commander';
import { pipelineRunCommand, pipelineRunsCommand } from './batch/pipeline-run.command.js';
import { replayDeadLettersCommand } from './stream/replay-dead-letters.js';

const PIPELINE_SUBCOMMANDS: readonly (() => Command)[] = [
  pipelineRunCommand,
  pipelineRunsCommand,
  replayDeadLettersCommand,
];

export function pipelineCommand(): Command {
  const cmd = new Command('pipeline').description('feature pipelines: batch runs and the stream processors\' dead letters');
  for (const sub of PIPELINE_SUBCOMMANDS) cmd.addCommand(sub());
  return cmd;
}
