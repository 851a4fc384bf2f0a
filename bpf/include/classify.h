/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * classify.h — the ordered checks of docs/datapath.md, shared by the TC and XDP entry points.
 * encap_classify() is steps 1–6 of encapsulation, decap_classify() steps 1–14 of
 * decapsulation. Both return the counter (enum burrow_stat) the frame moves — the order of the
 * checks decides which — and, for a frame to tunnel, fill the plan encap.h carries out. They
 * never write to the packet; each entry point maps the counter to its hook's verdict.
 */
#ifndef BURROW_CLASSIFY_H
#define BURROW_CLASSIFY_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "burrow.h"
#include "consts.h"
#include "encap.h"
#include "maps.h"
#include "parse.h"

/*
 * Steps 1–3 of both directions (docs/datapath.md, "Common: parsing the Ethernet + IPv4
 * header"): an Ethernet frame carrying IPv4 whose fixed header is all there, version 4, IHL >= 5.
 * Returns the IPv4 protocol with *iph set, or -1: not ours to judge (PASS).
 */
static __always_inline int parse_outer_ipv4(struct pkt *p, struct iphdr **iph)
{
	struct hdr_cursor nh;
	struct ethhdr *eth;

	pkt_linear(p, ETH_HLEN + IPV4_HLEN);
	nh.pos = p->data;
	if (parse_ethhdr(&nh, p->data_end, &eth) != bpf_htons(ETH_P_IP))
		return -1;
	return parse_iphdr(&nh, p->data_end, iph);
}

/* (sport << 16) | dport for the VXLAN source port hash; 0 when there are no ports to read. */
static __always_inline __u32 flow_ports(struct pkt *p, __u32 l4_off, int protocol, int frag)
{
	__be16 *ports;

	if (frag || (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP &&
		     protocol != IPPROTO_SCTP))
		return 0;
	pkt_linear(p, l4_off + 4);
	ports = p->data + l4_off;
	if ((void *)(ports + 2) > p->data_end)
		return 0;
	return ((__u32)bpf_ntohs(ports[0]) << 16) | bpf_ntohs(ports[1]);
}

/* Returns PASS, PASS_TUNNEL_ENDPOINT, DROP_ALREADY_ENCAP, or ENCAP_IPIP / ENCAP_VXLAN with *e
 * filled. */
static __always_inline int encap_classify(struct pkt *p, struct encap_plan *e)
{
	struct burrow_route_key key = { .prefixlen = 32 };
	struct hdr_cursor nh;
	struct iphdr *iph;
	struct udphdr *udp;
	__be32 saddr, daddr;
	__u32 l4_off;
	int protocol, frag;

	/* 1–3: Ethernet + IPv4, or not ours to judge. */
	protocol = parse_outer_ipv4(p, &iph);
	if (protocol < 0)
		return BURROW_STAT_PASS;

	/* 4: a tunnel route for the destination. */
	key.addr = iph->daddr;
	e->route = bpf_map_lookup_elem(&routes, &key);
	if (!e->route)
		return BURROW_STAT_PASS;
	e->mode = e->route->mode;
	if (e->mode != BURROW_MODE_IPIP && e->mode != BURROW_MODE_VXLAN)
		return BURROW_STAT_PASS;

	/* 5: never tunnel to a tunnel endpoint (the route's node, us, or any peer): recursion. */
	e->cfg = config_get();
	if (!e->cfg)
		return BURROW_STAT_PASS;
	saddr = iph->saddr;
	daddr = iph->daddr;
	if (daddr == e->route->remote || daddr == e->cfg->local_ip ||
	    bpf_map_lookup_elem(&peers, &daddr))
		return BURROW_STAT_PASS_TUNNEL_ENDPOINT;

	e->tos = iph->tos;
	e->df = iph->frag_off & bpf_htons(IP_DF);
	frag = ip_is_fragment(iph);
	l4_off = ETH_HLEN + iph->ihl * 4;
	/* For the MSS clamp (mss.h): where the TCP header starts and where the IP packet ends. */
	e->tcp = protocol == IPPROTO_TCP && !frag;
	e->l4_off = l4_off;
	e->l4_end = ETH_HLEN + bpf_ntohs(iph->tot_len);
	if (e->l4_end > p->len)
		e->l4_end = p->len;

	/* 6: a tunnel packet routed into the tunnel. pkt_linear() below invalidates iph. */
	if (protocol == IPPROTO_IPIP)
		return BURROW_STAT_DROP_ALREADY_ENCAP;
	if (protocol == IPPROTO_UDP && !frag) {
		pkt_linear(p, l4_off + UDP_HLEN);
		nh.pos = p->data + l4_off;
		if (parse_udphdr(&nh, p->data_end, &udp) == e->cfg->vxlan_port)
			return BURROW_STAT_DROP_ALREADY_ENCAP;
	}

	if (e->mode == BURROW_MODE_IPIP) {
		e->overhead = BURROW_IPIP_OVERHEAD;
		return BURROW_STAT_ENCAP_IPIP;
	}
	e->overhead = BURROW_VXLAN_OVERHEAD;
	e->sport = vxlan_source_port(saddr, daddr, flow_ports(p, l4_off, protocol, frag), protocol);
	return BURROW_STAT_ENCAP_VXLAN;
}

/* RFC 6040 decapsulation table. Returns -1 for CE on Not-ECT, which must be dropped. */
static __always_inline int ecn_decapsulate(__u8 outer_tos, __u8 inner_tos, __u8 *tos)
{
	__u8 o = outer_tos & ECN_MASK;
	__u8 i = inner_tos & ECN_MASK;

	*tos = inner_tos;
	if (o == ECN_CE) {
		if (i == ECN_NOT_ECT)
			return -1;
		*tos = inner_tos | ECN_CE;
	} else if (o == ECN_ECT_1 && i == ECN_ECT_0) {
		*tos = (inner_tos & ~ECN_MASK) | ECN_ECT_1;
	}
	return 0;
}

/*
 * Decap step 12, the inner source: the sending peer itself; else strict (default): the LPM entry
 * for it belongs to the sending peer (remote == outer source); with BURROW_CFG_DECAP_SRC_POOL: an
 * entry inside a pool that is not one of our own blocks. 0 when acceptable, -1 when not.
 */
static __always_inline int inner_source_ok(const struct burrow_config *cfg, __u32 outer_src, __u32 inner_src)
{
	struct burrow_route_key key = { .prefixlen = 32, .addr = inner_src };
	const struct burrow_route *src;

	if (inner_src == outer_src)
		return 0;
	src = bpf_map_lookup_elem(&routes, &key);
	if (!src)
		return -1;
	if (cfg->flags & BURROW_CFG_DECAP_SRC_POOL)
		return (src->flags & BURROW_ROUTE_IN_POOL) && !(src->flags & BURROW_ROUTE_LOCAL) ? 0 : -1;
	return src->remote == outer_src ? 0 : -1;
}

/*
 * docs/datapath.md "Path MTU", steps P1–P6: an ICMP (outer protocol 1) addressed to us, its outer
 * header already checked by steps 6–7. off: where the ICMP header starts in the frame; ihl_len,
 * tot_len: the outer header's. Reads nothing past tot_len. Returns PASS (not a frag-needed, or
 * about something not ours), DROP_MALFORMED (a frag-needed whose quote is not an IPv4 header + 8
 * bytes), DROP_PMTU_FORGED, DROP_PMTU_TOO_SMALL, or PMTU_LEARNED (the `pmtu` entry written).
 */
static __always_inline int pmtu_classify(struct pkt *p, const struct burrow_config *cfg, __u32 off,
					 __u32 ihl_len, __u32 tot_len)
{
	struct burrow_pmtu val = {};
	const struct burrow_pmtu *old;
	struct hdr_cursor nh;
	struct udphdr *udp;
	struct iphdr *q;
	__u8 *icmp;
	__u32 qlen, qtot, mtu;
	__be32 qsaddr, qdaddr;
	__be16 qfrag;
	int qproto;

	/* P1: type 3 (destination unreachable) code 4 (fragmentation needed and DF set). */
	if (ihl_len + ICMP_HLEN > tot_len)
		return BURROW_STAT_PASS;
	pkt_linear(p, off + ICMP_HLEN + IPV4_HLEN);
	icmp = p->data + off;
	if ((void *)(icmp + ICMP_HLEN) > p->data_end)
		return BURROW_STAT_PASS;
	if (icmp[0] != ICMP_DEST_UNREACH || icmp[1] != ICMP_FRAG_NEEDED)
		return BURROW_STAT_PASS;
	mtu = ((__u32)icmp[6] << 8) | icmp[7];

	/* P2: the quote: version 4, IHL >= 5, the whole header and 8 bytes after it within tot_len. */
	if (ihl_len + ICMP_HLEN + IPV4_HLEN > tot_len)
		return BURROW_STAT_DROP_MALFORMED;
	q = (void *)(icmp + ICMP_HLEN);
	if ((void *)(q + 1) > p->data_end)
		return BURROW_STAT_DROP_MALFORMED;
	if (q->version != 4 || q->ihl < 5)
		return BURROW_STAT_DROP_MALFORMED;
	qlen = q->ihl * 4;
	if (ihl_len + ICMP_HLEN + qlen + 8 > tot_len)
		return BURROW_STAT_DROP_MALFORMED;
	qproto = q->protocol;
	qsaddr = q->saddr;
	qdaddr = q->daddr;
	qfrag = q->frag_off;
	qtot = bpf_ntohs(q->tot_len);

	/* P3: a tunnel packet: protocol 4, or UDP to the VXLAN port. pkt_linear() invalidates q. */
	if (qproto == IPPROTO_UDP) {
		off += ICMP_HLEN + qlen;
		pkt_linear(p, off + UDP_HLEN);
		nh.pos = p->data + off;
		if (parse_udphdr(&nh, p->data_end, &udp) != cfg->vxlan_port)
			return BURROW_STAT_PASS;
	} else if (qproto != IPPROTO_IPIP) {
		return BURROW_STAT_PASS;
	}

	/* P4: one we sent: from us, to a peer, DF and not a fragment (ours always are), and bigger
	 * than the MTU the ICMP names (else it would not have been refused). */
	if (qsaddr != cfg->local_ip || qfrag & bpf_htons(IP_MF | IP_OFFSET) || !(qfrag & bpf_htons(IP_DF)) ||
	    mtu >= qtot || !bpf_map_lookup_elem(&peers, &qdaddr))
		return BURROW_STAT_DROP_PMTU_FORGED;

	/* P5: no path is believed narrower than the kernel's min_pmtu. */
	if (mtu < BURROW_PMTU_MIN)
		return BURROW_STAT_DROP_PMTU_TOO_SMALL;

	/* P6: learn, unless a narrower MTU is already known (it stays until agentd expires it). */
	old = bpf_map_lookup_elem(&pmtu, &qdaddr);
	if (!old || old->mtu >= mtu) {
		val.mtu = mtu;
		val.learned_ns = bpf_ktime_get_ns();
		bpf_map_update_elem(&pmtu, &qdaddr, &val, BPF_ANY);
	}
	return BURROW_STAT_PMTU_LEARNED;
}

/* Returns PASS, PASS_FRAGMENT, a DROP_* counter, or DECAP_IPIP / DECAP_VXLAN with *d filled. */
static __always_inline int decap_classify(struct pkt *p, struct decap_plan *d)
{
	struct burrow_route_key key = { .prefixlen = 32 };
	const struct burrow_route *dst;
	const struct burrow_config *cfg;
	const struct burrow_peer *peer;
	struct hdr_cursor nh;
	struct ethhdr *inner_eth;
	struct iphdr *iph, *inner;
	struct udphdr *udp;
	struct vxlan_hdr *vxh;
	__u32 saddr, ihl_len, tot_len, off;
	__u8 outer_tos, peer_mode;
	int protocol, port, vni, vxlan, icmp = 0;

	/* 1–3 */
	protocol = parse_outer_ipv4(p, &iph);
	if (protocol < 0)
		return BURROW_STAT_PASS;

	/* 4: addressed to us. */
	cfg = config_get();
	if (!cfg || iph->daddr != cfg->local_ip)
		return BURROW_STAT_PASS;

	/* 5: a tunnel protocol, or ICMP (path MTU, P1–P6). */
	if (protocol == IPPROTO_IPIP)
		vxlan = 0;
	else if (protocol == IPPROTO_UDP)
		vxlan = 1;
	else if (protocol == IPPROTO_ICMP)
		vxlan = 0, icmp = 1;
	else
		return BURROW_STAT_PASS;

	/* 6 */
	if (ip_is_fragment(iph))
		return BURROW_STAT_PASS_FRAGMENT;

	/* 7: lengths; bytes past tot_len are Ethernet padding. */
	ihl_len = iph->ihl * 4;
	tot_len = bpf_ntohs(iph->tot_len);
	if (ihl_len > p->len - ETH_HLEN || tot_len < ihl_len || tot_len > p->len - ETH_HLEN)
		return BURROW_STAT_DROP_MALFORMED;

	/* Everything below reads at most tot_len bytes past Ethernet, so within the frame; the
	 * data_end checks only restate that for the verifier. pkt_linear() invalidates iph. */
	saddr = iph->saddr;
	outer_tos = iph->tos;
	off = ETH_HLEN + ihl_len;
	if (icmp)
		return pmtu_classify(p, cfg, off, ihl_len, tot_len);

	/* 8: VXLAN port. */
	if (vxlan) {
		if (ihl_len + UDP_HLEN > tot_len)
			return BURROW_STAT_DROP_MALFORMED;
		pkt_linear(p, off + UDP_HLEN);
		nh.pos = p->data + off;
		port = parse_udphdr(&nh, p->data_end, &udp);
		if (port < 0)
			return BURROW_STAT_DROP_MALFORMED;
		if (port != cfg->vxlan_port)
			return BURROW_STAT_PASS;
	}

	/* 9: a peer allowed to send this mode (an open decapsulator bypasses firewalls). */
	peer = bpf_map_lookup_elem(&peers, &saddr);
	peer_mode = vxlan ? BURROW_PEER_VXLAN : BURROW_PEER_IPIP;
	if (!peer || !(peer->modes & peer_mode))
		return BURROW_STAT_DROP_UNKNOWN_PEER;

	/* 10: VXLAN header and inner Ethernet. */
	if (vxlan) {
		if (ihl_len + VXLAN_SHIM_LEN > tot_len)
			return BURROW_STAT_DROP_MALFORMED;
		pkt_linear(p, off + VXLAN_SHIM_LEN);
		nh.pos = p->data + off + UDP_HLEN;
		vni = parse_vxlanhdr(&nh, p->data_end, &vxh);
		if (vni < 0 || parse_ethhdr(&nh, p->data_end, &inner_eth) < 0)
			return BURROW_STAT_DROP_MALFORMED;
		if (!(vxh->flags & VXLAN_FLAG_I))
			return BURROW_STAT_DROP_MALFORMED;
		if ((__u32)vni != peer->vni)
			return BURROW_STAT_DROP_BAD_VNI;
		if (inner_eth->h_proto != bpf_htons(ETH_P_IP))
			return BURROW_STAT_DROP_MALFORMED;
		off += VXLAN_SHIM_LEN;
	}

	/* 11: inner IPv4 */
	if (off - ETH_HLEN + IPV4_HLEN > tot_len)
		return BURROW_STAT_DROP_MALFORMED;
	pkt_linear(p, off + IPV4_HLEN);
	nh.pos = p->data + off;
	if (parse_iphdr(&nh, p->data_end, &inner) < 0)
		return BURROW_STAT_DROP_MALFORMED;

	/* 12: the inner addresses: a peer speaks for its own blocks (or itself) and only into pools. */
	if (inner_source_ok(cfg, saddr, inner->saddr) < 0)
		return BURROW_STAT_DROP_SPOOFED;
	key.addr = inner->daddr;
	dst = bpf_map_lookup_elem(&routes, &key);
	if (!dst || !(dst->flags & (BURROW_ROUTE_IN_POOL | BURROW_ROUTE_LOCAL)))
		return BURROW_STAT_DROP_OUTSIDE_POOL;

	/* 13: RFC 2003 3.1 */
	if (inner->ttl == 0)
		return BURROW_STAT_DROP_TTL;

	/* 14: RFC 6040 */
	if (ecn_decapsulate(outer_tos, inner->tos, &d->inner_tos))
		return BURROW_STAT_DROP_ECN;
	d->tos_changed = d->inner_tos != inner->tos;

	d->strip = off - ETH_HLEN;
	d->inner_tcp = inner->protocol == IPPROTO_TCP;
	d->cfg = cfg;
	return vxlan ? BURROW_STAT_DECAP_VXLAN : BURROW_STAT_DECAP_IPIP;
}

static __always_inline int stat_is_pass(int stat)
{
	return stat == BURROW_STAT_PASS || stat == BURROW_STAT_PASS_FRAGMENT ||
	       stat == BURROW_STAT_PASS_FIB || stat == BURROW_STAT_PASS_TOO_BIG ||
	       stat == BURROW_STAT_PMTU_LEARNED || stat == BURROW_STAT_PASS_PMTU;
}

#endif /* BURROW_CLASSIFY_H */
