/**
 * Running the kernel's own tools (ip, nft, tc): one function, one error type. Commands run
 * without a shell, so no argument is ever interpreted twice.
 */
import { execFile } from 'node:child_process';

export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    readonly command: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`'${command.join(' ')}' failed (exit ${exitCode ?? 'signal'}): ${stderr.trim() || 'no message'}`);
  }
}

export interface RunOptions {
  input?: string;
  /** Accept these exit codes as success (e.g. "not found" when deleting). */
  okExitCodes?: readonly number[];
}

export function run(argv: readonly string[], options: RunOptions = {}): Promise<string> {
  const [file, ...args] = argv;
  if (!file) throw new TypeError('run: empty command');
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      if (code === 0 || (code !== null && options.okExitCodes?.includes(code))) resolve(stdout);
      else reject(new CommandError(argv, code, stderr || String(error?.message ?? '')));
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}
