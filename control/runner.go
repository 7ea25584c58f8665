package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"reflect"
	"slices"
	"sort"
	"sync"
	"time"
)

// Dataplane is the kernel side of an instance (implemented by loader through cmd).
type Dataplane interface {
	// SetInstance creates or updates the kernel's entry for an instance or a
	// secondary heartbeat path (KernelConfig.Secondary).
	SetInstance(InstanceKey, KernelConfig) error
	// SetState tells the kernel our state and effective priority.
	SetState(InstanceKey, State, uint8) error
	DeleteInstance(InstanceKey) error
	// MasterAge is the age of the last advert from the current master of key; ok is
	// false when no master has been heard.
	MasterAge(InstanceKey) (age time.Duration, ok bool, err error)
	// PeerAge is the age of the last advert from one source address on key.
	PeerAge(key InstanceKey, peer netip.Addr) (age time.Duration, ok bool, err error)
}

// KernelConfig is what the dataplane needs to validate and follow an instance.
type KernelConfig struct {
	Instance       string
	Version        int
	State          State
	Priority       uint8
	AdvertInterval time.Duration
	Preempt        bool
	PrimaryAddr    netip.Addr
	AuthType       uint8
	AuthData       [8]byte
	AllowedPeers   []netip.Addr
	Addresses      []netip.Addr
	// Secondary marks a secondary heartbeat path: the kernel records its master and
	// reports it, but the path never becomes Master itself.
	Secondary bool
	// Unicast: adverts go to unicast peers and may be routed, so the kernel skips
	// the TTL-255 check for them, as keepalived does for unicast_peer.
	Unicast bool
}

// Addresses adds and removes an instance's VIPs (implemented by vip).
type Addresses interface {
	Add(inst string, vips []VIP) error
	Remove(inst string, vips []VIP) error
}

// Announcer runs the GARP / unsolicited NA schedule of a Master (implemented by vip).
type Announcer interface {
	Start(inst string, vips []netip.Addr) (stop func())
}

// Refresher is an Announcer that can also start the schedule of an adopted
// Master (action Refresh): one announcement now, then only the periodic
// refresh, without the bursts of a new Master. An Announcer without it gets
// Start.
type Refresher interface {
	StartRefresh(inst string, vips []netip.Addr) (stop func())
}

// VIPConflict is another host answering for one of our VIPs.
type VIPConflict struct {
	VIP netip.Addr
	HW  net.HardwareAddr
}

// VIPProber asks the link who answers for VIPs (ARP probe for IPv4, neighbour
// solicitation for IPv6; implemented by vip through cmd). ProbeVIPs listens for
// timeout (or until ctx ends) and returns every answer from a MAC that is not one of
// this host's.
type VIPProber interface {
	ProbeVIPs(ctx context.Context, vips []VIP, timeout time.Duration) ([]VIPConflict, error)
}

// Sender sends adverts; the Runner passes every advert due on one tick in one call
// (WriteBatch underneath), so many instances do not mean many syscalls. Send must not
// retain msgs (or their Addresses) after it returns: the Runner reuses the buffer.
type Sender interface {
	Send(msgs []OutAdvert) error
}

// OutAdvert is one advert to send: to one destination (the multicast group or one
// unicast peer) through one interface.
type OutAdvert struct {
	Instance  string
	Interface string
	Key       InstanceKey
	Version   int
	VRID      uint8
	Priority  uint8
	Interval  time.Duration
	Addresses []netip.Addr
	AuthType  uint8
	AuthData  [8]byte
	Src, Dst  netip.Addr
}

// Default multicast destinations (RFC 5798 §5.1.1.2, §5.1.2.2).
var (
	DefaultGroup4 = netip.MustParseAddr("224.0.0.18")
	DefaultGroup6 = netip.MustParseAddr("ff02::12")
)

// KernelEventKind says what the dataplane saw. Values are the kernel's (enum
// vrrp_event_type), so the daemon hands a ring-buffer event on without a switch.
type KernelEventKind uint8

const (
	EventMasterDown KernelEventKind = iota + 1
	EventNewMaster
	EventPrioChange
	EventPrioZero
	EventPreempt
	EventBothMasters
)

// KernelEvent is one ring-buffer event, copied by internal/daemon from the loader's
// type as the reader delivers it.
type KernelEvent struct {
	Key      InstanceKey
	Kind     KernelEventKind
	Addr     netip.Addr
	Priority uint8
	Interval time.Duration
}

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

// Deps are the Runner's collaborators. Dataplane, Addresses and Sender are required.
type Deps struct {
	Clock Clock // nil: SystemClock
	// AdvertClock arms the Runner's one advert timer (every arm replaces the
	// previous one). nil: Clock. The daemon passes a timerfd thread here
	// (internal/timerfd), which sends adverts without a trip through the Go
	// scheduler; it outlives the Runner, and its owner closes it after Shutdown.
	AdvertClock AdvertClock
	Dataplane   Dataplane
	Addresses   Addresses
	Announcer   Announcer // nil: no GARP/NA
	Sender      Sender
	Notifier    Notifier    // nil: no hooks
	Links       LinkWatcher // nil: no link tracking
	// Prober runs the ownership probe a Backup with split-brain action demote makes
	// before taking over. nil: the Dataplane, if it implements VIPProber; else no
	// probe (the Backup takes over as with alert).
	Prober VIPProber
	Logger *slog.Logger
	// OnTransition is called (under the Runner's lock: do not call back into the
	// Runner) after every transition, for metrics.
	OnTransition func(TransitionRecord)
	// Heartbeat, when set, is called at least every HeartbeatInterval from the
	// Runner's own loop: the advert tick, which then also runs when no instance
	// is Master. A Runner that is wedged (its lock held, its advert clock stuck)
	// stops calling it, which is the point: the daemon feeds systemd's watchdog
	// from it. Called under the Runner's lock; it must not block.
	Heartbeat         func()
	HeartbeatInterval time.Duration
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

	advertArmed bool
	nextAdvert  time.Time
	// advertDue is when the advert being sent by the current tick was due (its
	// grid point); an advert sent early in a batch schedules the next from it.
	advertDue time.Time

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

type trackerRun struct {
	cfg    TrackerConfig
	gen    uint64
	status TrackerStatus
	poll   *poller
	link   *linkTracker
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
	pending  []OutAdvert
	advTimer Timer
	advGen   uint64
	deferred []func()
	setup    Setup
	advDue   time.Time
	// advEpoch anchors the advert grid: every advert of an instance with
	// interval I goes out at advEpoch + k·I, so instances with the same (or
	// commensurable) intervals share one batch however they became Master.
	advEpoch time.Time
	order    []*instance
	batching bool          // inside the advert tick: reschedule once at the end
	handover time.Duration // see HandoverWait
	// removals, when not nil, collects the instances whose VIPs go after the
	// current batch of adverts is sent (Shutdown).
	removals []*instance

	sendErrors     uint64
	lastSendErrLog time.Time
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
	r.advEpoch = d.Clock.Now()
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

// sameIdentity: the instance can be reconfigured in place.
func sameIdentity(a, b InstanceConfig) bool {
	return a.Key == b.Key && a.Version == b.Version && a.Interface == b.Interface &&
		(a.Priority == 255) == (b.Priority == 255) && a.DontTrackPrimary == b.DontTrackPrimary &&
		reflect.DeepEqual(a.SecondaryPaths, b.SecondaryPaths)
}

// apply converges the running set to s. Link subscriptions are made without the lock
// because a LinkWatcher may report the current state from within WatchLink.
func (r *Runner) apply(s Setup) error {
	r.mu.Lock()
	now := r.d.Clock.Now()
	stopTrackers, startTrackers := r.diffTrackers(s)
	fresh, subscribe, errs := r.applyInstances(now, s)
	r.rebuildGroups(s)
	deferred := r.deferred
	r.deferred = nil
	r.mu.Unlock()

	for _, f := range deferred {
		f()
	}

	for _, tr := range stopTrackers {
		tr.stop()
	}
	for _, c := range startTrackers {
		if err := r.startTracker(c); err != nil {
			errs = append(errs, err)
		}
	}
	for _, inst := range subscribe {
		errs = append(errs, r.subscribeLinks(inst)...)
	}

	r.mu.Lock()
	now = r.d.Clock.Now()
	for _, inst := range r.insts {
		r.recompute(now, inst)
	}
	for _, inst := range fresh {
		if inst.removed {
			continue
		}
		if st, ok := s.Adopt[inst.cfg.Name]; ok {
			r.dispatch(now, inst, Adopt{State: st})
		} else {
			r.dispatch(now, inst, Startup{})
		}
	}
	r.flushLocked()
	r.mu.Unlock()
	return errors.Join(errs...)
}

// diffTrackers keeps the trackers s leaves unchanged and returns those to stop
// and to start (already entered in r.trackers). r.mu is held.
func (r *Runner) diffTrackers(s Setup) (stop []*trackerRun, start []TrackerConfig) {
	want := make(map[string]TrackerConfig)
	for _, t := range s.Trackers {
		want[t.Name] = t
	}
	for _, inst := range s.Instances {
		for _, ti := range inst.TrackInterfaces {
			want[linkTrackerName(ti.Name)] = TrackerConfig{Name: linkTrackerName(ti.Name), Link: ti.Name}
		}
	}
	for name, tr := range r.trackers {
		if c, ok := want[name]; !ok || !reflect.DeepEqual(c, tr.cfg) {
			stop = append(stop, tr)
			delete(r.trackers, name)
		}
	}
	for name, c := range want {
		if _, ok := r.trackers[name]; !ok {
			r.trackGen++
			r.trackers[name] = &trackerRun{cfg: c, gen: r.trackGen, status: TrackerStatus{Name: name, Up: !c.InitFail}}
			start = append(start, c)
		}
	}
	return stop, start
}

// applyInstances removes the instances s drops or changes the identity of,
// reconfigures the changed ones and creates the new ones (returned as fresh, to
// start once the lock is released); subscribe are those whose links to watch.
// r.mu is held.
func (r *Runner) applyInstances(now time.Time, s Setup) (fresh, subscribe []*instance, errs []error) {
	next := make(map[string]InstanceConfig)
	for _, c := range s.Instances {
		next[c.Name] = c
	}
	for name, inst := range r.insts {
		c, ok := next[name]
		if ok && sameIdentity(inst.cfg, c) {
			continue
		}
		r.removeInstance(now, inst, ReasonConfigReload)
	}
	for _, c := range s.Instances {
		if inst, ok := r.insts[c.Name]; ok {
			if !reflect.DeepEqual(inst.cfg, c) {
				r.reconfigure(now, inst, c)
				subscribe = append(subscribe, inst)
			}
			continue
		}
		inst := &instance{cfg: c, m: NewMachine(c), transitions: make(map[transKey]uint64)}
		r.insts[c.Name] = inst
		r.byKey[c.Key] = inst
		for _, k := range ownPathKeys(c) {
			r.bySecond[k] = inst
		}
		// An adopted instance is written in the state it resumes: the kernel
		// must not see it leave Master (or forget the master it follows)
		// for the moment between this write and the Adopt event.
		kst := Init
		if st, ok := s.Adopt[c.Name]; ok && (st == Master || st == Backup) {
			kst = st
		}
		if err := r.d.Dataplane.SetInstance(c.Key, kernelConfig(c, kst, c.Priority, false)); err != nil {
			errs = append(errs, fmt.Errorf("control: instance %s: set kernel instance: %w", c.Name, err))
		}
		for _, k := range ownPathKeys(c) {
			if err := r.d.Dataplane.SetInstance(k, kernelConfig(c, Init, c.Priority, true)); err != nil {
				errs = append(errs, fmt.Errorf("control: instance %s: set kernel path %+v: %w", c.Name, k, err))
			}
		}
		fresh = append(fresh, inst)
		subscribe = append(subscribe, inst)
	}
	return fresh, subscribe, errs
}

// rebuildGroups regroups the instances by s's sync groups; a group takes the
// state of a member that has one. r.mu is held.
func (r *Runner) rebuildGroups(s Setup) {
	r.groups = make(map[string]*syncGroup)
	for _, inst := range r.insts {
		inst.group = nil
	}
	for _, gc := range s.SyncGroups {
		g := &syncGroup{cfg: gc, state: Init}
		for _, n := range gc.Instances {
			inst := r.insts[n]
			inst.group = g
			g.members = append(g.members, inst)
			if st := inst.m.Status().State; st != Init {
				g.state = st
			}
		}
		r.groups[gc.Name] = g
	}
}

func linkTrackerName(ifname string) string { return "link:" + ifname }

func (tr *trackerRun) stop() {
	if tr.poll != nil {
		tr.poll.stop()
	}
	if tr.link != nil {
		tr.link.stop()
	}
}

func (r *Runner) startTracker(c TrackerConfig) error {
	r.mu.Lock()
	tr := r.trackers[c.Name]
	r.mu.Unlock()
	if tr == nil {
		return nil
	}
	gen := tr.gen
	report := func(st TrackerStatus) { r.trackerUpdate(c.Name, gen, st) }
	if c.Check != nil {
		p := startPoller(c, r.d.Clock, report)
		r.mu.Lock()
		tr.poll = p
		r.mu.Unlock()
		return nil
	}
	if r.d.Links == nil {
		return fmt.Errorf("control: tracker %s: link tracking needs a LinkWatcher", c.Name)
	}
	lt, err := startLinkTracker(r.d.Links, c.Name, c.Link, report)
	if err != nil {
		return fmt.Errorf("control: tracker %s: watch link %s: %w", c.Name, c.Link, err)
	}
	r.mu.Lock()
	tr.link = lt
	r.mu.Unlock()
	return nil
}

func (r *Runner) subscribeLinks(inst *instance) []error {
	r.mu.Lock()
	cfg := inst.cfg
	needIface := inst.ifaceCancel == nil && !cfg.DontTrackPrimary && cfg.Interface != "" && r.d.Links != nil
	r.mu.Unlock()
	if !needIface {
		return nil
	}
	cancel, err := r.d.Links.WatchLink(cfg.Interface, func(up bool) { r.linkUpdate(inst, up) })
	if err != nil {
		return []error{fmt.Errorf("control: instance %s: watch link %s: %w", cfg.Name, cfg.Interface, err)}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if inst.removed {
		cancel()
		return nil
	}
	inst.ifaceCancel = cancel
	return nil
}

func (r *Runner) linkUpdate(inst *instance, up bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if inst.removed || r.closed {
		return
	}
	var ev Event = InterfaceDown{}
	if up {
		ev = InterfaceUp{}
	}
	r.dispatch(r.d.Clock.Now(), inst, ev)
	r.flushLocked()
}

func (r *Runner) trackerUpdate(name string, gen uint64, st TrackerStatus) {
	r.mu.Lock()
	defer r.mu.Unlock()
	tr := r.trackers[name]
	if tr == nil || tr.gen != gen || r.closed {
		return
	}
	if st.Up != tr.status.Up || st.Value != tr.status.Value {
		r.log.Info("tracker changed", "tracker", name, "up", st.Up, "value", st.Value, "err", st.LastError)
	}
	tr.status = st
	now := r.d.Clock.Now()
	for _, inst := range r.insts {
		if inst.refs(name) {
			r.recompute(now, inst)
		}
	}
	r.flushLocked()
}

func (inst *instance) trackRefs() []TrackRef {
	refs := slices.Clone(inst.cfg.Track)
	for _, ti := range inst.cfg.TrackInterfaces {
		refs = append(refs, TrackRef{Name: linkTrackerName(ti.Name), Weight: ti.Weight})
	}
	return refs
}

func (inst *instance) refs(name string) bool {
	return slices.ContainsFunc(inst.trackRefs(), func(t TrackRef) bool { return t.Name == name })
}

// recompute feeds the instance's machine the effective priority and fault verdict
// of its trackers.
func (r *Runner) recompute(now time.Time, inst *instance) {
	eff, fault := EffectivePriority(inst.cfg.Priority, inst.trackRefs(), func(n string) (TrackerStatus, bool) {
		tr := r.trackers[n]
		if tr == nil {
			return TrackerStatus{}, false
		}
		return tr.status, true
	})
	if eff != inst.m.Status().EffectivePriority {
		r.dispatch(now, inst, PriorityChanged{eff})
	}
	if fault != inst.trackFault {
		inst.trackFault = fault
		if fault {
			r.dispatch(now, inst, TrackerFault{})
		} else {
			r.dispatch(now, inst, TrackerRecovered{})
		}
	}
}

func kernelConfig(c InstanceConfig, st State, prio uint8, secondary bool) KernelConfig {
	return KernelConfig{
		Instance: c.Name, Version: c.Version, State: st, Priority: prio,
		AdvertInterval: c.AdvertInterval, Preempt: c.Preempt, PrimaryAddr: c.PrimaryAddr,
		AuthType: c.AuthType, AuthData: c.AuthData, AllowedPeers: c.AllowedPeers,
		Addresses: c.advertAddrs(), Secondary: secondary, Unicast: len(c.Peers) > 0,
	}
}

// reconfigure applies a changed config to a running instance of the same identity.
func (r *Runner) reconfigure(now time.Time, inst *instance, c InstanceConfig) {
	old := inst.cfg
	inst.cfg = c
	inst.addrs = nil
	inst.m.Reconfigure(c)
	st := inst.m.Status()
	if err := r.d.Dataplane.SetInstance(c.Key, kernelConfig(c, st.State, st.EffectivePriority, false)); err != nil {
		r.log.Error("set kernel instance", "instance", c.Name, "err", err)
	}
	if st.State == Master {
		oldV, newV := old.allVIPs(), c.allVIPs()
		gone := slices.DeleteFunc(slices.Clone(oldV), func(v VIP) bool { return slices.Contains(newV, v) })
		added := slices.DeleteFunc(slices.Clone(newV), func(v VIP) bool { return slices.Contains(oldV, v) })
		if len(gone) > 0 {
			if err := r.d.Addresses.Remove(c.Name, gone); err != nil {
				r.log.Error("remove VIPs", "instance", c.Name, "err", err)
			}
		}
		if len(added) > 0 {
			if err := r.d.Addresses.Add(c.Name, added); err != nil {
				r.log.Error("add VIPs", "instance", c.Name, "err", err)
			}
		}
		if len(gone)+len(added) > 0 {
			r.stopAnnounce(inst)
			r.startAnnounce(inst)
		}
	}
	// Link trackers of removed track_interfaces are dropped by apply; the primary
	// interface watch is unchanged because the identity is.
}

func (r *Runner) removeInstance(now time.Time, inst *instance, reason Reason) {
	r.dispatch(now, inst, Shutdown{Reason: reason})
	r.flushLocked()
	for k := range inst.timers {
		r.stopTimer(inst, TimerKind(k))
	}
	inst.removed = true
	if inst.ifaceCancel != nil {
		c := inst.ifaceCancel
		inst.ifaceCancel = nil
		r.deferred = append(r.deferred, c)
	}
	delete(r.insts, inst.cfg.Name)
	delete(r.byKey, inst.cfg.Key)
	if err := r.d.Dataplane.DeleteInstance(inst.cfg.Key); err != nil {
		r.log.Error("delete kernel instance", "instance", inst.cfg.Name, "err", err)
	}
	for _, k := range ownPathKeys(inst.cfg) {
		delete(r.bySecond, k)
		if err := r.d.Dataplane.DeleteInstance(k); err != nil {
			r.log.Error("delete kernel path", "instance", inst.cfg.Name, "err", err)
		}
	}
	r.rescheduleAdverts(now)
}

// Shutdown stops every instance: Masters send a priority-0 advert (all in one batch)
// and remove their VIPs; trackers and link watches stop. The Runner cannot be
// restarted.
func (r *Runner) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	now := r.d.Clock.Now()
	names := slices.Sorted(maps.Keys(r.insts))
	// Every Master's priority-0 advert in one batch, first: the backups'
	// Skew_Time starts with it, so logging, kernel state and hooks come
	// after; then the VIPs go.
	for _, n := range names {
		if inst := r.insts[n]; inst.m.Status().State == Master {
			r.pending = r.appendAdverts(r.pending, inst, 0)
			// A quarter interval of margin for the backup's own latency.
			r.handover = max(r.handover, min(inst.cfg.AdvertInterval, maxHandoverWait)*5/4)
		}
	}
	r.flushLocked()
	r.removals = []*instance{}
	for _, n := range names {
		r.dispatch(now, r.insts[n], Shutdown{})
	}
	r.flushLocked()
	for _, inst := range r.removals {
		r.removeVIPs(inst)
	}
	r.removals = nil
	for _, inst := range r.insts {
		for k := range inst.timers {
			r.stopTimer(inst, TimerKind(k))
		}
		if inst.ifaceCancel != nil {
			r.deferred = append(r.deferred, inst.ifaceCancel)
			inst.ifaceCancel = nil
		}
	}
	if r.advTimer != nil {
		r.advTimer.Stop()
		r.advGen++
	}
	r.closed = true
	r.probeCancel()
	trs := slices.Collect(maps.Values(r.trackers))
	r.trackers = make(map[string]*trackerRun)
	deferred := r.deferred
	r.deferred = nil
	r.mu.Unlock()

	for _, f := range deferred {
		f()
	}
	done := make(chan struct{})
	go func() {
		for _, tr := range trs {
			tr.stop()
		}
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("control: shutdown: waiting for trackers: %w", ctx.Err())
	}
}

// Abandon stops the Runner without touching what it manages: no advert (no
// priority 0), VIPs and kernel state left as they are, no hook; timers,
// trackers and link watches stop. It is the way out of a daemon that handed
// its instances to a successor (an upgrade), which goes on from the same
// kernel state. The Runner cannot be restarted.
func (r *Runner) Abandon() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	for _, inst := range r.insts {
		for k := range inst.timers {
			r.stopTimer(inst, TimerKind(k))
		}
		inst.advertArmed = false
		if inst.announceStop != nil {
			// The GARP schedule only: the successor refreshes on adoption.
			inst.announceStop()
			inst.announceStop = nil
		}
		if inst.ifaceCancel != nil {
			r.deferred = append(r.deferred, inst.ifaceCancel)
			inst.ifaceCancel = nil
		}
	}
	if r.advTimer != nil {
		r.advTimer.Stop()
		r.advGen++
	}
	r.pending = nil
	r.closed = true
	r.probeCancel()
	trs := slices.Collect(maps.Values(r.trackers))
	r.trackers = make(map[string]*trackerRun)
	deferred := r.deferred
	r.deferred = nil
	r.mu.Unlock()
	for _, f := range deferred {
		f()
	}
	for _, tr := range trs {
		tr.stop()
	}
}

// maxHandoverWait caps the interval HandoverWait counts (v2 intervals go up to
// 255 s, but their Skew_Time stays below a second).
const maxHandoverWait = time.Second

// HandoverWait is how long after Shutdown the caller should leave the
// dataplane and interfaces as they are: 1.25 advert intervals of the slowest
// instance that resigned as Master (a backup takes over within Skew_Time, less
// than an interval and less than a second, of the priority-0 advert), at most
// 1.25 s; 0 if none was Master. Tearing down at once would race the handover: detaching XDP
// from a NIC can reset its queues while the priority-0 advert is still in
// them, and on one kernel (namespaces, the lab) the detach holds the RTNL
// lock for tens of milliseconds, stalling the backup's VIP add behind it.
func (r *Runner) HandoverWait() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.handover
}

// HandleKernelEvent feeds one dataplane event to the instance it belongs to.
func (r *Runner) HandleKernelEvent(ev KernelEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	now := r.d.Clock.Now()
	if inst := r.byKey[ev.Key]; inst != nil {
		var e Event
		switch ev.Kind {
		case EventMasterDown:
			e = KernelMasterDown{SecondaryAlive: r.secondaryAlive(inst)}
		case EventNewMaster:
			e = KernelNewMaster{Addr: ev.Addr, Prio: ev.Priority, Interval: ev.Interval}
		case EventPrioChange:
			e = KernelPrioChange{Addr: ev.Addr, Prio: ev.Priority}
		case EventPrioZero:
			e = KernelPrioZero{Addr: ev.Addr}
		case EventPreempt:
			e = KernelPreempt{Addr: ev.Addr, Prio: ev.Priority, Interval: ev.Interval}
		case EventBothMasters:
			e = KernelBothMasters{Addr: ev.Addr, Prio: ev.Priority}
		default:
			r.log.Warn("unknown kernel event", "kind", ev.Kind, "instance", inst.cfg.Name)
			return
		}
		r.dispatch(now, inst, e)
		r.flushLocked()
		return
	}
	inst := r.bySecond[ev.Key]
	if inst == nil || inst.m.Status().State != Master {
		// A Backup consults secondary paths only when the primary goes silent.
		return
	}
	if !r.pathMatches(inst, ev) {
		return
	}
	switch ev.Kind {
	case EventNewMaster, EventPrioChange, EventPreempt, EventBothMasters:
		if ev.Priority == 0 {
			return
		}
		r.dispatch(now, inst, KernelBothMasters{Addr: ev.Addr, Prio: ev.Priority, Secondary: true})
	case EventMasterDown:
		r.dispatch(now, inst, KernelMasterDown{})
	}
	r.flushLocked()
}

func (r *Runner) pathMatches(inst *instance, ev KernelEvent) bool {
	for _, p := range inst.cfg.SecondaryPaths {
		if p.Key == ev.Key && (!p.Peer.IsValid() || !ev.Addr.IsValid() || p.Peer == ev.Addr) {
			return true
		}
	}
	return false
}

// secondaryAlive: the master is heard on some secondary path within its
// Master_Down_Interval.
func (r *Runner) secondaryAlive(inst *instance) bool {
	mdi := inst.m.Status().MasterDownInterval
	for _, p := range inst.cfg.SecondaryPaths {
		var (
			age time.Duration
			ok  bool
			err error
		)
		if p.Peer.IsValid() {
			age, ok, err = r.d.Dataplane.PeerAge(p.Key, p.Peer)
		} else {
			age, ok, err = r.d.Dataplane.MasterAge(p.Key)
		}
		if err != nil {
			r.log.Warn("secondary path age", "instance", inst.cfg.Name, "path", p.Key, "err", err)
			continue
		}
		if ok && age < mdi {
			return true
		}
	}
	return false
}

// ReportVIPProbe feeds the result of one ownership probe round of a Master's VIPs
// (every VIP of the instance probed, conflicts = the answers from other MACs). A
// conflict is a split brain: SplitBrain is reported until a round comes back
// clean, and with split-brain action demote the loser (see SplitBrainDetected)
// returns to Backup. Every conflicting answer is counted in VIPConflicts. Results
// for an instance that is not Master (any more) are ignored.
func (r *Runner) ReportVIPProbe(instName string, conflicts []VIPConflict) {
	r.mu.Lock()
	defer r.mu.Unlock()
	inst := r.insts[instName]
	if inst == nil || r.closed || inst.m.Status().State != Master {
		return
	}
	inst.vipConflicts += uint64(len(conflicts))
	ev := VIPProbed{}
	if len(conflicts) > 0 {
		ev = VIPProbed{Conflict: true, VIP: conflicts[0].VIP, HW: conflicts[0].HW}
	}
	r.dispatch(r.d.Clock.Now(), inst, ev)
	r.flushLocked()
}

// takeoverProbeTimeout is how long a Backup listens for another host answering for
// its VIPs before taking over: one advert interval (an answer on a LAN takes well
// under a millisecond; the interval bounds what the check adds to failover), at
// least 100 ms so a loaded host still hears it, at most 500 ms.
func takeoverProbeTimeout(c *InstanceConfig) time.Duration {
	return min(max(c.AdvertInterval, 100*time.Millisecond), 500*time.Millisecond)
}

// startTakeoverProbe runs the probe a Backup asked for (ProbeVIPs) without holding
// the lock, and feeds the result back. Without a prober there is no evidence of a
// live master: the Backup takes over.
func (r *Runner) startTakeoverProbe(now time.Time, inst *instance, seq uint64) {
	if r.d.Prober == nil {
		r.dispatch(now, inst, TakeoverProbed{Seq: seq})
		return
	}
	vips := inst.cfg.allVIPs()
	timeout := takeoverProbeTimeout(&inst.cfg)
	ctx := r.probeCtx
	go func() {
		pctx, cancel := context.WithTimeout(ctx, timeout+time.Second)
		conflicts, err := r.d.Prober.ProbeVIPs(pctx, vips, timeout)
		cancel()
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.closed || inst.removed {
			return
		}
		if err != nil {
			r.log.Warn("takeover probe failed; taking over", "instance", inst.cfg.Name, "err", err)
		}
		r.dispatch(r.d.Clock.Now(), inst, TakeoverProbed{Seq: seq, Answered: err == nil && len(conflicts) > 0})
		r.flushLocked()
	}()
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
