// Shared values for the codec tests: a node, its routes and peers, and byte helpers.
import { buildTcpFrame, ETH_HLEN, peerMap, type RouteEntry, type TcpFrameFields } from '../../../src/codec/index.js';
import { NODE_A, tunnelRoute as route } from '../../helpers/codec-node.js';

/** node-a of the lab (test/helpers/codec-node.ts); `route(mode, remote, extra)` makes a tunnel route. */
export { NODE_A, route };

export function fromHex(text: string): Uint8Array {
  const clean = text.replace(/[^0-9a-fA-F]/g, '');
  return Uint8Array.from(clean.match(/../g) ?? [], (b) => parseInt(b, 16));
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

export const NODE_B_IP = '10.0.1.11';
export const NODE_C_IP = '10.0.2.10';

/** node-a's view: node-b's block over VXLAN, node-c's over IPIP, a direct block, the node subnet. */
export const ROUTES: RouteEntry[] = [
  { cidr: '10.244.2.0/26', route: route('vxlan', NODE_B_IP) },
  { cidr: '10.244.3.0/26', route: route('ipip', NODE_C_IP) },
  { cidr: '10.244.4.0/26', route: route('none', NODE_B_IP) },
  { cidr: '10.0.0.0/8', route: route('ipip', NODE_C_IP) },
];

/** node-a accepts IPIP and VXLAN (VNI 4096) from node-b, IPIP only from node-c. */
export const PEERS = peerMap([
  [NODE_B_IP, { modes: new Set(['ipip', 'vxlan'] as const), vni: 4096 }],
  [NODE_C_IP, { modes: new Set(['ipip'] as const), vni: 4096 }],
]);

/** A pod-to-pod TCP frame (10.244.1.5 → 10.244.2.7 by default, DF set, ECT(0)). */
export function podTcp(fields: Partial<TcpFrameFields> = {}): Uint8Array {
  return buildTcpFrame({
    src: '10.244.1.5', dst: '10.244.2.7', sport: 40000, dport: 80, ttl: 64, df: true, ecn: 2,
    payload: new TextEncoder().encode('hello burrow'), ...fields,
  });
}

/** The IPv4 packet of a frame. */
export function ipPart(frame: Uint8Array): Uint8Array {
  return frame.slice(ETH_HLEN);
}
