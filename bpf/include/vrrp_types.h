/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Every map key, map value and event shared with Go. Go gets these through
 * bpf2go -type, never by hand; loader tests assert their sizes. Addresses are
 * 16 bytes: IPv4 in the first 4 bytes, the rest zero. */
#ifndef VRRP_TYPES_H
#define VRRP_TYPES_H

#include <linux/types.h>
#include <linux/bpf.h>
#include "vrrp_const.h"

/* One VRRP instance: VRID on an interface for one address family (4 or 6). */
struct instance_key {
	__u32 ifindex;
	__u8 vrid;
	__u8 family;
	__u8 pad[2];
};

/* Our side of an instance, written only by the controller. */
struct instance_cfg {
	enum vrrp_state state;
	__u32 epoch;          /* bumped by the controller on every state write */
	__u8 priority;        /* our effective priority, for the skew and PREEMPT */
	__u8 version;         /* 2 or 3 */
	__u8 preempt;         /* 1: a lower-priority master does not hold our timer */
	__u8 auth_type;       /* v2 only: 0 none, 1 PASS */
	__u8 auth_pass[8];    /* v2 PASS, zero padded */
	__u16 interval_cs;    /* our advert interval, centiseconds */
	__u8 check_peers;     /* 1: only sources in the allowed_peers map */
	__u8 unicast;         /* 1: unicast adverts, may be routed: TTL not checked */
	__u8 primary[16];     /* our primary address: equal priority, higher wins */
	/* Adverts must carry naddr addresses, covering all ndistinct entries of
	 * this instance in adv_addrs (keepalived's check of the address list). */
	__u8 naddr;
	__u8 ndistinct;
	__u8 skip_addr_check; /* 1: not while Backup for adverts from the current master */
	__u8 pad[5];          /* addrs is read as __u64: keep it 8-byte aligned */
	/* With naddr <= INLINE_ADDRS, the distinct VIPs in index order: the check
	 * then compares here instead of looking each address up in adv_addrs. */
	__u8 addrs[INLINE_ADDRS][16];
};

/* Kernel-owned per-instance state. Userspace only reads it: an update from
 * userspace would cancel the timer. */
struct instance_state {
	struct bpf_timer timer;  /* master-down timer, armed only while Backup */
	__u64 last_ns;           /* last advert that held our timer (bpf_ktime_get_ns) */
	__u64 deadline_ns;       /* master down unless held again before this */
	__u64 expires_ns;        /* when the pending timer fires; 0: none pending */
	__u64 both_masters;      /* adverts from a lower router while we were Master */
	/* Last PRIO_ZERO, PREEMPT, BOTH_MASTERS event sent while Master, one
	 * limiter per type: a stream of losers must not mute a winner. */
	__u64 rl_ns[MASTER_EVENT_TYPES];
	__u32 epoch;             /* cfg epoch seen last; a change resets the master */
	__u16 master_interval_cs;
	__u8 master_prio;
	__u8 has_master;
	__u8 master[16];
};

/* A sender of adverts, and the key of the allowed-peer set. */
struct peer_key {
	__u32 ifindex;
	__u8 vrid;
	__u8 family;
	__u8 pad[2];
	__u8 addr[16];
};

/* What we know of one sender of valid adverts. */
struct peer_stats {
	__u64 first_ns;
	__u64 last_ns;
	__u64 count;
	__u64 max_gap_ns;
	__u64 missed;             /* estimated adverts lost in gaps > 1.5 intervals */
	__u64 hist[HIST_BUCKETS]; /* inter-arrival gaps, log2 microseconds */
	__u16 interval_cs;        /* advertised interval, centiseconds */
	__u8 priority;            /* last advertised priority */
	__u8 version;
	__u8 pad[4];
};

/* Key of the per-interface drop counters (value: per-CPU __u64). */
struct drop_key {
	__u32 ifindex;
	enum drop_reason reason;
};

/* One address an instance's adverts must carry; the value is its index among
 * the instance's distinct addresses (0..254). */
struct adv_addr_key {
	__u32 ifindex;
	__u8 vrid;
	__u8 family;
	__u8 pad[2];
	__u8 addr[16];
};

/* Our own adverts as seen at TC egress. */
struct tx_stats {
	__u64 count;
	__u64 last_ns;
	__u64 max_gap_ns;
	__u64 hist[HIST_BUCKETS];
};

/* A virtual address we answer ARP/NS for on one interface. */
struct vip_key {
	__u32 ifindex;
	__u8 family;
	__u8 pad[3];
	__u8 addr[16];
};

/* A VIP whose traffic is dropped (no_accept), and the instance holding it. */
struct no_accept_val {
	__u64 dropped; /* packets to it dropped */
	struct instance_key owner;
};

/* The no_accept VIPs again, where every packet's check reads them: an array
 * lookup (inlined by the verifier) and a few compares instead of a hash
 * lookup. A family with more than NO_ACCEPT_INLINE VIPs is looked up in
 * no_accept; with none, the packet is not looked at. */
struct no_accept_set {
	__u32 n4; /* IPv4 VIPs in no_accept */
	__u32 n6;
	__be32 v4[NO_ACCEPT_INLINE];
	__u8 v6[NO_ACCEPT_INLINE][16];
};

struct vip_lease {
	__u64 expires_ns; /* bpf_ktime_get_ns after which ARP/NS for it is dropped */
	__u64 guarded;    /* requests dropped because the lease had lapsed */
};

/* One ring-buffer record. */
struct event {
	__u64 ts_ns;
	__u32 ifindex;
	enum event_type type;
	__u8 vrid;
	__u8 family;
	__u8 priority;      /* priority in the advert (MASTER_DOWN: the lost master's) */
	__u8 prev_priority; /* PRIO_CHANGE: the master's previous priority */
	__u16 interval_cs;  /* interval in the advert */
	__u8 pad[2];
	__u8 addr[16];      /* source of the advert (MASTER_DOWN: the lost master) */
};

#endif /* VRRP_TYPES_H */
