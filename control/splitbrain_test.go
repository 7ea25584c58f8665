package control

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

var (
	vip1   = netip.MustParseAddr("198.18.1.100")
	peerHW = net.HardwareAddr{2, 0, 0, 0, 0, 6}
)

// TestMachineVIPProbe walks the split-brain handling that rests on the VIP ownership
// probe: the Master's periodic probe (VIPProbed) and the probe a Backup with action
// demote makes before taking over (ProbeVIPs / TakeoverProbed).
func TestMachineVIPProbe(t *testing.T) {
	demote := func(c *InstanceConfig) { c.SplitBrain = SplitBrainDemote }
	alert := func(c *InstanceConfig) {}
	// followHigh: Backup that follows highAddr (200), which then goes silent.
	followHigh := []step{{0, Startup{}}, {sec, KernelNewMaster{highAddr, 200, sec}}, {5 * sec, KernelMasterDown{}}}
	// followLow: Backup that follows lowAddr (50) and takes over when it goes silent.
	followLow := []step{{0, Startup{}}, {sec, KernelNewMaster{lowAddr, 50, sec}}, {5 * sec, KernelMasterDown{}}}
	conflict := VIPProbed{Conflict: true, VIP: vip1, HW: peerHW}
	mdi := 3*sec + skew100v3
	tests := []struct {
		name            string
		cfg             func(*InstanceConfig)
		steps           []step
		want            []Action
		wantState       State
		wantSplitBrain  bool
		wantPathFailure bool
	}{
		{
			name:      "alert: master down takes over at once, no probe",
			cfg:       alert,
			steps:     followHigh,
			want:      masterActs(Backup, ReasonMasterDownExpired, 100),
			wantState: Master,
		},
		{
			name:      "demote: master down asks for a probe first",
			cfg:       demote,
			steps:     followHigh,
			want:      []Action{ProbeVIPs{Seq: 1}},
			wantState: Backup,
		},
		{
			name:      "demote with takeover_on_path_failure: no probe",
			cfg:       func(c *InstanceConfig) { demote(c); c.TakeoverOnPathFailure = true },
			steps:     followHigh,
			want:      masterActs(Backup, ReasonMasterDownExpired, 100),
			wantState: Master,
		},
		{
			name:      "demote without VIPs: nothing to probe",
			cfg:       func(c *InstanceConfig) { demote(c); c.VIPs = nil },
			steps:     followHigh,
			want:      masterActs(Backup, ReasonMasterDownExpired, 100),
			wantState: Master,
		},
		{
			// lb-6 (50) became Master before lb-5 (100) started: its adverts do
			// not hold the timer, and it answers for the VIPs because it is
			// alive. That is a preemption, not a path failure.
			name:      "demote: a master we outrank is preempted without a probe",
			cfg:       demote,
			steps:     followLow,
			want:      masterActs(Backup, ReasonMasterDownExpired, 100),
			wantState: Master,
		},
		{
			name:      "demote: a master we outrank, heard on a secondary path, is preempted too",
			cfg:       demote,
			steps:     []step{{0, Startup{}}, {sec, KernelNewMaster{lowAddr, 50, sec}}, {5 * sec, KernelMasterDown{SecondaryAlive: true}}},
			want:      masterActs(Backup, ReasonMasterDownExpired, 100),
			wantState: Master,
		},
		{
			name:            "demote: VIPs still answered, stay backup with path failure",
			cfg:             demote,
			steps:           append(slices.Clone(followHigh), step{5 * sec, TakeoverProbed{Seq: 1, Answered: true}}),
			want:            []Action{ArmTimer{TimerMasterDown, mdi}, PathFailureChanged{Active: true, VIPProbe: true}},
			wantState:       Backup,
			wantPathFailure: true,
		},
		{
			name:      "demote: nobody answers, take over",
			cfg:       demote,
			steps:     append(slices.Clone(followHigh), step{5 * sec, TakeoverProbed{Seq: 1}}),
			want:      masterActs(Backup, ReasonMasterDownExpired, 100),
			wantState: Master,
		},
		{
			name:      "demote: another master-down while the probe is out waits for it",
			cfg:       demote,
			steps:     append(slices.Clone(followHigh), step{5 * sec, MasterDownTimer{}}),
			want:      nil,
			wantState: Backup,
		},
		{
			name: "demote: a result after the master was heard again is stale",
			cfg:  demote,
			steps: append(slices.Clone(followHigh), step{5 * sec, KernelNewMaster{highAddr, 200, sec}},
				step{5 * sec, TakeoverProbed{Seq: 1}}),
			want:      nil,
			wantState: Backup,
		},
		{
			name: "demote: a result of an earlier probe is stale",
			cfg:  demote,
			steps: append(slices.Clone(followHigh), step{5 * sec, KernelNewMaster{highAddr, 200, sec}},
				step{9 * sec, KernelMasterDown{}}, step{9 * sec, TakeoverProbed{Seq: 1}}),
			want:      nil,
			wantState: Backup,
		},
		{
			name: "demote: path failure is reported once, and the next probe still decides",
			cfg:  demote,
			steps: append(slices.Clone(followHigh), step{5 * sec, TakeoverProbed{Seq: 1, Answered: true}},
				step{9 * sec, MasterDownTimer{}}, step{9 * sec, TakeoverProbed{Seq: 2, Answered: true}}),
			want:            []Action{ArmTimer{TimerMasterDown, mdi}},
			wantState:       Backup,
			wantPathFailure: true,
		},
		{
			name: "demote: path failure ends when the master is heard again",
			cfg:  demote,
			steps: append(slices.Clone(followHigh), step{5 * sec, TakeoverProbed{Seq: 1, Answered: true}},
				step{6 * sec, KernelNewMaster{highAddr, 200, sec}}),
			want:      []Action{PathFailureChanged{}, ArmTimer{TimerMasterDown, mdi}},
			wantState: Backup,
		},
		{
			name: "demote: a priority-0 advert while probing takes over without waiting",
			cfg:  demote,
			steps: append(slices.Clone(followHigh), step{5 * sec, KernelPrioZero{highAddr}},
				step{5 * sec, MasterDownTimer{}}),
			want:      masterActs(Backup, ReasonPriorityZeroReceived, 100),
			wantState: Master,
		},
		{
			name:  "master, VIP conflict, alert: split brain reported, stays master",
			cfg:   alert,
			steps: append(slices.Clone(followHigh), step{6 * sec, conflict}),
			want: []Action{SplitBrainDetected{Peer: highAddr, PeerPriority: 200, Priority: 100, Action: SplitBrainAlert,
				VIPConflict: true, VIP: vip1, PeerHW: peerHW}},
			wantState:      Master,
			wantSplitBrain: true,
		},
		{
			name:           "master, VIP conflict again: no second detection",
			cfg:            alert,
			steps:          append(slices.Clone(followHigh), step{6 * sec, conflict}, step{7 * sec, conflict}),
			want:           nil,
			wantState:      Master,
			wantSplitBrain: true,
		},
		{
			name:      "master, clean probe after a conflict: split brain over, announce again",
			cfg:       alert,
			steps:     append(slices.Clone(followHigh), step{6 * sec, conflict}, step{7 * sec, VIPProbed{}}),
			want:      []Action{Notify{HookSplitBrainEnd}, Reannounce{}},
			wantState: Master,
		},
		{
			name:      "master, clean probe without a conflict: nothing",
			cfg:       alert,
			steps:     append(slices.Clone(followHigh), step{6 * sec, VIPProbed{}}),
			want:      nil,
			wantState: Master,
		},
		{
			name: "master, VIP conflict, demote, the last master outranks us: demoted",
			cfg:  demote,
			steps: append(slices.Clone(followHigh), step{5 * sec, TakeoverProbed{Seq: 1}},
				step{6 * sec, conflict}),
			want: []Action{
				SplitBrainDetected{Peer: highAddr, PeerPriority: 200, Priority: 100, Action: SplitBrainDemote,
					VIPConflict: true, VIP: vip1, PeerHW: peerHW, Demoted: true},
				Notify{HookSplitBrainEnd},
				Transition{From: Master, To: Backup, Reason: ReasonSplitBrainDemote, Priority: 100, Master: highAddr},
				CancelTimer{TimerAdvert}, RemoveVIPs{},
				SetKernelState{Backup, 100}, ArmTimer{TimerMasterDown, mdi}, Notify{HookBackup},
			},
			wantState: Backup,
		},
		{
			name: "master, VIP conflict, demote, we outrank the last master: stay",
			cfg:  demote,
			steps: append(slices.Clone(followLow), step{5 * sec, TakeoverProbed{Seq: 1}},
				step{6 * sec, conflict}),
			want: []Action{SplitBrainDetected{Peer: lowAddr, PeerPriority: 50, Priority: 100, Action: SplitBrainDemote,
				VIPConflict: true, VIP: vip1, PeerHW: peerHW}},
			wantState:      Master,
			wantSplitBrain: true,
		},
		{
			name: "master, VIP conflict, demote, equal priority, higher address wins",
			cfg:  demote,
			steps: []step{{0, Startup{}}, {sec, KernelNewMaster{highAddr, 100, sec}}, {5 * sec, KernelMasterDown{}},
				{5 * sec, TakeoverProbed{Seq: 1}}, {6 * sec, conflict}},
			want: []Action{
				SplitBrainDetected{Peer: highAddr, PeerPriority: 100, Priority: 100, Action: SplitBrainDemote,
					VIPConflict: true, VIP: vip1, PeerHW: peerHW, Demoted: true},
				Notify{HookSplitBrainEnd},
				Transition{From: Master, To: Backup, Reason: ReasonSplitBrainDemote, Priority: 100, Master: highAddr},
				CancelTimer{TimerAdvert}, RemoveVIPs{},
				SetKernelState{Backup, 100}, ArmTimer{TimerMasterDown, mdi}, Notify{HookBackup},
			},
			wantState: Backup,
		},
		{
			name:  "master, VIP conflict, demote, never followed anyone: stay",
			cfg:   func(c *InstanceConfig) { demote(c); c.Priority = 255 },
			steps: []step{{0, Startup{}}, {sec, conflict}},
			want: []Action{SplitBrainDetected{Priority: 255, Action: SplitBrainDemote,
				VIPConflict: true, VIP: vip1, PeerHW: peerHW}},
			wantState:      Master,
			wantSplitBrain: true,
		},
		{
			name: "master, VIP conflict, the old master resigned (priority 0): stay",
			cfg:  demote,
			steps: []step{{0, Startup{}}, {sec, KernelNewMaster{highAddr, 200, sec}}, {2 * sec, KernelPrioZero{highAddr}},
				{3 * sec, MasterDownTimer{}}, {4 * sec, conflict}},
			want: []Action{SplitBrainDetected{Peer: highAddr, Priority: 100, Action: SplitBrainDemote,
				VIPConflict: true, VIP: vip1, PeerHW: peerHW}},
			wantState:      Master,
			wantSplitBrain: true,
		},
		{
			name:      "backup ignores VIP probe results",
			cfg:       alert,
			steps:     []step{{0, Startup{}}, {sec, conflict}},
			want:      nil,
			wantState: Backup,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseCfg()
			tt.cfg(&cfg)
			m := NewMachine(cfg)
			var got []Action
			for _, s := range tt.steps {
				got = m.Handle(t0.Add(s.at), s.ev)
			}
			if d := diffActions(tt.want, got); d != "" {
				t.Errorf("actions of the last step (-want +got):\n%s", d)
			}
			st := m.Status()
			if st.State != tt.wantState {
				t.Errorf("state = %v, want %v", st.State, tt.wantState)
			}
			if st.SplitBrain != tt.wantSplitBrain {
				t.Errorf("SplitBrain = %v, want %v", st.SplitBrain, tt.wantSplitBrain)
			}
			if st.PathFailure != tt.wantPathFailure {
				t.Errorf("PathFailure = %v, want %v", st.PathFailure, tt.wantPathFailure)
			}
			if tt.wantPathFailure && st.LastReason != ReasonPathFailure {
				t.Errorf("LastReason = %v, want %v", st.LastReason, ReasonPathFailure)
			}
		})
	}
}

// A reload that switches alert to demote resolves a split brain already in progress:
// the next conflicting probe round demotes the loser.
func TestMachineVIPConflictDemoteAfterReconfigure(t *testing.T) {
	cfg := baseCfg()
	m := NewMachine(cfg)
	for _, s := range []step{{0, Startup{}}, {sec, KernelNewMaster{highAddr, 200, sec}}, {5 * sec, KernelMasterDown{}},
		{6 * sec, VIPProbed{Conflict: true, VIP: vip1, HW: peerHW}}} {
		m.Handle(t0.Add(s.at), s.ev)
	}
	if st := m.Status(); st.State != Master || !st.SplitBrain {
		t.Fatalf("before reload: %+v", st)
	}
	cfg.SplitBrain = SplitBrainDemote
	m.Reconfigure(cfg)
	m.Handle(t0.Add(7*sec), VIPProbed{Conflict: true, VIP: vip1, HW: peerHW})
	if st := m.Status(); st.State != Backup || st.SplitBrain || st.LastReason != ReasonSplitBrainDemote {
		t.Errorf("after reload and conflict: %+v", st)
	}
}

// fakeProber answers takeover probes; with a gate it blocks until the test releases
// it.
type fakeProber struct {
	mu       sync.Mutex
	answer   []VIPConflict
	err      error
	calls    int
	timeouts []time.Duration
	vips     [][]VIP
	gate     chan struct{}
}

func (f *fakeProber) ProbeVIPs(ctx context.Context, vips []VIP, timeout time.Duration) ([]VIPConflict, error) {
	f.mu.Lock()
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.timeouts = append(f.timeouts, timeout)
	f.vips = append(f.vips, slices.Clone(vips))
	return slices.Clone(f.answer), f.err
}

func (f *fakeProber) set(answer []VIPConflict, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answer, f.err = answer, err
}

func (f *fakeProber) n() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func TestRunnerTakeoverProbe(t *testing.T) {
	tests := []struct {
		name      string
		answer    []VIPConflict
		err       error
		wantState State
	}{
		{"answered: stay backup", []VIPConflict{{VIP: vip1, HW: peerHW}}, nil, Backup},
		{"silent: take over", nil, nil, Master},
		{"probe error: take over", nil, errors.New("socket: permission denied"), Master},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := inst("VI_1", 50, 100, "198.18.1.100/32")
			c.SplitBrain = SplitBrainDemote
			p := &fakeProber{answer: tt.answer, err: tt.err}
			h := newHarnessWith(t, Setup{Instances: []InstanceConfig{c}}, func(d *Deps) { d.Prober = p })
			h.r.HandleKernelEvent(KernelEvent{Key: c.Key, Kind: EventNewMaster, Addr: highAddr, Priority: 200, Interval: sec})
			h.r.HandleKernelEvent(KernelEvent{Key: c.Key, Kind: EventMasterDown, Addr: highAddr, Priority: 200})
			testutil.Eventually(t, 10*time.Second, "the takeover probe", func() bool { return p.n() == 1 })
			if tt.wantState == Backup {
				testutil.Eventually(t, 10*time.Second, "path failure", func() bool { return h.status(t, "VI_1").PathFailure })
			} else {
				testutil.Eventually(t, 10*time.Second, "takeover", func() bool { return h.status(t, "VI_1").State == Master })
			}
			st := h.status(t, "VI_1")
			if st.State != tt.wantState {
				t.Fatalf("state = %v, want %v", st.State, tt.wantState)
			}
			p.mu.Lock()
			if want := 500 * time.Millisecond; p.timeouts[0] != want {
				t.Errorf("probe timeout = %v, want %v (1 s adverts, capped)", p.timeouts[0], want)
			}
			if got := p.vips[0]; len(got) != 1 || got[0].Prefix.Addr() != vip1 {
				t.Errorf("probed VIPs = %v, want [%v]", got, vip1)
			}
			p.mu.Unlock()
			if tt.wantState == Master {
				return
			}
			if l := h.logs.Lines("another host still answers for the VIPs"); len(l) != 1 {
				t.Errorf("path failure log lines = %q, want one", l)
			}
			if got := h.addrs.get("VI_1"); len(got) != 0 {
				t.Errorf("VIPs added while staying backup: %v", got)
			}
			// Master still silent at the next deadline (lazy timer): probe again, still
			// answered, still Backup.
			h.clock.Advance(4 * sec)
			testutil.Eventually(t, 10*time.Second, "the second probe", func() bool { return p.n() == 2 })
			time.Sleep(20 * time.Millisecond) // let the result land
			h.wantState(t, "VI_1", Backup)
			// The other host stops answering: the next probe lets us take over.
			p.set(nil, nil)
			testutil.Eventually(t, 10*time.Second, "takeover once the VIPs are free", func() bool {
				h.clock.Advance(sec)
				return h.status(t, "VI_1").State == Master
			})
			if st := h.status(t, "VI_1"); st.PathFailure || st.LastReason != ReasonMasterDownExpired {
				t.Errorf("after takeover: %+v", st)
			}
		})
	}
}

// With alert (the default) the prober is never consulted: failover is not delayed.
func TestRunnerTakeoverProbeNotWithAlert(t *testing.T) {
	c := inst("VI_1", 50, 100, "198.18.1.100/32")
	p := &fakeProber{answer: []VIPConflict{{VIP: vip1, HW: peerHW}}}
	h := newHarnessWith(t, Setup{Instances: []InstanceConfig{c}}, func(d *Deps) { d.Prober = p })
	h.r.HandleKernelEvent(KernelEvent{Key: c.Key, Kind: EventNewMaster, Addr: highAddr, Priority: 200, Interval: sec})
	h.r.HandleKernelEvent(KernelEvent{Key: c.Key, Kind: EventMasterDown})
	h.wantState(t, "VI_1", Master)
	if n := p.n(); n != 0 {
		t.Errorf("prober called %d times with action alert", n)
	}
}

func (f *fakeAnnouncer) startCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.starts
}

// The Dataplane doubles as the prober when it implements VIPProber.
type probingDataplane struct {
	*fakeDataplane
	*fakeProber
}

func TestRunnerProberFromDataplane(t *testing.T) {
	c := inst("VI_1", 50, 100, "198.18.1.100/32")
	c.SplitBrain = SplitBrainDemote
	p := &fakeProber{answer: []VIPConflict{{VIP: vip1, HW: peerHW}}}
	h := newHarnessWith(t, Setup{Instances: []InstanceConfig{c}}, func(d *Deps) {
		d.Dataplane = probingDataplane{newFakeDataplane(), p}
	})
	h.r.HandleKernelEvent(KernelEvent{Key: c.Key, Kind: EventMasterDown})
	testutil.Eventually(t, 10*time.Second, "path failure", func() bool { return h.status(t, "VI_1").PathFailure })
	if p.n() != 1 {
		t.Errorf("prober calls = %d, want 1", p.n())
	}
}

// A probe result that arrives after the master was heard again changes nothing.
func TestRunnerTakeoverProbeStale(t *testing.T) {
	c := inst("VI_1", 50, 100, "198.18.1.100/32")
	c.SplitBrain = SplitBrainDemote
	p := &fakeProber{gate: make(chan struct{})} // nobody answers, once released
	h := newHarnessWith(t, Setup{Instances: []InstanceConfig{c}}, func(d *Deps) { d.Prober = p })
	h.r.HandleKernelEvent(KernelEvent{Key: c.Key, Kind: EventNewMaster, Addr: highAddr, Priority: 200, Interval: sec})
	h.r.HandleKernelEvent(KernelEvent{Key: c.Key, Kind: EventMasterDown})
	h.r.HandleKernelEvent(KernelEvent{Key: c.Key, Kind: EventNewMaster, Addr: highAddr, Priority: 200, Interval: sec})
	close(p.gate)
	testutil.Eventually(t, 10*time.Second, "the probe", func() bool { return p.n() == 1 })
	time.Sleep(20 * time.Millisecond)
	if st := h.status(t, "VI_1"); st.State != Backup || st.PathFailure {
		t.Errorf("stale probe result acted on: %+v", st)
	}
}

// Shutdown cancels a probe in flight; its result is dropped.
func TestRunnerTakeoverProbeShutdown(t *testing.T) {
	c := inst("VI_1", 50, 100, "198.18.1.100/32")
	c.SplitBrain = SplitBrainDemote
	p := &fakeProber{gate: make(chan struct{})}
	h := newHarnessWith(t, Setup{Instances: []InstanceConfig{c}}, func(d *Deps) { d.Prober = p })
	h.r.HandleKernelEvent(KernelEvent{Key: c.Key, Kind: EventMasterDown})
	if err := h.r.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The gated probe returns on cancellation without recording a call.
	time.Sleep(20 * time.Millisecond)
	if got := h.addrs.get("VI_1"); len(got) != 0 {
		t.Errorf("VIPs added after shutdown: %v", got)
	}
}

func TestRunnerVIPProbe(t *testing.T) {
	c := inst("VI_1", 50, 100, "198.18.1.100/32")
	h := newHarness(t, Setup{Instances: []InstanceConfig{c}})
	h.r.HandleKernelEvent(KernelEvent{Key: c.Key, Kind: EventNewMaster, Addr: highAddr, Priority: 200, Interval: sec})
	// Probe results for a Backup are ignored.
	h.r.ReportVIPProbe("VI_1", []VIPConflict{{VIP: vip1, HW: peerHW}})
	if st := h.status(t, "VI_1"); st.VIPConflicts != 0 || st.SplitBrain {
		t.Errorf("backup took a probe result: %+v", st)
	}
	h.r.HandleKernelEvent(KernelEvent{Key: c.Key, Kind: EventMasterDown})
	h.wantState(t, "VI_1", Master)
	starts := h.ann.startCount()

	h.r.ReportVIPProbe("VI_1", []VIPConflict{{VIP: vip1, HW: peerHW}})
	h.r.ReportVIPProbe("VI_1", []VIPConflict{{VIP: vip1, HW: peerHW}})
	st := h.status(t, "VI_1")
	if st.State != Master || !st.SplitBrain || st.VIPConflicts != 2 || st.BothMasters != 0 {
		t.Errorf("after two conflicting rounds: %+v", st)
	}
	if l := h.logs.Lines("split brain: another host answers for our VIP"); len(l) != 1 ||
		!strings.Contains(l[0], "peer_hw=02:00:00:00:00:06") || !strings.Contains(l[0], "last_master=198.18.0.6") {
		t.Errorf("split brain log = %q, want one line with the MAC and the last master", l)
	}
	var sb []Notification
	h.notif.mu.Lock()
	ns := slices.Clone(h.notif.ns)
	h.notif.mu.Unlock()
	for _, n := range ns {
		if n.State == HookSplitBrain {
			sb = append(sb, n)
		}
	}
	if len(sb) != 1 || sb[0].Peer != highAddr || sb[0].PeerPriority != 200 {
		t.Errorf("SPLIT_BRAIN notifications = %+v, want one naming the last master", sb)
	}

	h.r.ReportVIPProbe("VI_1", nil)
	if st := h.status(t, "VI_1"); st.SplitBrain || st.VIPConflicts != 2 {
		t.Errorf("after a clean round: %+v", st)
	}
	if n := h.ann.startCount(); n != starts+1 || !h.ann.isRunning("VI_1") {
		t.Errorf("GARP schedule not restarted when the split brain ended: starts %d -> %d", starts, n)
	}

	// Switching to demote by a reload: the next conflict demotes us (lb-6's case).
	c.SplitBrain = SplitBrainDemote
	if err := h.r.Reload(Setup{Instances: []InstanceConfig{c}}); err != nil {
		t.Fatal(err)
	}
	h.r.ReportVIPProbe("VI_1", []VIPConflict{{VIP: vip1, HW: peerHW}})
	st = h.status(t, "VI_1")
	if st.State != Backup || st.LastReason != ReasonSplitBrainDemote || st.SplitBrain {
		t.Errorf("after conflict with demote: %+v", st)
	}
	if got := h.addrs.get("VI_1"); len(got) != 0 {
		t.Errorf("VIPs kept after demotion: %v", got)
	}
}
