/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Constants of the VRRP dataplane: wire values, limits, and the enums shared
 * with Go (exported by bpf2go -type; the numbering is a contract). */
#ifndef VRRP_CONST_H
#define VRRP_CONST_H

#define ETH_P_IP_ 0x0800
#define ETH_P_IPV6_ 0x86DD
#define ETH_P_ARP_ 0x0806
#define ETH_P_8021Q_ 0x8100
#define ETH_P_8021AD_ 0x88A8

#define IPPROTO_VRRP 112
#define IPPROTO_HOPOPTS_ 0
#define IPPROTO_FRAGMENT_ 44
#define IPPROTO_ICMPV6_ 58
#define ND_ROUTER_SOLICIT 133 /* 133-137: neighbour discovery (RFC 4861) */
#define ND_NEIGHBOR_SOLICIT 135
#define ND_REDIRECT 137
#define ARPOP_REQUEST_ 1

#define VRRP_MCAST4 0xE0000012 /* 224.0.0.18 */
#define VRRP_TTL 255
#define VRRP_TYPE_ADVERT 1
#define VRRP_HDR_LEN 8
#define VRRP_V2_AUTH_LEN 8
#define VRRP_AUTH_NONE 0
#define VRRP_AUTH_PASS 1

/* Largest address count accepted in one advert: every count the one-byte field
 * can carry, as keepalived accepts (RFC 5798 5.2.5 sets no lower bound). The
 * checksum loop below runs over the words the packet really has, so the
 * per-packet cost is that of the advert's own length; the bound only gives the
 * verifier its limit: 8 + 255*16 = 4088 bytes (IPv6), 8 + 255*4 + 8 = 1036
 * (v2). An IPv6 advert that long needs a jumbo MTU (at 1500 it fits 90). */
#define VRRP_MAX_ADDRS 255
#define VRRP_MAX_LEN (VRRP_HDR_LEN + VRRP_MAX_ADDRS * 16)
#define VRRP_MAX_WORDS (VRRP_MAX_LEN / 4)
/* Address lists up to this long are checked against a copy in the instance's
 * config (no map lookup): the common one- or two-VIP instance pays a few
 * compares, not a bpf_loop and a hash lookup per address. */
#define INLINE_ADDRS 4
/* no_accept VIPs per family compared inline before falling back to the hash. */
#define NO_ACCEPT_INLINE 8

/* Inter-arrival histograms: bucket i counts gaps in [2^i, 2^(i+1)) us (bucket 0
 * also takes gaps under 1 us); the last bucket takes everything from 2^23 us
 * (8.4 s) up. */
#define HIST_BUCKETS 24

#define NSEC_PER_SEC 1000000000ULL
#define NSEC_PER_CSEC 10000000ULL
/* While Master, at most one event per type (PRIO_ZERO, PREEMPT,
 * BOTH_MASTERS) per instance per second, so a flood cannot swamp a stuck
 * controller (every advert is still counted). The limiters are separate: a
 * BOTH_MASTERS must never delay the PREEMPT that follows it. */
#define EVENT_RATE_NS NSEC_PER_SEC
#define MASTER_EVENT_TYPES 3

/* Why a VRRP packet was dropped. Same order and names as vrrp.DropReason
 * (lower-cased without the DROP_ prefix). */
enum drop_reason {
	DROP_SHORT_PACKET = 0,
	DROP_BAD_TTL = 1,
	DROP_FRAGMENT = 2,
	DROP_BAD_VERSION = 3,
	DROP_BAD_TYPE = 4,
	DROP_ADDR_COUNT = 5,
	DROP_BAD_CHECKSUM = 6,
	DROP_UNKNOWN_VRID = 7,
	DROP_BAD_AUTH_TYPE = 8,
	DROP_WRONG_PASSWORD = 9,
	DROP_NOT_PEER = 10,
	DROP_INTERVAL_MISMATCH = 11,
	DROP_BAD_INTERVAL = 12,
	DROP_ADDR_LIST = 13, /* addresses are not the instance's VIPs (keepalived's addr_list_err) */
	DROP_REASON_MAX,
};

/* Our own RFC state, written by the controller. */
enum vrrp_state {
	STATE_INIT = 0,
	STATE_BACKUP = 1,
	STATE_MASTER = 2,
	STATE_FAULT = 3,
};

/* What the kernel tells the controller through the ring buffer. */
enum event_type {
	EVENT_NONE = 0,
	EVENT_MASTER_DOWN = 1,  /* master-down timer expired while Backup */
	EVENT_NEW_MASTER = 2,   /* first accepted advert, or another router took over */
	EVENT_PRIO_CHANGE = 3,  /* the master's advertised priority changed */
	EVENT_PRIO_ZERO = 4,    /* the master advertised priority 0 (resigning) */
	EVENT_PREEMPT = 5,      /* while Master: an advert that wins over us */
	EVENT_BOTH_MASTERS = 6, /* while Master: an advert that loses to us */
};

/* Internal verdict of the shared parser, mapped to XDP/TC return codes. */
enum verdict {
	VERDICT_PASS = 0,
	VERDICT_DROP = 1,
};

#endif /* VRRP_CONST_H */
