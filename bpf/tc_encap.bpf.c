// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * tc_encap — docs/datapath.md "Encapsulation": TC egress of the tunnel device, or TC ingress of
 * a pod's host-side veth (nothing here depends on the direction). Tunnels IPv4 packets routed to
 * a remote block over IPIP or VXLAN and hands them to the uplink: with the MACs of the peer's
 * next hop when agentd keeps them (bpf_redirect), else the kernel resolves the neighbour
 * (bpf_redirect_neigh).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "classify.h"
#include "encap.h"
#include "maps.h"
#include "mss.h"
#include "parse.h"

SEC("tc")
int tc_encap(struct __sk_buff *skb)
{
	struct pkt p = pkt_from_skb(skb);
	struct bpf_fib_lookup fib;
	const struct burrow_nexthop *nh;
	struct encap_plan e;
	__u32 len = p.len, out;
	int rc;
	int stat = encap_classify(&p, &e);

	if (stat == BURROW_STAT_PASS || stat == BURROW_STAT_PASS_TUNNEL_ENDPOINT)
		return counted(stat, len, TC_ACT_OK);
	if (stat == BURROW_STAT_DROP_ALREADY_ENCAP)
		return counted(stat, len, TC_ACT_SHOT);
	/* No uplink configured yet: bpf_redirect_neigh(0) would lose the packet without a trace. */
	if (!e.cfg->uplink_ifindex)
		return counted(BURROW_STAT_DROP_NO_ROUTE, len, TC_ACT_SHOT);
	/* GSO packets are segmented to the route MTU after encapsulation. */
	if (!skb->gso_size && encap_too_big(&e, len))
		return counted(BURROW_STAT_DROP_TOO_BIG, len, TC_ACT_SHOT);
	/* 8a: the next hop agentd keeps for the peer (docs/datapath.md, "Next hops"): the outer
	 * Ethernet header is written here and the packet goes straight to its device, with no
	 * route or neighbour lookup. */
	nh = encap_nexthop(&e);
	if (nh) {
		if (!skb->gso_size && outer_exceeds(&e, len, nh->mtu))
			return counted(BURROW_STAT_DROP_TOO_BIG, len, TC_ACT_SHOT);
		out = nh->ifindex;
	} else if (e.cfg->flags & BURROW_CFG_UPLINK_FIB) {
		/* 8b: the uplink: fixed, or the one the FIB chooses for the peer (docs/datapath.md,
		 * "Loopback tunnel source"). */
		rc = encap_fib_lookup_skb(skb, &e, skb->gso_size ? 0 : len - ETH_HLEN + e.overhead, &fib);
		if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED)
			return counted(BURROW_STAT_DROP_TOO_BIG, len, TC_ACT_SHOT);
		if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH)
			return counted(BURROW_STAT_DROP_NO_ROUTE, len, TC_ACT_SHOT);
		out = fib.ifindex;
	} else {
		out = e.cfg->uplink_ifindex;
	}
	if (encap_skb(skb, &e, len) || (nh && encap_set_l2_skb(skb, nh)))
		return counted(BURROW_STAT_DROP_ENCAP_FAILED, len, TC_ACT_SHOT);
	/* Only SYNs pay more than a branch and a 20-byte load (mss.h). */
	mss_count(mss_clamp_skb(skb, &e), len);
	count(stat, len);
	if (nh)
		return bpf_redirect(out, 0);
	/* No next hop passed, even with the FIB's at hand: the kernel then routes the outer packet
	 * itself on `out` and sets the skb's dst to that route. Given a next hop it keeps the inner
	 * packet's dst (the route into burrow0), and a packet queued while the neighbour resolves is
	 * sent with the MAC of that route's gateway (docs/datapath.md, "Loopback tunnel source"). */
	return bpf_redirect_neigh(out, NULL, 0, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
