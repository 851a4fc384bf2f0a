// A network namespace with a known FIB for xdp_encap's (and tc_encap's, with UPLINK_FIB) bpf_fib_lookup, and the same FIB as a
// model for the codec (EncapOptions.fib). The generated remotes are the node addresses
// 10.0.{1,2}.{1..12} (arbNodeAddress); every one of them has a known fate here:
//
//   ua  10.0.1.254/24  mac 02:b0:00:00:00:0a  mtu 1500
//       10.0.1.1–8     permanent neighbours 02:ee:00:00:01:NN      → success via ua
//       10.0.1.4/32    route with `mtu lock 1300`                 → "frag needed" above 1300
//       10.0.1.9–12    no neighbour                               → NO_NEIGH
//   ub  10.0.2.5/29    mac 02:b0:00:00:00:0b  mtu 9000
//       10.0.2.1–4     permanent neighbours 02:ee:00:00:02:NN      → success via ub (jumbo)
//       10.0.2.5       our own address (local route)              → NOT_FWDED
//       10.0.2.6       no neighbour                               → NO_NEIGH
//       10.0.2.7       the subnet broadcast                       → NOT_FWDED
//       10.0.2.8/30    via 10.0.1.1 dev ua                        → success, the gateway's MAC
//       10.0.2.12      no route at all                            → NOT_FWDED / no route
//
// Forwarding is on (bpf_fib_lookup refuses with FWD_DISABLED otherwise). The veth peers have no
// addresses. XDP test runs name the ingress device in xdp_md: 1 (lo), ua or ub; the result is
// XDP_TX when the FIB's egress is the ingress device, XDP_REDIRECT otherwise.
import { ipv4ToNumber, lookupRoute, type FibLookup, type FibQuery, type FibResult, type RouteEntry } from '../../../src/codec/index.js';
import { ifindexOf } from '../../../src/bpf/index.js';
import { addVeth, createNetns, type TestNetns } from '../../helpers/netns.js';

interface LabDevice {
  readonly name: string;
  readonly mac: string;
  readonly mtu: number;
  readonly address: string;
}

export const UA: LabDevice = { name: 'ua', mac: '02:b0:00:00:00:0a', mtu: 1500, address: '10.0.1.254/24' };
export const UB: LabDevice = { name: 'ub', mac: '02:b0:00:00:00:0b', mtu: 9000, address: '10.0.2.5/29' };

const neighbourMac = (subnet: number, host: number): string =>
  `02:ee:00:00:${subnet.toString(16).padStart(2, '0')}:${host.toString(16).padStart(2, '0')}`;

/** Permanent neighbour entries: [device, address, mac]. */
const NEIGHBOURS: [LabDevice, string, string][] = [
  ...[1, 2, 3, 4, 5, 6, 7, 8].map((h): [LabDevice, string, string] => [UA, `10.0.1.${h}`, neighbourMac(1, h)]),
  ...[1, 2, 3, 4].map((h): [LabDevice, string, string] => [UB, `10.0.2.${h}`, neighbourMac(2, h)]),
];

interface LabRoute {
  readonly device: LabDevice;
  readonly via?: string;
  /** A locked route MTU (`mtu lock N`): the FIB's MTU check uses it instead of the device's. */
  readonly mtu?: number;
}

/** The unicast routes, as an LPM table for the codec's lookupRoute (mode/remote unused). */
const ROUTES: { cidr: string; lab: LabRoute }[] = [
  { cidr: '10.0.1.0/24', lab: { device: UA } },
  { cidr: '10.0.1.4/32', lab: { device: UA, mtu: 1300 } },
  { cidr: '10.0.2.0/29', lab: { device: UB } },
  { cidr: '10.0.2.8/30', lab: { device: UA, via: '10.0.1.1' } },
];

/** Destinations the kernel routes as local or broadcast: bpf_fib_lookup answers NOT_FWDED. */
const NOT_UNICAST = new Set(['10.0.2.5', '10.0.2.7', '10.0.1.254', '10.0.1.255', '10.0.2.0', '10.0.1.0']);

export interface FibLab {
  readonly ns: TestNetns;
  /** Ingress devices a test run may name: lo (1), ua, ub. */
  readonly ingressIfindexes: readonly number[];
  readonly ifindex: Readonly<Record<'ua' | 'ub', number>>;
  /** The FIB above as the codec's model. */
  readonly fib: FibLookup;
  /** Runs synchronous code (the test runs) inside the namespace. */
  run<T>(fn: () => T): T;
  destroy(): void;
}

export function createFibLab(): FibLab {
  const ns = createNetns();
  try {
    for (const dev of [UA, UB]) {
      addVeth(ns, dev.name, `${dev.name}-peer`);
      ns.ip('link', 'set', dev.name, 'address', dev.mac, 'mtu', String(dev.mtu));
      ns.ip('addr', 'add', dev.address, 'dev', dev.name);
    }
    for (const [dev, address, mac] of NEIGHBOURS) {
      ns.ip('neigh', 'replace', address, 'lladdr', mac, 'dev', dev.name, 'nud', 'permanent');
    }
    ns.ip('route', 'add', '10.0.1.4/32', 'dev', UA.name, 'mtu', 'lock', '1300');
    ns.ip('route', 'add', '10.0.2.8/30', 'via', '10.0.1.1', 'dev', UA.name);
    ns.exec('sysctl', '-q', '-w', 'net.ipv4.conf.all.forwarding=1');
    const ifindex = ns.run(() => ({ ua: ifindexOf(UA.name), ub: ifindexOf(UB.name) }));
    const byDevice = new Map<LabDevice, number>([[UA, ifindex.ua], [UB, ifindex.ub]]);
    return {
      ns,
      ingressIfindexes: [1, ifindex.ua, ifindex.ub],
      ifindex,
      fib: (remote, query) => labFib(remote, query, byDevice),
      run: (fn) => ns.run(fn),
      destroy: () => ns.destroy(),
    };
  } catch (e) {
    ns.destroy();
    throw e;
  }
}

/** The lab routes in the codec's LPM table shape, so lookupRoute does the longest-prefix match. */
const LPM = new Map<RouteEntry, LabRoute>(ROUTES.map(({ cidr, lab }) => [
  { cidr, route: { mode: 'none', remote: '0.0.0.0', vni: 0, vtepMac: '00:00:00:00:00:00', flags: 0, pool: 0 } },
  lab,
]));
const LPM_TABLE = [...LPM.keys()];

/** bpf_ipv4_fib_lookup's answer in the lab: route type, MTU check (FRAG_NEEDED), then the neighbour (NO_NEIGH). */
function labFib(remote: string, query: FibQuery, ifindexOf: ReadonlyMap<LabDevice, number>): FibResult {
  if (NOT_UNICAST.has(remote)) return { result: 'fail' };
  const match = lookupRoute(LPM_TABLE, ipv4ToNumber(remote));
  const route = match && LPM.get(match);
  if (!route) return { result: 'fail' };
  if (query.totLen > (route.mtu ?? route.device.mtu)) return { result: 'frag-needed' };
  const nextHop = route.via ?? remote;
  const neighbour = NEIGHBOURS.find(([dev, address]) => dev === route.device && address === nextHop);
  if (!neighbour) return { result: 'no-neigh', ifindex: ifindexOf.get(route.device) ?? 0 };
  return { result: 'success', ifindex: ifindexOf.get(route.device) ?? 0, smac: route.device.mac, dmac: neighbour[2] };
}

/** Which branch of the lab's FIB a remote takes (for coverage: every branch must be reached). */
export type LabFate = 'neighbour on ua' | 'neighbour on ub' | 'locked MTU' | 'via gateway' | 'no neighbour' | 'local or broadcast' | 'no route';

export const LAB_FATES: readonly LabFate[] = [
  'neighbour on ua', 'neighbour on ub', 'locked MTU', 'via gateway', 'no neighbour', 'local or broadcast', 'no route',
];

export function labFate(remote: string): LabFate {
  if (NOT_UNICAST.has(remote)) return 'local or broadcast';
  const match = lookupRoute(LPM_TABLE, ipv4ToNumber(remote));
  const route = match && LPM.get(match);
  if (!route) return 'no route';
  if (route.via) return 'via gateway';
  if (!NEIGHBOURS.some(([dev, address]) => dev === route.device && address === remote)) return 'no neighbour';
  if (route.mtu) return 'locked MTU';
  return route.device === UA ? 'neighbour on ua' : 'neighbour on ub';
}
