// Rules that involve more than one resource: duplicate names, overlapping pools, node address
// collisions, blocks against pools and nodes, Felix switches against pool modes, and the /32
// CrossSubnet pitfall. Each diagnostic is attached to the later resource (in load order) and
// names the earlier one with its location.
import { diagnosticAt, excerpt, formatPath, someOf, suggest, type ConfigDiagnostic, type SourceLocation } from './diagnostics.js';
import { formatCidr, formatIp, masked, netContainsIp, netContainsNet, netsOverlap, type IpNetwork } from './net.js';
import type { ResolvedBlock, ResolvedFelix, ResolvedNode, ResolvedPool } from './resolve.js';
import type { Resource } from './resources.js';

/** `pools.yaml document 2` or `blocks.yaml document 1 items[3]`: where the earlier resource is. */
/** What a diagnostic needs of a resource: its kind, name and where it was read. */
export interface Located {
  readonly kind: string;
  readonly name: string;
  readonly loc: SourceLocation;
}

const where = (r: Located): string =>
  `${r.loc.file} document ${r.loc.document}${r.loc.prefix.length > 0 ? ` ${formatPath(r.loc.prefix)}` : ''}`;

/** The diagnostic on a later resource with the same kind and name as `first`. */
export function duplicateNameDiagnostic(r: Located, first: Located): ConfigDiagnostic {
  return diagnosticAt(r.loc, r, ['metadata', 'name'], 'duplicate-name', `duplicate ${r.kind} name '${r.name}': also defined in ${where(first)}`);
}

/** Keeps the first resource of each kind+name; later ones are errors and are dropped. */
export function dropDuplicateNames(resources: readonly Resource[]): { unique: Resource[]; diagnostics: ConfigDiagnostic[] } {
  const seen = new Map<string, Resource>();
  const unique: Resource[] = [];
  const diagnostics: ConfigDiagnostic[] = [];
  for (const r of resources) {
    if (r.kind === 'ClusterConfiguration') { unique.push(r); continue; } // checked as "only one"
    const key = `${r.kind}\u0000${r.name}`;
    const first = seen.get(key);
    if (first) {
      diagnostics.push(duplicateNameDiagnostic(r, first));
    } else {
      seen.set(key, r);
      unique.push(r);
    }
  }
  return { unique, diagnostics };
}

export function checkPoolOverlaps(pools: readonly ResolvedPool[]): ConfigDiagnostic[] {
  const out: ConfigDiagnostic[] = [];
  pools.forEach((p, j) => {
    for (const q of pools.slice(0, j)) {
      if (!netsOverlap(p.net, q.net)) continue;
      out.push(
        diagnosticAt(p.res.loc, p.res, ['spec', 'cidr'], 'pool-overlap',
          `IPPool(${p.pool.name}) CIDR overlaps with IPPool(${q.pool.name}) CIDR ${q.pool.cidr} (${where(q.res)})`),
      );
    }
  });
  return out;
}

/** The diagnostic on a later node that has the address of `first`. */
export function duplicateNodeAddressDiagnostic(n: { res: Located; node: { address: string } }, first: { res: Located; node: { name: string } }): ConfigDiagnostic {
  return diagnosticAt(n.res.loc, n.res, ['spec', 'bgp', 'ipv4Address'], 'duplicate-node-address',
    `node address ${n.node.address} is already the address of Node ${first.node.name} (${where(first.res)}); each node needs its own tunnel endpoint`);
}

export function checkNodeAddresses(nodes: readonly ResolvedNode[]): ConfigDiagnostic[] {
  const out: ConfigDiagnostic[] = [];
  const byAddress = new Map<string, ResolvedNode>();
  for (const n of nodes) {
    const first = byAddress.get(n.node.address);
    if (first) out.push(duplicateNodeAddressDiagnostic(n, first));
    else byAddress.set(n.node.address, n);
  }
  return out;
}

/**
 * A node against the pools (burrow's rule; Calico's documentation says the same: pools must not
 * overlap the hosts' network). A node address inside a pool is a pod address: a pod given it
 * could pose as the node (a trusted tunnel peer), and traffic to the node would be routed as pod
 * traffic. A pool overlapping the node's subnet (its ipv4Address prefix) takes over addresses of
 * the node's own network, the other nodes' included. Every valid block lies in a pool, so a node
 * address inside a block is inside that block's pool. Attached to the Node, and a second error at
 * the pool's spec.cidr (pool-contains-node-address): a node is rechecked when it changes, every
 * node when the pools do, and both errors come and go with that check. This is also issue 12's "no recursion" rule: a
 * node address is a tunnel endpoint (the outer destination of packets to that node), and a pool
 * or block holding it would route packets for the endpoint into the tunnel itself.
 */
export function nodePoolDiagnostics(n: { res: Located; net: IpNetwork; node: { address: string; name: string } }, pools: readonly ResolvedPool[]): ConfigDiagnostic[] {
  let out: ConfigDiagnostic[] | undefined;
  const subnet = masked(n.net);
  const address = { version: n.net.version, value: n.net.addr };
  for (const p of pools) {
    if (p.net.version !== 4) continue;
    if (netContainsIp(p.net, address)) {
      (out ??= []).push(diagnosticAt(n.res.loc, n.res, ['spec', 'bgp', 'ipv4Address'], 'node-address-in-pool',
        `node address ${n.node.address} is inside IPPool ${p.pool.name} ${p.pool.cidr} (${where(p.res)}): pool addresses are pod addresses, so a pod could pose as this node and traffic to the node would be routed as pod traffic, into the tunnel whose endpoint it is (recursive encapsulation); a node address must be outside every IPPool and block`));
      // The same mistake told where the pool is, for whoever reads the pool's file.
      out.push(diagnosticAt(p.res.loc, p.res, ['spec', 'cidr'], 'pool-contains-node-address',
        `IPPool ${p.pool.name} ${p.pool.cidr} contains the address ${n.node.address} of Node ${n.node.name} (${where(n.res)}), a tunnel endpoint: packets to that node would be routed into the tunnel whose endpoint it is (recursive encapsulation), and a pod given the address could pose as the node; an IPPool (and every block in it) must hold no node's address`));
    } else if (netsOverlap(p.net, subnet)) {
      (out ??= []).push(diagnosticAt(n.res.loc, n.res, ['spec', 'bgp', 'ipv4Address'], 'node-subnet-overlaps-pool',
        `the node's subnet ${formatCidr(subnet)} overlaps IPPool ${p.pool.name} ${p.pool.cidr} (${where(p.res)}): pod routes would take over addresses of the nodes' own network; an IPPool must not overlap any node's subnet`));
    }
  }
  return out ?? [];
}

export function checkNodesAgainstPools(nodes: readonly ResolvedNode[], pools: readonly ResolvedPool[]): ConfigDiagnostic[] {
  const out: ConfigDiagnostic[] = [];
  for (const n of nodes) for (const d of nodePoolDiagnostics(n, pools)) out.push(d);
  return out;
}

export interface BlockCheckInput {
  readonly blocks: readonly ResolvedBlock[];
  readonly pools: readonly ResolvedPool[];
  /** Every Node name defined (even one rejected for another mistake: no cascade). */
  readonly nodeNames: readonly string[];
  /** False when some IPPool could not be read: a block outside the others is then not reported. */
  readonly everyPoolRead: boolean;
}

/** What the block rules need of a block. */
export interface BlockLike {
  readonly res: Located;
  readonly net: IpNetwork;
  readonly node: string;
  readonly active: boolean;
}

/** The pool a block lies in and has the block size of (undefined: it has none), with what is wrong. */
export function blockPoolCheck<P extends ResolvedPool>(b: BlockLike, pools: readonly P[], everyPoolRead: boolean): { owner: P | undefined; diagnostics: ConfigDiagnostic[] } {
  const pool = pools.find((p) => netContainsNet(p.net, b.net));
  const cidr = pool && b.net.prefix === pool.pool.blockSize ? '' : formatCidr(b.net); // only messages need it
  if (!pool) {
    if (!everyPoolRead) return { owner: undefined, diagnostics: [] };
    const list = pools.map((p) => `${p.pool.name} ${p.pool.cidr}`).join(', ') || 'none defined';
    return { owner: undefined, diagnostics: [diagnosticAt(b.res.loc, b.res, ['spec', 'cidr'], 'block-outside-pools', `BlockAffinity CIDR ${cidr} is not inside any IPPool (pools: ${list})`)] };
  }
  if (b.net.prefix !== pool.pool.blockSize) {
    return {
      owner: undefined,
      diagnostics: [diagnosticAt(b.res.loc, b.res, ['spec', 'cidr'], 'block-size-mismatch',
        `BlockAffinity CIDR ${cidr} is a /${b.net.prefix} but IPPool ${pool.pool.name} has blockSize ${pool.pool.blockSize}`)],
    };
  }
  return { owner: pool, diagnostics: [] };
}

/** A block whose node no Node defines; `nodeNames` only feeds the suggestion. */
export function blockUnknownNodeDiagnostic(b: BlockLike, nodeNames: readonly string[]): ConfigDiagnostic {
  const guess = b.node.length <= 100 ? suggest(b.node, nodeNames) : undefined;
  return diagnosticAt(b.res.loc, b.res, ['spec', 'node'], 'block-unknown-node',
    `BlockAffinity refers to Node '${excerpt(b.node)}', which is not defined${guess ? `; did you mean '${guess}'?` : ` (nodes: ${someOf(nodeNames) || 'none'})`}`);
}

/** An active block whose CIDR `first` (earlier in load order) already claims. */
export function blockConflictDiagnostic(b: BlockLike, first: BlockLike): ConfigDiagnostic {
  return diagnosticAt(b.res.loc, b.res, ['spec', 'cidr'], 'block-conflict', `block ${formatCidr(b.net)} is already affine to node ${first.node} (${where(first.res)})`);
}

/** Blocks lie inside exactly one pool, have its block size, belong to a known node, and are not claimed twice. */
export function checkBlocks({ blocks, pools, nodeNames, everyPoolRead }: BlockCheckInput): { owners: Map<ResolvedBlock, ResolvedPool>; diagnostics: ConfigDiagnostic[] } {
  const diagnostics: ConfigDiagnostic[] = [];
  const owners = new Map<ResolvedBlock, ResolvedPool>();
  const claimed = new Map<string, ResolvedBlock>();
  const known = new Set(nodeNames);
  for (const b of blocks) {
    const { owner, diagnostics: poolDiagnostics } = blockPoolCheck(b, pools, everyPoolRead);
    for (const d of poolDiagnostics) diagnostics.push(d);
    if (owner) owners.set(b, owner);
    if (!known.has(b.node)) diagnostics.push(blockUnknownNodeDiagnostic(b, nodeNames));
    if (b.active) {
      const cidr = formatCidr(b.net);
      const first = claimed.get(cidr);
      if (first) diagnostics.push(blockConflictDiagnostic(b, first));
      else claimed.set(cidr, b);
    }
  }
  return { owners, diagnostics };
}

/** ipipEnabled/vxlanEnabled: false in the default FelixConfiguration while a pool needs that tunnel. */
export function checkFelixSwitches(felix: ResolvedFelix, pools: readonly ResolvedPool[]): ConfigDiagnostic[] {
  const out: ConfigDiagnostic[] = [];
  if (!felix.res) return out;
  const res = felix.res;
  const switches = [
    { enabled: felix.ipipEnabled, field: 'ipipEnabled', mode: (p: ResolvedPool) => p.pool.ipipMode, modeField: 'ipipMode' },
    { enabled: felix.vxlanEnabled, field: 'vxlanEnabled', mode: (p: ResolvedPool) => p.pool.vxlanMode, modeField: 'vxlanMode' },
  ];
  for (const s of switches) {
    if (s.enabled !== false) continue;
    for (const p of pools) {
      const mode = s.mode(p);
      if (mode === 'Never') continue;
      const why = p.defaulted ? ' (the default for a pool that sets neither mode)' : '';
      out.push(
        diagnosticAt(res.loc, res, ['spec', s.field], 'felix-encap-disabled',
          `${s.field} is false but IPPool ${p.pool.name} uses ${s.modeField} ${mode}${why}; remove ${s.field}: false or set the pool's ${s.modeField} to Never`),
      );
    }
  }
  return out;
}

/** Names of the IPv4 pools with a CrossSubnet mode, sorted: what the /32 warning lists. */
export function crossSubnetPoolNames(pools: readonly ResolvedPool[]): string[] {
  return pools
    .filter((p) => p.pool.ipVersion === 4 && (p.pool.ipipMode === 'CrossSubnet' || p.pool.vxlanMode === 'CrossSubnet'))
    .map((p) => p.pool.name)
    .sort();
}

/** Calico's known pitfall for one node: a /32 address has no subnet, so CrossSubnet encapsulates everything. */
export function hostPrefixWarning(n: ResolvedNode, crossSubnet: readonly string[]): ConfigDiagnostic | undefined {
  if (crossSubnet.length === 0 || n.net.prefix !== 32) return undefined;
  return diagnosticAt(n.res.loc, n.res, ['spec', 'bgp', 'ipv4Address'], 'node-address-host-prefix',
    `ipv4Address ${formatIp({ version: 4, value: n.net.addr })}/32 has no subnet: under CrossSubnet (IPPool ${crossSubnet.join(', ')}) every other node counts as cross-subnet and all traffic is encapsulated; give the real prefix, e.g. /24`,
    'warning');
}

/** Calico's known pitfall: a /32 node address has no subnet, so CrossSubnet encapsulates everything. */
export function warnHostPrefixNodes(nodes: readonly ResolvedNode[], pools: readonly ResolvedPool[]): ConfigDiagnostic[] {
  const crossSubnet = crossSubnetPoolNames(pools);
  const out: ConfigDiagnostic[] = [];
  for (const n of nodes) {
    const w = hostPrefixWarning(n, crossSubnet);
    if (w) out.push(w);
  }
  return out;
}
