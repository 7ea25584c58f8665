package control

import (
	"log/slog"
	"net/netip"
	"runtime/metrics"
	"slices"
	"time"
)

// sendErrorLogEvery rate-limits the log line of a failing Sender (it may fail on
// every tick).
const sendErrorLogEvery = 10 * time.Second

// advertScheduler is the Runner's advert side: the grid every advert is placed
// on, the batch of adverts queued by one top-level operation, and the one timer
// (on the AdvertClock) that wakes the Runner for the next due advert or
// heartbeat. It holds no lock of its own: every method runs under the Runner's.
type advertScheduler struct {
	clock  AdvertClock
	sender Sender
	log    *slog.Logger

	// epoch anchors the grid: every advert of an instance with interval I goes
	// out at epoch + k·I, so instances with the same (or commensurable)
	// intervals share one batch however they became Master.
	epoch   time.Time
	pending []OutAdvert
	timer   Timer
	due     time.Time // when timer fires; zero: not armed
	// onTimer is what every arm of the timer calls, made once (a closure per
	// arm would allocate on every tick). A call from an arm since replaced is
	// told apart by nothing: the tick it runs sends only what is due, so it
	// costs a wake-up and no advert.
	onTimer func()
	// batching: inside the advert tick, the timer is set once at the end.
	batching bool

	sendErrors     uint64
	lastSendErrLog time.Time
}

// advertSlot is one instance's place on the grid.
type advertSlot struct {
	armed bool
	next  time.Time
	// due is when the advert being sent by the current tick was due (its grid
	// point); an advert sent early in a batch schedules the next from it.
	due time.Time
}

func newAdvertScheduler(clock AdvertClock, sender Sender, log *slog.Logger, epoch time.Time, onTimer func()) *advertScheduler {
	return &advertScheduler{clock: clock, sender: sender, log: log, epoch: epoch, onTimer: onTimer}
}

// queue appends inst's adverts with priority prio to the batch.
func (s *advertScheduler) queue(inst *instance, prio uint8) {
	s.pending = appendAdverts(s.pending, inst, prio)
}

// flush sends every queued advert in one batch; now stamps the rate-limited
// error log.
func (s *advertScheduler) flush(now func() time.Time) {
	if len(s.pending) == 0 {
		return
	}
	batch := s.pending
	// The buffer is reused for the next tick (Sender must not retain it).
	defer func() { s.pending = batch[:0] }()
	if err := s.sender.Send(batch); err != nil {
		s.sendErrors++
		t := now()
		if t.Sub(s.lastSendErrLog) >= sendErrorLogEvery || s.lastSendErrLog.IsZero() {
			s.log.Error("send adverts", "adverts", len(batch), "errors_total", s.sendErrors, "err", err)
			s.lastSendErrLog = t
		}
	}
}

// drop forgets the queued adverts unsent.
func (s *advertScheduler) drop() { s.pending = nil }

// arm places a's next advert, due after past now (or past its grid point when
// it was sent early in a batch). It reports whether the timer must be reset
// (not inside the tick, which resets it once at the end).
func (s *advertScheduler) arm(now time.Time, a *advertSlot, after time.Duration) (reschedule bool) {
	a.armed = true
	ref := now
	if a.due.After(now) {
		// Sent early, sharing a batch: the period runs from the grid point.
		ref = a.due
	}
	a.due = time.Time{}
	a.next = s.slot(ref, after)
	return !s.batching
}

// slot returns when an advert due at most after past ref goes out: the
// latest point of the advert grid (epoch + k·after) not later than ref+after,
// so in (ref, ref+after]. Adverts are never late, at most one is early (the
// first after becoming Master, to join the grid), and a timer that fires late
// neither stretches the period (the grid does not drift) nor makes a burst (a
// tick more than an interval behind skips to the next slot). At 200 instances ×
// 10 ms this is one batch, one wake-up and one sendmmsg per interval, where
// anchoring each instance to its own phase kept the phases of the order in
// which instances became Master (three batches per interval in the lab).
func (s *advertScheduler) slot(ref time.Time, after time.Duration) time.Time {
	end := ref.Add(after)
	if after <= 0 || end.Before(s.epoch) {
		return end
	}
	k := end.Sub(s.epoch) / after
	return s.epoch.Add(k * after)
}

// set arms the timer to call onTimer at due (zero: disarm). A timer already
// armed for due is left alone.
func (s *advertScheduler) set(now, due time.Time) {
	if s.timer != nil && !due.IsZero() && due.Equal(s.due) {
		return
	}
	s.stop()
	s.due = due
	if due.IsZero() {
		return
	}
	s.timer = s.clock.AfterFunc(max(due.Sub(now), 0), s.onTimer)
}

// stop disarms the timer.
func (s *advertScheduler) stop() {
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	s.due = time.Time{}
}

// fired marks the timer spent: its call is running.
func (s *advertScheduler) fired() {
	s.timer = nil
	s.due = time.Time{}
}

// advertWindow is how early an advert may go out to share a batch with others: an
// eighth of the instance's interval. Once sent together, instances with the same
// interval stay in phase, so steady state is one batch per interval.
func advertWindow(c *InstanceConfig) time.Duration { return c.AdvertInterval / 8 }

func groupFor(c *InstanceConfig) netip.Addr {
	if c.Group.IsValid() {
		return c.Group
	}
	if c.Key.IsIPv6() {
		return DefaultGroup6
	}
	return DefaultGroup4
}

// appendAdverts appends inst's adverts with priority prio: one per destination on
// the primary path, plus one per secondary path with a source address.
func appendAdverts(out []OutAdvert, inst *instance, prio uint8) []OutAdvert {
	c := &inst.cfg
	base := OutAdvert{
		Instance: c.Name, Interface: c.Interface, Key: c.Key, Version: c.Version, VRID: c.Key.VRID,
		Priority: prio, Interval: c.AdvertInterval, Addresses: inst.advertAddrs(),
		AuthType: c.AuthType, AuthData: c.AuthData, Src: c.PrimaryAddr,
	}
	if len(c.Peers) == 0 {
		a := base
		a.Dst = groupFor(c)
		out = append(out, a)
	}
	for _, p := range c.Peers {
		a := base
		a.Dst = p
		out = append(out, a)
	}
	for _, p := range c.SecondaryPaths {
		a := base
		a.Key, a.Interface, a.Src = p.Key, p.Interface, p.Src
		if !a.Src.IsValid() && p.Key == c.Key {
			a.Src, a.Interface = c.PrimaryAddr, c.Interface
		}
		if !a.Src.IsValid() {
			continue
		}
		a.Dst = p.Peer
		if !a.Dst.IsValid() {
			a.Dst = groupFor(c)
		}
		out = append(out, a)
	}
	return out
}

// advertAddrs caches the advertised addresses (shared by every advert of the
// instance; a Sender must not modify OutAdvert.Addresses).
func (inst *instance) advertAddrs() []netip.Addr {
	if inst.addrs == nil {
		inst.addrs = inst.cfg.advertAddrs()
	}
	return inst.addrs
}

// The Runner's side of the schedule: which instance is due, the tick.

// flushLocked sends every queued advert in one batch.
func (r *Runner) flushLocked() { r.adv.flush(r.d.Clock.Now) }

// rescheduleAdverts arms the advert timer for the earliest due advert, or the
// heartbeat if that is due first.
func (r *Runner) rescheduleAdverts(now time.Time) {
	var due time.Time
	for _, inst := range r.insts {
		if inst.advert.armed && (due.IsZero() || inst.advert.next.Before(due)) {
			due = inst.advert.next
		}
	}
	if r.heartbeatOn() && (due.IsZero() || r.nextBeat.Before(due)) {
		due = r.nextBeat
	}
	r.adv.set(now, due)
}

// fireAdverts is the advert tick: every instance due within its window sends,
// in one batch.
func (r *Runner) fireAdverts() {
	called := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	locked := time.Now()
	due := r.adv.due
	r.adv.fired()
	now := r.d.Clock.Now()
	r.adv.batching = true
	var shortest time.Duration
	for _, inst := range r.ordered() {
		if inst.advert.armed && !inst.advert.next.After(now.Add(advertWindow(&inst.cfg))) {
			inst.advert.armed = false
			inst.advert.due = inst.advert.next
			r.dispatch(now, inst, AdvertTimer{})
			inst.advert.due = time.Time{}
			if shortest == 0 || inst.cfg.AdvertInterval < shortest {
				shortest = inst.cfg.AdvertInterval
			}
		}
	}
	r.adv.batching = false
	r.flushLocked()
	r.logLateTick(tickTimes{due: due, now: now, called: called, locked: locked, sent: time.Now()}, shortest)
	// A heartbeat due within a quarter interval rides on this tick rather than
	// waking the thread again.
	if r.heartbeatOn() && !now.Add(r.d.HeartbeatInterval/4).Before(r.nextBeat) {
		r.d.Heartbeat()
		r.nextBeat = now.Add(r.d.HeartbeatInterval)
	}
	r.rescheduleAdverts(now)
}

// tickTimes are the stages of one advert tick: due and now on the Runner's
// clock, the rest on the wall clock.
type tickTimes struct {
	due, now             time.Time
	called, locked, sent time.Time
}

// logLateTick logs, at debug, where the time of a tick that sent more than
// half of its shortest interval late went: waking up (timer expiry to the
// call), the Runner's lock, or dispatching and sending.
func (r *Runner) logLateTick(t tickTimes, interval time.Duration) {
	if interval <= 0 || t.due.IsZero() {
		return
	}
	wait := t.locked.Sub(t.called)
	work := t.sent.Sub(t.locked)
	late := t.now.Sub(t.due) + work
	if late <= interval/2 {
		return
	}
	gc := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(gc)
	r.log.Debug("late advert tick", "late", late, "wake", late-work-wait, "lock_wait", wait, "send", work,
		"gc_cycles", gc[0].Value.Uint64())
}

// heartbeatOn: Deps.Heartbeat is set and Start has run.
func (r *Runner) heartbeatOn() bool { return r.d.Heartbeat != nil && !r.nextBeat.IsZero() }

// ordered returns the instances sorted by name (batches and tests are deterministic).
func (r *Runner) ordered() []*instance {
	if len(r.order) != len(r.insts) || slices.ContainsFunc(r.order, func(i *instance) bool { return i.removed }) {
		r.order = r.order[:0]
		for _, inst := range r.insts {
			r.order = append(r.order, inst)
		}
		slices.SortFunc(r.order, func(a, b *instance) int {
			switch {
			case a.cfg.Name < b.cfg.Name:
				return -1
			case a.cfg.Name > b.cfg.Name:
				return 1
			}
			return 0
		})
	}
	return r.order
}
