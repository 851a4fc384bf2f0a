// Raw resource → resolved value, one resource at a time: Calico's per-resource rules (messages
// close to libcalico-go's own) and defaults. A resource with errors still yields what could be
// resolved (e.g. a pool whose CIDR parses) so the cross-resource checks do not cascade.
import { diagnosticAt, excerpt, type ConfigDiagnostic, type PathSegment } from './diagnostics.js';
import { calicoVtepMac, parseMac } from './mac.js';
import {
  DEFAULT_BLOCK_SIZE_V4,
  DEFAULT_BLOCK_SIZE_V6,
  DEFAULT_NODE_SELECTOR,
  DEFAULT_VXLAN_PORT,
  DEFAULT_VXLAN_VNI,
  type EncapMode,
  type Encapsulation,
  type FelixSettings,
  type IPPool,
  type Node,
} from './model.js';
import {
  IPV4_LINK_LOCAL,
  IPV6_LINK_LOCAL,
  MIN_IPV4_POOL_PREFIX,
  formatCidr,
  formatIp,
  isStrictlyMasked,
  masked,
  netsOverlap,
  parseCidr,
  reservedIpv4Overlaps,
  type IpNetwork,
} from './net.js';
import type { Resource } from './resources.js';
import { FELIX_IGNORED_FIELDS } from './schema.js';

type Of<K extends Resource['kind']> = Extract<Resource, { kind: K }>;

export interface Resolved<T> {
  readonly value?: T;
  readonly diagnostics: ConfigDiagnostic[];
}

function reporter(res: Resource, diagnostics: ConfigDiagnostic[]) {
  return {
    error: (path: PathSegment[], rule: string, message: string) => diagnostics.push(diagnosticAt(res.loc, res, path, rule, message)),
    warn: (path: PathSegment[], rule: string, message: string) =>
      diagnostics.push(diagnosticAt(res.loc, res, path, rule, message, 'warning')),
  };
}

// ── Konvoy ───────────────────────────────────────────────────────────────────────────────────

export interface KonvoySettings {
  readonly encapsulation: Encapsulation;
  readonly mtu?: number;
}

/** At most one ClusterConfiguration; its calico block sets the default encapsulation. */
export function resolveKonvoy(resources: readonly Of<'ClusterConfiguration'>[]): Resolved<KonvoySettings> {
  const diagnostics: ConfigDiagnostic[] = [];
  const [first, ...rest] = resources;
  for (const res of rest) {
    reporter(res, diagnostics).error(
      [],
      'konvoy-duplicate',
      `only one Konvoy ClusterConfiguration may be given; another is in ${first!.loc.file} document ${first!.loc.document}`,
    );
  }
  const calico = first?.raw.spec?.kubernetes?.containerNetworking?.calico;
  const value: KonvoySettings = { encapsulation: calico?.encapsulation ?? 'ipip', ...(calico?.mtu !== undefined ? { mtu: calico.mtu } : {}) };
  return { value, diagnostics };
}

// ── IPPool ───────────────────────────────────────────────────────────────────────────────────

export interface ResolvedPool {
  readonly res: Of<'IPPool'>;
  readonly net: IpNetwork;
  /** Whether ipipMode / vxlanMode came from a default rather than the manifest. */
  readonly defaulted: boolean;
  readonly pool: Omit<IPPool, 'index'>;
}

/**
 * Default modes: a pool that sets neither mode uses IP-in-IP Always (Calico v3.5 docs, seed
 * 000; Konvoy's default, seed 002) or VXLAN Always when the Konvoy ClusterConfiguration says
 * `encapsulation: vxlan`. A pool that sets one mode gets Never for the other. IPv6 pools never
 * default to IP-in-IP.
 */
function defaultModes(
  spec: { ipipMode?: EncapMode | undefined; vxlanMode?: EncapMode | undefined },
  version: 4 | 6,
  encap: Encapsulation,
): { ipipMode: EncapMode; vxlanMode: EncapMode; defaulted: boolean } {
  if (spec.ipipMode !== undefined || spec.vxlanMode !== undefined) {
    return { ipipMode: spec.ipipMode ?? 'Never', vxlanMode: spec.vxlanMode ?? 'Never', defaulted: false };
  }
  if (encap === 'vxlan') return { ipipMode: 'Never', vxlanMode: 'Always', defaulted: true };
  return { ipipMode: version === 4 ? 'Always' : 'Never', vxlanMode: 'Never', defaulted: true };
}

export function resolvePool(res: Of<'IPPool'>, encap: Encapsulation): Resolved<ResolvedPool> {
  const diagnostics: ConfigDiagnostic[] = [];
  const { error } = reporter(res, diagnostics);
  const spec = res.raw.spec;
  const cidrPath = ['spec', 'cidr'];
  if (spec.cidr === '') {
    error(cidrPath, 'cidr-required', 'IPPool CIDR must be specified');
    return { diagnostics };
  }
  const net = parseCidr(spec.cidr);
  if (!net) {
    error(cidrPath, 'cidr-invalid', `IPPool CIDR must be a valid subnet: '${excerpt(spec.cidr)}' is not an address/prefix such as 192.168.0.0/16`);
    return { diagnostics };
  }
  const network = masked(net);
  if (!isStrictlyMasked(net)) {
    error(cidrPath, 'cidr-not-strict', `IP pool CIDR is not strictly masked: ${spec.cidr} has host bits set; did you mean ${formatCidr(network)}?`);
  }
  const v = net.version;
  const { ipipMode, vxlanMode, defaulted } = defaultModes(spec, v, encap);
  if (v === 6 && ipipMode !== 'Never') {
    error(['spec', 'ipipMode'], 'ipip-ipv6', 'IPIP is not supported on an IPv6 IP pool; set ipipMode: Never (vxlanMode may be used instead)');
  }
  if (ipipMode !== 'Never' && vxlanMode !== 'Never') {
    error(
      ['spec', 'vxlanMode'],
      'encap-both-enabled',
      `IPIPMode and VXLANMode cannot both be enabled on the same IP pool (ipipMode: ${ipipMode}, vxlanMode: ${vxlanMode}); set one of them to Never`,
    );
  }
  const blockSize = spec.blockSize ?? (v === 4 ? DEFAULT_BLOCK_SIZE_V4 : DEFAULT_BLOCK_SIZE_V6);
  checkPoolRange(network, blockSize, spec.disabled ?? false, error);
  const pool: Omit<IPPool, 'index'> = {
    name: res.name,
    cidr: formatCidr(network),
    ipVersion: v,
    ipipMode,
    vxlanMode,
    natOutgoing: spec.natOutgoing ?? false,
    disabled: spec.disabled ?? false,
    blockSize,
    nodeSelector: spec.nodeSelector ?? DEFAULT_NODE_SELECTOR,
    allowedUses: spec.allowedUses ?? ['Workload', 'Tunnel'],
    disableBGPExport: spec.disableBGPExport ?? false,
  };
  return { value: { res, net: network, defaulted, pool }, diagnostics };
}

type ReportError = (path: PathSegment[], rule: string, message: string) => void;

/**
 * Block size range, pool at least one block (enabled pools only, as Calico), no link-local overlap
 * (Calico's rules and words); and burrow's own: an IPv4 pool at most a /8 and clear of the
 * reserved ranges (net.ts RESERVED_IPV4_RANGES). Disabled pools too: they still route and NAT.
 */
function checkPoolRange(net: IpNetwork, blockSize: number, disabled: boolean, error: ReportError): void {
  const cidrPath = ['spec', 'cidr'];
  const v = net.version;
  if (v === 4 && net.prefix < MIN_IPV4_POOL_PREFIX) {
    error(
      cidrPath,
      'pool-too-large',
      `IP pool size is too large: an IPv4 pool may be at most a /${MIN_IPV4_POOL_PREFIX} (the size of 10.0.0.0/8, the largest private range), got /${net.prefix}; a larger pool takes in public addresses, which would be routed into the tunnel and masqueraded`,
    );
  }
  if (v === 4) {
    for (const r of reservedIpv4Overlaps(Number(net.addr), net.prefix)) {
      error(cidrPath, 'reserved-range-overlap', `IP pool range overlaps with IPv4 ${r.what} range ${r.cidr}`);
    }
  }
  const [min, max] = v === 4 ? [20, 32] : [116, 128];
  if (blockSize < min || blockSize > max) {
    error(['spec', 'blockSize'], 'block-size-range', `IPv${v} block size must be between ${min} and ${max}, got ${blockSize}`);
  } else if (!disabled && net.prefix > blockSize) {
    // Calico exempts disabled pools: nothing is allocated from them.
    error(
      cidrPath,
      'pool-smaller-than-block',
      `IP pool size is too small for use with Calico IPAM. It must be equal to or greater than the block size (pool /${net.prefix}, blockSize ${blockSize})`,
    );
  }
  if (v === 4 && netsOverlap(net, IPV4_LINK_LOCAL)) {
    error(cidrPath, 'link-local-overlap', 'IP pool range overlaps with IPv4 Link Local range 169.254.0.0/16');
  }
  if (v === 6 && netsOverlap(net, IPV6_LINK_LOCAL)) {
    error(cidrPath, 'link-local-overlap', 'IP pool range overlaps with IPv6 Link Local range fe80::/10');
  }
}

// ── Node ─────────────────────────────────────────────────────────────────────────────────────

export interface ResolvedNode {
  readonly res: Of<'Node'>;
  readonly net: IpNetwork; // address with its prefix (host bits kept)
  readonly node: Node;
}

export function resolveNode(res: Of<'Node'>): Resolved<ResolvedNode> {
  const diagnostics: ConfigDiagnostic[] = [];
  const { error } = reporter(res, diagnostics);
  const text = res.raw.spec.bgp.ipv4Address;
  const path = ['spec', 'bgp', 'ipv4Address'];
  const net = parseCidr(text);
  if (!text.includes('/') && parseCidr(`${text}/32`)?.version === 4) {
    error(path, 'node-address', `ipv4Address '${text}' has no prefix length; write the node's subnet prefix, e.g. ${text}/24 (CrossSubnet compares subnets)`);
    return { diagnostics };
  }
  if (!net || net.version !== 4) {
    error(path, 'node-address', `ipv4Address '${excerpt(text)}' is not a valid IPv4 address with prefix length, e.g. 10.0.1.10/24`);
    return { diagnostics };
  }
  const address = formatIp({ version: 4, value: net.addr });
  const [bad] = reservedIpv4Overlaps(Number(net.addr), 32);
  if (bad) {
    error(path, 'node-address', `ipv4Address ${address} is in the IPv4 ${bad.what} range ${bad.cidr}, not a usable unicast node address`);
    return { diagnostics };
  }
  const spec = res.raw.spec;
  const manifestMac = spec.vxlanTunnelMACAddr !== undefined ? parseMac(spec.vxlanTunnelMACAddr) : undefined;
  const node: Node = {
    name: res.name,
    address,
    prefixLength: net.prefix,
    ...(spec.bgp.ipv4IPIPTunnelAddr !== undefined ? { ipipTunnelAddr: spec.bgp.ipv4IPIPTunnelAddr } : {}),
    ...(spec.ipv4VXLANTunnelAddr !== undefined ? { vxlanTunnelAddr: spec.ipv4VXLANTunnelAddr } : {}),
    vtepMac: manifestMac ?? calicoVtepMac(res.name),
    vtepMacSource: manifestMac ? 'manifest' : 'derived',
  };
  return { value: { res, net, node }, diagnostics };
}

// ── BlockAffinity ────────────────────────────────────────────────────────────────────────────

export interface ResolvedBlock {
  readonly res: Of<'BlockAffinity'>;
  readonly net: IpNetwork;
  readonly node: string;
  /** Confirmed (or state absent) and not deleted: the only affinities that route. */
  readonly active: boolean;
}

export function resolveBlock(res: Of<'BlockAffinity'>): Resolved<ResolvedBlock> {
  const diagnostics: ConfigDiagnostic[] = [];
  const { error } = reporter(res, diagnostics);
  const spec = res.raw.spec;
  const net = parseCidr(spec.cidr);
  if (!net) {
    error(['spec', 'cidr'], 'block-cidr', `BlockAffinity CIDR '${excerpt(spec.cidr)}' must be a valid subnet such as 192.168.1.0/26`);
    return { diagnostics };
  }
  if (!isStrictlyMasked(net)) {
    error(['spec', 'cidr'], 'block-cidr', `BlockAffinity CIDR ${spec.cidr} is not strictly masked; did you mean ${formatCidr(masked(net))}?`);
    return { diagnostics };
  }
  if (net.version === 4) {
    const reserved = reservedIpv4Overlaps(Number(net.addr), net.prefix);
    for (const r of reserved) {
      error(['spec', 'cidr'], 'reserved-range-overlap', `BlockAffinity CIDR ${formatCidr(net)} overlaps with IPv4 ${r.what} range ${r.cidr}`);
    }
    if (reserved.length > 0) return { diagnostics };
  }
  const deleted = spec.deleted === true || spec.deleted === 'true';
  const state = spec.state ?? 'confirmed';
  return { value: { res, net, node: spec.node, active: !deleted && state === 'confirmed' }, diagnostics };
}

// ── FelixConfiguration ───────────────────────────────────────────────────────────────────────

export interface ResolvedFelix {
  readonly settings: FelixSettings;
  readonly ipipEnabled?: boolean;
  readonly vxlanEnabled?: boolean;
  readonly res?: Of<'FelixConfiguration'>;
}

/** Only the cluster-wide `default` applies; Konvoy's calico.mtu fills the tunnel MTU it does not set. */
export function resolveFelix(resources: readonly Of<'FelixConfiguration'>[], konvoy: KonvoySettings): Resolved<ResolvedFelix> {
  const diagnostics: ConfigDiagnostic[] = [];
  let chosen: Of<'FelixConfiguration'> | undefined;
  for (const res of resources) {
    const { warn } = reporter(res, diagnostics);
    if (res.name !== 'default') {
      warn(['metadata', 'name'], 'felix-ignored', `FelixConfiguration '${res.name}' is ignored: burrow applies only the cluster-wide 'default' (per-node settings would make nodes disagree on VNI and port)`);
      continue;
    }
    chosen ??= res;
    const spec = (res.raw.spec ?? {}) as Record<string, unknown>;
    for (const field of FELIX_IGNORED_FIELDS) {
      if (spec[field] !== undefined) warn(['spec', field], 'felix-field-ignored', `${field} has no effect on burrow; ignored`);
    }
  }
  const spec = chosen?.raw.spec ?? {};
  const auto = (v: number | undefined) => (v === undefined || v === 0 ? undefined : v);
  const ipipMTU = auto(spec.ipipMTU) ?? (konvoy.encapsulation === 'ipip' ? konvoy.mtu : undefined);
  const vxlanMTU = auto(spec.vxlanMTU) ?? (konvoy.encapsulation === 'vxlan' ? konvoy.mtu : undefined);
  const settings: FelixSettings = {
    vxlanVNI: spec.vxlanVNI ?? DEFAULT_VXLAN_VNI,
    vxlanPort: spec.vxlanPort ?? DEFAULT_VXLAN_PORT,
    ...(ipipMTU !== undefined ? { ipipMTU } : {}),
    ...(vxlanMTU !== undefined ? { vxlanMTU } : {}),
    ...(spec.tunnelMSSClampEnabled !== undefined ? { tunnelMSSClampEnabled: spec.tunnelMSSClampEnabled } : {}),
  };
  return {
    value: {
      settings,
      ...(spec.ipipEnabled !== undefined ? { ipipEnabled: spec.ipipEnabled } : {}),
      ...(spec.vxlanEnabled !== undefined ? { vxlanEnabled: spec.vxlanEnabled } : {}),
      ...(chosen ? { res: chosen } : {}),
    },
    diagnostics,
  };
}
