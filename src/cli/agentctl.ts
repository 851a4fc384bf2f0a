#!/usr/bin/env node
/** agentctl: assembles the commands; each lives in commands/ and parses its own options. */
import { Command, CommanderError } from 'commander';

import { DEFAULT_PIN_ROOT } from '../agent/datapath.js';
import { useSystemToolPath } from '../agent/exec.js';
import { applyCommand } from './commands/apply.js';
import { cleanupCommand } from './commands/cleanup.js';
import { compileCommand } from './commands/compile.js';
import { mapsCommand } from './commands/maps.js';
import { planCommand } from './commands/plan.js';
import { statsCommand } from './commands/stats.js';
import { statusCommand } from './commands/status.js';
import { traceCommand } from './commands/trace.js';
import { validateCommand } from './commands/validate.js';
import { EXIT_CODES_HELP, EXIT_USAGE, handleError } from './errors.js';

export function buildProgram(): Command {
  const program = new Command('agentctl')
    .description('Inspect and drive burrow, the eBPF IP-in-IP / VXLAN node agent')
    .option('--pin-root <dir>', 'bpffs directory holding burrow\'s pinned maps and links', DEFAULT_PIN_ROOT)
    .option('--log-level <level>', 'trace, debug, info, warn, error, fatal or silent (logs go to stderr)', 'warn')
    .showHelpAfterError()
    .addHelpText('after', `\n${EXIT_CODES_HELP}`);
  program.addCommand(validateCommand());
  program.addCommand(compileCommand());
  program.addCommand(planCommand());
  program.addCommand(applyCommand());
  program.addCommand(mapsCommand());
  program.addCommand(statsCommand());
  program.addCommand(statusCommand());
  program.addCommand(traceCommand());
  program.addCommand(cleanupCommand());
  const override = (c: Command): void => {
    c.exitOverride();
    c.commands.forEach(override);
  };
  override(program);
  return program;
}

async function main(argv: string[]): Promise<void> {
  useSystemToolPath();
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // help and version exit 0; everything commander rejects is a usage error (already printed)
      process.exit(error.exitCode === 0 ? 0 : EXIT_USAGE);
    }
    handleError(error);
  }
}

void main(process.argv);
