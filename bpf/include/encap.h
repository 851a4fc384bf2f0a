/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * encap.h — what the datapath writes (docs/datapath.md "Outer IPv4", "UDP + VXLAN", "VXLAN
 * source port hash", tc_encap steps 9–10, xdp_encap steps 8–10, decapsulation step 14), split
 * as katran splits it: header builders that fill memory already proved in bounds, and
 * encap/decap actions per hook. Every action follows one order: grow (or shrink) the room,
 * reload data/data_end, bounds-check, write.
 *
 * The plans are what classify.h decided about a frame; the actions only carry them out.
 */
#ifndef BURROW_ENCAP_H
#define BURROW_ENCAP_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "burrow.h"
#include "consts.h"
#include "csum.h"
#include "maps.h"
#include "parse.h"

struct encap_plan {
	const struct burrow_route *route;
	const struct burrow_config *cfg; /* config[0] as encap_classify read it */
	__u32 overhead;         /* BURROW_IPIP_OVERHEAD or BURROW_VXLAN_OVERHEAD */
	__u8  mode;             /* BURROW_MODE_IPIP or BURROW_MODE_VXLAN */
	__u8  tos;              /* inner TOS, copied whole to the outer header (RFC 6040 normal) */
	__be16 df;              /* inner DF bit, as it sits in frag_off */
	__u16 sport;            /* VXLAN UDP source port */
	__u8  tcp;              /* inner protocol TCP, not a fragment: the MSS clamp looks */
	__u32 l4_off;           /* inner L4 header offset in the frame before encapsulation */
	__u32 l4_end;           /* end of the inner IP packet: min(14 + tot_len, frame length) */
};

struct decap_plan {
	__u32 strip;            /* bytes removed after the outer Ethernet header */
	__u8  inner_tos;        /* inner TOS after the RFC 6040 table */
	__u8  tos_changed;
	__u8  inner_tcp;        /* inner protocol TCP (tc_decap step 16) */
	const struct burrow_config *cfg; /* config[0] as decap read it (tc_decap step 16: the GRO hop) */
};

/* ---- VXLAN source port ---------------------------------------------------------------- */

/* MurmurHash3's 32-bit finalizer. */
static __always_inline __u32 fmix32(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

/*
 * ports: (sport << 16) | dport in host order, or 0 when the flow has none (see flow_ports()).
 * Four independent multiplications (xxHash32's primes) combined by addition, one finalizer, and
 * a multiply-shift into the port range instead of a division: 4 serial multiplications where
 * chaining a finalizer per field took 8 and a 64-bit div (perf: 27 % of tc_encap's own time).
 */
static __always_inline __u16 vxlan_source_port(__be32 saddr, __be32 daddr, __u32 ports,
					       __u8 protocol)
{
	__u32 h = 0x165667b1 + bpf_ntohl(saddr) * 0x9e3779b1 + bpf_ntohl(daddr) * 0x85ebca77 +
		  ports * 0xc2b2ae3d + (__u32)protocol * 0x27d4eb2f;

	h = fmix32(h);
	return BURROW_SPORT_MIN +
	       (__u16)(((__u64)h * (BURROW_SPORT_MAX - BURROW_SPORT_MIN + 1)) >> 32);
}

/* ---- header builders (memory already bounds-checked) ----------------------------------- */

static __always_inline void create_outer_ipv4(struct iphdr *o, const struct encap_plan *e,
					      __u16 tot_len, __u8 protocol)
{
	__u8 ttl = e->cfg->ttl ? e->cfg->ttl : BURROW_DEFAULT_TTL;
	__be32 saddr = e->cfg->local_ip, daddr = e->route->remote;
	__be16 w0, w1, w2, w3, w4;
	__u16 id = 0;

	if (!e->df) {
		/* RFC 6864: a packet that may be fragmented needs an ID that varies. */
		id = bpf_get_prandom_u32() & 0xffff;
		if (!id)
			id = 1;
	}
	/* The header's first five words, as they sit in memory. Always DF (docs/datapath.md, "Path
	 * MTU"): a router never fragments the outer packet (the receiver has no ipip module or VXLAN
	 * socket to reassemble it for) but answers with ICMP frag-needed, from which decap learns
	 * the path MTU. */
	w0 = bpf_htons(0x4500 | e->tos);        /* version 4, IHL 5, TOS */
	w1 = bpf_htons(tot_len);
	w2 = bpf_htons(id);
	w3 = bpf_htons(IP_DF);
	w4 = bpf_htons((__u16)ttl << 8 | protocol);
	*(__be16 *)o = w0;
	o->tot_len = w1;
	o->id = w2;
	o->frag_off = w3;
	*((__be16 *)o + 4) = w4;               /* TTL, protocol */
	o->saddr = saddr;
	o->daddr = daddr;
	/* Summed from the values written, not read back: a 16-bit load of bytes just stored by
	 * other stores stalls (perf: 15 % of tc_encap's own time went to that read-back). */
	o->check = ipv4_csum_words(w0, w1, w2, w3, w4, saddr, daddr);
}

static __always_inline void create_vxlan(struct udphdr *udp, const struct encap_plan *e,
					 __u16 udp_len)
{
	struct vxlan_hdr *vxh = (void *)(udp + 1);
	struct ethhdr *ieth = (void *)(vxh + 1);
	__u32 vni = e->route->vni ? e->route->vni : e->cfg->default_vni;

	udp->source = bpf_htons(e->sport);
	udp->dest = bpf_htons(e->cfg->vxlan_port);
	udp->len = bpf_htons(udp_len);
	udp->check = 0;

	vxh->flags = VXLAN_FLAG_I;
	vxh->reserved1[0] = 0;
	vxh->reserved1[1] = 0;
	vxh->reserved1[2] = 0;
	vxh->vni[0] = vni >> 16;
	vxh->vni[1] = vni >> 8;
	vxh->vni[2] = vni;
	vxh->reserved2 = 0;

	__builtin_memcpy(ieth->h_dest, e->route->vtep_mac, ETH_ALEN);
	__builtin_memcpy(ieth->h_source, e->cfg->vtep_mac, ETH_ALEN);
	ieth->h_proto = bpf_htons(ETH_P_IP);
}

/*
 * Writes the outer IPv4 header (and UDP + VXLAN + inner Ethernet) right after the 14-byte
 * Ethernet header of a frame that has just grown by e->overhead. len is the frame length before.
 */
static __always_inline int encap_write(void *data, void *data_end, const struct encap_plan *e,
				       __u32 len)
{
	struct iphdr *outer = data + ETH_HLEN;
	__u32 inner_len = len - ETH_HLEN;

	if (e->mode == BURROW_MODE_VXLAN) {
		struct udphdr *udp = (void *)(outer + 1);

		if (data + ETH_HLEN + BURROW_VXLAN_OVERHEAD > data_end)
			return -1;
		create_outer_ipv4(outer, e, inner_len + BURROW_VXLAN_OVERHEAD, IPPROTO_UDP);
		create_vxlan(udp, e, inner_len + VXLAN_SHIM_LEN);
		return 0;
	}
	if (data + ETH_HLEN + BURROW_IPIP_OVERHEAD > data_end)
		return -1;
	create_outer_ipv4(outer, e, inner_len + BURROW_IPIP_OVERHEAD, IPPROTO_IPIP);
	return 0;
}

/* ---- encap actions ---------------------------------------------------------------------- */

/* The outer packet of a len-byte frame is larger than mtu (0: not checked): the one MTU test of
 * the uplink (step 8) and of a next hop (8a). */
static __always_inline int outer_exceeds(const struct encap_plan *e, __u32 len, __u16 mtu)
{
	return mtu && len - ETH_HLEN + e->overhead > mtu;
}

/* docs/datapath.md tc_encap step 8, xdp_encap step 7: too big for the uplink once encapsulated
 * (tc_encap asks only for non-GSO frames). */
static __always_inline int encap_too_big(const struct encap_plan *e, __u32 len)
{
	return outer_exceeds(e, len, e->cfg->uplink_mtu);
}

/*
 * TC: the ENCAP flags record the inner header offsets and the tunnel GSO type on the skb, so a
 * GSO packet is segmented correctly after encapsulation; FIXED_GSO keeps its gso_size, already
 * sized for the tunnel MTU, so each segment fills the uplink MTU (docs/datapath.md, tc_encap
 * step 9). Room is inserted after the MAC header, so the original Ethernet header stays in front
 * (bpf_redirect_neigh rewrites it).
 */
static __always_inline int encap_skb(struct __sk_buff *skb, const struct encap_plan *e, __u32 len)
{
	__u64 flags = BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_FIXED_GSO;

	if (e->mode == BURROW_MODE_VXLAN)
		flags |= BPF_F_ADJ_ROOM_ENCAP_L4_UDP | BPF_F_ADJ_ROOM_ENCAP_L2_ETH |
			 BPF_F_ADJ_ROOM_ENCAP_L2(ETH_HLEN);
	if (bpf_skb_adjust_room(skb, e->overhead, BPF_ADJ_ROOM_MAC, flags))
		return -1;
	return encap_write((void *)(long)skb->data, (void *)(long)skb->data_end, e, len);
}

/* XDP step 8: where the outer packet leaves and with which MACs. Returns BPF_FIB_LKUP_RET_*. */
static __always_inline int encap_fib_lookup(struct xdp_md *ctx, const struct encap_plan *e,
					    __u32 len, struct bpf_fib_lookup *fib)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = AF_INET;
	fib->tot_len = len - ETH_HLEN + e->overhead;
	fib->ifindex = ctx->ingress_ifindex;
	fib->ipv4_src = e->cfg->local_ip;
	fib->ipv4_dst = e->route->remote;
	return bpf_fib_lookup(ctx, fib, sizeof(*fib), 0);
}

/*
 * tc_encap step 8b with BURROW_CFG_UPLINK_FIB (docs/datapath.md, "Loopback tunnel source"): the
 * uplink the underlay's routes choose for the peer, asked before the room is made. tot_len: the
 * outer IPv4 length of a non-GSO frame (the FIB checks it against the route MTU); 0 for a GSO
 * frame (the kernel then only asks that the egress device is up). On success or NO_NEIGH,
 * fib->ifindex is the uplink; bpf_redirect_neigh resolves a neighbour the FIB did not have.
 */
static __always_inline int encap_fib_lookup_skb(struct __sk_buff *skb, const struct encap_plan *e,
						__u32 tot_len, struct bpf_fib_lookup *fib)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = AF_INET;
	fib->tot_len = tot_len;
	fib->ifindex = skb->ifindex;
	fib->ipv4_src = e->cfg->local_ip;
	fib->ipv4_dst = e->route->remote;
	return bpf_fib_lookup(skb, fib, sizeof(*fib), 0);
}

/* The outer packet's next hop as agentd keeps it (docs/datapath.md, "Next hops"); NULL: ask the
 * kernel (FIB, bpf_redirect_neigh). */
static __always_inline const struct burrow_nexthop *encap_nexthop(const struct encap_plan *e)
{
	__u32 remote = e->route->remote;

	return bpf_map_lookup_elem(&nexthops, &remote);
}

/* TC: the Ethernet header in front of the packet, or NULL when the packet is shorter. */
static __always_inline struct ethhdr *skb_eth(struct __sk_buff *skb)
{
	struct ethhdr *eth = (void *)(long)skb->data;

	return (void *)(eth + 1) > (void *)(long)skb->data_end ? NULL : eth;
}

/* TC with a next hop: the Ethernet header in front (kept there by encap_skb) gets its MACs. */
static __always_inline int encap_set_l2_skb(struct __sk_buff *skb, const struct burrow_nexthop *nh)
{
	struct ethhdr *eth = skb_eth(skb);

	if (!eth)
		return -1;
	__builtin_memcpy(eth->h_dest, nh->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, nh->smac, ETH_ALEN);
	return 0;
}

/* XDP: a new Ethernet header (the FIB's or the next hop's MACs) replaces the original one. */
static __always_inline int encap_xdp(struct xdp_md *ctx, const struct encap_plan *e, __u32 len,
				     const __u8 *dmac, const __u8 *smac)
{
	void *data, *data_end;
	struct ethhdr *eth;

	if (bpf_xdp_adjust_head(ctx, -(int)e->overhead))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return -1;
	__builtin_memcpy(eth->h_dest, dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, smac, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IP);
	return encap_write(data, data_end, e, len);
}

/* ---- decap actions ---------------------------------------------------------------------- */

/* After the strip the inner IPv4 header sits right behind the Ethernet header. */
static __always_inline int decap_fix_inner(void *data, void *data_end, const struct decap_plan *d)
{
	struct iphdr *iph = data + ETH_HLEN;

	if (!d->tos_changed)
		return 0;
	if ((void *)(iph + 1) > data_end)
		return -1;
	ipv4_set_tos(iph, d->inner_tos);
	return 0;
}

/*
 * TC: FIXED_GSO keeps gso_size, the inner segments' payload size, which stripping the outer
 * headers does not change (without it the kernel would grow the MSS by the stripped length).
 * No BPF_F_ADJ_ROOM_DECAP_L3_IPV4: 6.1 refuses it (EINVAL), and from 6.3 on it only changes
 * skb->protocol when the outer header is IPv6, so for IPv4 in IPv4 this call does the same on
 * every kernel (docs/kernels.md, "TC decap without BPF_F_ADJ_ROOM_DECAP_L3_IPV4").
 */
static __always_inline int decap_skb(struct __sk_buff *skb, const struct decap_plan *d)
{
	if (bpf_skb_adjust_room(skb, -(__s32)d->strip, BPF_ADJ_ROOM_MAC, BPF_F_ADJ_ROOM_FIXED_GSO))
		return -1;
	return decap_fix_inner((void *)(long)skb->data, (void *)(long)skb->data_end, d);
}

/* tc_decap step 16: the Ethernet destination the tunnel device accepts as its own. */
static __always_inline int decap_set_dmac_skb(struct __sk_buff *skb, const __u8 *mac)
{
	struct ethhdr *eth = skb_eth(skb);

	if (!eth)
		return -1;
	__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);
	return 0;
}

/* XDP: move the head past the outer headers and put the outer Ethernet header back in front. */
static __always_inline int decap_xdp(struct xdp_md *ctx, const struct decap_plan *d)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct ethhdr outer_eth;

	if ((void *)(eth + 1) > data_end)
		return -1;
	__builtin_memcpy(&outer_eth, eth, sizeof(outer_eth));
	if (bpf_xdp_adjust_head(ctx, d->strip))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return -1;
	__builtin_memcpy(eth, &outer_eth, sizeof(outer_eth));
	return decap_fix_inner(data, data_end, d);
}

#endif /* BURROW_ENCAP_H */
