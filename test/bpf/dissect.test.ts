// tshark, an independent decoder, reads what the real programs output. A few hundred generated
// frames go through tc_encap, xdp_encap (in the FIB lab), tc_decap and xdp_decap; their outputs are
// written to a pcap file and dissected: encapsulated frames must carry valid outer IPv4 checksums,
// protocol 4 or UDP to the configured VXLAN port with the I flag and the route's VNI, outer and
// inner addresses as sent, and lengths that add up; decapsulated frames must be valid IPv4 with a
// correct header checksum and the inner addresses that were sent.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';

import { arbDecapScenario, arbEncapScenario } from '../arbitraries/index.js';
import { readIpv4, type Hook } from '../../src/codec/index.js';
import { privileged } from '../helpers/privileged.js';
import { checksum } from './cases/expected.js';
import { ProgramUnderTest } from './harness/datapath.js';
import { DifferentialRunner, assertAgreement } from './harness/differential.js';
import { createFibLab, type FibLab } from './harness/fib-lab.js';
import { pcapFile } from './harness/pcap.js';
import { propertySeed } from './harness/property.js';
import { CHECKSUM_BAD, CHECKSUM_GOOD, dissect } from './harness/tshark.js';

const PER_PROGRAM = 150;
/** Configured VXLAN ports the samples use: below the source port range, so tshark tries them first. */
const PORTS = [4789, 8472];

interface Sent {
  readonly program: string;
  readonly output: Uint8Array;
  readonly mode: 'ipip' | 'vxlan';
  readonly local: string;
  readonly remote: string;
  readonly vni: number;
  readonly port: number;
  readonly innerSrc: string;
  readonly innerDst: string;
  /** The inner header checksum as sent (encap must not change it). */
  readonly innerChecksumValid: boolean;
}

interface Decapsulated {
  readonly program: string;
  readonly output: Uint8Array;
  readonly innerSrc: string;
  readonly innerDst: string;
}

const runners = new Map<string, DifferentialRunner>();
let lab: FibLab;
let workdir: string;
const seed = propertySeed();

// tshark is installed by scripts/setup.sh: its absence is a broken install, not a reason to skip.
const register = privileged.serial;

privileged.before(() => {
  lab = createFibLab();
  for (const name of ['tc_encap', 'xdp_encap', 'tc_decap', 'xdp_decap'] as const) runners.set(name, new DifferentialRunner(ProgramUnderTest.load(name)));
  workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'burrow-dissect-'));
});
privileged.afterAlways(() => {
  for (const r of runners.values()) r.target.close();
  lab?.destroy();
  if (workdir) fs.rmSync(workdir, { recursive: true, force: true });
});

function encapOutputs(name: 'tc_encap' | 'xdp_encap'): Sent[] {
  const runner = runners.get(name) as DifferentialRunner;
  const hook: Hook = name === 'tc_encap' ? 'tc' : 'xdp';
  const arb = fc.tuple(arbEncapScenario({ hook, testRunnable: true, fib: lab.fib }), fc.constantFrom(...lab.ingressIfindexes));
  const sent: Sent[] = [];
  lab.run(() => {
    for (const [s, ingressIfindex] of fc.sample(arb, { numRuns: 20 * PER_PROGRAM, seed })) {
      if (sent.length >= PER_PROGRAM) break;
      // Whole inner headers only (junk and cut frames have nothing for tshark to check inside).
      if (s.kind === 'truncated' || s.kind === 'junk' || !PORTS.includes(s.config.vxlanPort)) continue;
      const outcome = runner.checkEncap(s.frame, { ...s.options, ingressIfindex });
      assertAgreement({ program: name, frame: s.frame, config: s.config, routes: s.routes, ingressIfindex }, outcome);
      const route = outcome.model.counter.startsWith('ENCAP') ? (outcome.model as { route?: { route: { remote: string; vni: number; mode: string } } }).route?.route : undefined;
      if (!route) continue;
      sent.push({
        program: name, output: outcome.bpf.output, mode: route.mode as 'ipip' | 'vxlan', local: s.config.localIp, remote: route.remote,
        vni: route.vni !== 0 ? route.vni : s.config.defaultVni, port: s.config.vxlanPort,
        innerSrc: readIpv4(s.frame, 26), innerDst: readIpv4(s.frame, 30),
        innerChecksumValid: checksum(s.frame, 14, 14 + ((s.frame[14] ?? 0) & 0x0f) * 4) === 0,
      });
    }
  });
  return sent;
}

function decapOutputs(name: 'tc_decap' | 'xdp_decap'): Decapsulated[] {
  const runner = runners.get(name) as DifferentialRunner;
  const hook: Hook = name === 'tc_decap' ? 'tc' : 'xdp';
  const out: Decapsulated[] = [];
  for (const s of fc.sample(arbDecapScenario({ hook, testRunnable: true }), { numRuns: 40 * PER_PROGRAM, seed })) {
    if (out.length >= PER_PROGRAM) break;
    const outcome = runner.checkDecap(s.frame, s.options);
    assertAgreement({ program: name, frame: s.frame, config: s.config, peers: s.peers, routes: s.routes }, outcome);
    const output = outcome.bpf.output;
    // Only complete inner headers: tshark cannot verify a checksum over options that were cut off.
    if (!outcome.model.counter.startsWith('DECAP') || output.length < 14 + ((output[14] ?? 0) & 0x0f) * 4) continue;
    out.push({ program: name, output, innerSrc: readIpv4(output, 26), innerDst: readIpv4(output, 30) });
  }
  return out;
}

const ENCAP_FIELDS = ['frame.number', 'eth.type', 'ip.checksum.status', 'ip.proto', 'ip.len', 'ip.src', 'ip.dst', 'udp.dstport', 'udp.length', 'udp.checksum', 'vxlan.flags', 'vxlan.vni'];

register('tshark: encapsulated outputs of tc_encap and xdp_encap have valid outer headers, the VNI and the inner addresses sent', (t) => {
  const sent = [...encapOutputs('tc_encap'), ...encapOutputs('xdp_encap')];
  const file = path.join(workdir, 'encap.pcap');
  fs.writeFileSync(file, pcapFile(sent.map((s) => s.output)));
  const frames = dissect(file, ENCAP_FIELDS, { vxlanPorts: PORTS });
  t.is(frames.length, sent.length, 'tshark read every frame');
  const modes = { ipip: 0, vxlan: 0 };
  sent.forEach((s, i) => {
    const f = frames[i] ?? {};
    const where = `frame ${i + 1} (${s.program}, ${s.mode}): tshark saw ${JSON.stringify(f)}`;
    modes[s.mode]++;
    t.is(f['ip.checksum.status']?.[0], CHECKSUM_GOOD, `outer IPv4 checksum, ${where}`);
    t.is(f['ip.checksum.status']?.[1], s.innerChecksumValid ? CHECKSUM_GOOD : CHECKSUM_BAD, `inner IPv4 checksum as sent, ${where}`);
    t.is(f['ip.len']?.[0], String(s.output.length - 14), `outer total length, ${where}`);
    t.is(f['ip.src']?.[0], s.local, `outer source, ${where}`);
    t.is(f['ip.dst']?.[0], s.remote, `outer destination, ${where}`);
    t.is(f['ip.src']?.[1], s.innerSrc, `inner source, ${where}`);
    t.is(f['ip.dst']?.[1], s.innerDst, `inner destination, ${where}`);
    if (s.mode === 'ipip') {
      t.is(f['ip.proto']?.[0], '4', `protocol, ${where}`);
    } else {
      t.is(f['ip.proto']?.[0], '17', `protocol, ${where}`);
      t.is(f['udp.dstport']?.[0], String(s.port), `UDP destination port, ${where}`);
      t.is(f['udp.length']?.[0], String(s.output.length - 34), `UDP length, ${where}`);
      t.is(f['udp.checksum']?.[0], '0x0000', `UDP checksum 0, ${where}`);
      t.is(f['vxlan.flags']?.[0], '0x0800', `VXLAN flags: I only, ${where}`);
      t.is(f['vxlan.vni']?.[0], String(s.vni), `VNI, ${where}`);
      t.deepEqual(f['eth.type']?.slice(0, 2), ['0x0800', '0x0800'], `outer and inner EtherType, ${where}`);
    }
  });
  t.log(`seed ${seed}: ${sent.length} frames (${modes.ipip} IPIP, ${modes.vxlan} VXLAN)`);
  t.true(modes.ipip >= 50 && modes.vxlan >= 50, `too few of one tunnel mode: ${JSON.stringify(modes)}`);
});

register('tshark: decapsulated outputs of tc_decap and xdp_decap are valid IPv4 with the inner addresses sent', (t) => {
  const got = [...decapOutputs('tc_decap'), ...decapOutputs('xdp_decap')];
  const file = path.join(workdir, 'decap.pcap');
  fs.writeFileSync(file, pcapFile(got.map((d) => d.output)));
  const frames = dissect(file, ['frame.number', 'eth.type', 'ip.version', 'ip.checksum.status', 'ip.src', 'ip.dst']);
  t.is(frames.length, got.length, 'tshark read every frame');
  got.forEach((d, i) => {
    const f = frames[i] ?? {};
    const where = `frame ${i + 1} (${d.program}): tshark saw ${JSON.stringify(f)}`;
    t.is(f['eth.type']?.[0], '0x0800', where);
    t.is(f['ip.version']?.[0], '4', where);
    t.is(f['ip.checksum.status']?.[0], CHECKSUM_GOOD, `inner IPv4 checksum, ${where}`);
    t.is(f['ip.src']?.[0], d.innerSrc, where);
    t.is(f['ip.dst']?.[0], d.innerDst, where);
  });
  t.log(`seed ${seed}: ${got.length} frames`);
  t.true(got.length >= PER_PROGRAM, `only ${got.length} decapsulated frames`);
});
