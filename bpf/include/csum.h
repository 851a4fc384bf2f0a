/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * csum.h — Internet checksum helpers (RFC 1071, RFC 1624) for the two places the datapath needs
 * one: the fixed 20-byte outer IPv4 header it builds (summed from the values it writes), and
 * the inner header whose TOS byte ECN decapsulation may change. No loops over packet bytes. The
 * one's complement sum does not depend on byte order, so words are summed exactly as they sit in
 * memory.
 */
#ifndef BURROW_CSUM_H
#define BURROW_CSUM_H

#include <linux/types.h>
#include <linux/ip.h>

/* Folds a 32-bit sum of 16-bit words to 16 bits with end-around carry and complements it. */
static __always_inline __u16 csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/*
 * Header checksum of a 20-byte IPv4 header (no options) from its fields as they sit in memory:
 * the first five 16-bit words (version/IHL/TOS, total length, ID, flags/fragment offset,
 * TTL/protocol) and the two addresses; the check field counts as zero.
 */
static __always_inline __u16 ipv4_csum_words(__be16 w0, __be16 w1, __be16 w2, __be16 w3,
					     __be16 w4, __be32 saddr, __be32 daddr)
{
	__u32 sum = (__u32)w0 + w1 + w2 + w3 + w4 +
		    (saddr & 0xffff) + (saddr >> 16) + (daddr & 0xffff) + (daddr >> 16);

	return csum_fold(sum);
}

/*
 * RFC 1624 eqn. 3: the checksum after one 16-bit word changes from old to new,
 * HC' = ~(~HC + ~m + m'). A header with a wrong checksum keeps exactly its error.
 */
static __always_inline __u16 csum_replace16(__u16 check, __u16 old, __u16 new)
{
	__u32 sum = (__u32)(__u16)~check + (__u16)~old + new;

	return csum_fold(sum);
}

/* Rewrites the TOS byte of an in-bounds IPv4 header and updates its checksum incrementally. */
static __always_inline void ipv4_set_tos(struct iphdr *iph, __u8 tos)
{
	__u16 *word = (__u16 *)iph;     /* version/IHL and TOS share the first word */
	__u16 old = *word;

	iph->tos = tos;
	iph->check = csum_replace16(iph->check, old, *word);
}

#endif /* BURROW_CSUM_H */
