// The codec's view of the maps (NodeConfig, RouteTable, PeerMap) written into a program's real
// maps. The writer remembers what it wrote and only sends the difference (deletes and updates in
// batches), so consecutive cases against the same tables cost no syscalls at all, and a case
// never sees an entry left over from the one before.
import { encode, burrowConfig, burrowPeer, burrowRoute, type BurrowConfig, type BurrowPeer, type BurrowRoute, type BurrowRouteKey } from '../../../src/bpf/index.js';
import {
  BURROW_MODE, effectiveRoutes, numberToIpv4, parseCidr, peerModeBits, ZERO_MAC,
  type NodeConfig, type Peer, type PeerMap, type RouteTable, type TunnelMode, type TunnelRoute,
} from '../../../src/codec/index.js';
import type { ProgramUnderTest } from './datapath.js';

/**
 * A route mode burrow.h does not define, for the cases that check such a route passes: the codec
 * passes any unknown mode name; the map gets `value`.
 */
export function undefinedMode(value: number): TunnelMode {
  return `mode${value}` as TunnelMode;
}

export function modeValue(mode: TunnelMode): number {
  const known = (BURROW_MODE as Record<string, number>)[mode];
  if (known !== undefined) return known;
  const m = /^mode(\d+)$/.exec(mode);
  if (m?.[1] !== undefined) return Number(m[1]);
  throw new RangeError(`route mode "${mode}" has no map value (use undefinedMode(n) for an undefined one)`);
}

export function routeKeyOf(cidr: string): BurrowRouteKey {
  const slash = cidr.indexOf('/');
  return { prefixlen: Number(cidr.slice(slash + 1)), addr: cidr.slice(0, slash) };
}

export function routeValueOf(route: TunnelRoute): BurrowRoute {
  return {
    mode: modeValue(route.mode),
    flags: route.flags,
    pool: route.pool,
    remote: route.remote,
    vni: route.vni,
    vtep_mac: route.vtepMac,
  };
}

export function peerValueOf(peer: Peer): BurrowPeer {
  return { modes: peerModeBits(peer), vni: peer.vni };
}

export function configValueOf(config: NodeConfig): BurrowConfig {
  return {
    local_ip: config.localIp,
    uplink_ifindex: config.uplinkIfindex,
    uplink_mac: config.uplinkMac,
    vtep_mac: config.vtepMac,
    vxlan_port: config.vxlanPort,
    ttl: config.ttl,
    default_vni: config.defaultVni,
    uplink_mtu: config.uplinkMtu,
    flags: config.flags,
    mss_ipip: config.mssIpip ?? 0,
    mss_vxlan: config.mssVxlan ?? 0,
    gro_ifindex: config.groIfindex ?? 0,
    tunnel_mac: config.tunnelMac ?? ZERO_MAC,
  };
}

/** Where an LPM entry lives: its masked network and prefix length (host bits do not count). */
function trieSlot(cidr: string): string {
  const c = parseCidr(cidr);
  return `${numberToIpv4(c.network)}/${c.prefixLength}`;
}

export interface TableWrites {
  /** Map updates and deletes sent by the last call (0: the maps already held the tables). */
  readonly changes: number;
}

export class TableWriter {
  private readonly routes = new Map<string, { key: BurrowRouteKey; bytes: string }>();
  private readonly peers = new Map<string, string>();
  private config: string | undefined;
  // The table objects written last: tables are immutable values, so the same object again (every
  // frame of a fuzz batch) needs neither encoding nor comparing.
  private lastConfig: NodeConfig | undefined;
  private lastRoutes: RouteTable | undefined;
  private lastPeers: PeerMap | undefined;

  constructor(private readonly target: ProgramUnderTest) {}

  writeConfig(config: NodeConfig): TableWrites {
    if (config === this.lastConfig) return { changes: 0 };
    this.lastConfig = undefined;
    const value = configValueOf(config);
    const bytes = encode(burrowConfig, value).toString('hex');
    if (bytes === this.config) {
      this.lastConfig = config;
      return { changes: 0 };
    }
    this.target.config.set(0, value);
    this.config = bytes;
    this.lastConfig = config;
    return { changes: 1 };
  }

  /** The table as the trie holds it: one entry per slot, the last one written (effectiveRoutes). */
  writeRoutes(table: RouteTable): TableWrites {
    if (table === this.lastRoutes) return { changes: 0 };
    this.lastRoutes = undefined;
    const wanted = new Map<string, { key: BurrowRouteKey; value: BurrowRoute; bytes: string }>();
    for (const entry of effectiveRoutes(table)) {
      const value = routeValueOf(entry.route);
      wanted.set(trieSlot(entry.cidr), { key: routeKeyOf(entry.cidr), value, bytes: encode(burrowRoute, value).toString('hex') });
    }
    const stale = [...this.routes].filter(([slot]) => !wanted.has(slot));
    const changed = [...wanted].filter(([slot, w]) => this.routes.get(slot)?.bytes !== w.bytes);
    if (stale.length) this.target.routes.deleteBatch(stale.map(([, r]) => r.key));
    for (const [slot] of stale) this.routes.delete(slot);
    if (changed.length) this.target.routes.setBatch(changed.map(([, w]) => [w.key, w.value] as const));
    for (const [slot, w] of changed) this.routes.set(slot, { key: w.key, bytes: w.bytes });
    this.lastRoutes = table;
    return { changes: stale.length + changed.length };
  }

  writePeers(peers: PeerMap): TableWrites {
    if (peers === this.lastPeers) return { changes: 0 };
    this.lastPeers = undefined;
    const wanted = new Map<string, { value: BurrowPeer; bytes: string }>();
    for (const [address, peer] of peers) {
      const value = peerValueOf(peer);
      wanted.set(address, { value, bytes: encode(burrowPeer, value).toString('hex') });
    }
    const stale = [...this.peers.keys()].filter((a) => !wanted.has(a));
    const changed = [...wanted].filter(([a, w]) => this.peers.get(a) !== w.bytes);
    if (stale.length) this.target.peers.deleteBatch(stale);
    for (const a of stale) this.peers.delete(a);
    if (changed.length) this.target.peers.setBatch(changed.map(([a, w]) => [a, w.value] as const));
    for (const [a, w] of changed) this.peers.set(a, w.bytes);
    this.lastPeers = peers;
    return { changes: stale.length + changed.length };
  }
}
