/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Packet parsing shared by the XDP and TC programs: everything works on a
 * (data, data_end) pair so one copy of the code serves both hooks. */
#ifndef VRRP_PARSE_H
#define VRRP_PARSE_H

#include <linux/types.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "vrrp_const.h"

struct vlan_hdr_ {
	__be16 tci;
	__be16 proto;
};

struct arp_ipv4_ {
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 op;
	__u8 sha[6];
	__u8 spa[4];
	__u8 tha[6];
	__u8 tpa[4];
} __attribute__((packed));

/* The L3 payload of a frame: its ethertype and where it starts. Up to two
 * VLAN tags (802.1Q, or 802.1ad outer + 802.1Q inner) are skipped; a third
 * tag leaves proto at a VLAN ethertype, which every caller treats as "not
 * ours". Returns 0 when the Ethernet header is truncated. */
static __always_inline int parse_eth(void *data, void *data_end, __u16 *proto, __u32 *off)
{
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return 0;
	__u16 p = bpf_ntohs(eth->h_proto);
	__u32 o = sizeof(*eth);
#pragma unroll
	for (int i = 0; i < 2; i++) {
		if (p != ETH_P_8021Q_ && p != ETH_P_8021AD_)
			break;
		struct vlan_hdr_ *vh = data + o;
		if ((void *)(vh + 1) > data_end)
			return 0;
		p = bpf_ntohs(vh->proto);
		o += sizeof(*vh);
	}
	*proto = p;
	*off = o;
	return 1;
}

/* Ones' complement sum of len bytes (a multiple of 4, at most VRRP_MAX_LEN)
 * at p, as 32-bit words. The sum is byte-order independent, so the caller
 * only folds it and compares with 0xffff. */
static __always_inline __u64 csum_words(void *p, void *data_end, __u32 len)
{
	__u64 sum = 0;
	__u32 words = len / 4;
	for (__u32 i = 0; i < VRRP_MAX_WORDS; i++) {
		if (i >= words)
			break;
		__u32 *w = p + i * 4;
		if ((void *)(w + 1) > data_end)
			break;
		sum += *w;
	}
	return sum;
}

static __always_inline __u16 csum_fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* floor(log2(v)) for v > 0, branch-light for the histogram buckets. */
static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0;
	if (v >> 32) {
		v >>= 32;
		r += 32;
	}
	if (v >> 16) {
		v >>= 16;
		r += 16;
	}
	if (v >> 8) {
		v >>= 8;
		r += 8;
	}
	if (v >> 4) {
		v >>= 4;
		r += 4;
	}
	if (v >> 2) {
		v >>= 2;
		r += 2;
	}
	if (v >> 1)
		r += 1;
	return r;
}

/* Histogram bucket of a gap in nanoseconds: log2 of microseconds, capped. */
static __always_inline __u32 gap_bucket(__u64 gap_ns)
{
	__u64 us = gap_ns / 1000;
	__u32 b = us ? log2_u64(us) : 0;
	if (b > HIST_BUCKETS - 1)
		b = HIST_BUCKETS - 1;
	return b;
}

/* a (priority pa, address a) wins over b: higher priority, or equal priority
 * and higher address (RFC 5798 6.4.3), comparing addresses as big-endian. */
static __always_inline int wins(__u8 pa, const __u8 *a, __u8 pb, const __u8 *b)
{
	if (pa != pb)
		return pa > pb;
	__u64 ah = bpf_be64_to_cpu(*(__u64 *)a), bh = bpf_be64_to_cpu(*(__u64 *)b);
	if (ah != bh)
		return ah > bh;
	return bpf_be64_to_cpu(*(__u64 *)(a + 8)) > bpf_be64_to_cpu(*(__u64 *)(b + 8));
}

static __always_inline int addr_eq(const __u8 *a, const __u8 *b)
{
	return *(__u64 *)a == *(__u64 *)b && *(__u64 *)(a + 8) == *(__u64 *)(b + 8);
}

#endif /* VRRP_PARSE_H */
