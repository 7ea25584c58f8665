// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The VRRP receive path: validate and account every advert before any socket
 * sees it, keep the current master and its master-down timer per instance,
 * and tell the controller (ring buffer) only what changes its state machine.
 * Entry points: vrrp_xdp (XDP), vrrp_tc_ingress (same checks where XDP cannot
 * attach), vrrp_tc_egress (our own adverts). */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "vrrp_const.h"
#include "vrrp_types.h"
#include "vrrp_maps.h"
#include "vrrp_parse.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define CLOCK_MONOTONIC_ 1

/* Validated pieces of an IP packet carrying VRRP (or claiming to). */
struct rx {
	__u8 *vrrp;
	__u64 pseudo; /* v3 pseudo-header sum */
	__u32 vlen;   /* VRRP message length from the IP header */
	__u32 ifindex;
	__be32 daddr4; /* IPv4 destination, for the old unicast v3 checksum */
	__u8 family;
	__u8 ttl;
	__u8 frag;
	__u8 tagged; /* a VLAN tag was skipped: XDP/TC runs on the parent */
	/* wins() and addr_eq() read it as two __u64: the verifier rejects
	 * misaligned stack access, so do not leave it to the optimiser. */
	__u8 src[16] __attribute__((aligned(8)));
};

static __always_inline int count_drop(__u32 ifindex, enum drop_reason reason)
{
	struct drop_key k = {.ifindex = ifindex, .reason = reason};
	__u64 *c = bpf_map_lookup_elem(&drops, &k);
	if (!c) {
		__u64 zero = 0;
		bpf_map_update_elem(&drops, &k, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&drops, &k);
		if (!c)
			return VERDICT_DROP;
	}
	*c += 1; /* per-CPU value: no atomic needed */
	return VERDICT_DROP;
}

/* The record is built on the stack so last_event is updated even when the
 * ring is full; a record that does not fit is counted in events_lost (the
 * controller's own deadline still covers a lost MASTER_DOWN). Events are
 * rare, so the 40-byte copy of bpf_ringbuf_output costs nothing that matters. */
static __always_inline void emit(__u64 now, const struct instance_key *ik, enum event_type type,
				 __u8 prio, __u8 prev, __u16 interval_cs, const __u8 *addr)
{
	struct event e = {
		.ts_ns = now,
		.ifindex = ik->ifindex,
		.type = type,
		.vrid = ik->vrid,
		.family = ik->family,
		.priority = prio,
		.prev_priority = prev,
		.interval_cs = interval_cs,
	};
	__builtin_memcpy(e.addr, addr, 16);
	bpf_map_update_elem(&last_event, ik, &e, BPF_ANY);
	if (bpf_ringbuf_output(&events, &e, sizeof(e), 0)) {
		__u32 zero = 0;
		__u64 *lost = bpf_map_lookup_elem(&events_lost, &zero);
		if (lost)
			*lost += 1; /* per-CPU value: no atomic needed */
	}
}

/* Master_Down_Interval: RFC 5798 for v3 (skew scales with the master's
 * interval), RFC 3768 for v2 (interval in whole seconds, skew (256-prio)/256 s).
 * The skew is computed in nanoseconds, not whole centiseconds: at a 10 ms
 * interval ((256-prio)*1cs)/256 truncates to 0 for every priority, so backups
 * of different priority would time out together (keepalived computes it in
 * microseconds; control.SkewTime in nanoseconds, and the two must agree). */
static __always_inline __u64 master_down_ns(__u8 version, __u16 interval_cs, __u8 prio)
{
	__u64 skew;
	if (version == 2) {
		__u64 s = interval_cs / 100;
		skew = ((256 - (__u64)prio) * NSEC_PER_SEC) / 256;
		return 3 * s * NSEC_PER_SEC + skew;
	}
	__u64 mai = (__u64)interval_cs * NSEC_PER_CSEC;
	return 3 * mai + ((256 - (__u64)prio) * mai) / 256;
}

static __always_inline __u64 skew_ns(__u8 version, __u16 interval_cs, __u8 prio)
{
	if (version == 2)
		return ((256 - (__u64)prio) * NSEC_PER_SEC) / 256;
	return ((256 - (__u64)prio) * interval_cs * NSEC_PER_CSEC) / 256;
}

static int master_down(void *map, struct instance_key *key, struct instance_state *st)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 deadline = st->deadline_ns;
	if (deadline > now) {
		/* Held again since this expiry was set (see hold()): wait for the
		 * rest. expires_ns first: the timer may fire on another CPU. */
		st->expires_ns = deadline;
		bpf_timer_start(&st->timer, deadline - now, 0);
		return 0;
	}
	st->expires_ns = 0;
	struct instance_cfg *cfg = bpf_map_lookup_elem(&instances, key);
	/* A timer armed in an earlier Backup period (epoch) must not fire into
	 * a later one: the controller started its own deadline then. */
	if (!cfg || cfg->state != STATE_BACKUP || cfg->epoch != st->epoch || !st->has_master)
		return 0;
	emit(now, key, EVENT_MASTER_DOWN, st->master_prio, st->master_prio, st->master_interval_cs,
	     st->master);
	/* Forget it, so its return is a NEW_MASTER. */
	st->has_master = 0;
	return 0;
}

/* Starts the timer; 0 if it cannot be. */
static __always_inline int arm(struct instance_state *st, __u64 ns)
{
	if (!bpf_timer_start(&st->timer, ns, 0))
		return 1;
	/* -EINVAL: the timer was never initialised, because bpf_timer_init
	 * failed when the entry was created (-ENOMEM: it allocates) or the
	 * entry came from userspace. Without this the instance would never
	 * see MASTER_DOWN again; it costs nothing on the normal path. */
	bpf_timer_init(&st->timer, &inst_state, CLOCK_MONOTONIC_);
	bpf_timer_set_callback(&st->timer, master_down);
	return !bpf_timer_start(&st->timer, ns, 0);
}

/* The master-down timer must expire ns from now. bpf_timer_start costs about
 * as much as the rest of a valid advert (a lock and an hrtimer reprogram), so
 * it runs only when no timer is pending or the new deadline is earlier than
 * the pending expiry (priority 0's Skew_Time, a shorter interval). Otherwise
 * only deadline_ns moves and the callback, at the pending expiry, re-arms for
 * the rest: one start per Master_Down_Interval instead of one per advert.
 * Racing the callback on another CPU at worst costs a redundant start, or
 * (an advert landing exactly at expiry) the MASTER_DOWN that the timer would
 * have raised anyway; the next advert is then a NEW_MASTER and re-arms. */
static __always_inline void hold(struct instance_state *st, __u64 now, __u64 ns)
{
	__u64 deadline = now + ns;
	st->deadline_ns = deadline;
	__u64 exp = st->expires_ns;
	if (exp && exp <= deadline)
		return;
	st->expires_ns = deadline;
	if (!arm(st, ns))
		st->expires_ns = 0; /* the next advert tries again */
}

/* Gap since *last, and *last moved to now. Values are shared by all CPUs
 * without a lock: another CPU may just have stored a later stamp than ours
 * (taken before it), which is a zero gap, not a 2^64 ns one. */
static __always_inline __u64 advance(__u64 *last, __u64 now)
{
	__u64 prev = *last;
	if (now <= prev)
		return 0;
	*last = now;
	return now - prev;
}

static __always_inline void update_peer(const struct rx *rx, __u8 vrid, __u8 version, __u8 prio,
					__u16 interval_cs, __u64 now)
{
	struct peer_key pk = {.ifindex = rx->ifindex, .vrid = vrid, .family = rx->family};
	__builtin_memcpy(pk.addr, rx->src, 16);
	struct peer_stats *ps = bpf_map_lookup_elem(&peers, &pk);
	if (!ps) {
		struct peer_stats n = {};
		n.first_ns = now;
		n.last_ns = now;
		n.count = 1;
		n.priority = prio;
		n.version = version;
		n.interval_cs = interval_cs;
		if (!bpf_map_update_elem(&peers, &pk, &n, BPF_NOEXIST))
			return;
		/* Another CPU created it first: account this advert there. */
		ps = bpf_map_lookup_elem(&peers, &pk);
		if (!ps)
			return;
	}
	__u64 gap = advance(&ps->last_ns, now);
	__sync_fetch_and_add(&ps->count, 1);
	if (gap > ps->max_gap_ns)
		ps->max_gap_ns = gap; /* racy max: at worst a concurrent larger gap is lost */
	__sync_fetch_and_add(&ps->hist[gap_bucket(gap)], 1);
	__u64 iv = (__u64)interval_cs * NSEC_PER_CSEC;
	if (iv && 2 * gap > 3 * iv)
		__sync_fetch_and_add(&ps->missed, (gap + iv / 2) / iv - 1);
	ps->priority = prio;
	ps->version = version;
	ps->interval_cs = interval_cs;
}

static __always_inline void set_master(struct instance_state *st, const __u8 *src, __u8 prio,
				       __u16 interval_cs)
{
	__builtin_memcpy(st->master, src, 16);
	st->master_prio = prio;
	st->master_interval_cs = interval_cs;
	st->has_master = 1;
}

/* The state-machine side of a valid advert. */
static __always_inline void on_advert(const struct rx *rx, const struct instance_key *ik,
				      struct instance_cfg *cfg, __u8 prio, __u16 interval_cs,
				      __u64 now)
{
	if (cfg->state != STATE_BACKUP && cfg->state != STATE_MASTER)
		return;
	struct instance_state *st = bpf_map_lookup_elem(&inst_state, ik);
	if (!st) {
		struct instance_state z = {};
		z.epoch = cfg->epoch;
		bpf_map_update_elem(&inst_state, ik, &z, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&inst_state, ik);
		if (!st)
			return;
		/* -EBUSY when another CPU won the race: harmless. */
		bpf_timer_init(&st->timer, &inst_state, CLOCK_MONOTONIC_);
		bpf_timer_set_callback(&st->timer, master_down);
	}
	if (st->epoch != cfg->epoch) {
		/* Our state changed since the last advert: start afresh, so the
		 * first advert in a new Backup period is a NEW_MASTER. */
		st->epoch = cfg->epoch;
		st->has_master = 0;
		__builtin_memset(st->rl_ns, 0, sizeof(st->rl_ns));
		/* After an upgrade that reused the pinned map, the timer still
		 * calls the old program (which it keeps loaded); move it to this
		 * one here, off the per-advert path (set_callback costs ~25 ns). */
		bpf_timer_set_callback(&st->timer, master_down);
	}

	if (cfg->state == STATE_MASTER) {
		int ev;
		__u64 *rl;
		if (prio == 0) {
			ev = EVENT_PRIO_ZERO; /* RFC 5798 6.4.3: send an advert now */
			rl = &st->rl_ns[0];
		} else if (wins(prio, rx->src, cfg->priority, cfg->primary)) {
			ev = EVENT_PREEMPT;
			rl = &st->rl_ns[1];
		} else {
			__sync_fetch_and_add(&st->both_masters, 1);
			ev = EVENT_BOTH_MASTERS;
			rl = &st->rl_ns[2];
		}
		if (*rl && now - *rl < EVENT_RATE_NS)
			return;
		*rl = now;
		emit(now, ik, ev, prio, cfg->priority, interval_cs, rx->src);
		return;
	}

	/* Backup. */
	int from_master = st->has_master && addr_eq(st->master, rx->src);
	if (prio == 0) {
		/* Only the master (or, with none known, anyone) resigns: a stale
		 * router's priority 0 must not cut a healthy master short. */
		if (st->has_master && !from_master)
			return;
		if (!from_master || st->master_prio != 0)
			emit(now, ik, EVENT_PRIO_ZERO, 0, st->has_master ? st->master_prio : 0,
			     interval_cs, rx->src);
		set_master(st, rx->src, 0, interval_cs);
		st->last_ns = now;
		hold(st, now, skew_ns(cfg->version, interval_cs, cfg->priority));
		return;
	}
	if (!from_master) {
		/* Another router: it becomes the master we follow if there is
		 * none, if it wins the election against the one we know, or if
		 * that one has been silent for its whole Master_Down_Interval.
		 * Otherwise it is a loser about to back off: stats only. */
		int stale = st->has_master &&
			    now - st->last_ns >
				master_down_ns(cfg->version, st->master_interval_cs, cfg->priority);
		if (st->has_master && !stale && !wins(prio, rx->src, st->master_prio, st->master))
			return;
		emit(now, ik, EVENT_NEW_MASTER, prio, st->has_master ? st->master_prio : 0,
		     interval_cs, rx->src);
		set_master(st, rx->src, prio, interval_cs);
	} else if (prio != st->master_prio) {
		emit(now, ik, EVENT_PRIO_CHANGE, prio, st->master_prio, interval_cs, rx->src);
		st->master_prio = prio;
	}
	st->master_interval_cs = interval_cs;
	/* RFC 5798 6.4.2: with preempt on, a lower-priority master does not
	 * hold our timer, so we take over when it expires. */
	if (cfg->preempt && prio < cfg->priority)
		return;
	st->last_ns = now;
	hold(st, now, master_down_ns(cfg->version, interval_cs, cfg->priority));
}

/* The walk over an advert's address list, as bpf_loop's context: a callback
 * is verified once, where an open-coded loop of 255 steps with a map lookup
 * each would be walked by the verifier once per path into it. */
struct addr_walk {
	__u8 *list;
	void *data_end;
	struct adv_addr_key k;
	__u64 seen[4]; /* bit i: the VIP of index i was listed */
	__u32 found;   /* distinct VIPs listed so far */
	__u32 bad;     /* an address that is not ours, or past the packet */
};

static long addr_step(__u64 i, void *ctx)
{
	struct addr_walk *w = ctx;
	__u8 *a;
	if (w->k.family == 4) {
		a = w->list + ((i & 0xff) << 2);
		if ((void *)(a + 4) > w->data_end)
			goto bad;
		__builtin_memcpy(w->k.addr, a, 4);
	} else {
		a = w->list + ((i & 0xff) << 4);
		if ((void *)(a + 16) > w->data_end)
			goto bad;
		__builtin_memcpy(w->k.addr, a, 16);
	}
	__u8 *idx = bpf_map_lookup_elem(&adv_addrs, &w->k);
	if (!idx)
		goto bad;
	__u32 j = *idx;
	__u64 bit = 1ULL << (j & 63);
	__u64 *word = &w->seen[(j >> 6) & 3];
	if (!(*word & bit)) {
		*word |= bit;
		w->found++;
	}
	return 0;
bad:
	w->bad = 1;
	return 1;
}

/* keepalived's check of the address list (vrrp.c, vrrp_in_chk): the advert
 * lists as many addresses as we have VIPs, and every VIP is among them. Each
 * listed address must be in adv_addrs; the indices found must cover all
 * ndistinct VIPs (an advert listing one VIP twice lacks another). */
static __always_inline int addrs_match_inline(const struct rx *rx, const struct instance_cfg *cfg,
					      void *data_end, __u32 count)
{
	__u32 seen = 0, found = 0;
	for (int i = 0; i < INLINE_ADDRS; i++) {
		if (i >= count)
			break;
		__u8 *a;
		__u64 hi, lo;
		if (rx->family == 4) {
			a = rx->vrrp + VRRP_HDR_LEN + i * 4;
			if ((void *)(a + 4) > data_end)
				return 0;
			hi = *(__u32 *)a;
			lo = 0;
		} else {
			a = rx->vrrp + VRRP_HDR_LEN + i * 16;
			if ((void *)(a + 16) > data_end)
				return 0;
			hi = *(__u64 *)a;
			lo = *(__u64 *)(a + 8);
		}
		__u32 j = INLINE_ADDRS;
#pragma unroll
		for (int k = 0; k < INLINE_ADDRS; k++) {
			const __u8 *c = cfg->addrs[k];
			__u64 chi = rx->family == 4 ? *(__u32 *)c : *(__u64 *)c;
			if (k < cfg->ndistinct && chi == hi && *(__u64 *)(c + 8) == lo)
				j = k;
		}
		if (j == INLINE_ADDRS)
			return 0;
		if (!(seen & (1U << j))) {
			seen |= 1U << j;
			found++;
		}
	}
	return found == cfg->ndistinct;
}

static __always_inline int addrs_match(const struct rx *rx, const struct instance_key *ik,
				       const struct instance_cfg *cfg, void *data_end)
{
	__u32 count = rx->vrrp[3];
	if (count != cfg->naddr)
		return 0;
	if (count == 0)
		return 1;
	if (count <= INLINE_ADDRS)
		return addrs_match_inline(rx, cfg, data_end, count);
	struct addr_walk w = {
		.list = rx->vrrp + VRRP_HDR_LEN,
		.data_end = data_end,
		.k = {.ifindex = ik->ifindex, .vrid = ik->vrid, .family = ik->family},
	};
	bpf_loop(count, addr_step, &w, 0);
	return !w.bad && w.found == cfg->ndistinct;
}

/* skip_check_adv_addr: keepalived (vrrp.c, vrrp_state_backup) skips the
 * address check while Backup for an advert from the master it follows; a
 * Master always checks. */
static __always_inline int skip_addr_check(const struct rx *rx, const struct instance_key *ik,
					   const struct instance_cfg *cfg)
{
	if (!cfg->skip_addr_check || cfg->state != STATE_BACKUP)
		return 0;
	struct instance_state *st = bpf_map_lookup_elem(&inst_state, ik);
	return st && st->epoch == cfg->epoch && st->has_master && addr_eq(st->master, rx->src);
}

/* Checks in the order of the drop reasons that are intrinsic to the packet,
 * then the ones that need our configuration. */
static __always_inline int validate(struct rx *rx, void *data_end)
{
	__u8 *v = rx->vrrp;
	if ((void *)(v + VRRP_HDR_LEN) > data_end)
		return count_drop(rx->ifindex, DROP_SHORT_PACKET);
	if (rx->ttl != VRRP_TTL) {
		/* keepalived does not check the TTL of unicast instances (their
		 * adverts may be routed): look the instance up on this path only,
		 * so the cheap drop of off-link forgeries stays cheap. */
		struct instance_key tk = {.ifindex = rx->ifindex, .vrid = v[1], .family = rx->family};
		struct instance_cfg *tc = bpf_map_lookup_elem(&instances, &tk);
		if (!tc || !tc->unicast)
			return count_drop(rx->ifindex, DROP_BAD_TTL);
	}
	if (rx->frag)
		return count_drop(rx->ifindex, DROP_FRAGMENT);
	__u8 version = v[0] >> 4;
	if ((version != 2 && version != 3) || (version == 2 && rx->family == 6))
		return count_drop(rx->ifindex, DROP_BAD_VERSION);
	if ((v[0] & 0x0f) != VRRP_TYPE_ADVERT)
		return count_drop(rx->ifindex, DROP_BAD_TYPE);
	__u32 count = v[3];
	__u32 want = VRRP_HDR_LEN + count * (rx->family == 4 ? 4 : 16) +
		     (version == 2 ? VRRP_V2_AUTH_LEN : 0);
	if (rx->vlen != want)
		return count_drop(rx->ifindex, DROP_ADDR_COUNT);
	__u64 sum = csum_words(v, data_end, want);
	if (version == 3)
		sum += rx->pseudo;
	if (csum_fold(sum) != 0xffff) {
		/* keepalived before 1.3.8 (and later ones with old_unicast_checksum)
		 * put 224.0.0.18 in the pseudo-header of unicast v3 adverts, and
		 * keepalived still accepts those: so do we, for unicast only. */
		int mcast = (rx->daddr4 & bpf_htonl(0xf0000000)) == bpf_htonl(0xe0000000);
		if (version != 3 || rx->family != 4 || mcast ||
		    csum_fold(sum - rx->daddr4 + bpf_htonl(VRRP_MCAST4)) != 0xffff)
			return count_drop(rx->ifindex, DROP_BAD_CHECKSUM);
	}
	__u16 interval_cs = version == 2 ? (__u16)v[5] * 100 : (((__u16)(v[4] & 0x0f)) << 8) | v[5];
	if (interval_cs == 0)
		return count_drop(rx->ifindex, DROP_BAD_INTERVAL);

	struct instance_key ik = {.ifindex = rx->ifindex, .vrid = v[1], .family = rx->family};
	struct instance_cfg *cfg = bpf_map_lookup_elem(&instances, &ik);
	if (!cfg) {
		/* A tagged advert seen on the parent carries the parent's ifindex:
		 * an unknown VRID there is most likely the VLAN device's instance,
		 * which its own hook (ours or another daemon's) validates. */
		if (rx->tagged)
			return VERDICT_PASS;
		return count_drop(rx->ifindex, DROP_UNKNOWN_VRID);
	}
	if (cfg->version != version)
		return count_drop(rx->ifindex, DROP_BAD_VERSION);
	if (version == 2) {
		if (v[4] != cfg->auth_type)
			return count_drop(rx->ifindex, DROP_BAD_AUTH_TYPE);
		if (cfg->auth_type == VRRP_AUTH_PASS) {
			__u8 *auth = v + VRRP_HDR_LEN + (count & 0xff) * 4;
			if ((void *)(auth + VRRP_V2_AUTH_LEN) > data_end)
				return count_drop(rx->ifindex, DROP_SHORT_PACKET);
			__u64 pass;
			__builtin_memcpy(&pass, cfg->auth_pass, 8);
			if (*(__u64 *)auth != pass)
				return count_drop(rx->ifindex, DROP_WRONG_PASSWORD);
		}
	}
	if (cfg->check_peers) {
		struct peer_key pk = {.ifindex = rx->ifindex, .vrid = ik.vrid, .family = rx->family};
		__builtin_memcpy(pk.addr, rx->src, 16);
		if (!bpf_map_lookup_elem(&allowed_peers, &pk))
			return count_drop(rx->ifindex, DROP_NOT_PEER);
	}
	if (version == 2 && interval_cs != cfg->interval_cs)
		return count_drop(rx->ifindex, DROP_INTERVAL_MISMATCH);
	if (!skip_addr_check(rx, &ik, cfg) && !addrs_match(rx, &ik, cfg, data_end))
		return count_drop(rx->ifindex, DROP_ADDR_LIST);

	__u64 now = bpf_ktime_get_ns();
	__u8 prio = v[2];
	update_peer(rx, ik.vrid, version, prio, interval_cs, now);
	on_advert(rx, &ik, cfg, prio, interval_cs, now);
	return VERDICT_PASS;
}

/* Ghost-VIP guard: once the controller stops renewing a VIP's lease (it was
 * killed without releasing the address), stop answering ARP/NS for it here. */
static __always_inline int guard_vip(__u32 ifindex, __u8 family, const void *addr, __u32 alen)
{
	struct vip_key k = {.ifindex = ifindex, .family = family};
	/* Exactly alen bytes: an ARP target is the last 4 bytes checked
	 * against data_end, reading 16 would run past them. */
	if (alen == 4)
		__builtin_memcpy(k.addr, addr, 4);
	else
		__builtin_memcpy(k.addr, addr, 16);
	struct vip_lease *l = bpf_map_lookup_elem(&vip_leases, &k);
	if (!l || bpf_ktime_get_ns() < l->expires_ns)
		return VERDICT_PASS;
	__sync_fetch_and_add(&l->guarded, 1);
	return VERDICT_DROP;
}

/* no_accept: a Master that is not the address owner does not accept traffic
 * to its VIPs (keepalived's firewall drop rule, vrrp.c vrrp_handle_accept_mode).
 * The controller fills no_accept while such a Master holds the VIPs. */
static __always_inline int no_accept_drop(__u8 family, const void *daddr)
{
	struct vip_key k = {.family = family};
	if (family == 4)
		__builtin_memcpy(k.addr, daddr, 4);
	else
		__builtin_memcpy(k.addr, daddr, 16);
	struct no_accept_val *n = bpf_map_lookup_elem(&no_accept, &k);
	if (!n)
		return VERDICT_PASS;
	__sync_fetch_and_add(&n->dropped, 1);
	return VERDICT_DROP;
}

static __always_inline int guard_no_accept(__u8 family, const void *daddr)
{
	__u32 zero = 0;
	struct no_accept_set *set = bpf_map_lookup_elem(&no_accept_on, &zero);
	if (!set)
		return VERDICT_PASS;
	__u32 n = family == 4 ? set->n4 : set->n6;
	if (!n)
		return VERDICT_PASS;
	if (n > NO_ACCEPT_INLINE)
		return no_accept_drop(family, daddr);
	if (family == 4) {
		__be32 d = *(const __be32 *)daddr;
#pragma unroll
		for (int i = 0; i < NO_ACCEPT_INLINE; i++)
			if (i < n && set->v4[i] == d)
				return no_accept_drop(family, daddr);
		return VERDICT_PASS;
	}
	__u64 hi = *(const __u64 *)daddr, lo = *(const __u64 *)(daddr + 8);
#pragma unroll
	for (int i = 0; i < NO_ACCEPT_INLINE; i++)
		if (i < n && *(__u64 *)set->v6[i] == hi && *(__u64 *)(set->v6[i] + 8) == lo)
			return no_accept_drop(family, daddr);
	return VERDICT_PASS;
}

/* The whole receive path over a frame; shared by XDP and TC ingress. */
static __always_inline int vrrp_rx(void *data, void *data_end, __u32 ifindex)
{
	__u16 proto;
	__u32 off;
	if (!parse_eth(data, data_end, &proto, &off))
		return VERDICT_PASS;

	struct rx rx;
	rx.ifindex = ifindex;
	rx.frag = 0;
	rx.tagged = off != sizeof(struct ethhdr);
	if (proto == ETH_P_IP_) {
		struct iphdr *ip = data + off;
		if ((void *)(ip + 1) > data_end)
			return VERDICT_PASS;
		if (ip->protocol != IPPROTO_VRRP)
			return guard_no_accept(4, &ip->daddr);
		__u32 ihl = ip->ihl * 4;
		__u32 tot = bpf_ntohs(ip->tot_len);
		if (ihl < sizeof(*ip) || tot < ihl + VRRP_HDR_LEN || (void *)ip + tot > data_end)
			return count_drop(ifindex, DROP_SHORT_PACKET);
		rx.vrrp = (void *)ip + ihl;
		rx.vlen = tot - ihl;
		rx.family = 4;
		rx.ttl = ip->ttl;
		rx.frag = (ip->frag_off & bpf_htons(0x3fff)) != 0;
		__builtin_memset(rx.src, 0, 16);
		__builtin_memcpy(rx.src, &ip->saddr, 4);
		rx.daddr4 = ip->daddr;
		rx.pseudo = (__u64)ip->saddr + ip->daddr + bpf_htons(IPPROTO_VRRP) +
			    bpf_htons((__u16)rx.vlen);
	} else if (proto == ETH_P_IPV6_) {
		struct ipv6hdr *ip6 = data + off;
		if ((void *)(ip6 + 1) > data_end)
			return VERDICT_PASS;
		__u8 nh = ip6->nexthdr;
		__u8 *l4 = (void *)(ip6 + 1);
		__u32 ext = 0;
		/* One hop-by-hop header is skipped (MLD-style router alert);
		 * any other extension header before VRRP makes it "not VRRP". */
		if (nh == IPPROTO_HOPOPTS_) {
			if ((void *)(l4 + 2) > data_end)
				return VERDICT_PASS;
			nh = l4[0];
			ext = ((__u32)l4[1] + 1) * 8;
			l4 += ext;
		}
		if (nh == IPPROTO_ICMPV6_) {
			if ((void *)(l4 + 1) > data_end)
				return VERDICT_PASS;
			/* Neighbour Solicitation: type, code, csum, reserved, target. */
			if (l4[0] == ND_NEIGHBOR_SOLICIT) {
				if ((void *)(l4 + 24) > data_end)
					return VERDICT_PASS;
				return guard_vip(ifindex, 6, l4 + 8, 16);
			}
			/* Neighbour discovery passes no_accept, as keepalived's rules
			 * let it through. */
			if (l4[0] >= ND_ROUTER_SOLICIT && l4[0] <= ND_REDIRECT)
				return VERDICT_PASS;
			return guard_no_accept(6, &ip6->daddr);
		}
		if (nh == IPPROTO_FRAGMENT_) {
			if ((void *)(l4 + 8) > data_end)
				return VERDICT_PASS;
			if (l4[0] != IPPROTO_VRRP)
				return guard_no_accept(6, &ip6->daddr);
			rx.frag = 1;
			ext += 8;
			l4 += 8;
		} else if (nh != IPPROTO_VRRP) {
			return guard_no_accept(6, &ip6->daddr);
		}
		__u32 plen = bpf_ntohs(ip6->payload_len);
		if (plen < ext + VRRP_HDR_LEN || (void *)(ip6 + 1) + plen > data_end)
			return count_drop(ifindex, DROP_SHORT_PACKET);
		rx.vrrp = l4;
		rx.vlen = plen - ext;
		rx.family = 6;
		rx.ttl = ip6->hop_limit;
		__builtin_memcpy(rx.src, &ip6->saddr, 16);
		/* Summed in 64 bits: in 32 the two words overflow whenever the
		 * length's low byte is 0x90 or more (9 VIPs: 152 bytes), and the
		 * lost carry made every such advert a bad checksum. */
		__u64 s = (__u64)bpf_htonl(rx.vlen) + bpf_htonl(IPPROTO_VRRP);
		__u32 *a = (__u32 *)&ip6->saddr; /* saddr and daddr are adjacent */
#pragma unroll
		for (int i = 0; i < 8; i++)
			s += a[i];
		rx.pseudo = s;
	} else if (proto == ETH_P_ARP_) {
		struct arp_ipv4_ *arp = data + off;
		/* Only the Ethernet/IPv4 layout has tpa where we read it. */
		if ((void *)(arp + 1) > data_end || arp->op != bpf_htons(ARPOP_REQUEST_) ||
		    arp->ptype != bpf_htons(ETH_P_IP_) || arp->hlen != 6 || arp->plen != 4)
			return VERDICT_PASS;
		return guard_vip(ifindex, 4, arp->tpa, 4);
	} else {
		return VERDICT_PASS;
	}
	return validate(&rx, data_end);
}

SEC("xdp")
int vrrp_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	if (vrrp_rx(data, data_end, ctx->ingress_ifindex) == VERDICT_DROP)
		return XDP_DROP;
	return XDP_PASS;
}

/* Adverts are at most a few hundred bytes: pulling that much makes a
 * non-linear VRRP skb parseable; larger packets are never VRRP. */
#define TC_PULL_MAX 1024

SEC("tc")
int vrrp_tc_ingress(struct __sk_buff *skb)
{
	if ((long)skb->data_end - (long)skb->data < (long)skb->len && skb->len <= TC_PULL_MAX)
		bpf_skb_pull_data(skb, skb->len);
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	if (vrrp_rx(data, data_end, skb->ifindex) == VERDICT_DROP)
		return TC_ACT_SHOT;
	/* TC_ACT_UNSPEC is TCX_NEXT: let later programs run too. */
	return TC_ACT_UNSPEC;
}

/* Our own adverts leaving: count them and the gaps between them, the early
 * warning that our sending is being delayed. No validation: we built them. */
SEC("tc")
int vrrp_tc_egress(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u16 proto;
	__u32 off;
	if (!parse_eth(data, data_end, &proto, &off))
		return TC_ACT_UNSPEC;
	struct instance_key k = {.ifindex = skb->ifindex};
	__u8 *v;
	if (proto == ETH_P_IP_) {
		struct iphdr *ip = data + off;
		if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_VRRP)
			return TC_ACT_UNSPEC;
		v = (void *)ip + ip->ihl * 4;
		k.family = 4;
	} else if (proto == ETH_P_IPV6_) {
		struct ipv6hdr *ip6 = data + off;
		if ((void *)(ip6 + 1) > data_end || ip6->nexthdr != IPPROTO_VRRP)
			return TC_ACT_UNSPEC;
		v = (void *)(ip6 + 1);
		k.family = 6;
	} else {
		return TC_ACT_UNSPEC;
	}
	if ((void *)(v + 2) > data_end)
		return TC_ACT_UNSPEC;
	k.vrid = v[1];
	__u64 now = bpf_ktime_get_ns();
	struct tx_stats *ts = bpf_map_lookup_elem(&tx_adverts, &k);
	if (!ts) {
		struct tx_stats n = {.count = 1, .last_ns = now};
		if (!bpf_map_update_elem(&tx_adverts, &k, &n, BPF_NOEXIST))
			return TC_ACT_UNSPEC;
		ts = bpf_map_lookup_elem(&tx_adverts, &k);
		if (!ts)
			return TC_ACT_UNSPEC;
	}
	__u64 gap = advance(&ts->last_ns, now);
	__sync_fetch_and_add(&ts->count, 1);
	if (gap > ts->max_gap_ns)
		ts->max_gap_ns = gap;
	__sync_fetch_and_add(&ts->hist[gap_bucket(gap)], 1);
	return TC_ACT_UNSPEC;
}
