/**
 * The kernel's own per-program accounting (run_cnt, run_time_ns in bpf_prog_info): enabled with
 * BPF_ENABLE_STATS, which hands back an fd; accounting stays on while the fd is open and turns off
 * by itself when it closes. A small python helper holds the fd (the addon has no call for it) and
 * exits on end of input, so a crashed benchmark cannot leave accounting on. While on, every program
 * run pays two sched_clock() reads; the figures include them (the no-op program shows how much).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

import { onCleanup } from './scratch.js';

// union bpf_attr { struct { __u32 type; } enable_stats; }: BPF_ENABLE_STATS = 32, BPF_STATS_RUN_TIME = 0.
const HOLDER = `
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
attr = ctypes.create_string_buffer(8)
fd = libc.syscall(321, 32, attr, 8)
if fd < 0:
    print("error %d" % ctypes.get_errno(), flush=True)
    sys.exit(1)
print("enabled", flush=True)
sys.stdin.read()
`;

export interface StatsSession {
  close(): void;
}

export async function enableBpfStats(): Promise<StatsSession> {
  if (process.arch !== 'x64') throw new Error('BPF_ENABLE_STATS helper knows the bpf syscall number of x86_64 only');
  const child: ChildProcess = spawn('python3', ['-c', HOLDER], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.stdout!.once('data', (b: Buffer) => resolve(b.toString().trim()));
  });
  if (line !== 'enabled') throw new Error(`BPF_ENABLE_STATS failed: ${line}`);
  const close = onCleanup(`stats:${child.pid}`, () => {
    child.stdin!.end();
    child.kill();
  });
  return { close };
}

export interface ProgStats {
  runCnt: number;
  runTimeNs: number;
}

/** run_cnt and run_time_ns of a program (0 when accounting never saw it run). */
export function progStats(id: number): ProgStats {
  const j = JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show', 'id', String(id)], { encoding: 'utf8' })) as {
    run_cnt?: number;
    run_time_ns?: number;
  };
  return { runCnt: j.run_cnt ?? 0, runTimeNs: j.run_time_ns ?? 0 };
}

/** Nanoseconds per run between two readings. */
export function nsPerRun(before: ProgStats, after: ProgStats): { runs: number; ns: number } {
  const runs = after.runCnt - before.runCnt;
  return { runs, ns: runs > 0 ? (after.runTimeNs - before.runTimeNs) / runs : NaN };
}
