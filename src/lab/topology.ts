// The lab topology (docs/agentd.md, "The lab") as plain values (pure): segments, nodes with their blocks and
// pods, the router that drops pod addresses, and the "internet" behind it. Names, addresses and
// sizes are parameters; `defaultTopology()` is the one tests, demo and benchmarks share and
// matches test/fixtures/manifests/lab (node-a/b on 10.0.1.0/24, node-c on 10.0.2.0/24).

export interface LabSegment {
  /** Short name (the namespace holding the segment's bridge is <prefix>-<name>). */
  readonly name: string;
  readonly cidr: string;
  /** The router's address on this segment: the nodes' default gateway. */
  readonly routerAddress: string;
}

export interface LabNodeSpec {
  /** The Calico Node name (and the namespace suffix). */
  readonly name: string;
  readonly segment: string;
  readonly address: string;
  /** The node's block (BlockAffinity): its pods' addresses come from here. */
  readonly block: string;
  readonly pods: number;
}

export interface LabTopology {
  readonly segments: readonly LabSegment[];
  readonly nodes: readonly LabNodeSpec[];
  /** Every pod address lies in here; the router drops packets from or to it. */
  readonly podCidr: string;
  readonly ext: { readonly address: string; readonly routerAddress: string; readonly prefixLength: number };
  /** MTU of every underlay link (and of the pods' veths). */
  readonly mtu: number;
  /**
   * A narrow segment (issue 12, path MTU): the router's link to it, its bridge ports and the
   * uplinks of its nodes get this MTU instead of `mtu`, so node-a/b → node-c crosses a link
   * narrower than the senders' uplinks (the router answers with ICMP frag-needed). Pods keep `mtu`.
   */
  readonly narrow?: { readonly segment: string; readonly mtu: number };
  /**
   * A loopback tunnel source (issue 12 point 3; docs/datapath.md, "Loopback tunnel source"):
   * node `node` holds its `address` (/32) on its loopback device instead of an uplink, and reaches the
   * router over two direct links, `links[0]` the primary (default route metric 10) and
   * `links[1]` the backup (metric 20). The router routes the address over both with the same
   * metrics and ignores routes whose link lost its carrier, so taking the primary down on the
   * node moves both directions to the backup. The node is on no segment (`segment` ignored).
   */
  readonly loopbackSource?: { readonly node: string; readonly links: readonly [LabLink, LabLink] };
}

/** A point-to-point link between a node and the router. */
export interface LabLink {
  /** The node side's interface name (eth0, eth1). */
  readonly name: string;
  readonly cidr: string;
  readonly address: string;
  readonly routerAddress: string;
}

/** node-a with its address on lo and two uplinks (eth0 primary, eth1 backup) to the router. */
export function loopbackSourceTopology(overrides: Partial<LabTopology> = {}): LabTopology {
  const base = defaultTopology();
  return {
    ...base,
    nodes: base.nodes.map((n) => (n.name === 'node-a' ? { ...n, segment: '', address: '10.0.9.10' } : n)),
    loopbackSource: {
      node: 'node-a',
      links: [
        { name: 'eth0', cidr: '172.31.1.0/24', address: '172.31.1.2', routerAddress: '172.31.1.1' },
        { name: 'eth1', cidr: '172.31.2.0/24', address: '172.31.2.2', routerAddress: '172.31.2.1' },
      ],
    },
    ...overrides,
  };
}

/** The MTU of segment `segment`'s links. */
export function segmentMtu(t: LabTopology, segment: string): number {
  return t.narrow?.segment === segment ? t.narrow.mtu : t.mtu;
}

export function defaultTopology(overrides: Partial<LabTopology> = {}): LabTopology {
  return {
    segments: [
      { name: 'seg1', cidr: '10.0.1.0/24', routerAddress: '10.0.1.1' },
      { name: 'seg2', cidr: '10.0.2.0/24', routerAddress: '10.0.2.1' },
    ],
    nodes: [
      { name: 'node-a', segment: 'seg1', address: '10.0.1.10', block: '192.168.0.0/26', pods: 1 },
      { name: 'node-b', segment: 'seg1', address: '10.0.1.11', block: '192.168.1.0/26', pods: 1 },
      { name: 'node-c', segment: 'seg2', address: '10.0.2.10', block: '192.168.2.0/26', pods: 1 },
    ],
    podCidr: '192.168.0.0/16',
    ext: { address: '203.0.113.10', routerAddress: '203.0.113.1', prefixLength: 24 },
    mtu: 1500,
    ...overrides,
  };
}

function ipToInt(ip: string): number {
  const p = ip.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new RangeError(`'${ip}' is not an IPv4 address`);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function prefixLengthOf(cidr: string): number {
  const len = Number(cidr.split('/')[1]);
  if (!Number.isInteger(len) || len < 0 || len > 32) throw new RangeError(`'${cidr}' is not an IPv4 CIDR`);
  return len;
}

/** Pod `index`'s address: the block's base + 2 + index (…0.2, …0.3). */
export function podAddress(block: string, index: number): string {
  const [base] = block.split('/');
  const size = 2 ** (32 - prefixLengthOf(block));
  if (index + 2 >= size) throw new RangeError(`block ${block} has no room for pod ${index}`);
  return intToIp(ipToInt(base!) + 2 + index);
}

export function cidrContains(cidr: string, ip: string): boolean {
  const [base] = cidr.split('/');
  const len = prefixLengthOf(cidr);
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return ((ipToInt(base!) & mask) >>> 0) === ((ipToInt(ip) & mask) >>> 0);
}

/** Checks the topology hangs together; throws a RangeError naming the first problem. */
export function checkTopology(t: LabTopology): void {
  const segments = new Map(t.segments.map((s) => [s.name, s]));
  for (const s of t.segments) {
    if (!cidrContains(s.cidr, s.routerAddress)) throw new RangeError(`segment ${s.name}: router ${s.routerAddress} is outside ${s.cidr}`);
  }
  if (t.narrow) {
    if (!segments.has(t.narrow.segment)) throw new RangeError(`narrow: unknown segment ${t.narrow.segment}`);
    if (!Number.isInteger(t.narrow.mtu) || t.narrow.mtu < 576 || t.narrow.mtu > t.mtu) throw new RangeError(`narrow: mtu ${t.narrow.mtu} must be an integer from 576 to the lab's ${t.mtu}`);
  }
  const loopback = t.loopbackSource;
  if (loopback) {
    const n = t.nodes.find((x) => x.name === loopback.node);
    if (!n) throw new RangeError(`loopbackSource: unknown node ${loopback.node}`);
    for (const l of loopback.links) {
      if (!cidrContains(l.cidr, l.address) || !cidrContains(l.cidr, l.routerAddress)) throw new RangeError(`loopbackSource: link ${l.name}: ${l.address} and ${l.routerAddress} must lie in ${l.cidr}`);
    }
    if (t.segments.some((s) => cidrContains(s.cidr, n.address))) throw new RangeError(`loopbackSource: ${n.address} lies in a segment; the tunnel source must be an address of its own`);
  }
  const names = new Set<string>();
  for (const n of t.nodes) {
    if (names.has(n.name)) throw new RangeError(`node ${n.name} appears twice`);
    names.add(n.name);
    if (n.name === loopback?.node) {
      if (!cidrContains(t.podCidr, n.block.split('/')[0]!)) throw new RangeError(`node ${n.name}: block ${n.block} is outside the pod CIDR ${t.podCidr}`);
      continue;
    }
    const s = segments.get(n.segment);
    if (!s) throw new RangeError(`node ${n.name}: unknown segment ${n.segment}`);
    if (!cidrContains(s.cidr, n.address)) throw new RangeError(`node ${n.name}: ${n.address} is outside ${s.name} ${s.cidr}`);
    if (!cidrContains(t.podCidr, n.block.split('/')[0]!)) throw new RangeError(`node ${n.name}: block ${n.block} is outside the pod CIDR ${t.podCidr}`);
  }
}
