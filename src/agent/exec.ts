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

const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/**
 * PATH without node_modules/.bin entries, with the system directories appended when missing.
 * npm puts node_modules/.bin first on PATH for its scripts (`npm test`, `npm run demo`), and there
 * `nft` is @vercel/nft (a dependency of ava), which prints nothing and exits 0: nftables calls then
 * silently "succeed" with empty output. System tools must never resolve there.
 */
export function systemToolPath(current = process.env.PATH ?? ''): string {
  const dirs = current.split(':').filter((d) => d !== '' && !/node_modules[\\/]\.bin\/?$/.test(d));
  for (const d of SYSTEM_DIRS) if (!dirs.includes(d)) dirs.push(d);
  return dirs.join(':');
}

/** Every entry point (agentd, agentctl, the demo, the lab script, the bench) calls this first. */
export function useSystemToolPath(): void {
  process.env.PATH = systemToolPath();
}
