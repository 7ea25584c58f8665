package control

import (
	"context"
	"sync"
	"time"
)

// Check is one health probe. Check must honour ctx (the tracker's timeout).
type Check interface {
	Check(ctx context.Context) CheckResult
}

// CheckResult is the outcome of one Check. Value is only meaningful for a Valued
// check, whose tracker adds Value × weight instead of a fixed weight.
type CheckResult struct {
	OK    bool
	Value int
	Err   error
}

// Valued is implemented by checks whose result is a number, not up/down
// (keepalived's track_file).
type Valued interface{ Valued() }

// TrackerConfig is one named tracker. Exactly one of Check (polled every Interval) and
// Link (an interface name watched through the LinkWatcher) is set.
type TrackerConfig struct {
	Name  string
	Check Check
	Link  string
	// Interval between checks; default DefaultTrackInterval.
	Interval time.Duration
	// Timeout per check; default Interval.
	Timeout time.Duration
	// Rise consecutive successes make a down tracker up, Fall consecutive failures
	// make an up tracker down; default 1 each (keepalived's defaults).
	Rise, Fall int
	// InitFail starts the tracker down (keepalived's init_fail); default up.
	InitFail bool
}

// DefaultTrackInterval is keepalived's default script interval.
const DefaultTrackInterval = time.Second

// TrackerStatus is a tracker's current verdict.
type TrackerStatus struct {
	Name   string
	Up     bool
	Valued bool // file tracker: Value counts, Up does not
	Value  int
	// LastError is the error of the last failed check, for status output.
	LastError string
}

// contribution applies keepalived's weight semantics to one tracker: weight 0 and
// down means FAULT; weight > 0 is added while up; weight < 0 is added while down.
// Valued (track_file) trackers add value × weight; with weight 0 a non-zero value
// means FAULT, and a product of −254 or less means FAULT too (keepalived).
func contribution(st TrackerStatus, weight int) (delta int, fault bool) {
	if st.Valued {
		if weight == 0 {
			return 0, st.Value != 0
		}
		d := st.Value * weight
		return d, d <= -254
	}
	switch {
	case weight == 0:
		return 0, !st.Up
	case weight > 0 && st.Up:
		return weight, false
	case weight < 0 && !st.Up:
		return weight, false
	}
	return 0, false
}

// EffectivePriority combines a configured priority with tracker verdicts. The owner
// (255) is never changed by trackers, as in keepalived, but can still be put in FAULT.
// Otherwise the result is clamped to 1–254. Trackers without a status count as up.
func EffectivePriority(configured uint8, refs []TrackRef, status func(name string) (TrackerStatus, bool)) (eff uint8, fault bool) {
	sum := int(configured)
	for _, ref := range refs {
		st, ok := status(ref.Name)
		if !ok {
			continue
		}
		d, f := contribution(st, ref.Weight)
		sum += d
		fault = fault || f
	}
	if configured == 255 {
		return 255, fault
	}
	return uint8(min(max(sum, 1), 254)), fault
}

// riseFall turns raw check results into an up/down verdict with hysteresis.
type riseFall struct {
	rise, fall int
	up         bool
	count      int // consecutive results disagreeing with up
}

// observe feeds one result and reports whether the verdict changed.
func (r *riseFall) observe(ok bool) bool {
	if ok == r.up {
		r.count = 0
		return false
	}
	r.count++
	need := r.fall
	if !r.up {
		need = r.rise
	}
	if r.count < max(need, 1) {
		return false
	}
	r.up, r.count = ok, 0
	return true
}

// poller runs one polled tracker until stopped.
type poller struct {
	cfg    TrackerConfig
	clock  Clock
	report func(TrackerStatus)
	cancel context.CancelFunc
	done   chan struct{}
}

// startPoller starts checking at once and then every Interval, calling report
// whenever the verdict (or, for valued checks, the value) changes.
func startPoller(cfg TrackerConfig, clock Clock, report func(TrackerStatus)) *poller {
	ctx, cancel := context.WithCancel(context.Background())
	p := &poller{cfg: cfg, clock: clock, report: report, cancel: cancel, done: make(chan struct{})}
	go p.loop(ctx)
	return p
}

func (p *poller) loop(ctx context.Context) {
	defer close(p.done)
	interval := p.cfg.Interval
	if interval <= 0 {
		interval = DefaultTrackInterval
	}
	timeout := p.cfg.Timeout
	if timeout <= 0 {
		timeout = interval
	}
	_, isValued := p.cfg.Check.(Valued)
	rf := riseFall{rise: p.cfg.Rise, fall: p.cfg.Fall, up: !p.cfg.InitFail}
	last := TrackerStatus{Name: p.cfg.Name, Up: rf.up, Valued: isValued}
	first := true
	for {
		cctx, ccancel := context.WithTimeout(ctx, timeout)
		res := p.cfg.Check.Check(cctx)
		ccancel()
		if ctx.Err() != nil {
			return
		}
		st := last
		if isValued {
			st.Value, st.Up = res.Value, res.OK
		} else if rf.observe(res.OK) {
			st.Up = rf.up
		}
		st.LastError = ""
		if res.Err != nil {
			st.LastError = res.Err.Error()
		}
		if first || st.Up != last.Up || st.Value != last.Value {
			p.report(st)
		}
		last, first = st, false

		wake := make(chan struct{})
		t := p.clock.AfterFunc(interval, func() { close(wake) })
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-wake:
		}
	}
}

// stop ends the poller and waits for a running check to be cancelled.
func (p *poller) stop() {
	p.cancel()
	<-p.done
}

// LinkWatcher reports link state changes of an interface. internal/daemon implements it
// with netlink. fn is called once with the current state as soon as possible (it may
// be called from within WatchLink) and then on every change, until cancel is called.
type LinkWatcher interface {
	WatchLink(ifname string, fn func(up bool)) (cancel func(), err error)
}

// linkTracker adapts a LinkWatcher subscription to a tracker verdict.
type linkTracker struct {
	once   sync.Once
	cancel func()
}

func startLinkTracker(w LinkWatcher, name, ifname string, report func(TrackerStatus)) (*linkTracker, error) {
	cancel, err := w.WatchLink(ifname, func(up bool) {
		st := TrackerStatus{Name: name, Up: up}
		if !up {
			st.LastError = "link " + ifname + " down"
		}
		report(st)
	})
	if err != nil {
		return nil, err
	}
	return &linkTracker{cancel: cancel}, nil
}

func (l *linkTracker) stop() { l.once.Do(l.cancel) }
