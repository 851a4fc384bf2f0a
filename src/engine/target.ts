/**
 * EngineTargets: the pinned maps of a node (raw byte views of the `routes` map, so encoded
 * entries go to the kernel without being decoded and re-encoded) or the in-memory maps the
 * reconciler's tests use (src/agent/reconcile-memory.ts).
 */
import type { DatapathMaps } from '../agent/datapath.js';
import { hostKernel, type KernelState, type ReconcileMap } from '../agent/reconcile.js';
import { burrowRoute, burrowRouteKey, raw, type BurrowRoute, type BurrowRouteKey } from '../bpf/index.js';
import type { EngineTarget, RawRouteMap } from './engine.js';

/** The pinned maps; kernel routes and nft of the calling namespace unless `kernel` is null. */
export function datapathTarget(maps: DatapathMaps, kernel: KernelState | null = hostKernel()): EngineTarget {
  const routes = maps.routes.withCodecs(raw(burrowRouteKey.size), raw(burrowRoute.size));
  return {
    routes: {
      maxEntries: maps.routes.info.maxEntries,
      readAll: () => routes.entriesBatch({ batchSize: 4096 }),
      setMany: (keys, values, count) => routes.setBatchRaw(keys, values, count),
      deleteMany: (keys, count) => routes.deleteBatchRaw(keys, count),
    },
    peers: maps.peers,
    config: maps.config,
    kernel,
  };
}

/** A typed routes map (the in-memory fake) seen as raw bytes through the codecs. */
export function rawRoutesOf(map: ReconcileMap<BurrowRouteKey, BurrowRoute>): RawRouteMap {
  return {
    maxEntries: map.info.maxEntries,
    *readAll() {
      for (const [k, v] of map.entriesBatch()) {
        const kb = Buffer.alloc(burrowRouteKey.size);
        const vb = Buffer.alloc(burrowRoute.size);
        burrowRouteKey.write(k, kb, 0);
        burrowRoute.write(v, vb, 0);
        yield [kb, vb] as const;
      }
    },
    setMany(keys, values, count) {
      const entries: [BurrowRouteKey, BurrowRoute][] = [];
      for (let i = 0; i < count; i++) {
        entries.push([burrowRouteKey.read(keys, i * burrowRouteKey.size), burrowRoute.read(values, i * burrowRoute.size)]);
      }
      map.setBatch(entries);
    },
    deleteMany(keys, count) {
      const list: BurrowRouteKey[] = [];
      for (let i = 0; i < count; i++) list.push(burrowRouteKey.read(keys, i * burrowRouteKey.size));
      map.deleteBatch(list);
    },
  };
}
