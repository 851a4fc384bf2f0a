/** What the figures were measured on, and how busy the machine was meanwhile. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

export interface MachineFacts {
  nproc: number;
  memoryGiB: number;
  kernel: string;
  cpuModel: string;
  node: string;
  iperf3: string;
  clang: string;
  hostname: string;
  /** The commit measured, '-dirty' when the working tree had changes (e.g. work in progress). */
  revision: string;
}

function firstLine(argv: string[]): string {
  try {
    return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0]!.trim();
  } catch {
    return 'unknown';
  }
}

export function machineFacts(): MachineFacts {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const mem = /MemTotal:\s+(\d+) kB/.exec(fs.readFileSync('/proc/meminfo', 'utf8'));
  return {
    nproc: os.cpus().length,
    memoryGiB: mem ? Math.round((Number(mem[1]) / 2 ** 20) * 10) / 10 : NaN,
    kernel: os.release(),
    cpuModel: /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? 'unknown',
    node: process.version,
    iperf3: firstLine(['iperf3', '--version']),
    clang: firstLine(['clang', '--version']),
    hostname: os.hostname(),
    revision: firstLine(['git', '-C', new URL('../..', import.meta.url).pathname, 'describe', '--always', '--dirty']),
  };
}

/** Busy share of all CPUs between two readings of /proc/stat (everything, not only ours). */
export interface CpuSnapshot {
  busy: number;
  total: number;
}

export function cpuSnapshot(): CpuSnapshot {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  return { busy: user + nice + system + irq + softirq + steal, total: user + nice + system + idle + iowait + irq + softirq + steal };
}

export function busyShare(a: CpuSnapshot, b: CpuSnapshot): number {
  return (b.busy - a.busy) / Math.max(1, b.total - a.total);
}

export function loadAverage(): number[] {
  return os.loadavg().map((x) => Math.round(x * 100) / 100);
}
