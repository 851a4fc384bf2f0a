// Running commands for the lab: synchronous (building and tearing down a topology is a short
// sequence of `ip`/`nft`/`sysctl` calls, and teardown must also work from a process 'exit'
// hook, where nothing asynchronous runs) plus one asynchronous form for long-running tools.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

export class LabCommandError extends Error {
  override readonly name = 'LabCommandError';
  constructor(
    readonly argv: readonly string[],
    readonly status: number | null,
    readonly stderr: string,
  ) {
    super(`'${argv.join(' ')}' failed (exit ${status ?? 'signal'}): ${stderr.trim() || 'no message'}`);
  }
}

export interface ShOptions {
  input?: string;
  /** Exit codes other than 0 that count as success. */
  ok?: readonly number[];
  timeoutMs?: number;
}

/** Runs argv (no shell) and returns stdout; throws LabCommandError on failure. */
export function sh(argv: readonly string[], opts: ShOptions = {}): string {
  const [file, ...args] = argv;
  if (!file) throw new TypeError('sh: empty command');
  try {
    return execFileSync(file, args, {
      encoding: 'utf8',
      input: opts.input,
      stdio: ['pipe', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
      timeout: opts.timeoutMs ?? 30_000,
    });
  } catch (e) {
    const err = e as { status?: number | null; stderr?: string; stdout?: string };
    if (typeof err.status === 'number' && opts.ok?.includes(err.status)) return err.stdout ?? '';
    throw new LabCommandError(argv, err.status ?? null, err.stderr ?? String(e));
  }
}

/** Like sh, but never throws: for teardown, where "already gone" is fine. */
export function shQuiet(argv: readonly string[]): boolean {
  try {
    sh(argv, { timeoutMs: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** argv prefixed to run inside a network namespace. */
export function inNetns(ns: string, argv: readonly string[]): string[] {
  return ['ip', 'netns', 'exec', ns, ...argv];
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs argv asynchronously to completion; resolves with its exit code and output (never rejects). */
export function runAsync(argv: readonly string[], opts: { input?: string | Buffer; timeoutMs?: number } = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (!file) throw new TypeError('runAsync: empty command');
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.on('error', (e) => err.push(Buffer.from(String(e))));
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => {});
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** Resolves when `child` exits (immediately when it already has). */
export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
