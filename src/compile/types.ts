// DesiredState: everything one node's datapath and kernel should hold, as plain values. The
// agent turns it into BPF map entries (bpf/include/burrow.h: routes, peers, config), kernel
// routes and an nftables table; `agentctl compile -o json` prints it (json.ts).
import type { ConfigDiagnostic } from '../config/diagnostics.js';

/** burrow_mode: how traffic to a route's CIDR leaves this node. */
export type TunnelMode = 'ipip' | 'vxlan' | 'none';
export type TunnelEncap = Exclude<TunnelMode, 'none'>;

export interface PoolRef {
  readonly name: string;
  /** IPPool index in the model (burrow_route.pool). */
  readonly index: number;
}

/**
 * What a `routes` entry is: 'block', a remote node's block affinity; 'node-address', a node
 * address inside a pool, never tunnelled; 'local-block', one of this node's own blocks;
 * 'pool', an IPv4 pool (the fallback for its addresses). The last three have mode 'none'.
 */
export type TunnelRouteKind = 'block' | 'node-address' | 'local-block' | 'pool';

/** One entry of the `routes` LPM trie. */
export interface TunnelRoute {
  readonly kind: TunnelRouteKind;
  readonly cidr: string;
  readonly mode: TunnelMode;
  /** Tunnel endpoint: the address of the node the CIDR belongs to ('0.0.0.0' for a pool). */
  readonly remote: string;
  /** Name of that node ('' for a pool). */
  readonly node: string;
  readonly vni: number;
  /** The remote node's VTEP MAC (inner Ethernet destination for VXLAN). */
  readonly vtepMac: string;
  // burrow_route.flags
  readonly natOutgoing: boolean;
  readonly sameSubnet: boolean;
  readonly inPool: boolean;
  readonly poolDisabled: boolean;
  readonly pool: PoolRef | null;
}

/** One entry of the `peers` hash: an outer source we accept tunnel packets from. */
export interface TunnelPeer {
  readonly address: string;
  readonly node: string;
  /** Sorted: the tunnels that node may send us. */
  readonly modes: readonly TunnelEncap[];
  readonly vni: number;
}

/** The `config` array entry, plus the MTUs the kernel routes carry. */
export interface NodeConfig {
  readonly name: string;
  readonly localIp: string;
  readonly prefixLength: number;
  /** 0 when not known at compile time (the agent fills it in). */
  readonly uplinkIfindex: number;
  readonly uplinkMac: string | null;
  readonly vtepMac: string;
  readonly vxlanPort: number;
  readonly defaultVni: number;
  readonly ttl: number;
  readonly uplinkMtu: number;
  readonly tunnelMtu: { readonly ipip: number; readonly vxlan: number };
  readonly tunnelDevice: string;
  /**
   * Decap's inner source check (burrow_config.flags): 'strict', the sending node's own blocks
   * (or its own address); 'pool', anywhere in a pool except this node's blocks.
   */
  readonly decapSourceCheck: DecapSourceCheck;
  /**
   * FelixConfiguration tunnelMSSClampEnabled (default true): SYNs entering the tunnel get their
   * MSS lowered to the mode's tunnel MTU − 40 (burrow_config.mss_ipip / mss_vxlan).
   */
  readonly mssClamp: boolean;
}

export type DecapSourceCheck = 'strict' | 'pool';

/**
 * `ip route replace <pool> via 169.254.1.1 dev <dev> onlink mtu <mtu> [src <src>]`, one per IPv4
 * pool that encapsulates: pod traffic to the pool enters the tunnel device, whose TC egress
 * program looks the destination up in the BPF `routes` map and encapsulates it to the block's
 * node (or passes it: our own blocks, addresses nobody holds). One route per pool, not per block:
 * 100k blocks cost the kernel nothing more (docs/datapath.md, "The path"). The gateway is a
 * placeholder on the ARP-less device (Calico's 169.254.1.1): one neighbour entry, whatever the
 * number of destinations. More specific routes win: direct routes to same-subnet blocks
 * (CrossSubnet), the pods' own /32 routes.
 */
export interface TunnelKernelRoute {
  readonly type: 'tunnel';
  readonly dst: string;
  readonly dev: string;
  readonly via: string;
  readonly onlink: true;
  readonly mtu: number;
  /** This node's tunnel address for the mode, when the Node sets one (it must be on the device). */
  readonly src?: string;
  readonly mode: TunnelEncap;
  /** The IPPool it carries. */
  readonly pool: string;
}

/** `ip route replace <dst> via <via> [dev <dev>]`: a same-subnet block reached without a tunnel. */
export interface DirectKernelRoute {
  readonly type: 'direct';
  readonly dst: string;
  readonly via: string;
  readonly dev?: string;
  readonly node: string;
}

export type KernelRoute = TunnelKernelRoute | DirectKernelRoute;

/** Masquerade traffic from `sourceCidr` to any destination outside every pool. */
export interface NatRule {
  readonly pool: string;
  readonly sourceCidr: string;
  readonly excludeDestinations: readonly string[];
}

export interface DesiredState {
  readonly node: NodeConfig;
  readonly routes: readonly TunnelRoute[];
  readonly peers: readonly TunnelPeer[];
  readonly kernelRoutes: readonly KernelRoute[];
  readonly nat: readonly NatRule[];
  readonly warnings: readonly ConfigDiagnostic[];
}
