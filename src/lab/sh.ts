// Running commands for the lab: synchronous (building and tearing down a topology is a short
// sequence of `ip`/`nft`/`sysctl` calls, and teardown must also work from a process 'exit'
// hook, where nothing asynchronous runs) plus one asynchronous form for long-running tools.
import { spawn, type ChildProcess } from 'node:child_process';
import { runSync } from '../agent/exec.js';

/**
 * How long the lab waits for something that does happen on a working system: BURROW_LAB_READY_MS
 * (a positive number of milliseconds), else 20 000. The kernel guests (scripts/kernels/guest.sh)
 * set 180 s: under qemu's TCG everything runs 10-50x slower (docs/kernels.md).
 */
export function labPatienceMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.BURROW_LAB_READY_MS;
  if (raw === undefined || raw === '') return 20_000;
  const ms = Number(raw);
  if (!Number.isFinite(ms) || ms <= 0) throw new RangeError(`BURROW_LAB_READY_MS must be a positive number of milliseconds, not '${raw}'`);
  return ms;
}

/**
 * A bound that only cuts a failing run short: `ms`, or labPatienceMs() when that is longer (so a
 * wait sized for a host does not fail under TCG). Never a timing assertion.
 */
export function patient(ms: number, env: NodeJS.ProcessEnv = process.env): number {
  return Math.max(ms, labPatienceMs(env));
}

export interface ShOptions {
  input?: string;
  /** Exit codes other than 0 that count as success. */
  ok?: readonly number[];
  /** Kill (SIGTERM) the command after this long: default patient(30 000). */
  timeoutMs?: number;
}

/** Runs argv (no shell) with the lab's timeout and returns stdout; throws CommandError (src/agent/exec.ts) on failure. */
export function sh(argv: readonly string[], opts: ShOptions = {}): string {
  return runSync(argv, { ...(opts.input !== undefined ? { input: opts.input } : {}), ...(opts.ok ? { okExitCodes: opts.ok } : {}), timeoutMs: opts.timeoutMs ?? patient(30_000) });
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

/**
 * Resolves with the exit code once the child has exited AND its stdout/stderr are read to the end
 * ('close'). 'exit' can come first, with the last output still unread: a reader that stops at
 * 'exit' loses it (seen under TCG: a tcp-peer's last JSON line, a ping's summary). Call it right
 * after spawn (it listens from then on).
 */
export function closed(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('close', (code) => resolve(code)));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
