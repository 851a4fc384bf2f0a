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
      scan: (each) => routes.scanRaw(each, { batchSize: 4096 }),
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
    scan(each) {
      const rows = map.entriesBatch();
      const keys = Buffer.alloc(rows.length * burrowRouteKey.size);
      const values = Buffer.alloc(rows.length * burrowRoute.size);
      rows.forEach(([k, v], i) => {
        burrowRouteKey.write(k, keys, i * burrowRouteKey.size);
        burrowRoute.write(v, values, i * burrowRoute.size);
      });
      if (rows.length > 0) each(keys, values, rows.length);
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
