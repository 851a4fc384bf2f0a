/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * parse.h — bounds-checked header parsing, in the style of xdp-tutorial's parsing_helpers.h.
 *
 * A struct hdr_cursor walks the frame; each parse_* helper proves its header lies before
 * data_end, advances the cursor past it and returns the next protocol (or -1). The check sits
 * next to the access because the verifier rejects any packet read it cannot prove in bounds.
 *
 * struct pkt carries what both hooks have in common: the frame, its length at entry, and (TC
 * only) the skb, whose headers may sit in page fragments instead of the linear area that direct
 * packet access reaches. pkt_linear() pulls them in, only when needed and only as far as asked.
 */
#ifndef BURROW_PARSE_H
#define BURROW_PARSE_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "consts.h"

struct hdr_cursor {
	void *pos;
};

struct vxlan_hdr {
	__u8  flags;            /* VXLAN_FLAG_I */
	__u8  reserved1[3];
	__u8  vni[3];           /* big endian */
	__u8  reserved2;
};

struct pkt {
	void *data;
	void *data_end;
	__u32 len;               /* frame length at entry: skb->len, or data_end - data in XDP */
	struct __sk_buff *skb;   /* NULL in XDP: an xdp_buff without frags is all linear */
};

static __always_inline struct pkt pkt_from_skb(struct __sk_buff *skb)
{
	struct pkt p = {
		.data = (void *)(long)skb->data,
		.data_end = (void *)(long)skb->data_end,
		.len = skb->len,
		.skb = skb,
	};

	return p;
}

static __always_inline struct pkt pkt_from_xdp(struct xdp_md *ctx)
{
	struct pkt p = {
		.data = (void *)(long)ctx->data,
		.data_end = (void *)(long)ctx->data_end,
		.skb = NULL,
	};

	p.len = p.data_end - p.data;
	return p;
}

/*
 * Makes the first min(n, len) bytes of the frame directly readable, so that "k bytes at off are
 * in the frame" and "data + off + k <= data_end" agree for every off + k <= n. A no-op in XDP
 * (skb is NULL and the branch folds away) and when the linear area is long enough already.
 * A pull invalidates every packet pointer: callers re-derive them from p->data.
 */
static __always_inline void pkt_linear(struct pkt *p, __u32 n)
{
	if (n > p->len)
		n = p->len;
	if (p->data + n <= p->data_end || !p->skb)
		return;
	bpf_skb_pull_data(p->skb, n);
	p->data = (void *)(long)p->skb->data;
	p->data_end = (void *)(long)p->skb->data_end;
}

/* Returns the EtherType (network byte order), or -1 for a frame shorter than 14 bytes. */
static __always_inline int parse_ethhdr(struct hdr_cursor *nh, void *data_end,
					struct ethhdr **ethhdr)
{
	struct ethhdr *eth = nh->pos;

	if ((void *)(eth + 1) > data_end)
		return -1;
	nh->pos = eth + 1;
	*ethhdr = eth;
	return eth->h_proto;
}

/*
 * Checks the fixed 20 bytes, version 4 and IHL >= 5, and returns the protocol (or -1). The
 * cursor moves past IHL·4 bytes, which need not all be in the frame: options are never read, and
 * whether a short header is malformed or simply not ours is the caller's decision.
 */
static __always_inline int parse_iphdr(struct hdr_cursor *nh, void *data_end,
				       struct iphdr **iphdr)
{
	struct iphdr *iph = nh->pos;

	if ((void *)(iph + 1) > data_end)
		return -1;
	if (iph->version != 4 || iph->ihl < 5)
		return -1;
	nh->pos = (void *)iph + iph->ihl * 4;
	*iphdr = iph;
	return iph->protocol;
}

/* Returns the destination port (host byte order), or -1 when the 8 bytes are not there. */
static __always_inline int parse_udphdr(struct hdr_cursor *nh, void *data_end,
					struct udphdr **udphdr)
{
	struct udphdr *udp = nh->pos;

	if ((void *)(udp + 1) > data_end)
		return -1;
	nh->pos = udp + 1;
	*udphdr = udp;
	return bpf_ntohs(udp->dest);
}

/* Returns the 24-bit VNI, or -1 when the 8 bytes are not there. Flags are the caller's. */
static __always_inline int parse_vxlanhdr(struct hdr_cursor *nh, void *data_end,
					  struct vxlan_hdr **vxlanhdr)
{
	struct vxlan_hdr *vxh = nh->pos;

	if ((void *)(vxh + 1) > data_end)
		return -1;
	nh->pos = vxh + 1;
	*vxlanhdr = vxh;
	return (vxh->vni[0] << 16) | (vxh->vni[1] << 8) | vxh->vni[2];
}

/* "Fragment" in docs/datapath.md: MF set or a non-zero fragment offset. */
static __always_inline int ip_is_fragment(const struct iphdr *iph)
{
	return (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET)) != 0;
}

#endif /* BURROW_PARSE_H */
