package loader

import (
	"fmt"
	"github.com/ebpfvrrp/ebpfvrrp/vrrp"
	"net/netip"
	"time"
)

// State is our own RFC 5798 state as the kernel program sees it.
type State uint8

// States, numbered as enum vrrp_state in bpf/include/vrrp_const.h.
const (
	StateInit   State = State(vrrpVrrpStateSTATE_INIT)
	StateBackup State = State(vrrpVrrpStateSTATE_BACKUP)
	StateMaster State = State(vrrpVrrpStateSTATE_MASTER)
	StateFault  State = State(vrrpVrrpStateSTATE_FAULT)
)

func (s State) String() string {
	switch s {
	case StateInit:
		return "init"
	case StateBackup:
		return "backup"
	case StateMaster:
		return "master"
	case StateFault:
		return "fault"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// Address families of an instance, as in its key.
const (
	FamilyIPv4 = vrrp.IPv4
	FamilyIPv6 = vrrp.IPv6
)

// InstanceKey names one VRRP instance: a VRID on an interface for one family
// (vrrp.InstanceKey, the one type for it).
type InstanceKey = vrrp.InstanceKey

func rawKey(k InstanceKey) vrrpInstanceKey {
	return vrrpInstanceKey{Ifindex: uint32(k.Ifindex), Vrid: k.VRID, Family: uint8(k.Family)}
}

func keyFromRaw(r vrrpInstanceKey) InstanceKey {
	return InstanceKey{Ifindex: int(r.Ifindex), VRID: r.Vrid, Family: vrrp.Family(r.Family)}
}

// InstanceConfig is our side of an instance, which the kernel validates
// adverts against.
type InstanceConfig struct {
	State    State
	Priority uint8 // effective priority: the skew of Master_Down_Interval, PREEMPT
	Version  uint8 // 2 or 3; adverts of the other version are dropped (bad_version)
	Preempt  bool  // a lower-priority master does not hold our master-down timer
	AuthType uint8 // v2: 0 none, 1 PASS
	AuthPass [8]byte
	// Interval is our advert interval: whole seconds (1-255) for v2, 10 ms
	// steps up to 40.95 s for v3. v2 adverts with another interval are
	// dropped (interval_mismatch).
	Interval time.Duration
	// Primary is our primary address; on equal priority the higher address
	// is Master.
	Primary netip.Addr
	// Peers, when not empty, are the only sources accepted (not_peer).
	Peers []netip.Addr
	// Unicast: adverts come by unicast (keepalived's unicast_peer) and may
	// cross routers, so their TTL/hop limit is not required to be 255 -
	// keepalived skips that check for unicast instances too.
	Unicast bool
	// Addresses are the instance's VIPs: a received advert must list as many
	// and every one of them, as keepalived checks (vrrp.c, vrrp_in_chk);
	// others are dropped (addr_list). At most 255.
	Addresses []netip.Addr
	// SkipAddrCheck is keepalived's skip_check_adv_addr: while Backup, an
	// advert from the master already followed is not checked.
	SkipAddrCheck bool
	// NoAccept, when not empty, are the VIPs whose traffic is dropped while
	// State is StateMaster (keepalived's no_accept on a Master that is not the
	// address owner). ARP, neighbour discovery and VRRP still pass.
	NoAccept []netip.Addr
}

// MasterInfo is the master the kernel currently follows for an instance.
type MasterInfo struct {
	Addr     netip.Addr
	Priority uint8
	Interval time.Duration // its advertised interval
	// Age is the time since the last advert that held our master-down timer
	// (CLOCK_MONOTONIC, as bpf_ktime_get_ns); the maximum Duration if none did.
	Age time.Duration
	// BothMasters counts adverts from a lower router while we were Master.
	BothMasters uint64
}

// HistBuckets is the number of inter-arrival histogram buckets: bucket i counts
// gaps in [2^i, 2^(i+1)) microseconds (bucket 0 also the ones under 1 us), the
// last everything from 2^23 us (8.4 s) up.
const HistBuckets = len(vrrpPeerStats{}.Hist)

// PeerStats is what the kernel knows about one sender of valid adverts.
type PeerStats struct {
	Key       InstanceKey
	Addr      netip.Addr
	FirstSeen time.Time
	LastSeen  time.Time
	Count     uint64
	MaxGap    time.Duration
	Missed    uint64 // estimated adverts lost in gaps longer than 1.5 intervals
	Priority  uint8  // in its last advert
	Version   uint8
	Interval  time.Duration // advertised
	Hist      [HistBuckets]uint64
}

// DropStat is the number of VRRP packets dropped on an interface for a reason.
type DropStat struct {
	Ifindex uint32
	Reason  DropReason
	Count   uint64 // summed over CPUs
}

// TxStat counts our own adverts leaving an interface (TC egress).
type TxStat struct {
	Key    InstanceKey
	Count  uint64
	Last   time.Time
	MaxGap time.Duration
	Hist   [HistBuckets]uint64
}

// EventType says why the kernel woke the controller.
type EventType uint8

// Event types, numbered as enum event_type in bpf/include/vrrp_const.h.
const (
	EventMasterDown  EventType = EventType(vrrpEventTypeEVENT_MASTER_DOWN)
	EventNewMaster   EventType = EventType(vrrpEventTypeEVENT_NEW_MASTER)
	EventPrioChange  EventType = EventType(vrrpEventTypeEVENT_PRIO_CHANGE)
	EventPrioZero    EventType = EventType(vrrpEventTypeEVENT_PRIO_ZERO)
	EventPreempt     EventType = EventType(vrrpEventTypeEVENT_PREEMPT)
	EventBothMasters EventType = EventType(vrrpEventTypeEVENT_BOTH_MASTERS)
)

func (t EventType) String() string {
	switch t {
	case EventMasterDown:
		return "master_down"
	case EventNewMaster:
		return "new_master"
	case EventPrioChange:
		return "prio_change"
	case EventPrioZero:
		return "prio_zero"
	case EventPreempt:
		return "preempt"
	case EventBothMasters:
		return "both_masters"
	}
	return fmt.Sprintf("event(%d)", uint8(t))
}

// Event is one ring-buffer record.
//
//   - EventMasterDown: the master-down timer expired while Backup; Addr and
//     Priority are the master that went silent (now forgotten).
//   - EventNewMaster: the first accepted advert in a Backup period, or another
//     router took over (wins the election, or the old one was silent for its
//     Master_Down_Interval). PrevPriority is the previous master's.
//   - EventPrioChange: the master's priority changed (PrevPriority → Priority).
//   - EventPrioZero: the master resigned (Backup: timer set to Skew_Time), or,
//     while we are Master, someone sent priority 0 (RFC: advertise at once).
//   - EventPreempt: while Master, an advert that wins over us (higher
//     priority, or equal priority and higher address). PrevPriority is ours.
//   - EventBothMasters: while Master, an advert that loses to us. Every one is
//     counted in MasterInfo.BothMasters; events are at most one per second.
//
// While Master, PREEMPT, BOTH_MASTERS and PRIO_ZERO are each limited to one
// event per second per instance (separate limits: a BOTH_MASTERS never delays
// a PREEMPT), reset when our state changes.
type Event struct {
	Time         time.Time // converted from the kernel's CLOCK_MONOTONIC stamp
	Key          InstanceKey
	Type         EventType
	Addr         netip.Addr
	Priority     uint8
	PrevPriority uint8
	Interval     time.Duration
}
