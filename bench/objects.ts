/**
 * The eBPF objects the benchmarks load: the datapath programs and the no-op baselines from
 * build/bpf (scripts/setup.sh builds them), and the benchmark's own helpers
 * (bench/bpf/bench_helpers.bpf.c, bench/tools/udp_blast.c), compiled here into build/bench when
 * the source is newer.
 * Each load gets a private bpffs for libbpf's by-name pins, unmounted right after: the maps live
 * on through our fds and nothing stays pinned on the host.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  BURROW_STAT_MAX,
  Collection,
  burrowConfig,
  burrowConfigKey,
  burrowNexthop,
  burrowNexthopKey,
  burrowPeer,
  burrowPeerKey,
  burrowRoute,
  burrowRouteKey,
  burrowStatKey,
  burrowStatValue,
  perCpu,
  sumPerCpu,
  type BpfMap,
  type BurrowConfig,
  type BurrowNexthop,
  type BurrowPeer,
  type BurrowRoute,
  type BurrowRouteKey,
  type BurrowStatValue,
} from '../src/bpf/index.js';
import { withPinDir } from './scratch.js';

/** The repository root (compiled code runs from dist/bench). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BPF_BUILD = path.join(ROOT, 'build/bpf');
const HELPERS_SRC = path.join(ROOT, 'bench/bpf/bench_helpers.bpf.c');
const HELPERS_OBJ = path.join(ROOT, 'build/bench/bench_helpers.bpf.o');

export function helpersObject(): string {
  const stale = !fs.existsSync(HELPERS_OBJ) || fs.statSync(HELPERS_OBJ).mtimeMs < fs.statSync(HELPERS_SRC).mtimeMs;
  if (stale) {
    fs.mkdirSync(path.dirname(HELPERS_OBJ), { recursive: true });
    const arch = `/usr/include/${execFileSync('uname', ['-m'], { encoding: 'utf8' }).trim()}-linux-gnu`;
    execFileSync('clang', ['-O2', '-g', '-target', 'bpf', '-Wall', '-Werror', `-I${arch}`, '-c', HELPERS_SRC, '-o', HELPERS_OBJ]);
  }
  return HELPERS_OBJ;
}

const UDP_BLAST_SRC = path.join(ROOT, 'bench/tools/udp_blast.c');
const UDP_BLAST = path.join(ROOT, 'build/bench/udp_blast');

/** The small-UDP sender (bench/tools/udp_blast.c), compiled here when the source is newer. */
export function udpBlast(): string {
  if (!fs.existsSync(UDP_BLAST) || fs.statSync(UDP_BLAST).mtimeMs < fs.statSync(UDP_BLAST_SRC).mtimeMs) {
    fs.mkdirSync(path.dirname(UDP_BLAST), { recursive: true });
    execFileSync('clang', ['-O2', '-Wall', '-Werror', '-o', UDP_BLAST, UDP_BLAST_SRC]);
  }
  return UDP_BLAST;
}

export function loadObject(file: string, name?: string): Collection {
  return withPinDir((pinRoot) => Collection.load(file, { pinRoot, ...(name ? { name } : {}) }));
}

/** A datapath program's object with typed views of its maps. */
export class DatapathObject {
  readonly routes: BpfMap<BurrowRouteKey, BurrowRoute>;
  readonly peers: BpfMap<string, BurrowPeer>;
  readonly config: BpfMap<number, BurrowConfig>;
  readonly stats: BpfMap<number, BurrowStatValue[]>;
  readonly nexthops: BpfMap<string, BurrowNexthop>;

  constructor(
    readonly name: 'tc_encap' | 'tc_decap' | 'xdp_encap' | 'xdp_decap',
    readonly collection = loadObject(path.join(BPF_BUILD, `${name}.bpf.o`), name),
  ) {
    this.routes = collection.map('routes', burrowRouteKey, burrowRoute);
    this.peers = collection.map('peers', burrowPeerKey, burrowPeer);
    this.config = collection.map('config', burrowConfigKey, burrowConfig);
    this.stats = collection.map('stats', burrowStatKey, perCpu(burrowStatValue));
    this.nexthops = collection.map('nexthops', burrowNexthopKey, burrowNexthop);
  }

  get program() {
    return this.collection.program(this.name);
  }

  /** Packets counted under `stat` so far (summed over CPUs). */
  counted(stat: number): number {
    return Number(sumPerCpu(this.stats.get(stat) ?? []).packets ?? 0n);
  }

  /** Every counter that moved, by index. */
  countersNonZero(): Record<number, number> {
    const out: Record<number, number> = {};
    for (let i = 0; i < BURROW_STAT_MAX; i++) {
      const n = this.counted(i);
      if (n) out[i] = n;
    }
    return out;
  }

  close(): void {
    this.collection.close();
  }
}

let noop: Collection | undefined;
export function noopObject(): Collection {
  noop ??= loadObject(path.join(BPF_BUILD, 'noop.bpf.o'), 'noop');
  return noop;
}

/** struct xdp_md for a test run: data 0, data_end = frame length, the ingress device. */
export function xdpMd(frameLength: number, ingressIfindex: number): Buffer {
  const md = Buffer.alloc(24);
  md.writeUInt32LE(frameLength, 4);
  md.writeUInt32LE(ingressIfindex, 12);
  return md;
}

/**
 * A long test run stops with EINTR when a signal arrives (SIGCHLD of a finished helper process):
 * the kernel discards the partial run, so it is simply run again.
 */
export function retryEintr<T>(fn: () => T, attempts = 5): T {
  for (let i = 1; ; i++) {
    try {
      return fn();
    } catch (e) {
      if (i >= attempts || (e as { code?: string }).code !== 'EINTR') throw e;
    }
  }
}
