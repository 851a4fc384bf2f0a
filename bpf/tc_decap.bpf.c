// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * tc_decap — docs/datapath.md "Decapsulation" at TC ingress of the uplink: the fallback for
 * devices without native XDP, and the faster hook on veth (XDP there strips GSO from the peer).
 * With cfg.gro_ifindex set, a decapsulated VXLAN frame carrying TCP goes through the tunnel device,
 * whose GRO merges what the uplink's GRO could not (step 16).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "classify.h"
#include "encap.h"
#include "maps.h"
#include "parse.h"

SEC("tc")
int tc_decap(struct __sk_buff *skb)
{
	struct pkt p = pkt_from_skb(skb);
	struct decap_plan d;
	__u32 len = p.len;
	int stat = decap_classify(&p, &d);

	if (stat_is_pass(stat))
		return counted(stat, len, TC_ACT_OK);
	if (stat != BURROW_STAT_DECAP_IPIP && stat != BURROW_STAT_DECAP_VXLAN)
		return counted(stat, len, TC_ACT_SHOT);
	if (decap_skb(skb, &d))
		return counted(BURROW_STAT_DROP_ENCAP_FAILED, len, TC_ACT_SHOT);
	if (stat == BURROW_STAT_DECAP_VXLAN && d.inner_tcp && d.cfg->gro_ifindex) {
		if (decap_set_dmac_skb(skb, d.cfg->tunnel_mac))
			return counted(BURROW_STAT_DROP_ENCAP_FAILED, len, TC_ACT_SHOT);
		return counted(stat, len, bpf_redirect(d.cfg->gro_ifindex, 0));
	}
	return counted(stat, len, TC_ACT_OK);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
