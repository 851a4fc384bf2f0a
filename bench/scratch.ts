/**
 * Everything the benchmark creates on the machine, and its removal: network namespaces named
 * `burrow-bench-<pid>-<tag>` and bpffs mounts on `/tmp/burrow-bench-<pid>-*` directories. Each is
 * registered when made and removed by `cleanupAll()`, which runs on normal exit, on an uncaught
 * error and on SIGINT/SIGTERM/SIGHUP. `removeStale()` removes what an earlier, killed run left
 * (its pid no longer exists). Nothing outside these names is touched.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { runSync } from '../src/agent/exec.js';
import { withNetns } from '../src/bpf/index.js';

const PREFIX = 'burrow-bench-';
const cleanups = new Map<string, () => void>();
let hooked = false;

function run(argv: readonly string[], input?: string): string {
  return runSync(argv, input !== undefined ? { input } : {});
}

function quiet(fn: () => void): void {
  try {
    fn();
  } catch {
    // teardown goes on
  }
}

export function cleanupAll(): void {
  for (const [key, fn] of [...cleanups].reverse()) {
    cleanups.delete(key);
    quiet(fn);
  }
}

function installHooks(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', cleanupAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      cleanupAll();
      process.kill(process.pid, signal);
    });
  }
}

/** Registers a teardown step (run in reverse order of registration); returns its remover. */
export function onCleanup(key: string, fn: () => void): () => void {
  installHooks();
  cleanups.set(key, fn);
  return () => {
    if (cleanups.delete(key)) fn();
  };
}

export interface ScratchNetns {
  readonly name: string;
  readonly path: string;
  ip(...args: string[]): string;
  exec(argv: readonly string[], input?: string): string;
  /** Runs synchronous code inside the namespace (test runs, attach calls). */
  run<T>(fn: () => T): T;
  sysctl(...settings: string[]): void;
  destroy(): void;
}

/** A fresh network namespace `burrow-bench-<pid>-<tag>` with lo up. */
export function scratchNetns(tag: string): ScratchNetns {
  const name = `${PREFIX}${process.pid}-${tag}`;
  run(['ip', 'netns', 'add', name]);
  const destroy = onCleanup(`netns:${name}`, () => {
    killNetnsProcesses(name);
    run(['ip', 'netns', 'del', name]);
  });
  const ns: ScratchNetns = {
    name,
    path: `/run/netns/${name}`,
    ip: (...args) => run(['ip', '-n', name, ...args]),
    exec: (argv, input) => run(['ip', 'netns', 'exec', name, ...argv], input),
    run: (fn) => withNetns(`/run/netns/${name}`, fn),
    sysctl: (...settings) => void run(['ip', 'netns', 'exec', name, 'sysctl', '-qw', ...settings]),
    destroy,
  };
  ns.ip('link', 'set', 'lo', 'up');
  return ns;
}

function killNetnsProcesses(name: string): void {
  let pids: string[] = [];
  try {
    pids = run(['ip', 'netns', 'pids', name]).split(/\s+/).filter(Boolean);
  } catch {
    return;
  }
  for (const pid of pids) quiet(() => process.kill(Number(pid), 'SIGKILL'));
}

/**
 * Runs `fn` with a private bpffs mounted on a fresh directory, unmounted (pins gone) right after:
 * objects loaded inside live on through their fds. libbpf needs a bpffs to load objects whose
 * maps are pinned by name.
 */
export function withPinDir<T>(fn: (dir: string) => T): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}${process.pid}-`));
  const remove = onCleanup(`mount:${dir}`, () => {
    quiet(() => run(['umount', '-l', dir]));
    fs.rmSync(dir, { recursive: true, force: true });
  });
  run(['mount', '-t', 'bpf', 'bpf', dir]);
  try {
    return fn(dir);
  } finally {
    remove();
  }
}

/** A bpffs directory that lives until `remove()` or cleanup (pin roots of agentd runs). */
export function persistentPinDir(): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}${process.pid}-`));
  const remove = onCleanup(`mount:${dir}`, () => {
    quiet(() => run(['umount', '-l', dir]));
    fs.rmSync(dir, { recursive: true, force: true });
  });
  run(['mount', '-t', 'bpf', 'bpf', dir]);
  return { dir, remove };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes namespaces and mounts of earlier runs whose process is gone. Returns what it removed. */
export function removeStale(): string[] {
  const removed: string[] = [];
  const ownerOf = (name: string): number => Number(/^burrow-bench-(\d+)-/.exec(name)?.[1] ?? NaN);
  let names: string[] = [];
  quiet(() => {
    const out = run(['ip', '-j', 'netns', 'list']).trim();
    names = (out ? (JSON.parse(out) as { name: string }[]) : []).map((n) => n.name);
  });
  for (const name of names) {
    const pid = ownerOf(name);
    if (!name.startsWith(PREFIX) || !Number.isFinite(pid) || pidAlive(pid)) continue;
    quiet(() => killNetnsProcesses(name));
    quiet(() => run(['ip', 'netns', 'del', name]));
    removed.push(`netns ${name}`);
  }
  const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '');
  for (const m of mounts) {
    const base = path.basename(m);
    const pid = ownerOf(base);
    if (path.dirname(m) !== os.tmpdir() || !base.startsWith(PREFIX) || !Number.isFinite(pid) || pidAlive(pid)) continue;
    quiet(() => run(['umount', '-l', m]));
    quiet(() => fs.rmSync(m, { recursive: true, force: true }));
    removed.push(`mount ${m}`);
  }
  return removed;
}
