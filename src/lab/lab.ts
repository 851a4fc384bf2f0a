// The lab (docs/agentd.md, "The lab"): network namespaces on one machine, built from a LabTopology and torn
// down by `destroy()`. Everything it makes carries one run prefix — namespaces `<prefix>-*`,
// files and bpffs mounts under `/run/burrow-lab/<prefix>` — so parallel runs never collide and
// `destroyLab(prefix)` finds every piece, even after the creating process died. No interface,
// route or mount of the host's own is created or changed: every link is born inside a namespace.
//
//   <prefix>-seg1 (bridge br0) ── eth0 <prefix>-node-a 10.0.1.10 ── cali0 ── eth0 <prefix>-node-a-p0 192.168.0.2
//        │                    └─ eth0 <prefix>-node-b 10.0.1.11 ── …
//     seg1 10.0.1.1
//   <prefix>-router (nft: drop pod source/destination) ── ext 203.0.113.1 ── eth0 <prefix>-ext 203.0.113.10
//     seg2 10.0.2.1
//        │
//   <prefix>-seg2 (bridge br0) ── eth0 <prefix>-node-c 10.0.2.10 ── …
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { lockFileFor } from '../agent/pin-root.js';
import { makeWireLike, readFeatures, type Features, type LinkMode, LINK_MODES } from './offloads.js';
import { inNetns, sh, shQuiet } from './sh.js';
import { checkTopology, defaultTopology, podAddress, prefixLengthOf, segmentMtu, type LabLink, type LabNodeSpec, type LabTopology } from './topology.js';

export const LAB_ROOT = '/run/burrow-lab';
/** The node side of every node's underlay link. */
export const NODE_UPLINK = 'eth0';
/** Calico's link-local gateway that pods route through (answered by proxy ARP on the node). */
export const POD_GATEWAY = '169.254.1.1';
export const ROUTER_TABLE = 'burrow_lab';

/** The name of `name`'s port on a segment's bridge (a node's or the router's), in the segment's namespace (as plugIntoSegment names it). */
export function segmentPort(name: string): string {
  return name.slice(0, 15);
}

export interface LabPod {
  readonly name: string;
  readonly node: string;
  readonly ns: string;
  readonly address: string;
  /** The host-side veth in the node namespace. */
  readonly hostVeth: string;
}

export interface LabNode extends LabNodeSpec {
  readonly ns: string;
  /** The (primary) uplink. */
  readonly uplink: string;
  /** Every uplink, when there are several (the loopback-source node: eth0, eth1). */
  readonly uplinks?: readonly string[];
  readonly prefixLength: number;
  readonly routerAddress: string;
  readonly pods: number;
  readonly podList: readonly LabPod[];
  /** This node's agentd pin root, logs and manifests live under here. */
  readonly dir: string;
  readonly pinRoot: string;
  readonly manifestsDir: string;
}

export interface LabOptions {
  topology?: LabTopology;
  /** Run prefix (letters, digits, '-'); default `bl-<random>`. */
  prefix?: string;
  /**
   * How node uplinks carry frames (src/lab/offloads.ts): 'gso' (default, veth as it comes: whole
   * GSO segments) or 'wire' (segmentation offloads off, GRO on: MTU-sized frames, as a NIC).
   */
  links?: LinkMode;
}

const live = new Map<string, Lab>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const lab of live.values()) lab.destroy();
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      for (const lab of live.values()) lab.destroy();
      process.kill(process.pid, signal);
    });
  }
}

export function randomPrefix(): string {
  return `bl-${crypto.randomBytes(3).toString('hex')}`;
}

export class Lab {
  readonly prefix: string;
  readonly topology: LabTopology;
  readonly links: LinkMode;
  readonly dir: string;
  readonly nodes: ReadonlyMap<string, LabNode>;
  readonly routerNs: string;
  readonly extNs: string;
  private readonly cleanups: Array<() => void> = [];
  private destroyed = false;

  private constructor(prefix: string, topology: LabTopology, links: LinkMode) {
    this.prefix = prefix;
    this.topology = topology;
    this.links = links;
    this.dir = path.join(LAB_ROOT, prefix);
    this.routerNs = `${prefix}-router`;
    this.extNs = `${prefix}-ext`;
    const seg = new Map(topology.segments.map((s) => [s.name, s]));
    this.nodes = new Map(
      topology.nodes.map((n) => {
        const ns = `${prefix}-${n.name}`;
        const dir = path.join(this.dir, n.name);
        const loopback = topology.loopbackSource?.node === n.name ? topology.loopbackSource : undefined;
        const s = loopback
          ? { cidr: `${n.address}/32`, routerAddress: loopback.links[0].routerAddress }
          : seg.get(n.segment)!;
        const podList = Array.from({ length: n.pods }, (_, i) => ({
          name: `${n.name}-p${i}`,
          node: n.name,
          ns: `${ns}-p${i}`,
          address: podAddress(n.block, i),
          hostVeth: `cali${i}`,
        }));
        const node: LabNode = {
          ...n, ns, uplink: NODE_UPLINK, ...(loopback ? { uplinks: loopback.links.map((l) => l.name) } : {}),
          prefixLength: prefixLengthOf(s.cidr), routerAddress: s.routerAddress,
          podList, dir, pinRoot: path.join(dir, 'bpf'), manifestsDir: path.join(dir, 'manifests'),
        };
        return [n.name, node];
      }),
    );
  }

  /** Builds the whole topology; on any failure removes what it built and rethrows. */
  static create(opts: LabOptions = {}): Lab {
    const topology = opts.topology ?? defaultTopology();
    checkTopology(topology);
    const prefix = opts.prefix ?? randomPrefix();
    if (!/^[a-zA-Z0-9-]{1,24}$/.test(prefix)) throw new RangeError(`lab prefix '${prefix}' must be 1-24 letters, digits or '-'`);
    const links = opts.links ?? 'gso';
    if (!LINK_MODES.includes(links)) throw new RangeError(`lab links '${String(links)}' must be one of ${LINK_MODES.join(', ')}`);
    installExitHooks();
    const lab = new Lab(prefix, topology, links);
    live.set(prefix, lab);
    try {
      lab.build();
    } catch (e) {
      lab.destroy();
      throw e;
    }
    return lab;
  }

  segmentNs(segment: string): string {
    return `${this.prefix}-${segment}`;
  }

  node(name: string): LabNode {
    const n = this.nodes.get(name);
    if (!n) throw new RangeError(`lab ${this.prefix} has no node ${name} (nodes: ${[...this.nodes.keys()].join(', ')})`);
    return n;
  }

  pod(node: string, index = 0): LabPod {
    const p = this.node(node).podList[index];
    if (!p) throw new RangeError(`node ${node} has no pod ${index}`);
    return p;
  }

  /** Every namespace of the lab, pods first (the order teardown uses). */
  namespaces(): string[] {
    const nodes = [...this.nodes.values()];
    return [
      ...nodes.flatMap((n) => n.podList.map((p) => p.ns)),
      ...nodes.map((n) => n.ns),
      this.routerNs,
      this.extNs,
      ...this.topology.segments.map((s) => this.segmentNs(s.name)),
    ];
  }

  /** Runs argv inside namespace `ns` and returns stdout (throws on failure). */
  exec(ns: string, argv: readonly string[], input?: string): string {
    return sh(inNetns(ns, argv), input === undefined ? {} : { input });
  }

  /** `ip -n ns ...` */
  ip(ns: string, ...args: string[]): string {
    return sh(['ip', '-n', ns, ...args]);
  }

  /** Registers a teardown step that runs (first) on destroy(), e.g. stopping an agentd. */
  onDestroy(fn: () => void): void {
    this.cleanups.push(fn);
  }

  /**
   * Each node uplink's offload features as they are now (`ethtool -k`, read back: an XDP program
   * attached since, for one, takes TSO from the uplink's peer), by node name.
   */
  uplinkFeatures(): Record<string, Features> {
    return Object.fromEntries([...this.nodes.values()].map((n) => [n.name, readFeatures(n.ns, n.uplink)]));
  }

  /** The same for the other end of each node's uplink: its port on the segment's bridge. */
  segmentPortFeatures(): Record<string, Features> {
    return Object.fromEntries([...this.nodes.values()].map((n) => [n.name, readFeatures(this.segmentNs(n.segment), segmentPort(n.name))]));
  }

  /** Packets the router dropped for carrying a pod address, by rule. */
  routerDrops(): { podSource: number; podDestination: number } {
    const out = JSON.parse(sh(inNetns(this.routerNs, ['nft', '-j', 'list', 'table', 'inet', ROUTER_TABLE]))) as {
      nftables: Array<{ rule?: { comment?: string; expr?: Array<{ counter?: { packets: number } }> } }>;
    };
    // A rule or counter that is not there is an error, not 0: "nothing reached the router" must
    // not pass because nft printed nothing or the table lost its rules.
    const count = (comment: string): number => {
      const rule = out.nftables.find((i) => i.rule?.comment === comment)?.rule;
      const packets = rule?.expr?.find((e) => e.counter)?.counter?.packets;
      if (packets === undefined) throw new Error(`the router's nft table ${ROUTER_TABLE} has no counted rule '${comment}': ${JSON.stringify(out)}`);
      return packets;
    };
    return { podSource: count('pod-source'), podDestination: count('pod-destination') };
  }

  /**
   * Leaves the lab (and the agents in it) running after this process exits: no exit hook will
   * destroy it. `destroyLab(prefix)` (scripts/lab.ts down) removes it later.
   */
  keep(): void {
    live.delete(this.prefix);
    this.cleanups.splice(0);
    this.destroyed = true;
  }

  /** Idempotent; safe from a process 'exit' hook (synchronous). */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this.prefix);
    for (const fn of this.cleanups.splice(0).reverse()) {
      try {
        fn();
      } catch {
        // teardown goes on whatever one step says
      }
    }
    destroyLab(this.prefix);
  }

  private build(): void {
    fs.mkdirSync(this.dir, { recursive: true });
    for (const ns of this.namespaces()) {
      sh(['ip', 'netns', 'add', ns]);
      sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    }
    this.buildSegments();
    this.buildRouter();
    this.buildExt();
    for (const node of this.nodes.values()) this.buildNode(node);
    if (this.links === 'wire') this.makeLinksWireLike();
  }

  /** links 'wire' (src/lab/offloads.ts): each node's uplink segments nothing and aggregates; its bridge port neither. */
  private makeLinksWireLike(): void {
    for (const node of this.nodes.values()) {
      makeWireLike(node.ns, node.uplink, 'on');
      makeWireLike(this.segmentNs(node.segment), segmentPort(node.name), 'off');
    }
  }

  private buildSegments(): void {
    for (const s of this.topology.segments) {
      const ns = this.segmentNs(s.name);
      this.ip(ns, 'link', 'add', 'br0', 'type', 'bridge');
      this.ip(ns, 'link', 'set', 'br0', 'up');
    }
  }

  /** A veth from `aNs`/`aName` to a port of segment `segment`'s bridge named `portName`. */
  private plugIntoSegment(aNs: string, aName: string, segment: string, portName: string): void {
    const segNs = this.segmentNs(segment);
    const mtu = String(segmentMtu(this.topology, segment));
    this.ip(aNs, 'link', 'add', aName, 'mtu', mtu, 'type', 'veth', 'peer', 'name', portName.slice(0, 15), 'netns', segNs, 'mtu', mtu);
    this.ip(segNs, 'link', 'set', portName.slice(0, 15), 'master', 'br0', 'up');
    this.ip(aNs, 'link', 'set', aName, 'up');
  }

  private buildRouter(): void {
    const ns = this.routerNs;
    const sysctls = ['net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0'];
    // A link whose far end went down stops carrying routes (the loopback-source node's failover).
    if (this.topology.loopbackSource) sysctls.push('net.ipv4.conf.all.ignore_routes_with_linkdown=1', 'net.ipv4.conf.default.ignore_routes_with_linkdown=1');
    this.exec(ns, ['sysctl', '-qw', ...sysctls]);
    for (const s of this.topology.segments) {
      this.plugIntoSegment(ns, s.name, s.name, 'router');
      this.ip(ns, 'addr', 'add', `${s.routerAddress}/${prefixLengthOf(s.cidr)}`, 'dev', s.name);
    }
    // The source/destination check of a public cloud: pod addresses never cross the router bare.
    const pods = this.topology.podCidr;
    this.exec(ns, ['nft', '-f', '-'], [
      `table inet ${ROUTER_TABLE} {`,
      '  chain forward {',
      '    type filter hook forward priority filter; policy accept;',
      `    ip saddr ${pods} counter drop comment "pod-source"`,
      `    ip daddr ${pods} counter drop comment "pod-destination"`,
      '  }',
      '}',
    ].join('\n') + '\n');
  }

  private buildExt(): void {
    const { address, routerAddress, prefixLength } = this.topology.ext;
    const mtu = String(this.topology.mtu);
    this.ip(this.routerNs, 'link', 'add', 'ext', 'mtu', mtu, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', this.extNs, 'mtu', mtu);
    this.ip(this.routerNs, 'addr', 'add', `${routerAddress}/${prefixLength}`, 'dev', 'ext');
    this.ip(this.routerNs, 'link', 'set', 'ext', 'up');
    this.ip(this.extNs, 'addr', 'add', `${address}/${prefixLength}`, 'dev', 'eth0');
    this.ip(this.extNs, 'link', 'set', 'eth0', 'up');
    this.ip(this.extNs, 'route', 'add', 'default', 'via', routerAddress);
  }

  private buildNode(node: LabNode): void {
    const loopback = this.topology.loopbackSource?.node === node.name ? this.topology.loopbackSource : undefined;
    // The router could route every block (a cloud's route table may well): only its pod-address
    // check stops bare pod traffic, which is what the tests observe.
    if (!loopback) this.ip(this.routerNs, 'route', 'add', node.block, 'via', node.address);
    fs.mkdirSync(node.manifestsDir, { recursive: true });
    fs.mkdirSync(node.pinRoot, { recursive: true });
    // In this (the caller's) mount namespace, so that `ip netns exec` copies it into agentd's and
    // the pins outlive any one agentd (see src/agent/pin-root.ts).
    sh(['mount', '-t', 'bpf', 'bpf', node.pinRoot]);
    // A Kubernetes node forwards; strict reverse-path filtering would drop decapsulated packets
    // whose inner source routes back through the tunnel device (Calico turns it off too).
    this.exec(node.ns, ['sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0']);
    if (loopback) this.buildLoopbackSource(node, loopback.links);
    else {
      this.plugIntoSegment(node.ns, node.uplink, node.segment, node.name);
      this.ip(node.ns, 'addr', 'add', `${node.address}/${node.prefixLength}`, 'dev', node.uplink);
      this.ip(node.ns, 'route', 'add', 'default', 'via', node.routerAddress);
    }
    for (const pod of node.podList) this.buildPod(node, pod);
  }

  /**
   * The node address on the loopback device (/32; a dummy would do as well, but needs a module
   * not every test machine has), two direct links to the router, the primary preferred by metric
   * on both sides (topology.ts, `loopbackSource`). The node sends from that address (`src`), so
   * the kernel's own underlay packets come from it too.
   */
  private buildLoopbackSource(node: LabNode, links: readonly LabLink[]): void {
    this.ip(node.ns, 'addr', 'add', `${node.address}/32`, 'dev', 'lo');
    const mtu = String(this.topology.mtu);
    links.forEach((l, i) => {
      const routerSide = `${node.name}-${l.name}`.slice(0, 15);
      const metric = String(10 * (i + 1));
      const len = prefixLengthOf(l.cidr);
      this.ip(node.ns, 'link', 'add', l.name, 'mtu', mtu, 'type', 'veth', 'peer', 'name', routerSide, 'netns', this.routerNs, 'mtu', mtu);
      this.ip(node.ns, 'addr', 'add', `${l.address}/${len}`, 'dev', l.name);
      this.ip(node.ns, 'link', 'set', l.name, 'up');
      this.ip(this.routerNs, 'addr', 'add', `${l.routerAddress}/${len}`, 'dev', routerSide);
      this.ip(this.routerNs, 'link', 'set', routerSide, 'up');
      this.ip(node.ns, 'route', 'add', 'default', 'via', l.routerAddress, 'dev', l.name, 'src', node.address, 'metric', metric);
      this.ip(this.routerNs, 'route', 'add', `${node.address}/32`, 'via', l.address, 'dev', routerSide, 'metric', metric);
      this.ip(this.routerNs, 'route', 'add', node.block, 'via', l.address, 'dev', routerSide, 'metric', metric);
    });
  }

  /** A pod as Calico's CNI plugin makes it: /32, default via 169.254.1.1, proxy ARP on the host side. */
  private buildPod(node: LabNode, pod: LabPod): void {
    const mtu = String(this.topology.mtu);
    this.ip(node.ns, 'link', 'add', pod.hostVeth, 'mtu', mtu, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod.ns, 'mtu', mtu);
    this.exec(node.ns, ['sysctl', '-qw', `net.ipv4.conf.${pod.hostVeth}.proxy_arp=1`, `net.ipv4.neigh.${pod.hostVeth}.proxy_delay=0`]);
    this.ip(node.ns, 'link', 'set', pod.hostVeth, 'up');
    this.ip(node.ns, 'route', 'add', `${pod.address}/32`, 'dev', pod.hostVeth, 'scope', 'link');
    this.ip(pod.ns, 'addr', 'add', `${pod.address}/32`, 'dev', 'eth0');
    this.ip(pod.ns, 'link', 'set', 'eth0', 'up');
    this.ip(pod.ns, 'route', 'add', POD_GATEWAY, 'dev', 'eth0', 'scope', 'link');
    this.ip(pod.ns, 'route', 'add', 'default', 'via', POD_GATEWAY, 'dev', 'eth0');
  }
}

/** Mount points under `dir` in this process's mount namespace, deepest first. */
export function mountsUnder(dir: string): string[] {
  let info: string;
  try {
    info = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return info
    .split('\n')
    .map((l) => unescape(l.split(' ')[4] ?? ''))
    .filter((m) => m === dir || m.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length);
}

/** Lab namespaces that exist now for `prefix`. */
export function labNamespaces(prefix: string): string[] {
  let out = '';
  try {
    out = sh(['ip', '-j', 'netns', 'list']);
  } catch {
    return [];
  }
  const list = (out.trim() ? JSON.parse(out) : []) as Array<{ name: string }>;
  return list.map((n) => n.name).filter((n) => n.startsWith(`${prefix}-`));
}

/** Every lab prefix with a namespace or a directory left on this machine. */
export function listLabs(): string[] {
  const prefixes = new Set<string>();
  try {
    for (const d of fs.readdirSync(LAB_ROOT)) prefixes.add(d);
  } catch {
    // no lab root yet
  }
  return [...prefixes].sort();
}

/**
 * Removes everything of the lab `prefix`: processes in its namespaces (agentd, listeners,
 * captures), the namespaces (and with them every veth, bridge, route and pinned link there),
 * bpffs mounts and files under /run/burrow-lab/<prefix>. Idempotent and synchronous.
 */
export function destroyLab(prefix: string): void {
  const namespaces = labNamespaces(prefix);
  for (const ns of namespaces) {
    let pids: string[] = [];
    try {
      pids = sh(['ip', 'netns', 'pids', ns]).split(/\s+/).filter(Boolean);
    } catch {
      // namespace already gone
    }
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already exited
      }
    }
  }
  for (const ns of namespaces) shQuiet(['ip', 'netns', 'del', ns]);
  const dir = path.join(LAB_ROOT, prefix);
  for (const m of mountsUnder(dir)) shQuiet(['umount', '-l', m]);
  // The pin-root locks its agents held (a killed agentd leaves its lock file behind; pin-root.ts).
  for (const node of fs.existsSync(dir) ? fs.readdirSync(dir) : []) fs.rmSync(lockFileFor(path.join(dir, node, 'bpf')), { force: true });
  fs.rmSync(dir, { recursive: true, force: true });
}
