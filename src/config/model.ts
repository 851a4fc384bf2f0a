// The resolved model: what the rest of burrow uses. Every default is applied, every value is
// canonical (CIDRs masked, MACs lower-case), and the order is by name / address, never by the
// order manifests were given in.
import { BURROW_DEFAULT_VNI, BURROW_DEFAULT_VXLAN_PORT } from '../generated/burrow-h.js';
import type { ConfigDiagnostic } from './diagnostics.js';

export type EncapMode = 'Always' | 'CrossSubnet' | 'Never';
export type Encapsulation = 'ipip' | 'vxlan';
export type AllowedUse = 'Workload' | 'Tunnel' | 'LoadBalancer';

export interface IPPool {
  readonly name: string;
  /** Canonical network, e.g. 192.168.0.0/16. */
  readonly cidr: string;
  readonly ipVersion: 4 | 6;
  readonly ipipMode: EncapMode;
  readonly vxlanMode: EncapMode;
  readonly natOutgoing: boolean;
  /** Stops allocation only: the pool still routes and NATs. */
  readonly disabled: boolean;
  readonly blockSize: number;
  /** Kept as written ("all()" by default); burrow does not evaluate selectors. */
  readonly nodeSelector: string;
  readonly allowedUses: readonly AllowedUse[];
  readonly disableBGPExport: boolean;
  /** Position in the name-sorted pool list: the `pool` index of BPF route entries. */
  readonly index: number;
}

export interface Node {
  readonly name: string;
  /** Underlay IPv4 address (the tunnel endpoint), without prefix. */
  readonly address: string;
  /** Prefix length of spec.bgp.ipv4Address: the node's subnet for CrossSubnet. */
  readonly prefixLength: number;
  readonly ipipTunnelAddr?: string;
  readonly vxlanTunnelAddr?: string;
  /** VXLAN VTEP MAC, lower-case colon form. */
  readonly vtepMac: string;
  /** 'manifest': spec.vxlanTunnelMACAddr; 'derived': Calico's 0x66 + sha1(name)[0..5]. */
  readonly vtepMacSource: 'manifest' | 'derived';
}

/** A block affine to a node (confirmed BlockAffinity, not deleted). */
export interface Block {
  readonly node: string;
  readonly cidr: string;
  /** Name of the pool that contains it. */
  readonly pool: string;
}

export interface FelixSettings {
  readonly vxlanVNI: number;
  readonly vxlanPort: number;
  /** Tunnel MTU overrides; unset: the compiler derives them from the uplink MTU. */
  readonly ipipMTU?: number;
  readonly vxlanMTU?: number;
  /**
   * burrow's own FelixConfiguration field (Calico has none like it): clamp the MSS of TCP SYNs
   * entering the tunnel to the tunnel MTU − 40 (docs/datapath.md "MSS clamping"). Unset: true.
   */
  readonly tunnelMSSClampEnabled?: boolean;
}

export interface Model {
  readonly pools: readonly IPPool[];
  readonly nodes: readonly Node[];
  readonly blocks: readonly Block[];
  readonly felix: FelixSettings;
  /** The encapsulation of pools that set neither mode ('vxlan' only via a Konvoy ClusterConfiguration). */
  readonly defaultEncapsulation: Encapsulation;
  readonly warnings: readonly ConfigDiagnostic[];
}

export type LoadResult =
  | { readonly ok: true; readonly model: Model }
  | { readonly ok: false; readonly errors: readonly ConfigDiagnostic[]; readonly warnings: readonly ConfigDiagnostic[] };

export const DEFAULT_BLOCK_SIZE_V4 = 26;
export const DEFAULT_BLOCK_SIZE_V6 = 122;
/** Calico's FelixConfiguration defaults, which burrow.h's defaults are. */
export const DEFAULT_VXLAN_VNI = BURROW_DEFAULT_VNI;
export const DEFAULT_VXLAN_PORT = BURROW_DEFAULT_VXLAN_PORT;
export const DEFAULT_NODE_SELECTOR = 'all()';
