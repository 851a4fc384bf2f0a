// Spoofing (issue 5, h; seed 001: "an open decapsulator bypasses firewalls"): IPIP to node-a from
// an address that is not a peer, and VXLAN from a peer with a wrong VNI (or from a non-peer), are
// dropped and counted, and nothing reaches the pod. The same packets from a real peer with the
// right VNI do reach it, which shows the crafted packets are otherwise good.
import type { ExecutionContext } from 'ava';

import type { Lab } from '../../src/lab/lab.js';
import { sh } from '../../src/lab/sh.js';
import { counters, labWithAgents } from '../helpers/lab.js';
import { privileged } from '../helpers/privileged.js';

// Builds IPv4/ICMP echo packets and sends them as IPIP (raw socket, any outer source) or VXLAN (UDP).
const CRAFT = String.raw`
import socket, struct, sys
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def ip(src, dst, proto, payload):
    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0, socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack('!H', csum(h)) + h[12:] + payload
mode, outer_src, outer_dst, inner_src, inner_dst, vni, count = sys.argv[1:8]
for seq in range(int(count)):
    icmp = struct.pack('!BBHHH', 8, 0, 0, 0x4242, seq) + b'burrow-spoof-test'
    icmp = icmp[:2] + struct.pack('!H', csum(icmp)) + icmp[4:]
    inner = ip(inner_src, inner_dst, 1, icmp)
    if mode == 'ipip':
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        s.sendto(ip(outer_src, outer_dst, 4, inner), (outer_dst, 0))
    else:
        eth = bytes.fromhex('66aabbccddee') + bytes.fromhex('020000000001') + b'\x08\x00'
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(struct.pack('!II', 0x08000000, int(vni) << 8) + eth + inner, (outer_dst, 4789))
`;

function send(lab: Lab, fromNs: string, mode: 'ipip' | 'vxlan', outerSrc: string, innerSrc: string, vni: number, count = 5): void {
  const a = lab.node('node-a');
  sh(['ip', 'netns', 'exec', fromNs, 'python3', '-c', CRAFT, mode, outerSrc, a.address, innerSrc, lab.pod('node-a').address, String(vni), String(count)]);
}

/** ICMP echo requests the pod has received (its /proc/net/snmp). */
function podEchoes(lab: Lab): number {
  const snmp = sh(['ip', 'netns', 'exec', lab.pod('node-a').ns, 'cat', '/proc/net/snmp']).split('\n').filter((l) => l.startsWith('Icmp:'));
  const names = snmp[0]!.split(/\s+/);
  return Number(snmp[1]!.split(/\s+/)[names.indexOf('InEchos')]);
}

async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 200));
}

function expectDropped(t: ExecutionContext, lab: Lab, counter: string, send: () => void, what: string): Promise<void> {
  const before = counters(lab, 'node-a');
  const echoes = podEchoes(lab);
  send();
  return settle().then(() => {
    const after = counters(lab, 'node-a');
    t.is(after[counter]! - before[counter]!, 5, `${what}: ${counter} counted every packet`);
    t.is(podEchoes(lab), echoes, `${what}: nothing reached the pod`);
  });
}

function expectDelivered(t: ExecutionContext, lab: Lab, counter: string, send: () => void, what: string): Promise<void> {
  const before = counters(lab, 'node-a');
  const echoes = podEchoes(lab);
  send();
  return settle().then(() => {
    t.is(counters(lab, 'node-a')[counter]! - before[counter]!, 5, `${what}: ${counter}`);
    t.is(podEchoes(lab) - echoes, 5, `${what}: the pod got the echo requests`);
  });
}

privileged.serial('IPIP from a non-peer address is dropped and counted; the same from a peer is delivered', async (t) => {
  const { lab } = await labWithAgents(t, { pool: { ipipMode: 'Always' } });
  const b = lab.node('node-b');
  await expectDropped(t, lab, 'drop_unknown_peer',
    () => send(lab, lab.routerNs, 'ipip', '10.0.1.1', lab.pod('node-c').address, 0), 'IPIP from the router (10.0.1.1)');
  await expectDelivered(t, lab, 'decap_ipip',
    () => send(lab, b.ns, 'ipip', b.address, lab.pod('node-b').address, 0), 'IPIP from node-b');
});

privileged.serial('VXLAN with a wrong VNI, or from a non-peer, is dropped and counted; the right VNI from a peer is delivered', async (t) => {
  const { lab } = await labWithAgents(t, { pool: { vxlanMode: 'Always' } });
  const b = lab.node('node-b');
  const podB = lab.pod('node-b').address;
  await expectDropped(t, lab, 'drop_bad_vni', () => send(lab, b.ns, 'vxlan', b.address, podB, 999), 'VNI 999 from node-b');
  await expectDropped(t, lab, 'drop_unknown_peer', () => send(lab, lab.routerNs, 'vxlan', '10.0.1.1', podB, 4096), 'VNI 4096 from the router');
  await expectDelivered(t, lab, 'decap_vxlan', () => send(lab, b.ns, 'vxlan', b.address, podB, 4096), 'VNI 4096 from node-b');
});
