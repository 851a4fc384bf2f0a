// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdp_encap — docs/datapath.md "Encapsulation in XDP" (gateway mode, on an interface receiving
 * pod traffic). Encapsulates and forwards in XDP when agentd's next hop for the peer or the FIB
 * already knows the way out;
 * anything it cannot finish here goes up the stack, where the tunnel route and tc_encap take it.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "classify.h"
#include "encap.h"
#include "maps.h"
#include "mss.h"
#include "parse.h"

/* xdp_encap step 7b: too big for the path MTU learned to the peer (docs/datapath.md, "Path MTU"). */
static __always_inline int encap_too_big_for_path(const struct encap_plan *e, __u32 len)
{
	__u32 remote = e->route->remote;
	const struct burrow_pmtu *learned = bpf_map_lookup_elem(&pmtu, &remote);

	return learned && len - ETH_HLEN + e->overhead > learned->mtu;
}

SEC("xdp")
int xdp_encap(struct xdp_md *ctx)
{
	struct pkt p = pkt_from_xdp(ctx);
	const struct burrow_nexthop *nh;
	struct bpf_fib_lookup fib;
	struct encap_plan e;
	const __u8 *dmac, *smac;
	__u32 ingress = ctx->ingress_ifindex;
	__u32 len = p.len, out;
	int stat = encap_classify(&p, &e);

	if (stat == BURROW_STAT_PASS || stat == BURROW_STAT_PASS_TUNNEL_ENDPOINT)
		return counted(stat, len, XDP_PASS);
	if (stat == BURROW_STAT_DROP_ALREADY_ENCAP)
		return counted(stat, len, XDP_DROP);
	/* The stack routes it through the tunnel route, whose MTU makes it send ICMP. */
	if (encap_too_big(&e, len))
		return counted(BURROW_STAT_PASS_TOO_BIG, len, XDP_PASS);
	/* The stack's route to the peer's blocks carries the learned path's inner MTU. */
	if (encap_too_big_for_path(&e, len))
		return counted(BURROW_STAT_PASS_PMTU, len, XDP_PASS);
	/* 8: the next hop agentd keeps for the peer (docs/datapath.md, "Next hops"), else the FIB's. */
	nh = encap_nexthop(&e);
	if (nh) {
		if (outer_exceeds(&e, len, nh->mtu))
			return counted(BURROW_STAT_PASS_TOO_BIG, len, XDP_PASS);
		out = nh->ifindex;
		dmac = nh->dmac;
		smac = nh->smac;
	} else {
		if (encap_fib_lookup(ctx, &e, len, &fib) != BPF_FIB_LKUP_RET_SUCCESS)
			return counted(BURROW_STAT_PASS_FIB, len, XDP_PASS);
		out = fib.ifindex;
		dmac = fib.dmac;
		smac = fib.smac;
	}
	if (encap_xdp(ctx, &e, len, dmac, smac))
		return counted(BURROW_STAT_DROP_ENCAP_FAILED, len, XDP_DROP);
	/* Only SYNs pay more than a branch and a 20-byte load (mss.h). */
	mss_count(mss_clamp_xdp(ctx, &e), len);
	count(stat, len);
	if (out == ingress)
		return XDP_TX;
	return bpf_redirect(out, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
