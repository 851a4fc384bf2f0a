// Shared by the reconcile tests (not a test file): desired states from lab manifests, maps that
// record every write in order, an in-memory kernel (routes + nft fingerprints), read-backs.
import { compileDesiredState, type CompileOptions, type DesiredState } from '../../src/compile/index.js';
import { parseManifests } from '../../src/config/index.js';
import { raw, type BpfMap, type BurrowConfig, type BurrowPeer, type BurrowRoute } from '../../src/bpf/index.js';
import type { DatapathMaps } from '../../src/agent/datapath.js';
import type { KernelRoute } from '../../src/agent/kernel-routes.js';
import { nftFingerprints } from '../../src/agent/nat.js';
import { canonicalRouteKey } from '../../src/agent/plan.js';
import type { KernelState, ReconcileMap, ReconcileMaps } from '../../src/agent/reconcile.js';
import { labManifests, type LabManifestOptions } from '../helpers/agentctl.js';

export function desiredFor(lab: LabManifestOptions = {}, node = 'node-a', options: CompileOptions = {}): DesiredState {
  const r = parseManifests([{ file: 'lab.yaml', text: labManifests(lab) }]);
  if (!r.ok) throw new Error(`lab manifests invalid: ${JSON.stringify(r.errors)}`);
  return compileDesiredState(r.model, node, options);
}

/** One line per write, e.g. `routes.set 192.168.2.0/26`, `peers.delete 10.0.2.10`, `kernel.replace ...`. */
export type OpLog = string[];

function recordingMap<K, V>(name: string, map: ReconcileMap<K, V>, log: OpLog, keyText: (k: K) => string, calls?: OpLog): ReconcileMap<K, V> {
  return {
    info: map.info,
    entriesBatch: () => map.entriesBatch(),
    get: (k) => map.get(k),
    set(k, v) {
      log.push(`${name}.set ${keyText(k)}`);
      calls?.push(`${name}.set`);
      map.set(k, v);
    },
    setBatch(entries) {
      const list = [...entries];
      for (const [k] of list) log.push(`${name}.set ${keyText(k)}`);
      calls?.push(`${name}.setBatch ${list.length}`);
      return map.setBatch(list);
    },
    deleteBatch(keys) {
      const list = [...keys];
      for (const k of list) log.push(`${name}.delete ${keyText(k)}`);
      calls?.push(`${name}.deleteBatch ${list.length}`);
      return map.deleteBatch(list);
    },
  };
}

/** The same maps, with every write appended to `log` (and every call to `calls`) before it is made. */
export function recording(maps: ReconcileMaps, log: OpLog, calls?: OpLog): ReconcileMaps {
  return {
    routes: recordingMap('routes', maps.routes, log, canonicalRouteKey, calls),
    peers: recordingMap('peers', maps.peers, log, (k) => k, calls),
    config: recordingMap('config', maps.config, log, String, calls),
  };
}

export interface MemoryKernel extends KernelState {
  routes: Map<string, KernelRoute>;
  fingerprints: string[];
}

/** Kernel routes and nft fingerprints in memory; deleting a route that is not there fails, as `ip route del` does. */
export function memoryKernel(log?: OpLog, start: { routes?: KernelRoute[]; fingerprints?: string[] } = {}): MemoryKernel {
  const k: MemoryKernel = {
    routes: new Map((start.routes ?? []).map((r) => [r.dst, { ...r }])),
    fingerprints: [...(start.fingerprints ?? [])],
    listRoutes: async () => [...k.routes.values()].map((r) => ({ ...r })),
    async applyRoutes(replace, remove) {
      for (const r of replace) {
        log?.push(`kernel.replace ${r.dst}`);
        k.routes.set(r.dst, { ...r });
      }
      for (const r of remove) {
        log?.push(`kernel.delete ${r.dst}`);
        if (!k.routes.delete(r.dst)) throw new Error(`RTNETLINK answers: No such process (${r.dst})`);
      }
    },
    natFingerprints: async () => [...k.fingerprints],
    async applyNat(rules, guard) {
      log?.push(`nat ${rules.length}`);
      k.fingerprints = nftFingerprints(rules, guard);
    },
  };
  return k;
}

export interface ReadBack {
  routes: Map<string, BurrowRoute>;
  peers: Map<string, BurrowPeer>;
  config: BurrowConfig | undefined;
}

/** What the maps hold, routes keyed by canonical CIDR. */
export function readBack(maps: ReconcileMaps): ReadBack {
  return {
    routes: new Map(maps.routes.entriesBatch().map(([k, v]) => [canonicalRouteKey(k), v])),
    peers: new Map(maps.peers.entriesBatch()),
    config: maps.config.get(0),
  };
}

/** Every byte of routes, peers and config (padding included), as sorted hex key=value lines. */
export function rawSnapshot(maps: DatapathMaps): string[] {
  const bytes = <K, V>(name: string, m: BpfMap<K, V>) =>
    m.withCodecs(raw(m.key.size), raw(m.value.size)).entriesBatch().map(([k, v]) => `${name} ${k.toString('hex')}=${v.toString('hex')}`);
  return [...bytes('routes', maps.routes), ...bytes('peers', maps.peers), ...bytes('config', maps.config)].sort();
}
