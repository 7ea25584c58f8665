/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Every map, pinned by name under the loader's pin path. Names fit 15
 * characters so bpftool shows them exactly as written. */
#ifndef VRRP_MAPS_H
#define VRRP_MAPS_H

#include <bpf/bpf_helpers.h>
#include "vrrp_types.h"

#define MAX_INSTANCES 1024
#define MAX_PEERS 4096
#define MAX_IFACES 256
#define MAX_VIPS 4096

/* instance_key -> our config and state, written by the controller. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_INSTANCES);
	__type(key, struct instance_key);
	__type(value, struct instance_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} instances SEC(".maps");

/* instance_key -> current master and master-down timer, kernel-owned. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_INSTANCES);
	__type(key, struct instance_key);
	__type(value, struct instance_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} inst_state SEC(".maps");

/* (ifindex, vrid, family, source) -> 1 if that source may send adverts. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_PEERS);
	__type(key, struct peer_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} allowed_peers SEC(".maps");

/* (ifindex, vrid, family, source) -> statistics of its valid adverts; LRU:
 * when full, the stalest sender's statistics go (state machine unaffected). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_PEERS);
	__type(key, struct peer_key);
	__type(value, struct peer_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} peers SEC(".maps");

/* (ifindex, drop reason) -> per-CPU count of VRRP packets dropped. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, MAX_IFACES * DROP_REASON_MAX);
	__type(key, struct drop_key);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} drops SEC(".maps");

/* instance_key -> our own adverts seen leaving (TC egress). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_INSTANCES);
	__type(key, struct instance_key);
	__type(value, struct tx_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tx_adverts SEC(".maps");

/* (ifindex, family, VIP) -> lease; lapsed: drop ARP requests / NS for it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_VIPS);
	__type(key, struct vip_key);
	__type(value, struct vip_lease);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} vip_leases SEC(".maps");

/* (ifindex, vrid, family, address) -> index of that address among the
 * instance's VIPs, which its received adverts must list. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_VIPS);
	__type(key, struct adv_addr_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} adv_addrs SEC(".maps");

/* (0, family, VIP) -> drop count and owner: a VIP we hold as a Master that is
 * not its owner, with no_accept. ARP, neighbour discovery and VRRP still pass. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_VIPS);
	__type(key, struct vip_key);
	__type(value, struct no_accept_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} no_accept SEC(".maps");

/* Key 0 -> the no_accept VIPs per family, inline (struct no_accept_set). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct no_accept_set);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} no_accept_on SEC(".maps");

/* instance_key -> the last event sent for it (for status and bpftool). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_INSTANCES);
	__type(key, struct instance_key);
	__type(value, struct event);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} last_event SEC(".maps");

/* struct event records for the controller; only state-relevant changes. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} events SEC(".maps");

/* Key 0 -> per-CPU count of events that did not fit in the ring buffer. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} events_lost SEC(".maps");

#endif /* VRRP_MAPS_H */
