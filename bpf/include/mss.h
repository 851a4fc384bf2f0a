/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mss.h — TCP MSS clamping of docs/datapath.md "MSS clamping": a SYN (or SYN-ACK) that has just
 * been encapsulated leaves with its MSS option lowered to the mode's clamp (cfg.mss_ipip /
 * cfg.mss_vxlan: the tunnel MTU less 40, written by the agent; 0 = off; lower when a narrower
 * path MTU to the peer has been learned), never raised. The TCP
 * checksum is updated incrementally (RFC 1624), so a wrong one stays exactly as wrong.
 *
 * Cost on the fast path: a frame that is not unfragmented TCP costs one branch; a TCP segment
 * one 20-byte load and the SYN test. Only SYNs walk the options: they are copied to the stack
 * (at most 40 bytes) and walked there by bpf_loop, one option per step, every index masked into
 * the buffer (an unrolled or open-coded loop of 40 steps took the verifier past its 1M
 * instructions).
 *
 * The clamp runs after the outer headers are written: the inner TCP header then sits `overhead`
 * bytes further on, and nothing before it is read or written again.
 */
#ifndef BURROW_MSS_H
#define BURROW_MSS_H

#include <linux/bpf.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "burrow.h"
#include "consts.h"
#include "csum.h"
#include "encap.h"
#include "maps.h"

#define TCP_HLEN       20
#define TCP_OPT_MAX    40            /* data offset 15: 60 bytes of header, 40 of options */
#define TCP_OPT_BUF    64            /* power of two above TCP_OPT_MAX + 3, for index masks */
#define TCP_OPT_EOL    0
#define TCP_OPT_NOP    1
#define TCP_OPT_MSS    2
#define TCP_OPT_MSS_LEN 4
#define MSS_IPV4_TCP_HLEN 40         /* IPv4 + TCP headers without options */

enum mss_result {
	MSS_NONE = 0,      /* nothing to do: not a SYN, no MSS option, already small, clamp off */
	MSS_CLAMPED,       /* the MSS option was lowered */
	MSS_MALFORMED,     /* a SYN whose header or options do not parse: left untouched */
};

/* The options walk's state, for bpf_loop. */
struct mss_walk {
	__u8  buf[TCP_OPT_BUF];
	__u32 optlen;
	__u32 i;
	int   at;           /* offset of the MSS value in buf, -1 none yet, -2 malformed */
};

/* One option per call; returns 1 to stop. */
static long mss_walk_step(__u32 index, void *ctx)
{
	struct mss_walk *w = ctx;
	__u32 i = w->i;
	__u8 kind, olen;

	if (i >= w->optlen)
		return 1;
	kind = w->buf[i & (TCP_OPT_BUF - 1)];
	if (kind == TCP_OPT_EOL)
		return 1;
	if (kind == TCP_OPT_NOP) {
		w->i = i + 1;
		return 0;
	}
	if (i + 1 >= w->optlen)
		goto malformed;
	olen = w->buf[(i + 1) & (TCP_OPT_BUF - 1)];
	if (olen < 2 || i + olen > w->optlen)
		goto malformed;
	if (kind == TCP_OPT_MSS) {
		if (olen != TCP_OPT_MSS_LEN || w->at >= 0)
			goto malformed;
		w->at = i + 2;
	}
	w->i = i + olen;
	return 0;
malformed:
	w->at = -2;
	return 1;
}

/*
 * Walks the options in w->buf[0, w->optlen) (optlen <= TCP_OPT_MAX): EOL ends the list, NOP is
 * one byte, every other option has a length byte of at least 2 that keeps it inside the list; an
 * MSS option has length 4 and appears at most once. Each step advances at least one byte, so
 * TCP_OPT_MAX steps reach the end. bpf_loop (5.17+) has the verifier check the step once, not
 * every path through 40 of them. Returns the offset of the MSS value in buf, -1 when there is no
 * MSS option, -2 when the list is malformed.
 */
static __always_inline int mss_find(struct mss_walk *w)
{
	/*
	 * Verifiers before 6.7 check a bpf_loop callback once, from the state at the call, and take
	 * the state after that one call for the state after the loop. With i = 0 and at = -1 known
	 * there they "proved" that the MSS value sits at offset 2 (even) and that no second MSS option
	 * exists, and hard-wired those branches: 6.1 wrote a wrong checksum for an MSS value at an odd
	 * offset. Starting from a zero they cannot know (two loads of the same byte, subtracted: the
	 * compiler may not fold volatile loads) keeps every branch real on every kernel.
	 */
	const volatile __u8 *b = w->buf;
	int zero = b[0] - b[0];

	w->i = zero;
	w->at = zero - 1;
	bpf_loop(TCP_OPT_MAX, mss_walk_step, w, 0);
	return w->at;
}

/*
 * The options' length as the verifier must see it for a load into the stack buffer: within
 * [1, TCP_OPT_BUF]. The caller has checked 1 <= n <= TCP_OPT_MAX, but the compiler may merge those
 * checks into one on a copy of n (n - 1 > 39) that the verifier cannot carry back to n — one
 * unrelated change elsewhere was enough to get "invalid zero-sized read". The barrier hides the
 * range from the compiler, so the mask cannot be folded away; for checked values it changes
 * nothing.
 */
static __always_inline __u32 mss_opt_len(__u32 n)
{
	asm volatile("" : "+r"(n));
	return ((n - 1) & (TCP_OPT_BUF - 1)) + 1;
}

/* The 16-bit word the checksum sums for a value at an even (as is) or odd (bytes swapped)
 * offset from the TCP header, as it sits in memory. */
static __always_inline __u16 mss_csum_word(__u16 value, int odd)
{
	if (odd)
		value = (__u16)((value >> 8) | (value << 8));
	return bpf_htons(value);
}

static __always_inline __u16 mss_clamp_of(const struct encap_plan *e)
{
	return e->mode == BURROW_MODE_IPIP ? e->cfg->mss_ipip : e->cfg->mss_vxlan;
}

/* Step 3b: a path MTU learned to the peer (docs/datapath.md, "Path MTU") lowers the clamp to
 * what fits the path: mtu - overhead - 40. Entries below 552 (never written by decap, P5) are
 * not believed. Only SYNs with options get here: the lookup stays off the fast path. */
static __always_inline __u16 mss_path_clamp(const struct encap_plan *e, __u16 clamp)
{
	__u32 remote = e->route->remote;
	const struct burrow_pmtu *learned = bpf_map_lookup_elem(&pmtu, &remote);
	__u32 path;

	if (!learned || learned->mtu < BURROW_PMTU_MIN)
		return clamp;
	path = learned->mtu - e->overhead - MSS_IPV4_TCP_HLEN;
	return path < clamp ? path : clamp;
}

/*
 * The decision, shared by both hooks: w->buf holds the options of a SYN whose header fits.
 * Returns MSS_NONE, MSS_MALFORMED, or MSS_CLAMPED with *at (offset of the MSS value in buf) and
 * *old filled.
 */
static __always_inline int mss_decide(struct mss_walk *w, __u16 clamp, int *at, __u16 *old)
{
	int found = mss_find(w);

	if (found == -2)
		return MSS_MALFORMED;
	if (found < 0)
		return MSS_NONE;
	*at = found;
	*old = ((__u16)w->buf[found & (TCP_OPT_BUF - 1)] << 8) | w->buf[(found + 1) & (TCP_OPT_BUF - 1)];
	return *old > clamp ? MSS_CLAMPED : MSS_NONE;
}

/*
 * Header checks before the options are read: MSS_NONE (not ours to clamp: no clamp, not TCP,
 * the 20 bytes not within the IP packet, no SYN), MSS_MALFORMED (a SYN whose data offset is
 * below 5 or runs past the IP packet), or -1: go on and read *optlen bytes of options.
 */
static __always_inline int mss_precheck(const struct encap_plan *e, const struct tcphdr *th,
					__u32 *optlen)
{
	__u32 hlen;

	if (!(((const __u8 *)th)[13] & 0x02))     /* SYN */
		return MSS_NONE;
	hlen = th->doff * 4;
	if (hlen < TCP_HLEN || e->l4_off + hlen > e->l4_end)
		return MSS_MALFORMED;
	*optlen = hlen - TCP_HLEN;
	if (*optlen == 0)
		return MSS_NONE;
	return -1;
}

/* A load from the frame by either hook: `xdp` is a constant where it is inlined, so each program
 * keeps only its own helper. */
static __always_inline long mss_load(void *ctx, int xdp, __u32 off, void *to, __u32 len)
{
	return xdp ? bpf_xdp_load_bytes(ctx, off, to, len) : bpf_skb_load_bytes(ctx, off, to, len);
}

/*
 * What both hooks do before writing: MSS_NONE, MSS_MALFORMED, or MSS_CLAMPED with *off (the TCP
 * header in the encapsulated frame), *th (its first 20 bytes), *at (the MSS value's offset in
 * the options), *old (its value) and *clamp (lowered to the learned path's, step 3b).
 */
static __always_inline int mss_read(void *ctx, int xdp, const struct encap_plan *e, __u16 *clamp,
				    struct tcphdr *th, __u32 *off, int *at, __u16 *old)
{
	struct mss_walk w = {};
	int r;

	if (!e->tcp || !*clamp || e->l4_off + TCP_HLEN > e->l4_end)
		return MSS_NONE;
	*off = e->l4_off + e->overhead;
	if (mss_load(ctx, xdp, *off, th, sizeof(*th)))
		return MSS_NONE;
	r = mss_precheck(e, th, &w.optlen);
	if (r >= 0)
		return r;
	if (w.optlen > TCP_OPT_MAX ||
	    mss_load(ctx, xdp, *off + TCP_HLEN, w.buf, mss_opt_len(w.optlen)))
		return MSS_MALFORMED;
	*clamp = mss_path_clamp(e, *clamp);
	return mss_decide(&w, *clamp, at, old);
}

/* TC: bpf_l4_csum_replace leaves a CHECKSUM_PARTIAL skb's pseudo-header sum alone (the NIC or
 * the stack completes the checksum over the new bytes) and updates a complete one. */
static __always_inline int mss_clamp_skb(struct __sk_buff *skb, const struct encap_plan *e)
{
	__u16 clamp = mss_clamp_of(e);
	struct tcphdr th;
	__u32 off = 0;
	__u16 old = 0, new_be;
	int r, at = 0;

	r = mss_read(skb, 0, e, &clamp, &th, &off, &at, &old);
	if (r != MSS_CLAMPED)
		return r;
	new_be = bpf_htons(clamp);
	if (bpf_skb_store_bytes(skb, off + TCP_HLEN + at, &new_be, sizeof(new_be), 0))
		return MSS_MALFORMED;
	bpf_l4_csum_replace(skb, off + offsetof(struct tcphdr, check),
			    mss_csum_word(old, at & 1), mss_csum_word(clamp, at & 1), sizeof(__u16));
	return MSS_CLAMPED;
}

/* XDP: no checksum state; the checksum field is updated like the IPv4 one (csum.h). */
static __always_inline int mss_clamp_xdp(struct xdp_md *ctx, const struct encap_plan *e)
{
	__u16 clamp = mss_clamp_of(e);
	struct tcphdr th;
	__u32 off = 0;
	__u16 old = 0, new_be, check;
	int r, at = 0;

	r = mss_read(ctx, 1, e, &clamp, &th, &off, &at, &old);
	if (r != MSS_CLAMPED)
		return r;
	new_be = bpf_htons(clamp);
	check = csum_replace16(th.check, mss_csum_word(old, at & 1), mss_csum_word(clamp, at & 1));
	if (bpf_xdp_store_bytes(ctx, off + TCP_HLEN + at, &new_be, sizeof(new_be)) ||
	    bpf_xdp_store_bytes(ctx, off + offsetof(struct tcphdr, check), &check, sizeof(check)))
		return MSS_MALFORMED;
	return MSS_CLAMPED;
}

/* The side counter of a clamp result (docs/datapath.md: moved besides ENCAP_*). */
static __always_inline void mss_count(int r, __u32 len)
{
	if (r == MSS_CLAMPED)
		count(BURROW_STAT_MSS_CLAMPED, len);
	else if (r == MSS_MALFORMED)
		count(BURROW_STAT_MSS_MALFORMED, len);
}

#endif /* BURROW_MSS_H */
