/**
 * Running the kernel's own tools (ip, nft, tc, …): one runner, asynchronous (`run`) or
 * synchronous (`runSync`: the lab's `sh` and the benchmark's scratch namespaces, whose teardown
 * must also work from a process 'exit' hook), one error type. Commands run without a shell, so no
 * argument is ever interpreted twice.
 */
import { execFile, execFileSync } from 'node:child_process';

export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    readonly command: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    /** Set when the timeout killed the command (its exit status is then whatever it made of SIGTERM). */
    readonly timedOutMs?: number,
  ) {
    const why = timedOutMs === undefined ? `exit ${exitCode ?? 'signal'}` : `killed (SIGTERM) after its ${timedOutMs / 1000} s timeout, exit ${exitCode ?? 'signal'}`;
    super(`'${command.join(' ')}' failed (${why}): ${stderr.trim() || 'no message'}`);
  }
}

export interface RunOptions {
  input?: string;
  /** Accept these exit codes as success (e.g. "not found" when deleting). */
  okExitCodes?: readonly number[];
  /** Kill (SIGTERM) the command after this long; none by default. */
  timeoutMs?: number;
}

const MAX_BUFFER = 256 * 1024 * 1024;

function split(argv: readonly string[], who: string): [string, string[]] {
  const [file, ...args] = argv;
  if (!file) throw new TypeError(`${who}: empty command`);
  return [file, args];
}

export function run(argv: readonly string[], options: RunOptions = {}): Promise<string> {
  const [file, args] = split(argv, 'run');
  return new Promise((resolve, reject) => {
    const opts = { maxBuffer: MAX_BUFFER, ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs } : {}) };
    const child = execFile(file, args, opts, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      const timedOut = error !== null && options.timeoutMs !== undefined && error.killed === true;
      if (!timedOut && (code === 0 || (code !== null && options.okExitCodes?.includes(code)))) resolve(stdout);
      else reject(new CommandError(argv, code, stderr || String(error?.message ?? ''), timedOut ? options.timeoutMs : undefined));
    });
    if (options.input !== undefined) {
      // A command that stops reading (`ip -batch` ends at its first failing line) closes the pipe
      // while a long input is still being written: that EPIPE must not be an unhandled 'error'
      // (it killed agentd); the command's own exit status says what went wrong.
      child.stdin?.on('error', () => {});
      child.stdin?.end(options.input);
    }
  });
}

/** run, synchronously: returns stdout, throws CommandError. */
export function runSync(argv: readonly string[], options: RunOptions = {}): string {
  const [file, args] = split(argv, 'runSync');
  try {
    return execFileSync(file, args, {
      encoding: 'utf8',
      input: options.input,
      stdio: ['pipe', 'pipe', 'pipe'],
      maxBuffer: MAX_BUFFER,
      ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs } : {}),
    });
  } catch (e) {
    const err = e as { status?: number | null; stderr?: string; stdout?: string; code?: string };
    // A timeout is not the command's failure: say so (tshark, for one, catches the SIGTERM and
    // exits 2 without a word, which reads like a bad capture file).
    const timedOut = err.code === 'ETIMEDOUT';
    if (!timedOut && typeof err.status === 'number' && options.okExitCodes?.includes(err.status)) return err.stdout ?? '';
    throw new CommandError(argv, err.status ?? null, err.stderr ?? String(e), timedOut ? options.timeoutMs : undefined);
  }
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
