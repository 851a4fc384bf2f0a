// What an underlay capture must show when pod traffic is tunnelled: every packet that carries a
// pod address carries it only inside a tunnel (IPIP, or VXLAN to the configured port and VNI)
// whose outer addresses are node addresses. Pure: takes captured packets, returns the violations.
import type { CapturedPacket } from './traffic.js';
import { cidrContains } from './topology.js';

export interface UnderlayExpectation {
  podCidr: string;
  nodeAddresses: readonly string[];
  mode: 'ipip' | 'vxlan';
  vxlanPort?: number;
  vni?: number;
}

export interface UnderlaySummary {
  /** Packets with a pod address inside a well-formed tunnel between nodes. */
  tunnelled: number;
  /** Packets that carry a pod address any other way (bare, or in a wrong tunnel). */
  violations: CapturedPacket[];
}

export function checkUnderlay(packets: readonly CapturedPacket[], e: UnderlayExpectation): UnderlaySummary {
  const isPod = (a: string | undefined) => a !== undefined && cidrContains(e.podCidr, a);
  const isNode = (a: string | undefined) => a !== undefined && e.nodeAddresses.includes(a);
  let tunnelled = 0;
  const violations: CapturedPacket[] = [];
  for (const p of packets) {
    if (!p.src.some(isPod) && !p.dst.some(isPod)) continue;
    const outerOk = isNode(p.src[0]) && isNode(p.dst[0]) && p.src.length >= 2 && isPod(p.src[1]) && isPod(p.dst[1]);
    const tunnelOk =
      e.mode === 'ipip'
        ? p.proto[0] === 4
        : p.proto[0] === 17 && p.udpDstPort === (e.vxlanPort ?? 4789) && p.vni === (e.vni ?? 4096);
    if (outerOk && tunnelOk) tunnelled++;
    else violations.push(p);
  }
  return { tunnelled, violations };
}

/** A one-line rendering of a captured packet, for failure messages. */
export function describePacket(p: CapturedPacket): string {
  const layers = p.src.map((s, i) => `${s}>${p.dst[i] ?? '?'} proto ${p.proto[i] ?? '?'}`).join(' | ');
  return `${layers}${p.udpDstPort !== undefined ? ` udp dport ${p.udpDstPort}` : ''}${p.vni !== undefined ? ` vni ${p.vni}` : ''}`;
}
