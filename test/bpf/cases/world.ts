// The node, routes and peers every table case runs against (unless a case says otherwise), and the
// frames they start from. Remotes are chosen for the xdp_encap FIB lab (harness/fib-lab.ts):
// 10.0.1.2 and 10.0.2.2/10.0.2.3 have neighbours on ua/ub, 10.0.1.9 has none, 10.0.2.12 has no
// route, 10.0.1.4 has a locked route MTU of 1300, 10.0.2.9 is reached via the gateway 10.0.1.1.
import {
  BURROW_ROUTE_FLAG, buildIpipFrame, buildTcpFrame, buildVxlanFrame, peerMap,
  type IpipFrameFields, type NodeConfig, type RouteEntry, type TcpFrameFields, type VxlanFrameFields,
} from '../../../src/codec/index.js';
import { NODE_A, VTEP_B, tunnelRoute as route } from '../../helpers/codec-node.js';
import { undefinedMode } from '../harness/tables.js';

/** node-a of the lab (test/helpers/codec-node.ts, as the codec's unit tests use it). */
export const NODE: NodeConfig = NODE_A;
const NODE_A_IP = NODE_A.localIp;

export { VTEP_B };
export const VTEP_C = '66:00:00:00:00:0c';

export const ROUTES: RouteEntry[] = [
  { cidr: '10.244.2.0/26', route: route('vxlan', '10.0.1.2') },
  { cidr: '10.244.3.0/26', route: route('ipip', '10.0.2.2') },
  { cidr: '10.244.4.0/26', route: route('none', '10.0.1.2') },
  { cidr: '10.244.5.0/26', route: route('vxlan', '10.0.2.3', { vni: 77, vtepMac: VTEP_C }) },
  { cidr: '10.244.6.0/26', route: route('ipip', '10.0.1.9') },
  { cidr: '10.244.7.0/26', route: route('ipip', '10.0.2.12') },
  { cidr: '10.244.8.0/26', route: route('ipip', '10.0.1.4') },
  { cidr: '10.244.9.0/26', route: route('vxlan', '10.0.2.9') },
  { cidr: '10.244.10.0/24', route: route(undefinedMode(3), '10.0.1.2') },
  { cidr: '10.0.0.0/8', route: route('ipip', '10.0.2.2') },
];

/** FIB answers of the lab, as the expected outputs need them. */
export const LAB = {
  ua: { smac: '02:b0:00:00:00:0a' },
  ub: { smac: '02:b0:00:00:00:0b' },
  neighbour: (address: string): string => {
    const [, , subnet, host] = address.split('.').map(Number);
    return `02:ee:00:00:${(subnet ?? 0).toString(16).padStart(2, '0')}:${(host ?? 0).toString(16).padStart(2, '0')}`;
  },
} as const;

/** node-b sends us both tunnels with VNI 4096; node-c only IPIP; node-d only VXLAN, VNI 77. */
export const NODE_B = '10.0.1.11';
export const NODE_C = '10.0.2.10';
export const NODE_D = '10.0.1.12';
export const STRANGER = '10.0.1.66';

export const PEERS = peerMap([
  [NODE_B, { modes: new Set(['ipip', 'vxlan'] as const), vni: 4096 }],
  [NODE_C, { modes: new Set(['ipip'] as const), vni: 4096 }],
  [NODE_D, { modes: 2, vni: 77 }],
]);

/**
 * The decap cases' routes, as the compiler writes them for node-a: the pool 10.244.0.0/16, our
 * block 10.244.1.0/26 (LOCAL, remote = us), node-b's 10.244.2.0/26 and (not tunnelled, a
 * same-subnet block) 10.244.4.0/26, node-c's 10.244.3.0/26 and a /32 of node-c's inside node-b's
 * block (longest prefix wins), node-d's 10.244.5.0/26, and a route outside every pool.
 */
const IN_POOL = BURROW_ROUTE_FLAG.IN_POOL;
export const POOL_CIDR = '10.244.0.0/16';
export const DECAP_ROUTES: RouteEntry[] = [
  { cidr: POOL_CIDR, route: route('none', '0.0.0.0', { flags: IN_POOL, vtepMac: '00:00:00:00:00:00' }) },
  { cidr: '10.244.1.0/26', route: route('none', NODE_A_IP, { flags: IN_POOL | BURROW_ROUTE_FLAG.LOCAL }) },
  { cidr: '10.244.2.0/26', route: route('ipip', '10.0.1.11', { flags: IN_POOL }) },
  { cidr: '10.244.2.50/32', route: route('ipip', '10.0.2.10', { flags: IN_POOL }) },
  { cidr: '10.244.3.0/26', route: route('ipip', '10.0.2.10', { flags: IN_POOL }) },
  { cidr: '10.244.4.0/26', route: route('none', '10.0.1.11', { flags: IN_POOL | BURROW_ROUTE_FLAG.SAME_SUBNET }) },
  { cidr: '10.244.5.0/26', route: route('vxlan', '10.0.1.12', { flags: IN_POOL, vni: 77 }) },
  { cidr: '172.31.0.0/16', route: route('ipip', '10.0.1.11') },
];

export const PAYLOAD = new TextEncoder().encode('hello burrow');

/** A pod-to-pod TCP frame, 10.244.1.5:40000 → 10.244.2.7:80 unless overridden; DF, ECT(0), TTL 64. */
export function podTcp(fields: Partial<TcpFrameFields> = {}): Uint8Array {
  return buildTcpFrame({
    src: '10.244.1.5', dst: '10.244.2.7', sport: 40000, dport: 80, ttl: 64, df: true, ecn: 2,
    ethSrc: '02:00:00:00:01:05', ethDst: '02:00:00:00:0a:02', payload: PAYLOAD, ...fields,
  });
}

/** A frame of exactly `ipLength` bytes of IPv4 (TCP, DF) to `dst`. */
export function sizedTcp(dst: string, ipLength: number, fields: Partial<TcpFrameFields> = {}): Uint8Array {
  return podTcp({ dst, payload: new Uint8Array(ipLength - 40).fill(0xab), ...fields });
}

/** The inner packet the decap cases carry: the reply direction of podTcp, ECT(0). */
export function innerPacket(fields: Partial<TcpFrameFields> = {}): Uint8Array {
  return podTcp({ src: '10.244.2.7', dst: '10.244.1.5', sport: 80, dport: 40000, ...fields }).slice(14);
}

export function ipipToUs(fields: Partial<IpipFrameFields> = {}): Uint8Array {
  return buildIpipFrame({
    src: NODE_B, dst: NODE.localIp, ethDst: NODE.uplinkMac, ethSrc: '02:00:00:00:0b:01', id: 0x1234,
    inner: innerPacket(), ...fields,
  });
}

export function vxlanToUs(fields: Partial<VxlanFrameFields> = {}): Uint8Array {
  return buildVxlanFrame({
    src: NODE_B, dst: NODE.localIp, ethDst: NODE.uplinkMac, ethSrc: '02:00:00:00:0b:01', id: 0x1234, sport: 51000,
    vni: 4096, innerEthDst: NODE.vtepMac, innerEthSrc: VTEP_B, inner: innerPacket(), ...fields,
  });
}

export function withBytes(frame: Uint8Array, edits: Record<number, number>): Uint8Array {
  const out = frame.slice();
  for (const [at, value] of Object.entries(edits)) out[Number(at)] = value;
  return out;
}

/** A 4-byte 802.1Q/802.1ad tag inserted after the MAC addresses. */
export function tagged(frame: Uint8Array, tpid: number, tci = 0x0064): Uint8Array {
  const out = new Uint8Array(frame.length + 4);
  out.set(frame.subarray(0, 12), 0);
  out.set([tpid >>> 8, tpid & 0xff, tci >>> 8, tci & 0xff], 12);
  out.set(frame.subarray(12), 16);
  return out;
}
