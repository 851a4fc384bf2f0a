/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * consts.h — kernel-side constants: header sizes, protocol numbers, ECN code points, and the
 * uapi values the 6.1-era headers we build against (libbpf-dev 1.1.2) do not define yet.
 * Everything userspace shares lives in burrow.h instead.
 */
#ifndef BURROW_CONSTS_H
#define BURROW_CONSTS_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>

#include "burrow.h"

#ifndef AF_INET
#define AF_INET 2
#endif

#ifndef IP_MF
#define IP_MF     0x2000
#endif
#ifndef IP_DF
#define IP_DF     0x4000
#endif
#ifndef IP_OFFSET
#define IP_OFFSET 0x1fff
#endif

/* ECN field: the low two bits of the IPv4 TOS byte (RFC 3168). */
#define ECN_MASK    0x03
#define ECN_NOT_ECT 0x00
#define ECN_ECT_1   0x01
#define ECN_ECT_0   0x02
#define ECN_CE      0x03

#define IPV4_HLEN   20               /* an IPv4 header without options */
#define IPV4_MAXHLEN 60              /* IHL 15 */
#define UDP_HLEN    8
#define VXLAN_HLEN  8
#define VXLAN_FLAG_I 0x08             /* byte 0 of the VXLAN header: the VNI is valid */
#define ICMP_HLEN   8                /* type, code, checksum, 4 bytes (frag-needed: unused, MTU) */
#ifndef ICMP_DEST_UNREACH
#define ICMP_DEST_UNREACH 3
#endif
#ifndef ICMP_FRAG_NEEDED
#define ICMP_FRAG_NEEDED  4
#endif

/* What sits between the outer IPv4 header and the inner IPv4 header in VXLAN mode. */
#define VXLAN_SHIM_LEN (UDP_HLEN + VXLAN_HLEN + ETH_HLEN)   /* 30 */

/*
 * How far into a frame each program ever reads, so TC programs can pull at most that much into
 * the skb's linear area. Encap: Ethernet, the longest IPv4 header, a UDP header. Decap: Ethernet,
 * the longest outer IPv4 header, UDP + VXLAN + inner Ethernet, the inner fixed IPv4 header.
 */
#define ENCAP_READ_MAX (ETH_HLEN + IPV4_MAXHLEN + UDP_HLEN)
#define DECAP_READ_MAX (ETH_HLEN + IPV4_MAXHLEN + VXLAN_SHIM_LEN + IPV4_HLEN)
/* Path MTU: Ethernet, the longest outer header, ICMP, the longest quoted header, 8 quoted bytes. */
#define PMTU_READ_MAX (ETH_HLEN + IPV4_MAXHLEN + ICMP_HLEN + IPV4_MAXHLEN + 8)

#endif /* BURROW_CONSTS_H */
