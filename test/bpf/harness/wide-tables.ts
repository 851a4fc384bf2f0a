// Map values across the whole range of their C types (burrow.h), beyond what the control plane
// writes today: VNIs wider than 24 bits, any port, MTU and TTL, route modes burrow.h does not
// define, peer mode bits that mean nothing. The datapath's answer to them is part of the contract
// too (docs/datapath.md: "its low 24 bits", "a value burrow.h does not define"), so one batch in
// eight of the fuzz campaign takes its tables from here.
import fc from 'fast-check';

import type { NodeConfig, Peer, RouteEntry, TunnelMode } from '../../../src/codec/index.js';
import { undefinedMode } from './tables.js';

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.oneof(fc.constantFrom(0, 1, 14, 20, 50, 0xffff), fc.integer({ min: 0, max: 0xffff }));
const u32 = fc.oneof(fc.constantFrom(0, 1, 0xffffff, 0x1000000, 0xffffffff), fc.integer({ min: 0, max: 0xffffffff }));

export interface WideConfig {
  readonly vxlanPort: number;
  readonly ttl: number;
  readonly defaultVni: number;
  readonly uplinkMtu: number;
  readonly flags: number;
  readonly mssIpip: number;
  readonly mssVxlan: number;
}

export interface WideRoute {
  readonly mode: TunnelMode;
  readonly vni: number;
  readonly flags: number;
  readonly pool: number;
}

export interface WidePeer {
  readonly modes: number;
  readonly vni: number;
}

/** Per table: the config's numbers, and per entry either new values or null (left as generated). */
export interface WideTables {
  readonly config: WideConfig;
  readonly routes: (WideRoute | null)[];
  readonly peers: (WidePeer | null)[];
}

export function arbWideTables(): fc.Arbitrary<WideTables> {
  const mode = fc.oneof(fc.constantFrom<TunnelMode>('ipip', 'vxlan', 'none'), fc.integer({ min: 3, max: 0xff }).map(undefinedMode));
  return fc.record({
    config: fc.record({ vxlanPort: u16, ttl: u8, defaultVni: u32, uplinkMtu: u16, flags: u32, mssIpip: u16, mssVxlan: u16 }),
    routes: fc.array(fc.option(fc.record({ mode, vni: u32, flags: u8, pool: u16 }), { freq: 2 }), { minLength: 1, maxLength: 4 }),
    peers: fc.array(fc.option(fc.record({ modes: u8, vni: u32 }), { freq: 2 }), { minLength: 1, maxLength: 4 }),
  });
}

/** Wide tables for one batch in eight, null (the generated tables as they are) otherwise. */
export function arbMaybeWideTables(): fc.Arbitrary<WideTables | null> {
  return fc.oneof({ weight: 7, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arbWideTables() });
}

export function widenConfig(config: NodeConfig, wide: WideTables | null): NodeConfig {
  return wide ? { ...config, ...wide.config } : config;
}

export function widenRoutes(routes: RouteEntry[], wide: WideTables | null): RouteEntry[] {
  if (!wide) return routes;
  return routes.map((entry, i) => {
    const w = wide.routes[i % wide.routes.length];
    return w ? { cidr: entry.cidr, route: { ...entry.route, ...w } } : entry;
  });
}

export function widenPeers(peers: [string, Peer][], wide: WideTables | null): [string, Peer][] {
  if (!wide) return peers;
  return peers.map(([address, peer], i) => [address, wide.peers[i % wide.peers.length] ?? peer]);
}
