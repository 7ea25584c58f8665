package control

import (
	"net"
	"net/netip"
	"slices"
	"time"
)

// Event is an input to Machine.Handle. The Kernel* events come from the dataplane's
// ring buffer (through the Runner); timers from the Runner; the rest from trackers,
// link watchers, sync groups and the daemon's lifecycle.
type Event interface{ isEvent() }

// Startup leaves Init: Master for the address owner, otherwise Backup (RFC 5798 §6.4.1).
type Startup struct{}

// Adopt leaves Init for State (Master or Backup) without the side effects of
// entering it: the instance was in that state in an earlier run of the daemon
// whose kernel state this one took over (a restart within the peers'
// Master_Down_Interval), so the VIPs are on the interface, the neighbours know
// their MAC and the hooks ran. A Master advertises at once and refreshes its
// VIPs with one GARP/NA; no hook runs. Any other State is a Startup.
type Adopt struct{ State State }

// Shutdown returns to Init; a Master sends a priority-0 advert and releases its VIPs
// (RFC 5798 §6.4.3). Reason defaults to ReasonShutdown (ReasonConfigReload when an
// instance is removed by a reload).
type Shutdown struct{ Reason Reason }

// KernelMasterDown: the kernel's master-down timer expired (no advert from the master
// for Master_Down_Interval). SecondaryAlive is filled in by the Runner: the master is
// still heard on a secondary path.
type KernelMasterDown struct{ SecondaryAlive bool }

// KernelNewMaster: adverts now come from a different master.
type KernelNewMaster struct {
	Addr     netip.Addr
	Prio     uint8
	Interval time.Duration
}

// KernelPrioChange: the current master advertises a different priority.
type KernelPrioChange struct {
	Addr netip.Addr
	Prio uint8
}

// KernelPrioZero: the master sent a priority-0 advert (it is shutting down).
type KernelPrioZero struct{ Addr netip.Addr }

// KernelPreempt: while we are Master, an advert with a higher priority, or an equal
// priority and a higher primary address, arrived (RFC 5798 §6.4.3).
type KernelPreempt struct {
	Addr     netip.Addr
	Prio     uint8
	Interval time.Duration
}

// KernelBothMasters: while we are Master, an advert from another Master that does not
// preempt us arrived. Secondary is set when it was seen on a secondary path (the
// primary path is then presumably cut, which is when split brain is real).
type KernelBothMasters struct {
	Addr      netip.Addr
	Prio      uint8
	Secondary bool
}

// AdvertTimer: time to send the next advert (Master).
type AdvertTimer struct{}

// MasterDownTimer: the Runner's lazy master-down deadline fired (Backup). The Runner
// fills in what the kernel knows: whether the master was Heard and the Age of its last
// advert, and whether it is still heard on a secondary path. The machine re-arms for
// the remainder when the master was heard within Master_Down_Interval, so a
// descheduled controller never fails over early.
type MasterDownTimer struct {
	Heard          bool
	Age            time.Duration
	SecondaryAlive bool
}

// PreemptDelayTimer: the preempt delay started at startup (or on leaving Fault) ran out.
type PreemptDelayTimer struct{}

// PriorityChanged: trackers changed the effective priority.
type PriorityChanged struct{ Effective uint8 }

// TrackerFault: a weight-0 tracker (or a file tracker in fault) failed.
type TrackerFault struct{}

// TrackerRecovered: no weight-0 tracker fails any more.
type TrackerRecovered struct{}

// InterfaceDown / InterfaceUp: link state of the instance's interface.
type InterfaceDown struct{}
type InterfaceUp struct{}

// SyncGroupState: another member of our sync group changed to State; we follow
// (keepalived's vrrp_sync_group semantics).
type SyncGroupState struct{ State State }

// VIPProbed: the periodic ownership probe of a Master's VIPs (cmd's probe loop)
// finished. Conflict is set when another MAC answered for one of them (VIP and HW
// name the first such answer); a round without answers ends the conflict.
type VIPProbed struct {
	Conflict bool
	VIP      netip.Addr
	HW       net.HardwareAddr
}

// TakeoverProbed: the ownership probe a Backup ran before taking over (action
// ProbeVIPs with the same Seq) finished; Answered is set when another host still
// answers for the VIPs.
type TakeoverProbed struct {
	Seq      uint64
	Answered bool
}

func (Startup) isEvent()           {}
func (Shutdown) isEvent()          {}
func (Adopt) isEvent()             {}
func (KernelMasterDown) isEvent()  {}
func (KernelNewMaster) isEvent()   {}
func (KernelPrioChange) isEvent()  {}
func (KernelPrioZero) isEvent()    {}
func (KernelPreempt) isEvent()     {}
func (KernelBothMasters) isEvent() {}
func (AdvertTimer) isEvent()       {}
func (MasterDownTimer) isEvent()   {}
func (PreemptDelayTimer) isEvent() {}
func (PriorityChanged) isEvent()   {}
func (TrackerFault) isEvent()      {}
func (TrackerRecovered) isEvent()  {}
func (InterfaceDown) isEvent()     {}
func (InterfaceUp) isEvent()       {}
func (SyncGroupState) isEvent()    {}
func (VIPProbed) isEvent()         {}
func (TakeoverProbed) isEvent()    {}

// Action is an output of Machine.Handle, applied in order by the Runner.
type Action interface{ isAction() }

// SendAdvert sends one advert with Priority (0 on shutdown).
type SendAdvert struct{ Priority uint8 }

// AddVIPs / RemoveVIPs add or remove every VIP of the instance (excluded ones too).
// RemoveVIPs also stops the GARP/NA schedule started by Announce.
type AddVIPs struct{}
type RemoveVIPs struct{}

// Announce starts the gratuitous ARP / unsolicited NA schedule for the VIPs.
type Announce struct{}

// SetKernelState tells the dataplane our state and effective priority.
type SetKernelState struct {
	State    State
	Priority uint8
}

// HookState is the STATE argument of notify hooks.
type HookState uint8

const (
	HookMaster HookState = iota
	HookBackup
	HookFault
	HookStop
	// HookSplitBrain and HookSplitBrainEnd are ebpfvrrp's own: keepalived
	// never sends them, so the generic notify script receives them only when
	// the operator opts in (NotifyConfig.SplitBrainNotify).
	HookSplitBrain
	HookSplitBrainEnd
)

func (h HookState) String() string {
	switch h {
	case HookMaster:
		return "MASTER"
	case HookBackup:
		return "BACKUP"
	case HookFault:
		return "FAULT"
	case HookStop:
		return "STOP"
	case HookSplitBrain:
		return "SPLIT_BRAIN"
	case HookSplitBrainEnd:
		return "SPLIT_BRAIN_END"
	}
	return "HookState(?)"
}

// Notify runs the notify hooks for State (asynchronously, in the Runner).
type Notify struct{ State HookState }

// TimerKind names the per-instance timers the Runner keeps.
type TimerKind uint8

const (
	TimerAdvert TimerKind = iota
	TimerMasterDown
	TimerPreemptDelay
	numTimers
)

func (k TimerKind) String() string {
	switch k {
	case TimerAdvert:
		return "advert"
	case TimerMasterDown:
		return "master_down"
	case TimerPreemptDelay:
		return "preempt_delay"
	}
	return "TimerKind(?)"
}

// ArmTimer (re-)arms timer Kind to fire After from now; CancelTimer stops it.
type ArmTimer struct {
	Kind  TimerKind
	After time.Duration
}
type CancelTimer struct{ Kind TimerKind }

// Transition records a state change; the Runner logs exactly one line per Transition.
// Master is the master's address as known after the transition (ours when To is
// Master).
type Transition struct {
	From, To State
	Reason   Reason
	Priority uint8
	Master   netip.Addr
}

// SplitBrainDetected: we are Master and another Master was seen. Demoted says whether
// this node gave up (Action demote and we lose the tie-break).
//
// When the evidence is a VIP conflict (VIPConflict set: another MAC answered our
// ownership probe, VIP and PeerHW say which), an ARP answer carries no priority:
// Peer and PeerPriority are then the last master this node followed as Backup
// (invalid if none), which is whom the tie-break is against. A split brain caused by
// a cut heartbeat is exactly that case: the Backup took over because the master it
// followed went silent.
type SplitBrainDetected struct {
	Peer         netip.Addr
	PeerPriority uint8
	Priority     uint8
	Secondary    bool
	Action       SplitBrainAction
	Demoted      bool
	VIPConflict  bool
	VIP          netip.Addr
	PeerHW       net.HardwareAddr
}

// PathFailureChanged: the master is silent on the primary path but heard on a
// secondary one (Active), or that condition ended. VIPProbe says the secondary path
// is the VIP ownership probe (the VIPs are still answered by another host).
type PathFailureChanged struct {
	Active   bool
	VIPProbe bool
}

// ProbeVIPs asks the Runner to probe who answers for the instance's VIPs before a
// Backup takes over; the Runner feeds back TakeoverProbed with the same Seq.
type ProbeVIPs struct{ Seq uint64 }

// Refresh sends one GARP / unsolicited NA per VIP, without the schedule that
// Announce starts: an adopted Master's neighbours already know its MAC.
type Refresh struct{}

// Reannounce restarts the GARP / unsolicited NA schedule of a Master: a split brain
// ended and neighbours may still point at the other node, or (LowerPriority) a
// lower-priority Master was heard, whose neighbours keepalived wins back the same
// way (vrrp.c, vrrp_state_master_rx: garp_lower_prio_repeat GARPs at once, again
// after garp_lower_prio_delay, by default the master's repeat and delay).
type Reannounce struct{ LowerPriority bool }

func (SendAdvert) isAction()         {}
func (AddVIPs) isAction()            {}
func (RemoveVIPs) isAction()         {}
func (Announce) isAction()           {}
func (SetKernelState) isAction()     {}
func (Notify) isAction()             {}
func (ArmTimer) isAction()           {}
func (CancelTimer) isAction()        {}
func (Transition) isAction()         {}
func (SplitBrainDetected) isAction() {}
func (PathFailureChanged) isAction() {}
func (ProbeVIPs) isAction()          {}
func (Reannounce) isAction()         {}
func (Refresh) isAction()            {}

// Machine is the RFC 5798 (v3) / RFC 3768 (v2) state machine of one instance. It does
// no I/O and reads no clock: Handle takes the time and returns what to do.
//
// Preempt delay follows keepalived: it only applies from startup and from leaving
// Fault; during it a Backup with preempt does not take over from a lower-priority
// master (it still takes over from a dead one), and when it ends the Backup takes
// over at once (reason preempt_delay_expired).
//
// Preempting a lower-priority master follows RFC 5798 §6.4.2: a Backup with preempt
// ignores adverts of lower priority, i.e. its master-down timer is not reset by
// them, so it becomes Master at its next master-down deadline (reason preempt).
type Machine struct {
	cfg   InstanceConfig
	state State
	eff   uint8

	master         netip.Addr
	masterPrio     uint8
	masterInterval time.Duration

	ifDown, trackFault, syncFault bool

	zeroPending  bool // Backup saw priority 0: the next master-down deadline is final
	preemptUntil time.Time
	pathFailure  bool
	splitBrain   bool       // Master: adverts from another Master
	splitPeer    netip.Addr // the other Master of splitBrain
	vipConflict  bool       // Master: another MAC answers for our VIPs
	probing      bool       // Backup: a takeover probe (probeSeq) is out
	probeSeq     uint64
	lastReason   Reason
}

// MachineStatus is a read-only view of a Machine.
type MachineStatus struct {
	State              State
	EffectivePriority  uint8
	Master             netip.Addr
	MasterPriority     uint8
	MasterDownInterval time.Duration
	PathFailure        bool
	SplitBrain         bool
	Faulted            bool
	LastReason         Reason
}

// NewMachine returns a machine in Init with effective priority = configured priority.
func NewMachine(cfg InstanceConfig) *Machine {
	return &Machine{cfg: cfg, eff: cfg.Priority}
}

// Reconfigure swaps the configuration without a state change (reload of an instance
// whose identity and owner status are unchanged). The caller follows up with
// PriorityChanged when the effective priority changes.
func (m *Machine) Reconfigure(cfg InstanceConfig) { m.cfg = cfg }

// Status reports the machine's current view.
func (m *Machine) Status() MachineStatus {
	master := m.master
	if m.state == Master {
		master = m.cfg.PrimaryAddr
	}
	return MachineStatus{
		State:              m.state,
		EffectivePriority:  m.eff,
		Master:             master,
		MasterPriority:     m.masterPrio,
		MasterDownInterval: m.mdi(),
		PathFailure:        m.pathFailure,
		SplitBrain:         m.splitBrain || m.vipConflict,
		Faulted:            m.faulted(),
		LastReason:         m.lastReason,
	}
}

// Handle feeds one event at time now and returns the actions to apply, in order.
// When the event ends a split brain (the other Master gone, or this one no longer
// Master), a Notify{HookSplitBrainEnd} comes first.
func (m *Machine) Handle(now time.Time, ev Event) []Action {
	was := m.splitBrain || m.vipConflict
	acts := m.handle(now, ev)
	if m.splitBrain || m.vipConflict {
		return acts
	}
	// Ended by this event: right after its detection when one event did both
	// (a demoting loser), else first.
	at := 0
	for i, a := range acts {
		if _, ok := a.(SplitBrainDetected); ok {
			at = i + 1
		}
	}
	if !was && at == 0 {
		return acts
	}
	return slices.Insert(acts, at, Action(Notify{HookSplitBrainEnd}))
}

func (m *Machine) handle(now time.Time, ev Event) []Action {
	switch e := ev.(type) {
	case Startup:
		return m.startup(now)
	case Adopt:
		return m.adopt(now, e.State)
	case Shutdown:
		r := e.Reason
		if r == ReasonNone {
			r = ReasonShutdown
		}
		return m.shutdown(r)
	case KernelMasterDown:
		return m.kernelMasterDown(now, e)
	case KernelNewMaster:
		return m.newMaster(now, e.Addr, e.Prio, e.Interval)
	case KernelPrioChange:
		return m.prioChange(now, e)
	case KernelPrioZero:
		return m.prioZero(now, e.Addr)
	case KernelPreempt:
		return m.preempted(now, e)
	case KernelBothMasters:
		return m.bothMasters(now, e)
	case AdvertTimer:
		if m.state != Master {
			return nil
		}
		return []Action{SendAdvert{m.eff}, ArmTimer{TimerAdvert, m.cfg.AdvertInterval}}
	case MasterDownTimer:
		return m.masterDownTimer(now, e)
	case PreemptDelayTimer:
		if m.state == Backup && m.preemptable() {
			return m.enterMaster(ReasonPreemptDelayExpired)
		}
		return nil
	case PriorityChanged:
		return m.priorityChanged(e.Effective)
	case TrackerFault:
		m.trackFault = true
		return m.faultChanged(now, ReasonTrackerFailed)
	case TrackerRecovered:
		m.trackFault = false
		return m.faultChanged(now, ReasonTrackerRecovered)
	case InterfaceDown:
		m.ifDown = true
		return m.faultChanged(now, ReasonInterfaceDown)
	case InterfaceUp:
		m.ifDown = false
		return m.faultChanged(now, ReasonInterfaceUp)
	case SyncGroupState:
		return m.syncGroup(now, e.State)
	case VIPProbed:
		return m.vipProbed(e)
	case TakeoverProbed:
		return m.takeoverProbed(e)
	}
	return nil
}

func (m *Machine) faulted() bool { return m.ifDown || m.trackFault || m.syncFault }

// mdi is Master_Down_Interval with our effective priority; v3 backups use the
// master's advertised interval (RFC 5798 §6.4.2), v2 intervals must match anyway.
func (m *Machine) mdi() time.Duration {
	return MasterDownInterval(m.cfg.Version, m.masterAdverInterval(), m.eff)
}

func (m *Machine) masterAdverInterval() time.Duration {
	if m.cfg.Version == 3 && m.masterInterval > 0 {
		return m.masterInterval
	}
	return m.cfg.AdvertInterval
}

// beats reports whether an advert (addr, prio) wins against our own (RFC 5798 §6.4.3).
func (m *Machine) beats(addr netip.Addr, prio uint8) bool {
	if prio != m.eff {
		return prio > m.eff
	}
	return addr.Compare(m.cfg.PrimaryAddr) > 0
}

// preemptable: we are a Backup that would ignore the current master's adverts
// because we have a higher priority and may preempt (the owner always may).
func (m *Machine) preemptable() bool {
	if !m.cfg.Preempt && m.cfg.Priority != 255 {
		return false
	}
	return m.master.IsValid() && m.masterPrio != 0 && m.masterPrio < m.eff
}

func (m *Machine) transition(to State, r Reason) Transition {
	t := Transition{From: m.state, To: to, Reason: r, Priority: m.eff, Master: m.master}
	if to == Master {
		t.Master = m.cfg.PrimaryAddr
	}
	m.state = to
	m.lastReason = r
	// A probe result or a VIP conflict belongs to the state it was seen in.
	m.probing = false
	m.vipConflict = false
	return t
}

func (m *Machine) startup(now time.Time) []Action {
	if m.state != Init {
		return nil
	}
	if m.cfg.PreemptDelay > 0 {
		m.preemptUntil = now.Add(m.cfg.PreemptDelay)
	}
	if m.faulted() {
		r := ReasonTrackerFailed
		switch {
		case m.ifDown:
			r = ReasonInterfaceDown
		case m.syncFault && !m.trackFault:
			r = ReasonSyncGroup
		}
		return m.enterFault(r)
	}
	if m.cfg.Priority == 255 {
		return m.enterMaster(ReasonPriorityOwner)
	}
	first := m.mdi()
	if m.cfg.StartMaster {
		first = m.masterAdverInterval() + SkewTime(m.cfg.Version, m.masterAdverInterval(), m.eff)
	}
	return m.enterBackup(ReasonStartup, first)
}

func (m *Machine) adopt(now time.Time, st State) []Action {
	if m.state != Init {
		return nil
	}
	// What the earlier run did not know yet still applies: a fault, or a
	// priority-owner config, goes through Startup as usual.
	if m.faulted() || (st != Master && st != Backup) || (st == Backup && m.cfg.Priority == 255) {
		return m.startup(now)
	}
	if m.cfg.PreemptDelay > 0 {
		m.preemptUntil = now.Add(m.cfg.PreemptDelay)
	}
	if st == Backup {
		return []Action{m.transition(Backup, ReasonAdopted),
			SetKernelState{Backup, m.eff},
			ArmTimer{TimerMasterDown, m.mdi()}}
	}
	// AddVIPs takes over the addresses the earlier run added (they carry
	// our marker) and adds any that went missing.
	return []Action{m.transition(Master, ReasonAdopted),
		SetKernelState{Master, m.eff},
		SendAdvert{m.eff},
		ArmTimer{TimerAdvert, m.cfg.AdvertInterval},
		AddVIPs{}, Refresh{}}
}

func (m *Machine) shutdown(r Reason) []Action {
	if m.state == Init {
		return nil
	}
	var acts []Action
	wasMaster := m.state == Master
	acts = append(acts, m.transition(Init, r))
	if wasMaster {
		acts = append(acts, SendAdvert{0}, RemoveVIPs{})
	}
	acts = append(acts,
		CancelTimer{TimerAdvert}, CancelTimer{TimerMasterDown}, CancelTimer{TimerPreemptDelay},
		SetKernelState{Init, m.eff},
		Notify{HookStop})
	m.zeroPending, m.pathFailure, m.splitBrain = false, false, false
	m.master, m.masterPrio, m.masterInterval = netip.Addr{}, 0, 0
	m.preemptUntil = time.Time{}
	return acts
}

func (m *Machine) enterMaster(r Reason) []Action {
	// The VIPs and their first GARP/NA come first: they are what clients wait
	// for (a client keeps sending to the old Master's MAC until the GARP), and
	// the log line, the kernel state write and the rest can follow.
	acts := []Action{AddVIPs{}, Announce{}, m.transition(Master, r)}
	m.zeroPending = false
	m.splitBrain = false
	acts = append(acts, CancelTimer{TimerMasterDown}, CancelTimer{TimerPreemptDelay})
	if m.pathFailure {
		m.pathFailure = false
		acts = append(acts, PathFailureChanged{})
	}
	acts = append(acts,
		SetKernelState{Master, m.eff},
		SendAdvert{m.eff},
		ArmTimer{TimerAdvert, m.cfg.AdvertInterval},
		Notify{HookMaster})
	return acts
}

func (m *Machine) enterBackup(r Reason, deadline time.Duration) []Action {
	wasMaster := m.state == Master
	acts := []Action{m.transition(Backup, r)}
	m.splitBrain = false
	if wasMaster {
		acts = append(acts, CancelTimer{TimerAdvert}, RemoveVIPs{})
	}
	return append(acts,
		SetKernelState{Backup, m.eff},
		ArmTimer{TimerMasterDown, deadline},
		Notify{HookBackup})
}

func (m *Machine) enterFault(r Reason) []Action {
	wasMaster := m.state == Master
	acts := []Action{m.transition(Fault, r)}
	m.splitBrain = false
	m.zeroPending = false
	if wasMaster {
		// keepalived tells the backups to take over at once (priority 0) unless the
		// link is down, when nothing can be sent anyway.
		if !m.ifDown {
			acts = append(acts, SendAdvert{0})
		}
		acts = append(acts, RemoveVIPs{})
	}
	acts = append(acts, CancelTimer{TimerAdvert}, CancelTimer{TimerMasterDown}, CancelTimer{TimerPreemptDelay})
	if m.pathFailure {
		m.pathFailure = false
		acts = append(acts, PathFailureChanged{})
	}
	return append(acts, SetKernelState{Fault, m.eff}, Notify{HookFault})
}

func (m *Machine) faultChanged(now time.Time, r Reason) []Action {
	switch {
	case m.state == Init:
		return nil // remembered; Startup looks at it
	case m.faulted() && m.state != Fault:
		return m.enterFault(r)
	case !m.faulted() && m.state == Fault:
		return m.leaveFault(now, r)
	}
	return nil
}

func (m *Machine) leaveFault(now time.Time, r Reason) []Action {
	if m.cfg.PreemptDelay > 0 {
		m.preemptUntil = now.Add(m.cfg.PreemptDelay)
	}
	if m.cfg.Priority == 255 {
		return m.enterMaster(r)
	}
	return m.enterBackup(r, m.mdi())
}

func (m *Machine) recordMaster(addr netip.Addr, prio uint8, interval time.Duration) {
	m.master, m.masterPrio = addr, prio
	if interval > 0 {
		m.masterInterval = interval
	}
}

func (m *Machine) kernelMasterDown(now time.Time, e KernelMasterDown) []Action {
	switch m.state {
	case Master:
		// The other master we saw went silent: split brain is over.
		m.splitBrain = false
		return nil
	case Backup:
		return m.primarySilent(e.SecondaryAlive)
	}
	return nil
}

// primarySilent decides a Backup's fate when the master is not heard on the primary
// path any more.
func (m *Machine) primarySilent(secondaryAlive bool) []Action {
	if m.zeroPending {
		return m.enterMaster(ReasonPriorityZeroReceived)
	}
	if m.probing {
		return nil // the takeover probe's result decides
	}
	// A master we outrank and would preempt is no reason to stay: with preempt
	// its adverts do not hold the kernel's timer (RFC 5798 6.4.2), so this may
	// well be a live master that answers for the VIPs; taking that for a cut
	// heartbeat kept a higher-priority Backup with demote from ever preempting
	// a Master that came up first.
	if m.preemptable() {
		return m.enterMaster(ReasonMasterDownExpired)
	}
	if secondaryAlive && !m.cfg.TakeoverOnPathFailure {
		return m.stayOnPathFailure(false)
	}
	if m.probesBeforeTakeover() {
		m.probeSeq++
		m.probing = true
		return []Action{ProbeVIPs{Seq: m.probeSeq}}
	}
	return m.enterMaster(ReasonMasterDownExpired)
}

// probesBeforeTakeover: with split-brain action demote, the VIP ownership probe is a
// second heartbeat path. A master that is silent on the wire but still answers for
// the VIPs is alive behind a cut heartbeat (a firewall dropping VRRP); taking over
// would only make a split brain that demote then undoes, every Master_Down_Interval.
// With alert (the default) failover is not delayed by a probe.
func (m *Machine) probesBeforeTakeover() bool {
	return m.cfg.SplitBrain == SplitBrainDemote && !m.cfg.TakeoverOnPathFailure &&
		len(m.cfg.VIPs)+len(m.cfg.ExcludedVIPs) > 0
}

// stayOnPathFailure keeps a Backup whose master is silent on the primary path but
// alive on a secondary one (or still answering for the VIPs) from taking over.
func (m *Machine) stayOnPathFailure(vipProbe bool) []Action {
	acts := []Action{ArmTimer{TimerMasterDown, m.mdi()}}
	if !m.pathFailure {
		m.pathFailure = true
		m.lastReason = ReasonPathFailure
		acts = append(acts, PathFailureChanged{Active: true, VIPProbe: vipProbe})
	}
	return acts
}

func (m *Machine) takeoverProbed(e TakeoverProbed) []Action {
	if m.state != Backup || !m.probing || e.Seq != m.probeSeq {
		return nil // stale: the master was heard again, or we left Backup
	}
	m.probing = false
	if e.Answered {
		return m.stayOnPathFailure(true)
	}
	return m.enterMaster(ReasonMasterDownExpired)
}

// vipProbed handles a Master's ownership probe. A conflict is a split brain; with
// action demote the loser of the tie-break against the last master we followed steps
// down. It is evaluated on every conflicting round (not only the first), so switching
// the action to demote by a reload resolves a split brain already in progress.
func (m *Machine) vipProbed(e VIPProbed) []Action {
	if m.state != Master {
		return nil
	}
	if !e.Conflict {
		if !m.vipConflict {
			return nil
		}
		m.vipConflict = false
		// We are the one left holding the VIPs: win the neighbours back.
		return []Action{Reannounce{}}
	}
	first := !m.vipConflict
	m.vipConflict = true
	det := SplitBrainDetected{
		Peer: m.master, PeerPriority: m.masterPrio, Priority: m.eff, Action: m.cfg.SplitBrain,
		VIPConflict: true, VIP: e.VIP, PeerHW: e.HW,
	}
	if m.cfg.SplitBrain == SplitBrainDemote && m.master.IsValid() && m.masterPrio != 0 && m.beats(m.master, m.masterPrio) {
		det.Demoted = true
		return append([]Action{det}, m.enterBackup(ReasonSplitBrainDemote, m.mdi())...)
	}
	if first {
		return []Action{det}
	}
	return nil
}

func (m *Machine) masterDownTimer(now time.Time, e MasterDownTimer) []Action {
	if m.state != Backup {
		return nil
	}
	if m.zeroPending {
		return m.enterMaster(ReasonPriorityZeroReceived)
	}
	mdi := m.mdi()
	if !e.Heard || e.Age >= mdi {
		return m.primarySilent(e.SecondaryAlive)
	}
	// The master was heard within Master_Down_Interval: a takeover probe still out
	// is moot.
	m.probing = false
	var acts []Action
	if m.pathFailure {
		m.pathFailure = false
		acts = append(acts, PathFailureChanged{})
	}
	if m.preemptable() {
		if now.Before(m.preemptUntil) {
			return append(acts,
				ArmTimer{TimerPreemptDelay, m.preemptUntil.Sub(now)},
				ArmTimer{TimerMasterDown, m.recheck(mdi - e.Age)})
		}
		return append(acts, m.enterMaster(ReasonPreempt)...)
	}
	return append(acts, ArmTimer{TimerMasterDown, m.recheck(mdi - e.Age)})
}

// recheck is when to look at a master that was heard again: at the remainder of
// its Master_Down_Interval, or, when the kernel runs the exact timer, no sooner
// than SafetyNetInterval.
func (m *Machine) recheck(remainder time.Duration) time.Duration {
	if m.cfg.KernelTimer {
		return max(remainder, SafetyNetInterval)
	}
	return remainder
}

func (m *Machine) newMaster(now time.Time, addr netip.Addr, prio uint8, interval time.Duration) []Action {
	if prio == 0 {
		return m.prioZero(now, addr)
	}
	switch m.state {
	case Master:
		if m.beats(addr, prio) {
			m.recordMaster(addr, prio, interval)
			return m.enterBackup(ReasonHigherPrioritySeen, m.mdi())
		}
		return m.bothMasters(now, KernelBothMasters{Addr: addr, Prio: prio})
	case Backup:
		m.recordMaster(addr, prio, interval)
		m.zeroPending = false
		m.probing = false
		var acts []Action
		if m.pathFailure {
			m.pathFailure = false
			acts = append(acts, PathFailureChanged{})
		}
		// The master was just heard: a full interval from now (this also applies a
		// newly adopted v3 interval at once).
		return append(acts, ArmTimer{TimerMasterDown, m.mdi()})
	default:
		m.recordMaster(addr, prio, interval)
	}
	return nil
}

func (m *Machine) prioChange(now time.Time, e KernelPrioChange) []Action {
	if e.Prio == 0 {
		return m.prioZero(now, e.Addr)
	}
	if e.Addr.IsValid() && m.master.IsValid() && e.Addr != m.master {
		return m.newMaster(now, e.Addr, e.Prio, 0)
	}
	if m.state == Master {
		if m.beats(e.Addr, e.Prio) {
			m.recordMaster(e.Addr, e.Prio, 0)
			return m.enterBackup(ReasonHigherPrioritySeen, m.mdi())
		}
		return nil
	}
	if e.Addr.IsValid() {
		m.master = e.Addr
	}
	m.masterPrio = e.Prio
	m.zeroPending = false
	return nil
}

func (m *Machine) prioZero(now time.Time, addr netip.Addr) []Action {
	switch m.state {
	case Master:
		// RFC 5798 §6.4.3: answer at once so the backups see a live master.
		if addr == m.master || addr == m.splitPeer {
			m.splitBrain = false
		}
		return []Action{SendAdvert{m.eff}, ArmTimer{TimerAdvert, m.cfg.AdvertInterval}}
	case Backup:
		// RFC 5798 §6.4.2: Master_Down_Timer = Skew_Time.
		m.zeroPending = true
		if addr.IsValid() {
			m.master = addr
		}
		m.masterPrio = 0
		return []Action{ArmTimer{TimerMasterDown, SkewTime(m.cfg.Version, m.masterAdverInterval(), m.eff)}}
	}
	return nil
}

func (m *Machine) preempted(now time.Time, e KernelPreempt) []Action {
	switch m.state {
	case Master:
		if m.beats(e.Addr, e.Prio) {
			m.recordMaster(e.Addr, e.Prio, e.Interval)
			return m.enterBackup(ReasonHigherPrioritySeen, m.mdi())
		}
		// Stale: our priority rose since the kernel compared. Assert ourselves.
		return []Action{SendAdvert{m.eff}, ArmTimer{TimerAdvert, m.cfg.AdvertInterval}}
	default:
		return m.newMaster(now, e.Addr, e.Prio, e.Interval)
	}
}

func (m *Machine) bothMasters(now time.Time, e KernelBothMasters) []Action {
	if m.state != Master {
		return nil
	}
	peerWins := m.beats(e.Addr, e.Prio)
	if peerWins && !e.Secondary {
		// On the primary path the RFC already settles it.
		m.recordMaster(e.Addr, e.Prio, 0)
		return m.enterBackup(ReasonHigherPrioritySeen, m.mdi())
	}
	m.splitBrain, m.splitPeer = true, e.Addr
	det := SplitBrainDetected{
		Peer: e.Addr, PeerPriority: e.Prio, Priority: m.eff,
		Secondary: e.Secondary, Action: m.cfg.SplitBrain,
	}
	if peerWins && m.cfg.SplitBrain == SplitBrainDemote {
		det.Demoted = true
		m.recordMaster(e.Addr, e.Prio, 0)
		return append([]Action{det}, m.enterBackup(ReasonSplitBrainDemote, m.mdi())...)
	}
	acts := []Action{det}
	if !e.Secondary {
		// keepalived answers a lower-priority master at once so it steps down.
		acts = append(acts, SendAdvert{m.eff}, ArmTimer{TimerAdvert, m.cfg.AdvertInterval})
		if e.Prio < m.eff && !m.cfg.NoLowerPrioGARP {
			acts = append(acts, Reannounce{LowerPriority: true})
		}
	}
	return acts
}

func (m *Machine) priorityChanged(eff uint8) []Action {
	if m.cfg.Priority == 255 {
		return nil // the owner's priority is never changed by trackers (keepalived)
	}
	if eff < 1 {
		eff = 1
	}
	if eff > 254 {
		eff = 254
	}
	if eff == m.eff {
		return nil
	}
	m.eff = eff
	if m.state == Init {
		return nil
	}
	// On Master the next advert carries the new priority; on Backup with preempt the
	// next master-down deadline takes over if we now outrank the master.
	return []Action{SetKernelState{m.state, m.eff}}
}

func (m *Machine) syncGroup(now time.Time, s State) []Action {
	switch s {
	case Fault:
		m.syncFault = true
		if m.state == Backup || m.state == Master {
			return m.enterFault(ReasonSyncGroup)
		}
	case Backup:
		m.syncFault = false
		switch {
		case m.state == Master:
			return m.enterBackup(ReasonSyncGroup, m.mdi())
		case m.state == Fault && !m.faulted():
			if m.cfg.PreemptDelay > 0 {
				m.preemptUntil = now.Add(m.cfg.PreemptDelay)
			}
			return m.enterBackup(ReasonSyncGroup, m.mdi())
		}
	case Master:
		m.syncFault = false
		if m.state == Backup || (m.state == Fault && !m.faulted()) {
			return m.enterMaster(ReasonSyncGroup)
		}
	}
	return nil
}
