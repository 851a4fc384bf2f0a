/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * burrow.h — the ONE definition of what the eBPF programs and userspace share: map keys and
 * values, modes, flags, counter indexes and limits. Included by every bpf/NAME.bpf.c; the build
 * generates the TypeScript side from it (scripts/burrow-h.mjs → src/generated/burrow-h.ts: every
 * enum, integer #define and struct field list), so a name removed here fails `npm run build`
 * wherever TypeScript uses it; the codecs built from those lists are also checked against each
 * object's BTF at load (size and every field offset). docs/datapath.md, "The vocabulary".
 *
 * Plain fixed-width types, explicit padding, no bitfields. Addresses are __be32, stored exactly as
 * they appear on the wire (network byte order), and only addresses are; every other integer is in
 * host byte order.
 * The precise packet semantics live in docs/datapath.md.
 */
#ifndef BURROW_H
#define BURROW_H

#include <linux/types.h>

/* Tunnel mode of a route. */
enum burrow_mode {
	BURROW_MODE_NONE  = 0, /* no encapsulation: the packet passes untouched */
	BURROW_MODE_IPIP  = 1, /* IPv4 protocol 4 (RFC 2003) */
	BURROW_MODE_VXLAN = 2, /* UDP + VXLAN (RFC 7348) */
};

/* Bits of burrow_peer.modes: the tunnel modes a peer may send us. */
enum burrow_peer_mode {
	BURROW_PEER_IPIP  = 1 << 0,
	BURROW_PEER_VXLAN = 1 << 1,
};

/* Bits of burrow_route.flags. Informational for the datapath except IN_POOL and LOCAL (decap). */
enum burrow_route_flag {
	BURROW_ROUTE_NAT_OUTGOING = 1 << 0, /* the pool masquerades traffic leaving all pools */
	BURROW_ROUTE_SAME_SUBNET  = 1 << 1, /* remote node shares the local node's subnet */
	BURROW_ROUTE_IN_POOL      = 1 << 2, /* the CIDR lies inside an IPPool (decap: a destination) */
	BURROW_ROUTE_POOL_DISABLED = 1 << 3, /* the pool has disabled: true (still routes) */
	BURROW_ROUTE_LOCAL        = 1 << 4, /* one of this node's own blocks (decap: never a peer's source) */
};

/*
 * Key of the `routes` LPM trie. prefixlen counts the significant bits of addr. The trie holds
 * remote blocks (tunnelled or not), /32s for node addresses inside pools, this node's own blocks
 * (mode NONE, LOCAL) and the pools themselves (mode NONE, IN_POOL, remote 0): tc_encap looks up
 * the inner destination, decap the inner source and destination (docs/datapath.md).
 */
struct burrow_route_key {
	__u32 prefixlen;
	__be32 addr;            /* IPv4 destination network, network byte order */
};

/* Value of the `routes` LPM trie: where traffic to the CIDR is tunnelled, and whose it is. */
struct burrow_route {
	__u8  mode;             /* enum burrow_mode */
	__u8  flags;            /* enum burrow_route_flag bits */
	__u16 pool;             /* index of the IPPool the route comes from (BURROW_POOL_NONE: none) */
	__be32 remote;          /* the node the CIDR belongs to (tunnel endpoint), network byte order;
	                         * 0 for a pool entry */
	__u32 vni;              /* VXLAN network identifier (24 bits); 0 = config.default_vni */
	__u8  vtep_mac[6];      /* remote VTEP MAC: inner Ethernet destination for VXLAN */
	__u16 _pad;
};

/* Value of the `peers` hash; key: __u32 outer source address, network byte order. */
struct burrow_peer {
	__u8  modes;            /* enum burrow_peer_mode bits: which tunnels we accept from it */
	__u8  _pad[3];
	__u32 vni;              /* the only VXLAN VNI accepted from this peer */
};

/* Bits of burrow_config.flags. */
enum burrow_config_flag {
	BURROW_CFG_NONE           = 0,
	BURROW_CFG_DECAP_SRC_POOL = 1 << 0, /* decap: an inner source anywhere in a pool will do
	                                     * (not only the sending peer's blocks) */
	BURROW_CFG_UPLINK_FIB     = 1 << 1, /* tc_encap: the outer packet leaves by the FIB's route
	                                     * to the peer, not by uplink_ifindex (a tunnel address
	                                     * on a loopback or dummy, several uplinks:
	                                     * docs/datapath.md "Loopback tunnel source") */
};

/* Value of the `config` array (one entry, key 0): this node. */
struct burrow_config {
	__be32 local_ip;        /* this node's underlay address, network byte order */
	__u32 uplink_ifindex;   /* where tc_encap sends packets (unless BURROW_CFG_UPLINK_FIB);
	                         * 0: none yet (it drops them) */
	__u8  uplink_mac[6];
	__u8  vtep_mac[6];      /* local VTEP MAC: inner Ethernet source for VXLAN */
	__u16 vxlan_port;       /* UDP destination port, host order (default 4789) */
	__u8  ttl;              /* outer TTL; 0 means 64 */
	__u8  _pad0;
	__u32 default_vni;      /* VNI for routes with vni 0 (default 4096) */
	__u16 uplink_mtu;       /* 0: no MTU check in the datapath */
	__u16 _pad1;
	__u32 flags;            /* enum burrow_config_flag bits */
	/* TCP MSS clamp (docs/datapath.md "MSS clamping"): a SYN or SYN-ACK encapsulated in this
	 * mode leaves with its MSS option lowered to this value when it is larger. The agent writes
	 * the tunnel MTU of the mode less 40; 0 turns clamping off for the mode. */
	__u16 mss_ipip;
	__u16 mss_vxlan;
	/* tc_decap, VXLAN carrying TCP (docs/datapath.md, "VXLAN through the tunnel device's GRO"): the
	 * inner frame is redirected to this device, the tunnel device's peer, so that it arrives on the
	 * tunnel device through the veth's NAPI, where GRO merges it; written with tunnel_mac as
	 * its Ethernet destination. 0: the inner frame goes up the uplink's stack (TC_ACT_OK). */
	__u32 gro_ifindex;
	__u8  tunnel_mac[6];
	__u16 _pad2;
};

/* Index of the `stats` per-CPU array. Every verdict of every program moves exactly one verdict
 * counter (all but the MSS_* side counters). */
enum burrow_stat {
	BURROW_STAT_ENCAP_IPIP = 0,
	BURROW_STAT_ENCAP_VXLAN,
	BURROW_STAT_DECAP_IPIP,
	BURROW_STAT_DECAP_VXLAN,
	BURROW_STAT_PASS,               /* not tunnelled / not ours */
	BURROW_STAT_PASS_FRAGMENT,      /* outer fragment addressed to us: left to the stack */
	BURROW_STAT_PASS_FIB,           /* xdp_encap: FIB/neighbour unresolved, left to the stack */
	BURROW_STAT_PASS_TOO_BIG,       /* xdp_encap: does not fit, left to the stack (ICMP) */
	BURROW_STAT_DROP_UNKNOWN_PEER,
	BURROW_STAT_DROP_BAD_VNI,
	BURROW_STAT_DROP_MALFORMED,
	BURROW_STAT_DROP_ECN,           /* outer CE on inner Not-ECT (RFC 6040) */
	BURROW_STAT_DROP_TTL,           /* inner TTL 0 after decap (RFC 2003 3.1) */
	BURROW_STAT_DROP_TOO_BIG,
	BURROW_STAT_DROP_NO_ROUTE,      /* tc_encap: no uplink configured (uplink_ifindex 0) */
	BURROW_STAT_DROP_ENCAP_FAILED,  /* bpf_skb_adjust_room / bpf_xdp_adjust_head failed */
	BURROW_STAT_DROP_ALREADY_ENCAP, /* a tunnel packet routed into the tunnel: recursion */
	BURROW_STAT_DROP_SPOOFED,       /* decap: inner source not the sending peer's (a forgery) */
	BURROW_STAT_DROP_OUTSIDE_POOL,  /* decap: inner destination outside every pool (a relay) */
	BURROW_STAT_PASS_TUNNEL_ENDPOINT, /* encap: inner destination is a tunnel endpoint (a peer,
	                                   * the route's node or us): never tunnelled (recursion) */
	/* The two below (MSS_*) are side counters: they move in addition to the verdict
	 * counter (ENCAP_IPIP / ENCAP_VXLAN) of the SYN they describe. */
	BURROW_STAT_MSS_CLAMPED,        /* encap: a SYN's MSS option was lowered to the clamp */
	BURROW_STAT_MSS_MALFORMED,      /* encap: a SYN with malformed TCP options, left untouched */
	/* Verdict counters again from here on (path MTU). */
	BURROW_STAT_PMTU_LEARNED,       /* decap: ICMP frag-needed about one of our tunnel packets:
	                                 * path MTU to that peer recorded in `pmtu`, ICMP passed on */
	BURROW_STAT_DROP_PMTU_FORGED,   /* decap: frag-needed quoting a tunnel packet we never sent */
	BURROW_STAT_DROP_PMTU_TOO_SMALL,/* decap: frag-needed about our tunnel packet, MTU < 552 */
	BURROW_STAT_PASS_PMTU,          /* xdp_encap: too big for the learned path MTU, left to the
	                                 * stack (its route to the peer's blocks says the inner MTU) */
	BURROW_STAT__MAX,
};

/* Value of the `stats` per-CPU array. */
struct burrow_stat_value {
	__u64 packets;
	__u64 bytes;            /* frame length as the program received it */
};

/*
 * Value of the `pmtu` hash; key: __u32 peer (tunnel endpoint) address, network byte order.
 * Written by decap when an ICMP frag-needed about one of our outer packets to that peer arrives
 * (docs/datapath.md, "Path MTU"); read by xdp_encap and by agentd, which installs the routes
 * that tell inner senders and deletes the entry when it expires.
 */
struct burrow_pmtu {
	__u64 learned_ns;       /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) when last learned */
	__u16 mtu;              /* path MTU to the peer: the largest outer packet that fits */
	__u8  _pad[6];
};

/*
 * Value of the `nexthops` hash; key: __u32 peer (tunnel endpoint) address, network byte order.
 * Written by agentd from the kernel's own route to the peer and the neighbour entry of that
 * route's next hop (docs/datapath.md, "Next hops"), only while the neighbour is resolved; the
 * encap programs then write the outer Ethernet header themselves and redirect to ifindex, with
 * no route or neighbour lookup per packet. No entry: they ask the kernel as before.
 */
struct burrow_nexthop {
	__u32 ifindex;          /* the device the kernel's route to the peer leaves by */
	__u8  dmac[6];          /* Ethernet destination: the next hop's MAC (the peer's or a gateway's) */
	__u8  smac[6];          /* Ethernet source: that device's MAC */
	__u16 mtu;              /* the largest outer packet the route takes (its MTU, else the
	                         * device's); 0: not checked */
	__u16 _pad;
};

/* burrow_route.pool of a route that comes from no IPPool. */
#define BURROW_POOL_NONE 0xffff

/* The smallest path MTU believed (the kernel's min_pmtu, 512 + 40). */
#define BURROW_PMTU_MIN 552

#define BURROW_ROUTES_MAX 262144
#define BURROW_PEERS_MAX  16384

#define BURROW_DEFAULT_VXLAN_PORT 4789
#define BURROW_DEFAULT_VNI        4096
#define BURROW_DEFAULT_TTL        64
#define BURROW_IPIP_OVERHEAD      20  /* outer IPv4 */
#define BURROW_VXLAN_OVERHEAD     50  /* outer IPv4 + UDP + VXLAN + inner Ethernet */

/* VXLAN UDP source port range (the kernel's default ip_local_port_range). */
#define BURROW_SPORT_MIN 32768
#define BURROW_SPORT_MAX 60999

#endif /* BURROW_H */
