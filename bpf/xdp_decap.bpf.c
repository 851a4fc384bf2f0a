// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdp_decap — docs/datapath.md "Decapsulation" in XDP on the uplink: the fastest hook on NICs
 * with native XDP. The decapsulated frame goes up the stack (XDP_PASS).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "classify.h"
#include "encap.h"
#include "maps.h"
#include "parse.h"

SEC("xdp")
int xdp_decap(struct xdp_md *ctx)
{
	struct pkt p = pkt_from_xdp(ctx);
	struct decap_plan d;
	__u32 len = p.len;
	int stat = decap_classify(&p, &d);

	if (stat_is_pass(stat))
		return counted(stat, len, XDP_PASS);
	if (stat != BURROW_STAT_DECAP_IPIP && stat != BURROW_STAT_DECAP_VXLAN)
		return counted(stat, len, XDP_DROP);
	if (decap_xdp(ctx, &d))
		return counted(BURROW_STAT_DROP_ENCAP_FAILED, len, XDP_DROP);
	return counted(stat, len, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
