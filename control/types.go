package control

import (
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/vrrp"
)

// State is the VRRP state of one instance (RFC 5798 §6.4), plus Fault, which RFC
// 5798 does not name but keepalived has: the instance is held out of the election
// because its interface is down or a weight-0 tracker fails.
type State uint8

// Values are those of the ebpfvrrp_instance_state metric and of the kernel's
// state field (enum vrrp_state).
const (
	Init State = iota
	Backup
	Master
	Fault
)

var stateNames = [...]string{Init: "INIT", Backup: "BACKUP", Master: "MASTER", Fault: "FAULT"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Reason says why a transition happened. The names are exported to logs and metrics
// as they are (String), so they are part of the interface operators see.
type Reason uint8

const (
	ReasonNone Reason = iota
	ReasonStartup
	ReasonPriorityOwner
	ReasonMasterDownExpired
	ReasonHigherPrioritySeen
	ReasonPriorityZeroReceived
	ReasonPreempt
	ReasonPreemptDelayExpired
	ReasonShutdown
	ReasonTrackerFailed
	ReasonTrackerRecovered
	ReasonInterfaceDown
	ReasonInterfaceUp
	ReasonSyncGroup
	ReasonSplitBrainDemote
	ReasonConfigReload
	ReasonPathFailure
	// ReasonAdopted: the instance resumed the state an earlier run of the
	// daemon left in the kernel (a restart, an upgrade).
	ReasonAdopted
)

var reasonNames = [...]string{
	ReasonNone:                 "none",
	ReasonStartup:              "startup",
	ReasonPriorityOwner:        "priority_owner",
	ReasonMasterDownExpired:    "master_down_expired",
	ReasonHigherPrioritySeen:   "higher_priority_seen",
	ReasonPriorityZeroReceived: "priority_zero_received",
	ReasonPreempt:              "preempt",
	ReasonPreemptDelayExpired:  "preempt_delay_expired",
	ReasonShutdown:             "shutdown",
	ReasonTrackerFailed:        "tracker_failed",
	ReasonTrackerRecovered:     "tracker_recovered",
	ReasonInterfaceDown:        "interface_down",
	ReasonInterfaceUp:          "interface_up",
	ReasonSyncGroup:            "sync_group",
	ReasonSplitBrainDemote:     "split_brain_demote",
	ReasonConfigReload:         "config_reload",
	ReasonPathFailure:          "path_failure",
	ReasonAdopted:              "adopted",
}

func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "Reason(" + strconv.Itoa(int(r)) + ")"
}

// InstanceKey is how the kernel dataplane names an instance: the interface index the
// adverts arrive on, the VRID and the address family (vrrp.InstanceKey, the one
// type for it).
type InstanceKey = vrrp.InstanceKey

// Path is a secondary heartbeat path used for split-brain detection: adverts of the
// same VRID seen on another interface (Key.Ifindex), or, when Peer is valid, only
// those from that unicast peer address.
type Path struct {
	Key  InstanceKey
	Peer netip.Addr
	// Interface and Src are where our own adverts leave on this path while we are
	// Master (so the peer can hear us there too); Src defaults to PrimaryAddr when
	// the path shares the primary key.
	Interface string
	Src       netip.Addr
}

// VIP is one virtual address with the device and label it is added with.
type VIP struct {
	Prefix netip.Prefix
	Device string
	Label  string
}

// SplitBrainAction is what a Master does when it sees another Master.
type SplitBrainAction uint8

const (
	// SplitBrainAlert logs, counts and notifies (state SPLIT_BRAIN). The default.
	SplitBrainAlert SplitBrainAction = iota
	// SplitBrainDemote alerts, and the loser (lower priority, or equal priority and
	// lower primary address) releases its VIPs and returns to Backup.
	SplitBrainDemote
	// SplitBrainScript alerts and runs the configured split-brain script.
	SplitBrainScript
)

func (a SplitBrainAction) String() string {
	switch a {
	case SplitBrainAlert:
		return "alert"
	case SplitBrainDemote:
		return "demote"
	case SplitBrainScript:
		return "script"
	}
	return "SplitBrainAction(" + strconv.Itoa(int(a)) + ")"
}

// NotifyConfig holds notify hooks, each an argv. Generic is called as keepalived
// calls its notify script: argv + TYPE NAME STATE PRIORITY (TYPE is INSTANCE or
// GROUP; PRIORITY 0 for a group). SplitBrain is the split-brain action script,
// called as argv + INSTANCE NAME SPLIT_BRAIN PRIORITY PEER PEER_PRIORITY.
type NotifyConfig struct {
	Master, Backup, Fault, Stop, Generic, SplitBrain []string
	// Shell passes each hook joined by spaces to /bin/sh -c instead of exec'ing argv.
	Shell bool
	// SplitBrainNotify also calls Generic with state SPLIT_BRAIN when another
	// Master is seen and SPLIT_BRAIN_END when that ends. Off by default:
	// keepalived's notify scripts never receive these states.
	SplitBrainNotify bool
	// User runs the hooks as "USER[:GROUP]" (keepalived's script_user, or the
	// user named after a notify script); empty: as the daemon's user.
	User string
	// Timeout, when positive, kills a hook's process group still running after
	// it; 0: the hook runs to completion, as keepalived's do.
	Timeout time.Duration
}

// TrackRef attaches a tracker (by name) to an instance with a weight, keepalived's
// semantics: 0 means failure puts the instance in FAULT; positive is added to the
// priority while the tracker is up; negative is added while it is down. File trackers
// add value × weight instead.
type TrackRef struct {
	Name   string
	Weight int
}

// InstanceConfig is everything control needs to run one instance. internal/daemon builds
// it from config.Instance (resolving interface names to indexes and picking the
// primary address).
type InstanceConfig struct {
	Name      string
	Interface string
	Key       InstanceKey
	// Version is 2 (RFC 3768) or 3 (RFC 5798).
	Version int
	// Priority is the configured priority, 1–255; 255 is the address owner.
	Priority       uint8
	AdvertInterval time.Duration
	// StartMaster is keepalived's "state MASTER" hint: the first master-down
	// deadline is one advert interval plus skew instead of three (keepalived does
	// the same), so a preferred node claims the VIP quickly when nobody answers.
	StartMaster  bool
	Preempt      bool
	PreemptDelay time.Duration
	// PrimaryAddr is our advert source and the tie-break address (RFC 5798 §6.4.3).
	PrimaryAddr netip.Addr
	// Peers are unicast destinations; empty means multicast to Group.
	Peers []netip.Addr
	// Group is the multicast destination (224.0.0.18 / ff02::12 when invalid).
	Group        netip.Addr
	AllowedPeers []netip.Addr
	// AuthType is the v2 auth type (0 none, 1 PASS); AuthData the padded password.
	AuthType uint8
	AuthData [8]byte
	// VIPs are advertised and added while Master; ExcludedVIPs only added.
	VIPs         []VIP
	ExcludedVIPs []VIP
	Track        []TrackRef
	// TrackInterfaces are link trackers by interface name (weight semantics as Track).
	TrackInterfaces []TrackRef
	// DontTrackPrimary: link down on Interface does not cause FAULT.
	DontTrackPrimary bool
	// SkipCheckAdvAddr is keepalived's skip_check_adv_addr: a Backup does not
	// check the addresses of adverts from the master it follows.
	SkipCheckAdvAddr bool
	// NoAccept: as Master, drop traffic to the VIPs unless Priority is 255
	// (keepalived's no_accept; the address owner always accepts).
	NoAccept bool
	// NoLowerPrioGARP: a Master that hears a lower-priority advert does not send
	// its GARP/NA schedule again (keepalived's garp_lower_prio_repeat 0, and its
	// strict mode's default).
	NoLowerPrioGARP bool
	Notify          NotifyConfig
	SecondaryPaths  []Path
	SplitBrain      SplitBrainAction
	// TakeoverOnPathFailure: take over even when the master is still heard on a
	// secondary path.
	TakeoverOnPathFailure bool
	// KernelTimer says the dataplane runs its own master-down timer (bpf_timer)
	// and reports expiry as a kernel event. The userspace deadline is then only a
	// safety net for a lost event: while the master is being heard it re-checks at
	// most every SafetyNetInterval instead of every Master_Down_Interval, so
	// hundreds of 10 ms instances do not wake the controller thousands of times a
	// second. Without it (a kernel with no bpf_timer) the userspace deadline is
	// the master-down timer and stays exact.
	KernelTimer bool
}

// SafetyNetInterval bounds how often a Backup re-checks a master that is being
// heard when the kernel owns the master-down timer (InstanceConfig.KernelTimer).
const SafetyNetInterval = time.Second

// Addresses advertised in this instance's adverts (VIPs without ExcludedVIPs).
func (c *InstanceConfig) advertAddrs() []netip.Addr {
	out := make([]netip.Addr, 0, len(c.VIPs))
	for _, v := range c.VIPs {
		out = append(out, v.Prefix.Addr())
	}
	return out
}

// noAcceptAddrs are the addresses (VIPs and excluded VIPs) whose traffic a
// Master drops: none in accept mode or for the address owner, as keepalived's
// vrrp_handle_accept_mode (keepalived/vrrp/vrrp.c) decides.
func (c *InstanceConfig) noAcceptAddrs() []netip.Addr {
	if !c.NoAccept || c.Priority == 255 {
		return nil
	}
	out := make([]netip.Addr, 0, len(c.VIPs)+len(c.ExcludedVIPs))
	for _, v := range c.allVIPs() {
		if !slices.Contains(out, v.Prefix.Addr()) {
			out = append(out, v.Prefix.Addr())
		}
	}
	return out
}

func (c *InstanceConfig) allVIPs() []VIP {
	out := make([]VIP, 0, len(c.VIPs)+len(c.ExcludedVIPs))
	out = append(out, c.VIPs...)
	return append(out, c.ExcludedVIPs...)
}

// SkewTime is the RFC's Skew_Time for a local priority. v3 (RFC 5798 §6.1):
// ((256 − Priority) × Master_Adver_Interval) / 256, computed in nanoseconds rather
// than whole centiseconds so that at 10 ms intervals backups of different priority
// still time out in priority order. v2 (RFC 3768 §6.1): (256 − Priority) / 256
// seconds, independent of the interval, as keepalived computes it.
func SkewTime(version int, masterAdverInterval time.Duration, priority uint8) time.Duration {
	p := time.Duration(256 - int(priority))
	if version == 2 {
		return p * time.Second / 256
	}
	return p * masterAdverInterval / 256
}

// MasterDownInterval is 3 × Master_Adver_Interval + Skew_Time.
func MasterDownInterval(version int, masterAdverInterval time.Duration, priority uint8) time.Duration {
	return 3*masterAdverInterval + SkewTime(version, masterAdverInterval, priority)
}

// FailoverTransitions are the transitions any instance can make whatever its
// configuration: the RFC's failovers. Metrics export them at zero from start, so
// that increase() over ebpfvrrp_transitions_total sees the first failover too.
var FailoverTransitions = []TransitionCount{
	{From: Backup, To: Master, Reason: ReasonMasterDownExpired},
	{From: Backup, To: Master, Reason: ReasonPriorityZeroReceived},
	{From: Master, To: Backup, Reason: ReasonHigherPrioritySeen},
}
