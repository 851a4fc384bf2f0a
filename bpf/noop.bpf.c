// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * noop — benchmark baselines: the cost of having a program attached at all (for XDP on veth,
 * losing GSO from the peer; see docs/datapath.md, "Choosing the decap hook"). No maps, no counters.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int tc_noop(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

SEC("xdp")
int xdp_noop(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
