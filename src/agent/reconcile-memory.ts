/**
 * In-memory maps with the reconciler's map interface: what `agentctl plan` diffs against when
 * nothing is pinned yet (everything is an addition), and the fake the reconcile tests run the same
 * code against. Keys are identified the way the kernel does (routes by masked prefix), values
 * are copied in and out like the kernel copies bytes, and capacity is enforced.
 */
import type { BurrowConfig, BurrowPeer, BurrowRoute, BurrowRouteKey } from '../bpf/index.js';
import { ZERO_MAC } from '../codec/address.js';
import { BURROW_PEERS_MAX, BURROW_ROUTES_MAX } from '../generated/burrow-h.js';
import { canonicalRouteKey } from './plan.js';
import type { ReconcileMap, ReconcileMaps } from './reconcile.js';

export class MemoryMapError extends Error {
  override readonly name = 'MemoryMapError';
  constructor(
    message: string,
    readonly code: 'ENOENT' | 'E2BIG',
  ) {
    super(message);
  }
}

export class MemoryMap<K, V> implements ReconcileMap<K, V> {
  private readonly items = new Map<string, [K, V]>();

  constructor(
    readonly info: { readonly maxEntries: number; readonly name: string },
    private readonly identify: (key: K) => string,
    /** What get() returns for a key never written (arrays: a zeroed value); default undefined. */
    private readonly unset?: () => V,
  ) {}

  get size(): number {
    return this.items.size;
  }

  entriesBatch(): [K, V][] {
    return [...this.items.values()].map(([k, v]) => [structuredClone(k), structuredClone(v)]);
  }

  get(key: K): V | undefined {
    const hit = this.items.get(this.identify(key));
    return hit ? structuredClone(hit[1]) : this.unset?.();
  }

  set(key: K, value: V): void {
    const id = this.identify(key);
    if (!this.items.has(id) && this.items.size >= this.info.maxEntries) {
      throw new MemoryMapError(`map '${this.info.name}' is full (${this.info.maxEntries} entries)`, 'E2BIG');
    }
    this.items.set(id, [structuredClone(key), structuredClone(value)]);
  }

  setBatch(entries: Iterable<readonly [K, V]>): number {
    let n = 0;
    for (const [k, v] of entries) {
      this.set(k, v);
      n++;
    }
    return n;
  }

  deleteBatch(keys: Iterable<K>): number {
    let n = 0;
    for (const k of keys) {
      if (!this.items.delete(this.identify(k))) {
        throw new MemoryMapError(`map '${this.info.name}': no entry for ${this.identify(k)}`, 'ENOENT');
      }
      n++;
    }
    return n;
  }
}

export const ZERO_CONFIG: BurrowConfig = {
  local_ip: '0.0.0.0', uplink_ifindex: 0, uplink_mac: ZERO_MAC, vtep_mac: ZERO_MAC,
  vxlan_port: 0, ttl: 0, default_vni: 0, uplink_mtu: 0, flags: 0, mss_ipip: 0, mss_vxlan: 0,
  gro_ifindex: 0, tunnel_mac: ZERO_MAC,
};

export interface MemoryDatapathMaps extends ReconcileMaps {
  routes: MemoryMap<BurrowRouteKey, BurrowRoute>;
  peers: MemoryMap<string, BurrowPeer>;
  config: MemoryMap<number, BurrowConfig>;
}

/** Empty maps shaped like the datapath's (burrow.h's BURROW_ROUTES_MAX, BURROW_PEERS_MAX: maps.h's max_entries). */
export function memoryDatapathMaps(max: { routes?: number; peers?: number } = {}): MemoryDatapathMaps {
  return {
    routes: new MemoryMap({ name: 'routes', maxEntries: max.routes ?? BURROW_ROUTES_MAX }, canonicalRouteKey),
    peers: new MemoryMap({ name: 'peers', maxEntries: max.peers ?? BURROW_PEERS_MAX }, (k: string) => k),
    config: new MemoryMap({ name: 'config', maxEntries: 1 }, (k: number) => String(k), () => ({ ...ZERO_CONFIG })),
  };
}
