/**
 * agentctl's one error handler: every failure becomes a message on stderr and a documented exit
 * code. Commands throw; nothing else prints errors.
 *
 * Exit codes:
 *   0  success
 *   1  invalid input (manifests failed validation, compile refused, a desired state the maps
 *      cannot hold); nothing was changed
 *   2  usage error (unknown option, bad argument)
 *   3  runtime error (nothing pinned at --pin-root, kernel or tool failure, an apply stopped
 *      part way: running it again converges)
 */
import { formatDiagnostics, type ConfigDiagnostic } from '../config/index.js';
import { CompileError } from '../compile/index.js';
import { ReconcileRefusedError } from '../agent/reconcile.js';
import { UsageError } from './output.js';

export const EXIT_OK = 0;
export const EXIT_INVALID = 1;
export const EXIT_USAGE = 2;
export const EXIT_RUNTIME = 3;

export const EXIT_CODES_HELP = `Exit codes:
  0  success
  1  invalid input: manifests failed validation, compile refused, or the maps cannot hold
     the desired state (one line per problem; nothing was changed)
  2  usage error: unknown option, bad argument
  3  runtime error: nothing pinned at --pin-root, kernel or tool failure, an apply that
     stopped part way (run it again to converge)`;

/** Manifests that failed validation: the diagnostics are the message. */
export class InvalidManifestsError extends Error {
  override readonly name = 'InvalidManifestsError';
  constructor(readonly diagnostics: readonly ConfigDiagnostic[]) {
    super(formatDiagnostics(diagnostics));
  }
}

export function exitCodeFor(error: unknown): number {
  if (error instanceof InvalidManifestsError || error instanceof CompileError || error instanceof ReconcileRefusedError) return EXIT_INVALID;
  if (error instanceof UsageError) return EXIT_USAGE;
  return EXIT_RUNTIME;
}

export function describeError(error: unknown): string {
  if (error instanceof InvalidManifestsError) return error.message.trimEnd();
  if (error instanceof CompileError) return formatDiagnostics(error.diagnostics).trimEnd();
  if (error instanceof Error) return error.message.trimEnd().split('\n').map((line) => `error: ${line}`).join('\n');
  return `error: ${String(error)}`;
}

export function handleError(error: unknown): never {
  process.stderr.write(describeError(error) + '\n');
  process.exit(exitCodeFor(error));
}
