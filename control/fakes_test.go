package control

import (
	"context"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

// fakeClock fires timers only from Advance, in deadline order, on the caller's
// goroutine.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
	// late delays every timer by this much past its due time, as a loaded
	// machine's wake-up latency does.
	late time.Duration
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	f       func()
	stopped bool
	fired   bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d + c.late), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped && !t.fired
	t.stopped = true
	return was
}

// pending counts armed timers.
func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if !t.stopped && !t.fired {
			n++
		}
	}
	return n
}

// Advance moves time forward by d, firing every timer due on the way.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	target := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		var next *fakeTimer
		for _, t := range c.timers {
			if t.stopped || t.fired || t.at.After(target) {
				continue
			}
			if next == nil || t.at.Before(next.at) {
				next = t
			}
		}
		if next == nil {
			c.now = target
			c.timers = slices.DeleteFunc(c.timers, func(t *fakeTimer) bool { return t.stopped || t.fired })
			c.mu.Unlock()
			return
		}
		next.fired = true
		if next.at.After(c.now) {
			c.now = next.at
		}
		c.mu.Unlock()
		next.f()
	}
}

type ageResult struct {
	age time.Duration
	ok  bool
}

type fakeDataplane struct {
	mu        sync.Mutex
	instances map[InstanceKey]KernelConfig
	states    map[InstanceKey]State
	prios     map[InstanceKey]uint8
	deleted   []InstanceKey
	ages      map[InstanceKey]ageResult
	peerAges  map[netip.Addr]ageResult
}

func newFakeDataplane() *fakeDataplane {
	return &fakeDataplane{
		instances: make(map[InstanceKey]KernelConfig), states: make(map[InstanceKey]State),
		prios: make(map[InstanceKey]uint8), ages: make(map[InstanceKey]ageResult),
		peerAges: make(map[netip.Addr]ageResult),
	}
}

func (f *fakeDataplane) SetInstance(k InstanceKey, c KernelConfig) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.instances[k] = c
	return nil
}

func (f *fakeDataplane) SetState(k InstanceKey, s State, p uint8) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.states[k], f.prios[k] = s, p
	return nil
}

func (f *fakeDataplane) DeleteInstance(k InstanceKey) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.instances, k)
	f.deleted = append(f.deleted, k)
	return nil
}

func (f *fakeDataplane) MasterAge(k InstanceKey) (time.Duration, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.ages[k]
	return a.age, a.ok, nil
}

func (f *fakeDataplane) PeerAge(k InstanceKey, p netip.Addr) (time.Duration, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.peerAges[p]
	return a.age, a.ok, nil
}

func (f *fakeDataplane) setAge(k InstanceKey, age time.Duration, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ages[k] = ageResult{age, ok}
}

func (f *fakeDataplane) state(k InstanceKey) (State, uint8) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.states[k], f.prios[k]
}

// fakeAddresses keeps the set of VIPs currently added per instance.
type fakeAddresses struct {
	mu   sync.Mutex
	have map[string][]netip.Prefix
	ops  []string
}

func newFakeAddresses() *fakeAddresses { return &fakeAddresses{have: make(map[string][]netip.Prefix)} }

func (f *fakeAddresses) Add(inst string, vips []VIP) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range vips {
		if !slices.Contains(f.have[inst], v.Prefix) {
			f.have[inst] = append(f.have[inst], v.Prefix)
		}
		f.ops = append(f.ops, "add "+inst+" "+v.Prefix.String())
	}
	return nil
}

func (f *fakeAddresses) Remove(inst string, vips []VIP) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range vips {
		f.have[inst] = slices.DeleteFunc(f.have[inst], func(p netip.Prefix) bool { return p == v.Prefix })
		f.ops = append(f.ops, "remove "+inst+" "+v.Prefix.String())
	}
	return nil
}

// record adds an operation of someone else to ops (tests order them).
func (f *fakeAddresses) record(op string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops = append(f.ops, op)
}

func (f *fakeAddresses) get(inst string) []netip.Prefix {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.have[inst])
}

type fakeSender struct {
	mu      sync.Mutex
	onSend  func([]OutAdvert) // called with each batch, under mu
	clock   *fakeClock        // when set, sentAt records each batch's time
	batches [][]OutAdvert
	sentAt  []time.Time
}

func (f *fakeSender) Send(msgs []OutAdvert) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.batches = append(f.batches, slices.Clone(msgs))
	if f.onSend != nil {
		f.onSend(msgs)
	}
	if f.clock != nil {
		f.sentAt = append(f.sentAt, f.clock.Now())
	}
	return nil
}

// takeTimed is take with each batch's send time (the sender needs its clock).
func (f *fakeSender) takeTimed() ([][]OutAdvert, []time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, at := f.batches, f.sentAt
	f.batches, f.sentAt = nil, nil
	return b, at
}

// take returns and forgets the batches sent so far.
func (f *fakeSender) take() [][]OutAdvert {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.batches
	f.batches, f.sentAt = nil, nil
	return b
}

type fakeAnnouncer struct {
	mu        sync.Mutex
	running   map[string]bool
	starts    int
	refreshes int
}

// StartRefresh makes fakeAnnouncer a Refresher; it counts apart from Start.
func (f *fakeAnnouncer) StartRefresh(inst string, vips []netip.Addr) func() {
	f.mu.Lock()
	f.refreshes++
	f.starts-- // Start counts it too
	f.mu.Unlock()
	return f.Start(inst, vips)
}

func (f *fakeAnnouncer) Start(inst string, vips []netip.Addr) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.running == nil {
		f.running = make(map[string]bool)
	}
	f.running[inst] = true
	f.starts++
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.running[inst] = false
	}
}

func (f *fakeAnnouncer) isRunning(inst string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.running[inst]
}

type fakeNotifier struct {
	mu sync.Mutex
	ns []Notification
}

func (f *fakeNotifier) Notify(n Notification) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ns = append(f.ns, n)
}

// summary renders the notifications as "TYPE NAME STATE" lines.
func (f *fakeNotifier) summary() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, n := range f.ns {
		out = append(out, n.Type+" "+n.Name+" "+n.State.String())
	}
	return out
}

type fakeLinks struct {
	mu    sync.Mutex
	up    map[string]bool
	subs  map[string][]*func(bool)
	calls int
}

func newFakeLinks() *fakeLinks {
	return &fakeLinks{up: make(map[string]bool), subs: make(map[string][]*func(bool))}
}

func (f *fakeLinks) WatchLink(ifname string, fn func(bool)) (func(), error) {
	f.mu.Lock()
	up, ok := f.up[ifname]
	if !ok {
		up = true
	}
	p := &fn
	f.subs[ifname] = append(f.subs[ifname], p)
	f.mu.Unlock()
	fn(up) // current state, from within WatchLink as a netlink watcher may do
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.subs[ifname] = slices.DeleteFunc(f.subs[ifname], func(q *func(bool)) bool { return q == p })
	}, nil
}

func (f *fakeLinks) set(ifname string, up bool) {
	f.mu.Lock()
	f.up[ifname] = up
	subs := slices.Clone(f.subs[ifname])
	f.mu.Unlock()
	for _, s := range subs {
		(*s)(up)
	}
}

type harness struct {
	clock *fakeClock
	dp    *fakeDataplane
	addrs *fakeAddresses
	send  *fakeSender
	ann   *fakeAnnouncer
	notif *fakeNotifier
	links *fakeLinks
	logs  *testutil.SyncBuffer
	trans []TransitionRecord
	tmu   sync.Mutex
	r     *Runner
}

func newHarness(t *testing.T, s Setup) *harness {
	t.Helper()
	return newHarnessWith(t, s, nil)
}

// newHarnessWith is newHarness with a hook that adjusts the Deps (e.g. a Prober).
func newHarnessWith(t *testing.T, s Setup, mod func(*Deps)) *harness {
	t.Helper()
	h := &harness{
		clock: newFakeClock(), dp: newFakeDataplane(), addrs: newFakeAddresses(),
		ann: &fakeAnnouncer{}, notif: &fakeNotifier{}, links: newFakeLinks(), logs: &testutil.SyncBuffer{},
	}
	h.send = &fakeSender{clock: h.clock}
	deps := Deps{
		Clock: h.clock, Dataplane: h.dp, Addresses: h.addrs, Announcer: h.ann, Sender: h.send,
		Notifier: h.notif, Links: h.links, Logger: slog.New(slog.NewTextHandler(h.logs, nil)),
		OnTransition: func(tr TransitionRecord) {
			h.tmu.Lock()
			defer h.tmu.Unlock()
			h.trans = append(h.trans, tr)
		},
	}
	if mod != nil {
		mod(&deps)
	}
	r, err := NewRunner(deps, s)
	if err != nil {
		t.Fatalf("NewRunner: %v", err)
	}
	h.r = r
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	if err := r.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return h
}

func (h *harness) status(t *testing.T, name string) InstanceStatus {
	t.Helper()
	for _, s := range h.r.Snapshot() {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("instance %s not in snapshot", name)
	return InstanceStatus{}
}

func (h *harness) wantState(t *testing.T, name string, want State) {
	t.Helper()
	if got := h.status(t, name).State; got != want {
		t.Fatalf("%s state = %v, want %v", name, got, want)
	}
}
