// One datapath program under test: build/bpf/<name>.bpf.o loaded with maps of its own, typed
// views of those maps, and BPF_PROG_TEST_RUN with the context each hook needs. No ava here, so
// the fuzz campaign (test/bpf/fuzz.ts) uses it too.
//
// The objects pin their maps by name (maps.h), so libbpf needs a bpffs to load them at all. Each
// load gets a private one from makePinDir(), which is unmounted again right after the load: the
// maps live on through our fds, and nothing is left behind on the host even if the process dies.
import path from 'node:path';

import {
  Collection, burrowConfig, burrowConfigKey, burrowNexthop, burrowNexthopKey, burrowPeer, burrowPeerKey, burrowPmtu, burrowPmtuKey, burrowRoute, burrowRouteKey,
  type BpfMap, type BurrowConfig, type BurrowNexthop, type BurrowPeer, type BurrowPmtu, type BurrowRoute, type BurrowRouteKey, type Program,
} from '../../../src/bpf/index.js';
import type { Hook } from '../../../src/codec/index.js';
import { TC_TEST_RUN_MAX, XDP_TEST_RUN_LINEAR_MAX, acceptedByTestRun } from '../../arbitraries/test-run-input.js';
import { makePinDir } from '../../helpers/bpffs.js';
import { repoRoot } from '../../helpers/paths.js';
import { StatsProbe } from './stats.js';

export const PROGRAM_NAMES = ['tc_encap', 'xdp_encap', 'tc_decap', 'xdp_decap'] as const;
export type ProgramName = (typeof PROGRAM_NAMES)[number];

export function hookOf(name: ProgramName): Hook {
  return name.startsWith('xdp') ? 'xdp' : 'tc';
}

export function directionOf(name: ProgramName): 'encap' | 'decap' {
  return name.endsWith('encap') ? 'encap' : 'decap';
}

export function isProgramName(name: string): name is ProgramName {
  return (PROGRAM_NAMES as readonly string[]).includes(name);
}

export interface RunContext {
  /** XDP: xdp_md.ingress_ifindex (0: the kernel's default, the loopback device). */
  readonly ingressIfindex?: number;
}

export interface RawRun {
  readonly retval: number;
  readonly output: Buffer;
}

export class ProgramUnderTest {
  readonly hook: Hook;
  readonly stats: StatsProbe;

  private constructor(
    readonly name: ProgramName,
    private readonly collection: Collection,
    readonly program: Program,
    readonly routes: BpfMap<BurrowRouteKey, BurrowRoute>,
    readonly peers: BpfMap<string, BurrowPeer>,
    readonly config: BpfMap<number, BurrowConfig>,
    readonly pmtu: BpfMap<string, BurrowPmtu>,
    readonly nexthops: BpfMap<string, BurrowNexthop>,
  ) {
    this.hook = hookOf(name);
    this.stats = new StatsProbe(collection.maps.stats as BpfMap<Buffer, Buffer>);
  }

  static load(name: ProgramName): ProgramUnderTest {
    const pins = makePinDir();
    let collection: Collection;
    try {
      collection = Collection.load(path.join(repoRoot, 'build/bpf', `${name}.bpf.o`), { pinRoot: pins.path, name });
    } finally {
      pins.cleanup();
    }
    try {
      return new ProgramUnderTest(
        name,
        collection,
        collection.program(name),
        collection.map('routes', burrowRouteKey, burrowRoute),
        collection.map('peers', burrowPeerKey, burrowPeer),
        collection.map('config', burrowConfigKey, burrowConfig),
        collection.map('pmtu', burrowPmtuKey, burrowPmtu),
        collection.map('nexthops', burrowNexthopKey, burrowNexthop),
      );
    } catch (e) {
      collection.close();
      throw e;
    }
  }

  /**
   * One BPF_PROG_TEST_RUN of `frame`; the caller reads the counters around it (StatsProbe). Only
   * frames acceptedByTestRun: the kernel refuses the others (EINVAL), or, XDP frames longer than
   * XDP_TEST_RUN_LINEAR_MAX, takes them but shows the program only part of them.
   */
  runRaw(frame: Uint8Array, context: RunContext = {}): RawRun {
    if (!acceptedByTestRun(frame, this.hook)) {
      throw new RangeError(`a ${frame.length}-byte frame is not one a ${this.hook} test run takes whole (acceptedByTestRun; longest: tc ${TC_TEST_RUN_MAX}, xdp ${XDP_TEST_RUN_LINEAR_MAX}): ${this.name} cannot be compared on it`);
    }
    const ctx = this.hook === 'xdp' && context.ingressIfindex ? xdpMd(frame.length, context.ingressIfindex) : undefined;
    const r = this.program.run({ data: frame, dataOutSize: frame.length + 128, ...(ctx ? { ctx, ctxOutSize: ctx.length } : {}) });
    return { retval: r.retval, output: r.data };
  }

  close(): void {
    this.collection.close();
  }
}

/**
 * struct xdp_md for a test run: data 0 and data_end = the frame length (the kernel insists),
 * the ingress ifindex (the device must exist in the calling thread's namespace), queue 0.
 */
export function xdpMd(length: number, ingressIfindex: number): Buffer {
  const md = Buffer.alloc(24);
  md.writeUInt32LE(0, 0); // data
  md.writeUInt32LE(length, 4); // data_end
  md.writeUInt32LE(0, 8); // data_meta
  md.writeUInt32LE(ingressIfindex, 12);
  md.writeUInt32LE(0, 16); // rx_queue_index
  md.writeUInt32LE(0, 20); // egress_ifindex
  return md;
}
