/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * maps.h — the six maps of docs/datapath.md ("The path, the maps") and the one way to move a counter.
 *
 * Every map is pinned by name (LIBBPF_PIN_BY_NAME), so each object loaded with the same pin root
 * (libbpf's bpf_object_open_opts.pin_root_path; /sys/fs/bpf when unset) reuses the maps the first
 * one created instead of getting private copies. Names are a contract with `agentctl maps dump`.
 */
#ifndef BURROW_MAPS_H
#define BURROW_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "burrow.h"

/* Tunnel routes, pools and our blocks: longest-prefix match on an inner address (encap: the
 * destination; decap: the source and the destination). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, BURROW_ROUTES_MAX);
	__type(key, struct burrow_route_key);
	__type(value, struct burrow_route);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} routes SEC(".maps");

/* Nodes allowed to send us tunnel packets, by outer source address. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BURROW_PEERS_MAX);
	__type(key, __u32);
	__type(value, struct burrow_peer);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} peers SEC(".maps");

/* Path MTU learned per peer from ICMP frag-needed (decap writes, xdp_encap and agentd read,
 * agentd expires). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BURROW_PEERS_MAX);
	__type(key, __u32);
	__type(value, struct burrow_pmtu);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pmtu SEC(".maps");

/* The outer Ethernet header and egress device per peer, kept by agentd (docs/datapath.md,
 * "Next hops"); read by tc_encap and xdp_encap. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BURROW_PEERS_MAX);
	__type(key, __u32);
	__type(value, struct burrow_nexthop);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nexthops SEC(".maps");

/* This node: one entry, key 0. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct burrow_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} config SEC(".maps");

/* Verdict counters, indexed by enum burrow_stat; per CPU, so no atomics on the fast path.
 * BURROW_TEST_LAYOUT (a test-only build, bpf/Makefile EXTRA_CFLAGS) gives the map one more slot
 * than the enum: another map layout, as a release adding a counter would have, for the upgrade
 * test (docs/operations.md, "Upgrades"). */
#ifdef BURROW_TEST_LAYOUT
#define BURROW_STATS_SLOTS (BURROW_STAT__MAX + 1)
#else
#define BURROW_STATS_SLOTS BURROW_STAT__MAX
#endif
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BURROW_STATS_SLOTS);
	__type(key, __u32);
	__type(value, struct burrow_stat_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} stats SEC(".maps");

static __always_inline const struct burrow_config *config_get(void)
{
	__u32 key = 0;

	return bpf_map_lookup_elem(&config, &key);
}

/* Adds one packet of len bytes (the frame length at entry) to counter stat. */
static __always_inline void count(enum burrow_stat stat, __u32 len)
{
	__u32 key = stat;
	struct burrow_stat_value *v = bpf_map_lookup_elem(&stats, &key);

	if (v) {
		v->packets += 1;
		v->bytes += len;
	}
}

/* count() and hand back the program's return code: `return counted(stat, len, XDP_PASS);` */
static __always_inline int counted(enum burrow_stat stat, __u32 len, int action)
{
	count(stat, len);
	return action;
}

#endif /* BURROW_MAPS_H */
