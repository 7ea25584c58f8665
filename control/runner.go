package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sort"
	"sync"
	"time"
)

// SyncGroupConfig: member instances change state together.
type SyncGroupConfig struct {
	Name      string
	Instances []string
	Notify    NotifyConfig
}

// Setup is the complete desired configuration of a Runner.
type Setup struct {
	Instances  []InstanceConfig
	Trackers   []TrackerConfig
	SyncGroups []SyncGroupConfig
	// Adopt names the instances (by name) that resume the state an earlier run
	// of the daemon left in the kernel (event Adopt) instead of starting from
	// Init; the daemon decides which may (see internal/daemon). Only read when
	// an instance is created.
	Adopt map[string]State
}

// Errors returned by NewRunner and Reload.
var (
	ErrInvalidSetup = errors.New("invalid setup")
	ErrClosed       = errors.New("runner shut down")
)

type transKey struct {
	from, to State
	reason   Reason
}

type instance struct {
	cfg     InstanceConfig
	m       *Machine
	timers  [numTimers]Timer
	gens    [numTimers]uint64
	removed bool

	advert advertSlot

	announceStop func()
	addrs        []netip.Addr // cached advertised addresses
	trackFault   bool
	group        *syncGroup
	linkCancel   []func()
	ifaceCancel  func()

	transitions    map[transKey]uint64
	lastTransition time.Time
	bothMasters    uint64
	vipConflicts   uint64
}

type syncGroup struct {
	cfg     SyncGroupConfig
	members []*instance
	state   State
}

// Runner runs the machines of all instances: it owns their timers, feeds them kernel
// events, tracker verdicts and link state, applies their actions, batches adverts,
// runs sync groups and the split-brain detector. All methods are safe for concurrent
// use.
type Runner struct {
	d   Deps
	log *slog.Logger

	mu       sync.Mutex
	started  bool
	closed   bool
	insts    map[string]*instance
	byKey    map[InstanceKey]*instance
	bySecond map[InstanceKey]*instance
	groups   map[string]*syncGroup
	trackers map[string]*trackerRun
	trackGen uint64
	adv      *advertScheduler
	deferred []func()
	setup    Setup
	order    []*instance
	handover time.Duration // see HandoverWait
	// removals, when not nil, collects the instances whose VIPs go after the
	// current batch of adverts is sent (Shutdown).
	removals []*instance

	// nextBeat is when Deps.Heartbeat is due next.
	nextBeat time.Time

	// probeCtx ends with Shutdown, cancelling takeover probes in flight.
	probeCtx    context.Context
	probeCancel context.CancelFunc
}

// NewRunner validates s and prepares a Runner; nothing runs until Start.
func NewRunner(d Deps, s Setup) (*Runner, error) {
	if d.Dataplane == nil || d.Addresses == nil || d.Sender == nil {
		return nil, fmt.Errorf("control: new runner: %w: Dataplane, Addresses and Sender are required", ErrInvalidSetup)
	}
	if d.Clock == nil {
		d.Clock = SystemClock{}
	}
	if d.AdvertClock == nil {
		d.AdvertClock = d.Clock
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Heartbeat != nil && d.HeartbeatInterval <= 0 {
		return nil, fmt.Errorf("control: new runner: %w: Heartbeat needs a HeartbeatInterval > 0", ErrInvalidSetup)
	}
	if d.Prober == nil {
		if p, ok := d.Dataplane.(VIPProber); ok {
			d.Prober = p
		}
	}
	if err := validateSetup(s); err != nil {
		return nil, err
	}
	r := &Runner{
		d: d, log: d.Logger,
		insts: make(map[string]*instance), byKey: make(map[InstanceKey]*instance),
		bySecond: make(map[InstanceKey]*instance), groups: make(map[string]*syncGroup),
		trackers: make(map[string]*trackerRun),
	}
	r.setup = s
	r.adv = newAdvertScheduler(d.AdvertClock, d.Sender, d.Logger, d.Clock.Now())
	r.probeCtx, r.probeCancel = context.WithCancel(context.Background())
	return r, nil
}

func validateSetup(s Setup) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("control: setup: %w: %s", ErrInvalidSetup, fmt.Sprintf(format, a...))
	}
	trackers := make(map[string]bool)
	for _, t := range s.Trackers {
		if t.Name == "" {
			return bad("tracker without a name")
		}
		if trackers[t.Name] {
			return bad("tracker %q defined twice", t.Name)
		}
		if (t.Check == nil) == (t.Link == "") {
			return bad("tracker %q: exactly one of Check and Link must be set", t.Name)
		}
		trackers[t.Name] = true
	}
	names := make(map[string]bool)
	keys := make(map[InstanceKey]string)
	for _, c := range s.Instances {
		switch {
		case c.Name == "":
			return bad("instance without a name")
		case names[c.Name]:
			return bad("instance %q defined twice", c.Name)
		case c.Version != 2 && c.Version != 3:
			return bad("instance %q: version %d, want 2 or 3", c.Name, c.Version)
		case c.Priority == 0:
			return bad("instance %q: priority 0, want 1-255", c.Name)
		case c.AdvertInterval <= 0:
			return bad("instance %q: advert interval %v, want > 0", c.Name, c.AdvertInterval)
		case !c.PrimaryAddr.IsValid():
			return bad("instance %q: no primary address", c.Name)
		}
		names[c.Name] = true
		for _, k := range append([]InstanceKey{c.Key}, ownPathKeys(c)...) {
			if other, dup := keys[k]; dup {
				return bad("instance %q: kernel key %+v already used by %q", c.Name, k, other)
			}
			keys[k] = c.Name
		}
		for _, ref := range c.Track {
			if !trackers[ref.Name] {
				return bad("instance %q tracks unknown tracker %q", c.Name, ref.Name)
			}
		}
	}
	member := make(map[string]string)
	for _, g := range s.SyncGroups {
		for _, n := range g.Instances {
			if !names[n] {
				return bad("sync group %q: unknown instance %q", g.Name, n)
			}
			if other, dup := member[n]; dup {
				return bad("instance %q is in sync groups %q and %q", n, other, g.Name)
			}
			member[n] = g.Name
		}
	}
	return nil
}

// ownPathKeys are the kernel keys of c's secondary paths that are not its primary
// key (a path on the primary key is a second peer address there: it needs no entry).
func ownPathKeys(c InstanceConfig) []InstanceKey {
	var out []InstanceKey
	for _, p := range c.SecondaryPaths {
		if p.Key != c.Key && !slices.Contains(out, p.Key) {
			out = append(out, p.Key)
		}
	}
	return out
}

// Start creates the kernel entries, starts trackers and link watches, and starts
// every instance. It is called by Run; calling it again does nothing.
func (r *Runner) Start() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return fmt.Errorf("control: start: %w", ErrClosed)
	}
	if r.started {
		r.mu.Unlock()
		return nil
	}
	r.started = true
	s := r.setup
	r.mu.Unlock()
	err := r.apply(s)
	if r.d.Heartbeat != nil {
		// From here the advert tick runs even with no Master: it carries the
		// heartbeat.
		r.mu.Lock()
		now := r.d.Clock.Now()
		r.nextBeat = now
		r.rescheduleAdverts(now)
		r.mu.Unlock()
	}
	return err
}

// Reload switches to a new setup. Instances whose kernel identity (key, version,
// interface, owner status, secondary paths) is unchanged keep their state and VIPs
// and pick up the new settings; removed ones shut down (priority 0, VIPs removed,
// reason config_reload); added ones start. Trackers with an unchanged config keep
// running with their verdict.
func (r *Runner) Reload(s Setup) error {
	if err := validateSetup(s); err != nil {
		return err
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return fmt.Errorf("control: reload: %w", ErrClosed)
	}
	started := r.started
	r.setup = s
	r.mu.Unlock()
	if !started {
		return nil
	}
	return r.apply(s)
}

// TransitionRecord is one logged transition.
type TransitionRecord struct {
	Instance string
	Transition
	Time time.Time
}

// TransitionCount counts one (from, to, reason) triple.
type TransitionCount struct {
	From, To State
	Reason   Reason
	Count    uint64
}

// InstanceStatus is a snapshot of one instance for status output and metrics.
type InstanceStatus struct {
	Name               string
	Interface          string
	Key                InstanceKey
	State              State
	ConfiguredPriority uint8
	EffectivePriority  uint8
	Master             netip.Addr
	MasterPriority     uint8
	LastReason         Reason
	LastTransition     time.Time
	Transitions        []TransitionCount
	// SplitBrain: we are Master and another Master is being seen (its adverts), or
	// another host answers for our VIPs (the ownership probe).
	SplitBrain bool
	// BothMasters counts adverts (events) from another Master while we were Master.
	BothMasters  uint64
	VIPConflicts uint64
	// PathFailure: the master is silent on the primary path but heard on a secondary
	// one, or (split-brain action demote) still answers for the VIPs.
	PathFailure bool
	Trackers    []TrackerStatus
}

// Snapshot returns the status of every instance, sorted by name.
func (r *Runner) Snapshot() []InstanceStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]InstanceStatus, 0, len(r.insts))
	for _, inst := range r.insts {
		st := inst.m.Status()
		is := InstanceStatus{
			Name: inst.cfg.Name, Interface: inst.cfg.Interface, Key: inst.cfg.Key,
			State: st.State, ConfiguredPriority: inst.cfg.Priority, EffectivePriority: st.EffectivePriority,
			Master: st.Master, MasterPriority: st.MasterPriority,
			LastReason: st.LastReason, LastTransition: inst.lastTransition,
			SplitBrain: st.SplitBrain, BothMasters: inst.bothMasters, VIPConflicts: inst.vipConflicts,
			PathFailure: st.PathFailure,
		}
		if st.State == Master {
			is.MasterPriority = st.EffectivePriority
		}
		for k, n := range inst.transitions {
			is.Transitions = append(is.Transitions, TransitionCount{From: k.from, To: k.to, Reason: k.reason, Count: n})
		}
		sort.Slice(is.Transitions, func(i, j int) bool {
			a, b := is.Transitions[i], is.Transitions[j]
			if a.From != b.From {
				return a.From < b.From
			}
			if a.To != b.To {
				return a.To < b.To
			}
			return a.Reason < b.Reason
		})
		for _, ref := range inst.trackRefs() {
			if tr := r.trackers[ref.Name]; tr != nil {
				is.Trackers = append(is.Trackers, tr.status)
			}
		}
		out = append(out, is)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
