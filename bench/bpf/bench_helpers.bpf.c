// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bench_helpers: the benchmark's own traffic plumbing, never part of the datapath.
 *   xdp_tx    the generator: run with BPF_F_TEST_XDP_LIVE_FRAMES, every (fresh) frame goes back
 *             out of the device named in xdp_md.ingress_ifindex, i.e. into its veth peer.
 *   xdp_drop  the sink on a veth peer that receives XDP_TX'd frames: a veth only takes
 *             ndo_xdp_xmit frames when its peer runs an XDP program, and dropping is the cheapest.
 *   tc_drop   the sink for skbs sent into a veth peer (XDP there would copy every skb whose
 *             headroom is under 256 bytes into a new page: an encapsulated one).
 *   tc_bounce the "same verdict, no work" baseline for tc_encap at TC ingress: sends the packet
 *             back out of the device it came in on, unchanged (no route or neighbour lookup).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_tx(struct xdp_md *ctx)
{
	return XDP_TX;
}

SEC("xdp")
int xdp_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("tc")
int tc_drop(struct __sk_buff *skb)
{
	return TC_ACT_SHOT;
}

SEC("tc")
int tc_bounce(struct __sk_buff *skb)
{
	return bpf_redirect(skb->ifindex, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
