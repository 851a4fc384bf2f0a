// The reading commands and trace, spawned for real against a private pin root that `agentctl
// apply` populated (lab node-a, CrossSubnet IPIP): maps dump decodes every field, trace runs the
// real programs on the live maps and agrees with the codec, the counters it moves show up in
// stats, and status reports fill and attachments (in a namespace with a pinned tcx link, or a
// recorded clsact filter on a kernel without tcx).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

import type { ExecutionContext } from 'ava';

import { loadDatapath, openDatapathMaps } from '../../src/agent/datapath.js';
import { attachTc, burrowStatNames, possibleCpus, tcAttachKind } from '../../src/bpf/index.js';
import { BURROW_PEERS_MAX, BURROW_ROUTES_MAX } from '../../src/generated/burrow-h.js';
import { agentctl, agentctlJson, labManifests, manifestDir } from '../helpers/agentctl.js';
import { makePinDir } from '../helpers/bpffs.js';
import { addVeth, createNetns } from '../helpers/netns.js';
import { privileged } from '../helpers/privileged.js';

interface Counter { name: string; index: number; packets: number; bytes: number; perCpu?: { cpu: number; packets: number; bytes: number }[] }
interface Layer { layer: string; [k: string]: unknown }
interface Trace {
  program: string;
  verdict: string;
  action: string;
  retval: number;
  route: { cidr: string; mode: string; remote: string } | null;
  peer: { address: string; modes: string[] } | null;
  sender: { outerSrc: string; mode: string; vni: number } | null;
  counters: { name: string; packets: number; bytes: number }[];
  input: { length: number; layers: Layer[] };
  output: { length: number; layers: Layer[] };
  codec: { verdict: string; counter: string };
  agree: boolean;
  disagreements: string[];
}

/**
 * A pin root populated by `agentctl apply` (maps only); removed afterwards. Without `uplink` the
 * config entry has none (ifindex 0, so tc_encap drops what it would tunnel); with it, apply runs
 * in a namespace of its own with `--uplink eth0` (a veth there).
 */
async function applied(
  t: ExecutionContext, lab: Parameters<typeof labManifests>[0] = {}, opts: { uplink?: boolean } = {},
): Promise<{ pinRoot: string; ctl: (...a: string[]) => ReturnType<typeof agentctl> }> {
  const pins = makePinDir();
  const m = manifestDir();
  const ns = opts.uplink ? createNetns() : undefined;
  t.teardown(() => {
    ns?.destroy();
    pins.cleanup();
    m.cleanup();
  });
  if (ns) addVeth(ns, 'eth0', 'eth0p');
  const file = m.write('lab.yaml', labManifests(lab));
  const r = await agentctl(
    ['--pin-root', pins.path, 'apply', '-f', file, '--node', 'node-a', '--no-kernel', ...(ns ? ['--uplink', 'eth0'] : [])],
    ns ? { netns: ns.name } : {},
  );
  if (r.code !== 0) throw new Error(r.stderr);
  return { pinRoot: pins.path, ctl: (...a) => agentctl(['--pin-root', pins.path, ...a]) };
}

const json = async <T>(p: ReturnType<typeof agentctl>): Promise<T> => {
  const r = await p;
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
};

privileged('apply into a plain directory mounts bpffs there and creates the four maps', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burrow-plain-'));
  const m = manifestDir();
  t.teardown(() => {
    try {
      execFileSync('umount', ['-l', dir]);
    } catch {
      // not mounted: the test failed before apply did
    }
    fs.rmSync(dir, { recursive: true, force: true });
    m.cleanup();
  });
  const r = await agentctl(['--pin-root', dir, 'apply', '-f', m.write('lab.yaml', labManifests()), '--node', 'node-a', '--no-kernel']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, new RegExp(`^created the datapath maps under ${dir}\n`));
  t.notRegex(r.stderr, /warning/, 'the mount is in our own mount namespace and outlives the command');
  t.is(fs.statfsSync(dir).type, 0xcafe4a11, 'bpffs');
  t.deepEqual(['config', 'peers', 'routes', 'stats'].filter((f) => fs.existsSync(path.join(dir, f))), ['config', 'peers', 'routes', 'stats']);
});

privileged.serial('apply under ip netns exec into a plain directory warns that its bpffs mount ends with the command', async (t) => {
  const ns = createNetns();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burrow-plain-'));
  const m = manifestDir();
  t.teardown(() => {
    ns.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
    m.cleanup();
  });
  const r = await agentctl(['--pin-root', dir, 'apply', '-f', m.write('lab.yaml', labManifests()), '--node', 'node-a', '--no-kernel'], { netns: ns.name });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, new RegExp(`^warning: mounted a new bpffs on ${dir} inside a mount namespace of its own .*mount -t bpf bpf ${dir}\\)$`, 'm'));
  t.not(fs.statfsSync(dir).type, 0xcafe4a11, 'and indeed, seen from here, nothing is mounted there');
});

privileged('maps dump -o json decodes every field of routes, peers, config and stats', async (t) => {
  const { ctl } = await applied(t, { pool: { vxlanMode: 'CrossSubnet', ipipMode: 'Never', natOutgoing: true, disabled: true } });
  const d = await json<{ routes: unknown[]; peers: unknown[]; config: Record<string, unknown>; stats: Counter[] }>(ctl('maps', 'dump', '-o', 'json'));
  t.deepEqual(d.routes, [
    // The pool and node-a's own blocks: never tunnelled, what decap checks inner addresses against.
    { cidr: '192.168.0.0/16', mode: 'none', remote: '0.0.0.0', vni: 0, vtepMac: '00:00:00:00:00:00', flags: ['nat-outgoing', 'in-pool', 'pool-disabled'], pool: 0 },
    { cidr: '192.168.0.0/26', mode: 'none', remote: '10.0.1.10', vni: 0, vtepMac: '00:00:00:00:00:00', flags: ['nat-outgoing', 'in-pool', 'pool-disabled', 'local'], pool: 0 },
    { cidr: '192.168.0.64/26', mode: 'none', remote: '10.0.1.10', vni: 0, vtepMac: '00:00:00:00:00:00', flags: ['nat-outgoing', 'in-pool', 'pool-disabled', 'local'], pool: 0 },
    { cidr: '192.168.1.0/26', mode: 'none', remote: '10.0.1.11', vni: 0, vtepMac: '00:00:00:00:00:00', flags: ['nat-outgoing', 'same-subnet', 'in-pool', 'pool-disabled'], pool: 0 },
    { cidr: '192.168.2.0/26', mode: 'vxlan', remote: '10.0.2.10', vni: 4096, vtepMac: '66:cc:00:00:00:0c', flags: ['nat-outgoing', 'in-pool', 'pool-disabled'], pool: 0 },
  ]);
  t.deepEqual(d.peers, [{ address: '10.0.2.10', modes: ['vxlan'], vni: 4096 }]);
  t.deepEqual(Object.keys(d.config), ['localIp', 'uplinkIfindex', 'uplinkMac', 'vtepMac', 'vxlanPort', 'ttl', 'defaultVni', 'uplinkMtu', 'flags', 'mssIpip', 'mssVxlan', 'groIfindex', 'tunnelMac']);
  t.like(d.config, { localIp: '10.0.1.10', uplinkIfindex: 0, vxlanPort: 4789, ttl: 64, defaultVni: 4096, uplinkMtu: 1500, flags: [] });
  t.regex(String(d.config.vtepMac), /^66:[0-9a-f]{2}(:[0-9a-f]{2}){4}$/);
  t.deepEqual(d.stats.map((s) => s.name), [...burrowStatNames]);
  t.true(d.stats.every((s, i) => s.index === i && s.packets === 0 && s.bytes === 0 && s.perCpu === undefined));

  const one = await json<Record<string, unknown>>(ctl('maps', 'dump', 'peers', '-o', 'json'));
  t.deepEqual(Object.keys(one), ['peers']);
  const perCpu = await json<{ stats: Counter[] }>(ctl('maps', 'dump', 'stats', '--per-cpu', '-o', 'json'));
  t.true(perCpu.stats.every((s) => s.perCpu?.length === possibleCpus()));

  const table = await ctl('maps', 'dump', 'routes');
  t.regex(table.stdout, /^ROUTES \(5\)\nCIDR +MODE +REMOTE +VNI +VTEP MAC +FLAGS +POOL\n/);
  t.regex(table.stdout, /^192\.168\.2\.0\/26 +vxlan +10\.0\.2\.10 +4096 +66:cc:00:00:00:0c +nat-outgoing,in-pool,pool-disabled +0$/m);
});

privileged('trace egress to an IPIP route: ENCAP_IPIP, redirect, outer header as the codec predicts; stats shows the packet', async (t) => {
  const { ctl } = await applied(t, {}, { uplink: true });
  const tr = await json<Trace>(ctl('trace', '--src', '192.168.0.5', '--dst', '192.168.2.7', '--size', '200', '-o', 'json'));
  t.like(tr, { program: 'tc_encap', verdict: 'redirect', action: 'TC_ACT_REDIRECT', retval: 7, agree: true });
  t.deepEqual(tr.disagreements, []);
  t.like(tr.route, { cidr: '192.168.2.0/26', mode: 'ipip', remote: '10.0.2.10' });
  t.deepEqual(tr.counters, [{ name: 'encap_ipip', packets: 1, bytes: 214 }]);
  t.is(tr.input.length, 214);
  t.is(tr.output.length, 234);
  t.deepEqual(tr.output.layers.map((l) => l.layer), ['ethernet', 'ipv4', 'ipv4', 'tcp']);
  t.like(tr.output.layers[1], { src: '10.0.1.10', dst: '10.0.2.10', protocol: 4, ttl: 64, totalLength: 220, df: true, checksumOk: true });
  t.like(tr.output.layers[2], { src: '192.168.0.5', dst: '192.168.2.7', protocol: 6, totalLength: 200 });

  const stats = await json<{ counters: Counter[] }>(ctl('stats', '-o', 'json'));
  t.deepEqual(stats.counters.map((c) => [c.name, c.packets, c.bytes]), [['encap_ipip', 1, 214]], 'test runs move the live counters');
  const all = await json<{ counters: Counter[] }>(ctl('stats', '--all', '-o', 'json'));
  t.is(all.counters.length, burrowStatNames.length);
  const text = await ctl('stats');
  t.is(text.stdout, 'COUNTER     PACKETS  BYTES\nencap_ipip        1    214\n');
});

privileged('trace egress to a peer with a next hop (as agentd keeps them): its MACs on the outer frame, and the codec agrees', async (t) => {
  const { ctl, pinRoot } = await applied(t, {}, { uplink: true });
  const maps = openDatapathMaps(pinRoot);
  try {
    maps.nexthops.set('10.0.2.10', { ifindex: 7, dmac: '02:4e:48:00:00:01', smac: '02:4e:48:00:00:02', mtu: 1500 });
    // A learned path MTU for the same peer (the MSS clamp reads it; trace hands the codec both maps).
    maps.pmtu.set('10.0.2.10', { learned_ns: process.hrtime.bigint(), mtu: 1400 });
  } finally {
    maps.close();
  }
  const tr = await json<Trace>(ctl('trace', '--src', '192.168.0.5', '--dst', '192.168.2.7', '--size', '200', '-o', 'json'));
  t.like(tr, { program: 'tc_encap', verdict: 'redirect', retval: 7, agree: true });
  t.deepEqual(tr.disagreements, []);
  t.like(tr.output.layers[0], { layer: 'ethernet', dst: '02:4e:48:00:00:01', src: '02:4e:48:00:00:02' });
  t.like(tr.output.layers[1], { src: '10.0.1.10', dst: '10.0.2.10', protocol: 4 });
  const dump = await ctl('maps', 'dump', 'nexthops');
  t.regex(dump.stdout, /^NEXTHOPS \(1\)\nPEER +DEVICE +DMAC +SMAC +MTU\n10\.0\.2\.10 +#7 +02:4e:48:00:00:01 +02:4e:48:00:00:02 +1500$/m);
});

privileged('trace egress before any uplink is configured (apply without --uplink): DROP_NO_ROUTE, the codec agrees', async (t) => {
  const { ctl } = await applied(t);
  const tr = await json<Trace>(ctl('trace', '--src', '192.168.0.5', '--dst', '192.168.2.7', '--size', '200', '-o', 'json'));
  t.like(tr, { program: 'tc_encap', verdict: 'drop', action: 'TC_ACT_SHOT', retval: 2, agree: true, codec: { verdict: 'drop', counter: 'drop_no_route' } });
  t.like(tr.route, { cidr: '192.168.2.0/26', mode: 'ipip', remote: '10.0.2.10' });
  t.deepEqual(tr.counters, [{ name: 'drop_no_route', packets: 1, bytes: 214 }]);
  t.deepEqual(tr.output.layers, tr.input.layers);
});

privileged('trace egress to a same-subnet route (mode none) and to no route: PASS, frame untouched', async (t) => {
  const { ctl } = await applied(t);
  for (const dst of ['192.168.1.9', '8.8.8.8']) {
    const tr = await json<Trace>(ctl('trace', '--src', '192.168.0.5', '--dst', dst, '--proto', 'udp', '-o', 'json'));
    t.like(tr, { verdict: 'pass', action: 'TC_ACT_OK', agree: true }, dst);
    t.deepEqual(tr.counters, [{ name: 'pass', packets: 1, bytes: tr.input.length }]);
    t.deepEqual(tr.output.layers, tr.input.layers);
    t.is(tr.route?.mode ?? null, dst === '8.8.8.8' ? null : 'none');
  }
});

privileged('trace ingress: from the IPIP peer → DECAP_IPIP; from an unknown peer → DROP_UNKNOWN_PEER; xdp_decap agrees too', async (t) => {
  const { ctl } = await applied(t);
  const ok = await json<Trace>(ctl('trace', '--hook', 'ingress', '--src', '192.168.2.7', '--dst', '192.168.0.5', '--proto', 'icmp', '-o', 'json'));
  t.like(ok, { program: 'tc_decap', verdict: 'pass', agree: true, sender: { outerSrc: '10.0.2.10', mode: 'ipip', vni: 4096 } });
  t.like(ok.peer, { address: '10.0.2.10', modes: ['ipip'] });
  t.deepEqual(ok.counters, [{ name: 'decap_ipip', packets: 1, bytes: ok.input.length }]);
  t.deepEqual(ok.input.layers.map((l) => l.layer), ['ethernet', 'ipv4', 'ipv4', 'icmp']);
  t.deepEqual(ok.output.layers.map((l) => l.layer), ['ethernet', 'ipv4', 'icmp']);
  t.is(ok.output.length, ok.input.length - 20);

  const bad = await json<Trace>(ctl('trace', '--hook', 'ingress', '--src', '192.168.9.9', '--dst', '192.168.0.5', '--outer-src', '10.9.9.9', '-o', 'json'));
  t.like(bad, { verdict: 'drop', action: 'TC_ACT_SHOT', agree: true, peer: null });
  t.deepEqual(bad.counters, [{ name: 'drop_unknown_peer', packets: 1, bytes: bad.input.length }]);

  const xdp = await json<Trace>(ctl('trace', '--hook', 'ingress', '--xdp', '--src', '192.168.2.7', '--dst', '192.168.0.5', '-o', 'json'));
  t.like(xdp, { program: 'xdp_decap', verdict: 'pass', action: 'XDP_PASS', agree: true });

  // The peer may only send IPIP: a VXLAN frame from it is dropped the same way.
  const vx = await json<Trace>(ctl('trace', '--hook', 'ingress', '--src', '192.168.2.7', '--dst', '192.168.0.5', '--mode', 'vxlan', '-o', 'json'));
  t.like(vx, { verdict: 'drop', agree: true });
  t.deepEqual(vx.counters.map((c) => c.name), ['drop_unknown_peer']);

  const text = await ctl('trace', '--hook', 'ingress', '--src', '192.168.2.7', '--dst', '192.168.0.5');
  t.regex(text.stdout, /^verdict pass \(TC_ACT_OK 0\)$/m);
  t.regex(text.stdout, /^counters decap_ipip \+1 packet \+134 bytes$/m);
  t.regex(text.stdout, /^codec {3}agrees: pass, decap_ipip, the same 114 output bytes$/m);
});

privileged('trace ingress over VXLAN: the right VNI decapsulates, a wrong one is DROP_BAD_VNI', async (t) => {
  const { ctl } = await applied(t, { pool: { ipipMode: 'Never', vxlanMode: 'Always' } });
  const ok = await json<Trace>(ctl('trace', '--hook', 'ingress', '--src', '192.168.2.7', '--dst', '192.168.0.5', '--proto', 'udp', '-o', 'json'));
  t.like(ok, { verdict: 'pass', agree: true, sender: { mode: 'vxlan', vni: 4096 } });
  t.deepEqual(ok.input.layers.map((l) => l.layer), ['ethernet', 'ipv4', 'udp', 'vxlan', 'ethernet', 'ipv4', 'udp']);
  t.deepEqual(ok.counters.map((c) => c.name), ['decap_vxlan']);
  const bad = await json<Trace>(ctl('trace', '--hook', 'ingress', '--src', '192.168.2.7', '--dst', '192.168.0.5', '--vni', '77', '-o', 'json'));
  t.like(bad, { verdict: 'drop', agree: true });
  t.deepEqual(bad.counters.map((c) => c.name), ['drop_bad_vni']);
});

privileged('status: map fill and config; nothing attached is not an error', async (t) => {
  const { ctl, pinRoot } = await applied(t);
  const s = await json<{ pinRoot: string; config: Record<string, unknown>; maps: { name: string; type: string; entries: number; maxEntries: number }[]; devices: unknown[]; links: unknown[] }>(ctl('status', '-o', 'json'));
  t.is(s.pinRoot, pinRoot);
  t.like(s.config, { localIp: '10.0.1.10', vxlanPort: 4789 });
  t.deepEqual(s.maps, [
    { name: 'routes', type: 'lpm_trie', entries: 5, maxEntries: BURROW_ROUTES_MAX },
    { name: 'peers', type: 'hash', entries: 1, maxEntries: BURROW_PEERS_MAX },
    { name: 'pmtu', type: 'hash', entries: 0, maxEntries: BURROW_PEERS_MAX },
    { name: 'nexthops', type: 'hash', entries: 0, maxEntries: BURROW_PEERS_MAX },
    { name: 'config', type: 'array', entries: 1, maxEntries: 1 },
    { name: 'stats', type: 'percpu_array', entries: burrowStatNames.length, maxEntries: burrowStatNames.length },
  ]);
  t.deepEqual([s.devices, s.links], [[], []]);
  const text = await ctl('status');
  t.is(text.code, 0);
  t.regex(text.stdout, new RegExp(`^MAP +TYPE +ENTRIES +MAX +FILL\nroutes +lpm_trie +5 +${BURROW_ROUTES_MAX} +0\\.0%$`, 'm'));
  t.regex(text.stdout, /^LEARNED PATH MTU \(pmtu\)\nnone: /m);
  t.regex(text.stdout, /nothing to inspect/);

  // A path MTU learned 30 s ago (as decap stamps it: CLOCK_MONOTONIC): peer, MTU and age.
  const maps = openDatapathMaps(pinRoot);
  try {
    maps.pmtu.set('10.0.2.10', { learned_ns: process.hrtime.bigint() - 30_000_000_000n, mtu: 1400 });
  } finally {
    maps.close();
  }
  const learned = await json<{ maps: { name: string; entries: number }[]; paths: { peer: string; mtu: number; ageSeconds: number }[] }>(ctl('status', '-o', 'json'));
  t.is(learned.maps.find((m) => m.name === 'pmtu')?.entries, 1);
  t.is(learned.paths.length, 1);
  t.like(learned.paths[0], { peer: '10.0.2.10', mtu: 1400 });
  t.true(learned.paths[0]!.ageSeconds >= 30 && learned.paths[0]!.ageSeconds < 120, `age ${learned.paths[0]!.ageSeconds} s`);
  t.regex((await ctl('status')).stdout, /^PEER +MTU +AGE\n10\.0\.2\.10 +1400 +\d+(\.\d)?s$/m);
});

privileged.serial('status in a node namespace: the uplink from the config map and a pinned tcx link are listed with their programs', async (t) => {
  const ns = createNetns();
  const pins = makePinDir();
  const m = manifestDir();
  t.teardown(() => {
    ns.destroy();
    pins.cleanup();
    m.cleanup();
  });
  addVeth(ns, 'eth0', 'eth0p');
  addVeth(ns, 'burrow0', 'burrow0p');
  const file = m.write('lab.yaml', labManifests());
  const r = await agentctl(['--pin-root', pins.path, 'apply', '-f', file, '--node', 'node-a', '--no-kernel', '--uplink', 'eth0'], { netns: ns.name });
  t.is(r.code, 0, r.stderr);
  // Attach tc_encap to burrow0's egress as agentd would: a tcx link pinned under <pinRoot>/links.
  const dp = loadDatapath(pins.path, ['tc_encap']);
  t.teardown(() => dp.close());
  fs.mkdirSync(path.join(pins.path, 'links'), { recursive: true });
  ns.run(() => {
    const link = attachTc(dp.programs.tc_encap, 'burrow0', 'egress');
    link.pin(path.join(pins.path, 'links', 'tc_encap@burrow0'));
    link.close();
  });
  const s = await agentctlJson<{ config: { uplinkIfindex: number }; devices: { name: string; roles: string[]; present: boolean; attached: { hook: string; program: string; burrow: boolean }[] }[]; links: { pin: string; kind: string }[]; tcAttach: string }>(
    ['--pin-root', pins.path, 'status', '-o', 'json'], { netns: ns.name },
  );
  const eth0 = s.devices.find((d) => d.name === 'eth0');
  const tunnel = s.devices.find((d) => d.name === 'burrow0');
  t.truthy(eth0);
  t.true(s.config.uplinkIfindex > 0);
  t.deepEqual(eth0?.roles, ['uplink']);
  t.deepEqual(eth0?.attached, [], 'nothing attached to the uplink');
  t.deepEqual(tunnel?.roles.sort(), ['link', 'tunnel']);
  // tcx where the kernel has it; before 6.6 a clsact filter, recorded under links/ (src/bpf/link.ts).
  const kind = tcAttachKind();
  t.like(tunnel?.attached, [{ hook: `${kind}-egress`, program: 'tc_encap', burrow: true }]);
  t.deepEqual(s.links.map((l) => [path.basename(l.pin), l.kind]), [['tc_encap@burrow0', kind]]);
  t.is(s.tcAttach, kind);
  const text = await agentctl(['--pin-root', pins.path, 'status'], { netns: ns.name });
  t.regex(text.stdout, kind === 'tcx' ? /^burrow0 +link,tunnel +tcx-egress +tc_encap +\d+ +link \d+$/m : /^burrow0 +link,tunnel +clsact-egress +tc_encap +\d+ +prio \d+ direct-action$/m);
  t.is(/^tc attach clsact: this kernel has no tcx/m.test(text.stdout), kind === 'clsact', 'the fallback is said');
  t.regex(text.stdout, /^eth0 +uplink +nothing attached/m);
});
