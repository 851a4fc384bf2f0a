/**
 * The datapath's kernel objects under one pin root:
 *
 *   <pinRoot>/routes, peers, config, stats, pmtu, nexthops   the six maps (shared by every program)
 *   <pinRoot>/links/<name>                   bpf_links of attached programs (agentd)
 *
 * `loadDatapath` loads the program objects (adopting maps already pinned there, so a restarted
 * agent keeps its state); `openDatapathMaps` opens the pinned maps alone, which is all agentctl
 * needs to read or write state without a daemon. bpffs is mounted on the pin root when the
 * directory is not on one and is empty or new (pin-root.ts; inside `ip netns exec`, /sys/fs/bpf
 * is not mounted).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BpfMap,
  Collection,
  burrowConfig,
  burrowConfigKey,
  burrowPeer,
  burrowPeerKey,
  burrowRoute,
  burrowRouteKey,
  burrowStatKey,
  burrowStatValue,
  burrowPmtu,
  burrowPmtuKey,
  burrowNexthop,
  burrowNexthopKey,
  perCpu,
  type BurrowConfig,
  type BurrowPeer,
  type BurrowRoute,
  type BurrowRouteKey,
  type BurrowStatValue,
  type BurrowPmtu,
  type BurrowNexthop,
  type Program,
} from '../bpf/index.js';
import { isBpffs, preparePinRoot } from './pin-root.js';

export { isBpffs };

export const DEFAULT_PIN_ROOT = '/sys/fs/bpf/burrow';
export const DATAPATH_PROGRAMS = ['tc_encap', 'tc_decap', 'xdp_decap', 'xdp_encap'] as const;
export type DatapathProgramName = (typeof DATAPATH_PROGRAMS)[number];
export const MAP_NAMES = ['routes', 'peers', 'config', 'stats', 'pmtu', 'nexthops'] as const;

let objectDirOverride: string | undefined;

/** agentd --bpf-dir: load the objects from `dir` (undefined: back to the default). */
export function setObjectDir(dir: string | undefined): void {
  objectDirOverride = dir === undefined ? undefined : path.resolve(dir);
}

/**
 * Directory of the compiled objects: agentd's --bpf-dir, else $BURROW_BPF_DIR, else build/bpf at
 * the repository root (docs/operations.md, "Upgrades": a second build's objects).
 */
export function objectDir(): string {
  if (objectDirOverride) return objectDirOverride;
  const env = process.env['BURROW_BPF_DIR'];
  if (env) return path.resolve(env);
  const here = path.dirname(fileURLToPath(import.meta.url)); // dist/src/agent
  return path.resolve(here, '../../../build/bpf');
}

export function objectPath(program: DatapathProgramName | 'noop'): string {
  return path.join(objectDir(), `${program}.bpf.o`);
}

/**
 * Makes `pinRoot` a directory on bpffs (pin-root.ts preparePinRoot: bpffs is mounted only on an
 * empty or new directory; PinRootError otherwise); returns true when it mounted a new bpffs there.
 */
export function ensureBpffs(pinRoot: string): boolean {
  return preparePinRoot(pinRoot).mount === 'mounted';
}

export interface DatapathMaps {
  routes: BpfMap<BurrowRouteKey, BurrowRoute>;
  peers: BpfMap<string, BurrowPeer>;
  config: BpfMap<number, BurrowConfig>;
  stats: BpfMap<number, BurrowStatValue[]>;
  /** Path MTU learned per peer (docs/datapath.md, "Path MTU"). */
  pmtu: BpfMap<string, BurrowPmtu>;
  /** How the outer packet to each peer leaves (docs/datapath.md, "Next hops"; nexthops.ts). */
  nexthops: BpfMap<string, BurrowNexthop>;
  close(): void;
}

export class NoDatapathError extends Error {
  override readonly name = 'NoDatapathError';
}

/** Opens the pinned maps; throws NoDatapathError when nothing is pinned at `pinRoot`. */
export function openDatapathMaps(pinRoot: string): DatapathMaps {
  const missing = MAP_NAMES.filter((m) => !fs.existsSync(path.join(pinRoot, m)));
  if (missing.length > 0) {
    throw new NoDatapathError(
      `no burrow datapath pinned at ${pinRoot} (missing ${missing.join(', ')}): is agentd running, or was --pin-root right?`,
    );
  }
  const maps = {
    routes: BpfMap.openPinned(path.join(pinRoot, 'routes'), burrowRouteKey, burrowRoute),
    peers: BpfMap.openPinned(path.join(pinRoot, 'peers'), burrowPeerKey, burrowPeer),
    config: BpfMap.openPinned(path.join(pinRoot, 'config'), burrowConfigKey, burrowConfig),
    stats: BpfMap.openPinned(path.join(pinRoot, 'stats'), burrowStatKey, perCpu(burrowStatValue)),
    pmtu: BpfMap.openPinned(path.join(pinRoot, 'pmtu'), burrowPmtuKey, burrowPmtu),
    nexthops: BpfMap.openPinned(path.join(pinRoot, 'nexthops'), burrowNexthopKey, burrowNexthop),
  };
  return {
    ...maps,
    close() {
      for (const m of Object.values(maps)) m.close();
    },
  };
}

export interface Datapath {
  maps: DatapathMaps;
  programs: Record<DatapathProgramName, Program>;
  close(): void;
}

/**
 * Loads every datapath program with its maps pinned at `pinRoot` (adopting maps already pinned
 * there, BTF-checked against the TS codecs). Mounts bpffs on the pin root when needed.
 */
export function loadDatapath(pinRoot: string, programs: readonly DatapathProgramName[] = DATAPATH_PROGRAMS): Datapath {
  ensureBpffs(pinRoot);
  const collections = programs.map((p) => Collection.load(objectPath(p), { pinRoot, pinMaps: [...MAP_NAMES], name: p }));
  const loaded = {} as Record<DatapathProgramName, Program>;
  programs.forEach((p, i) => {
    loaded[p] = collections[i]!.program(p);
  });
  const maps = openDatapathMaps(pinRoot);
  return {
    maps,
    programs: loaded,
    close() {
      maps.close();
      for (const c of collections) c.close();
    },
  };
}
