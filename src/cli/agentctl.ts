#!/usr/bin/env node
/** agentctl: assembles the commands; each lives in commands/ and parses its own options. */
import { Command, CommanderError } from 'commander';
import { compileCommand } from './commands/compile.js';
import { validateCommand } from './commands/validate.js';
import { EXIT_USAGE, handleError } from './errors.js';

export function buildProgram(): Command {
  const program = new Command('agentctl')
    .description('Inspect and drive burrow, the eBPF IP-in-IP / VXLAN node agent')
    .option('--pin-root <dir>', 'bpffs directory holding burrow\'s pinned maps and links', '/sys/fs/bpf/burrow')
    .option('--log-level <level>', 'trace, debug, info, warn, error or silent', 'warn')
    .showHelpAfterError()
    .exitOverride()
    .addHelpText(
      'after',
      '\nExit codes: 0 success, 1 invalid input, 2 usage error, 3 runtime error (kernel, pins, tools).',
    );
  program.addCommand(validateCommand());
  program.addCommand(compileCommand());
  for (const c of program.commands) c.exitOverride();
  return program;
}

async function main(argv: string[]): Promise<void> {
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
