package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

func inst(name string, vrid uint8, prio uint8, vip string) InstanceConfig {
	c := baseCfg()
	c.Name = name
	c.Key = InstanceKey{Ifindex: 2, VRID: vrid}
	c.Priority = prio
	c.VIPs = []VIP{{Prefix: netip.MustParsePrefix(vip)}}
	return c
}

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func diffPrefixes(want, got []netip.Prefix) string {
	if slices.Equal(want, got) {
		return ""
	}
	return fmt.Sprintf("-%v\n+%v", want, got)
}

// priorities renders each batch as its adverts' "instance/priority".
func priorities(batches [][]OutAdvert) [][]string {
	var out [][]string
	for _, b := range batches {
		var s []string
		for _, a := range b {
			s = append(s, fmt.Sprintf("%s/%d", a.Instance, a.Priority))
		}
		out = append(out, s)
	}
	return out
}

func diffBatches(want, got [][]string) string {
	if fmt.Sprint(want) == fmt.Sprint(got) {
		return ""
	}
	return fmt.Sprintf("-%v\n+%v", want, got)
}

func TestRunnerStartsBackupAndFailsOverWhenNothingIsHeard(t *testing.T) {
	h := newHarness(t, Setup{Instances: []InstanceConfig{inst("VI_1", 50, 100, "198.18.1.100/32")}})
	h.wantState(t, "VI_1", Backup)
	if _, ok := h.dp.instances[InstanceKey{Ifindex: 2, VRID: 50}]; !ok {
		t.Fatalf("kernel instance not created")
	}
	h.clock.Advance(3*sec + skew100v3 - time.Millisecond)
	h.wantState(t, "VI_1", Backup)
	h.clock.Advance(time.Millisecond)
	h.wantState(t, "VI_1", Master)
	if d := diffPrefixes(prefixes("198.18.1.100/32"), h.addrs.get("VI_1")); d != "" {
		t.Errorf("VIPs (-want +got):\n%s", d)
	}
	if !h.ann.isRunning("VI_1") {
		t.Errorf("GARP schedule not started")
	}
	if st, p := h.dp.state(InstanceKey{Ifindex: 2, VRID: 50}); st != Master || p != 100 {
		t.Errorf("kernel state = %v/%d, want MASTER/100", st, p)
	}
	b := h.send.take()
	if d := diffBatches([][]string{{"VI_1/100"}}, priorities(b)); d != "" {
		t.Fatalf("adverts (-want +got):\n%s", d)
	}
	a := b[0][0]
	if a.Dst != DefaultGroup4 || a.Src != ourAddr || a.VRID != 50 || a.Version != 3 ||
		!slices.Equal(a.Addresses, []netip.Addr{netip.MustParseAddr("198.18.1.100")}) {
		t.Errorf("advert = %+v", a)
	}
	lines := h.logs.Lines("msg=transition")
	if len(lines) != 2 {
		t.Fatalf("transition log lines = %d, want 2:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for _, want := range []string{"instance=VI_1", "from=BACKUP", "to=MASTER", "reason=master_down_expired", "priority=100", "master=198.18.0.5"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("log line %q lacks %q", lines[1], want)
		}
	}
	h.clock.Advance(3 * sec)
	if d := diffBatches([][]string{{"VI_1/100"}, {"VI_1/100"}, {"VI_1/100"}}, priorities(h.send.take())); d != "" {
		t.Errorf("adverts over 3 intervals (-want +got):\n%s", d)
	}
}

func TestRunnerLazyMasterDownNeverFailsOverEarly(t *testing.T) {
	key := InstanceKey{Ifindex: 2, VRID: 50}
	h := newHarness(t, Setup{Instances: []InstanceConfig{inst("VI_1", 50, 100, "198.18.1.100/32")}})
	h.r.HandleKernelEvent(KernelEvent{Key: key, Kind: EventNewMaster, Addr: highAddr, Priority: 200, Interval: sec})
	mdi := 3*sec + skew100v3
	// The deadline fires (late, for a descheduled controller, or because it was
	// armed long ago), but the kernel heard the master 500 ms ago.
	h.dp.setAge(key, 500*time.Millisecond, true)
	h.clock.Advance(mdi)
	h.wantState(t, "VI_1", Backup)
	// It re-armed for the remainder (mdi − 500 ms); by then the master is silent.
	h.dp.setAge(key, mdi, true)
	h.clock.Advance(mdi - 500*time.Millisecond - time.Millisecond)
	h.wantState(t, "VI_1", Backup)
	h.clock.Advance(time.Millisecond)
	h.wantState(t, "VI_1", Master)
	if got := h.status(t, "VI_1").LastReason; got != ReasonMasterDownExpired {
		t.Errorf("reason = %v, want master_down_expired", got)
	}
}

// tenMs returns n instances VI_0… at 10 ms adverts with priority prio, VRIDs
// and VIPs (198.18.1.x) counting up from first.
func tenMs(n, first int, prio uint8) []InstanceConfig {
	var cfgs []InstanceConfig
	for i := range n {
		c := inst(fmt.Sprintf("VI_%d", i), uint8(first+i), prio, fmt.Sprintf("198.18.1.%d/32", first+i))
		c.AdvertInterval = 10 * time.Millisecond
		cfgs = append(cfgs, c)
	}
	return cfgs
}

func TestRunnerBatchesAdvertsOfManyInstances(t *testing.T) {
	h := newHarness(t, Setup{Instances: tenMs(5, 10, 255)})
	// Owners start as Master together: the first adverts go out in one batch.
	first := h.send.take()
	if len(first) != 1 || len(first[0]) != 5 {
		t.Fatalf("startup batches = %v, want one batch of 5", priorities(first))
	}
	h.clock.Advance(100 * time.Millisecond)
	b := h.send.take()
	if len(b) != 10 {
		t.Errorf("batches in 10 intervals = %d, want 10", len(b))
	}
	for _, batch := range b {
		if len(batch) != 5 {
			t.Errorf("batch of %d adverts, want 5: %v", len(batch), priorities([][]OutAdvert{batch}))
		}
	}
}

// TestRunnerAdvertRateSurvivesLateWakeups: timers that fire 2 ms late must not
// stretch a 10 ms advert period to 12 ms (the next advert is scheduled from when
// this one was due, not from when the tick ran).
func TestRunnerAdvertRateSurvivesLateWakeups(t *testing.T) {
	c := inst("VI_1", 10, 255, "198.18.1.10/32")
	c.AdvertInterval = 10 * time.Millisecond
	h := newHarness(t, Setup{Instances: []InstanceConfig{c}})
	h.send.take()
	h.clock.mu.Lock()
	h.clock.late = 2 * time.Millisecond
	h.clock.mu.Unlock()
	h.clock.Advance(time.Second)
	if n := len(h.send.take()); n < 99 || n > 101 {
		t.Errorf("adverts in 1 s at 10 ms with 2 ms late wake-ups = %d, want 100", n)
	}
}

func TestRunnerAdvertPhasesConverge(t *testing.T) {
	// Two backups become Master 30 ms apart (1 s interval); after one tick they send
	// together.
	a, b := inst("A", 1, 100, "198.18.1.1/32"), inst("B", 2, 100, "198.18.1.2/32")
	h := newHarness(t, Setup{Instances: []InstanceConfig{a, b}})
	h.r.HandleKernelEvent(KernelEvent{Key: a.Key, Kind: EventMasterDown})
	h.clock.Advance(30 * time.Millisecond)
	h.r.HandleKernelEvent(KernelEvent{Key: b.Key, Kind: EventMasterDown})
	h.send.take()
	h.clock.Advance(5 * sec)
	got := priorities(h.send.take())
	want := [][]string{{"A/100", "B/100"}, {"A/100", "B/100"}, {"A/100", "B/100"}, {"A/100", "B/100"}, {"A/100", "B/100"}}
	if d := diffBatches(want, got); d != "" {
		t.Errorf("batches (-want +got):\n%s", d)
	}
}

// TestRunnerAdvertGridMergesPhases: at 10 ms the batch window (1.25 ms) cannot
// merge instances that became Master a few milliseconds apart; the advert grid
// does, after one early advert each, and keeps every instance's adverts at most
// one interval apart.
func TestRunnerAdvertGridMergesPhases(t *testing.T) {
	cfgs := tenMs(3, 1, 100)
	h := newHarness(t, Setup{Instances: cfgs})
	h.clock.Advance(1234 * time.Microsecond) // off the grid
	for _, c := range cfgs {
		h.r.HandleKernelEvent(KernelEvent{Key: c.Key, Kind: EventMasterDown})
		h.clock.Advance(3300 * time.Microsecond)
	}
	h.clock.mu.Lock()
	h.clock.late = 700 * time.Microsecond // and every wake-up late
	h.clock.mu.Unlock()
	h.clock.Advance(time.Second)
	batches, at := h.send.takeTimed()
	last := map[string]time.Time{}
	full := 0
	for i, b := range batches {
		for _, a := range b {
			if prev, ok := last[a.Instance]; ok && at[i].Sub(prev) > 10*time.Millisecond+700*time.Microsecond {
				t.Errorf("%s: advert %v after the previous one, want at most the interval (+ the wake-up latency)", a.Instance, at[i].Sub(prev))
			}
			last[a.Instance] = at[i]
		}
		if len(b) == 3 {
			full++
		}
	}
	// 1 s of 10 ms adverts: about 100 batches, all but the first few with every instance.
	if len(batches) > 104 || full < 98 {
		t.Errorf("%d batches, %d with all 3 instances; want ~100 batches of 3:\n%v", len(batches), full, priorities(batches[:min(len(batches), 8)]))
	}
}

func TestRunnerPreemptedMasterReleasesVIPs(t *testing.T) {
	c := inst("VI_1", 50, 255, "198.18.1.100/32")
	h := newHarness(t, Setup{Instances: []InstanceConfig{c}})
	h.wantState(t, "VI_1", Master)
	h.r.HandleKernelEvent(KernelEvent{Key: c.Key, Kind: EventPreempt, Addr: highAddr, Priority: 255, Interval: sec})
	h.wantState(t, "VI_1", Backup)
	if got := h.addrs.get("VI_1"); len(got) != 0 {
		t.Errorf("VIPs left: %v", got)
	}
	if h.ann.isRunning("VI_1") {
		t.Errorf("GARP schedule still running")
	}
	st := h.status(t, "VI_1")
	if st.Master != highAddr || st.LastReason != ReasonHigherPrioritySeen {
		t.Errorf("status = master %v reason %v", st.Master, st.LastReason)
	}
	h.send.take()
	h.clock.Advance(2 * sec)
	if b := h.send.take(); len(b) != 0 {
		t.Errorf("a backup sent adverts: %v", priorities(b))
	}
	if d := diffBatches(nil, nil); d != "" {
		t.Fatal(d)
	}
	want := []string{"INSTANCE VI_1 MASTER", "INSTANCE VI_1 BACKUP"}
	if got := h.notif.summary(); !slices.Equal(got, want) {
		t.Errorf("notifications = %v, want %v", got, want)
	}
	wantT := []TransitionCount{
		{From: Init, To: Master, Reason: ReasonPriorityOwner, Count: 1},
		{From: Master, To: Backup, Reason: ReasonHigherPrioritySeen, Count: 1},
	}
	if got := st.Transitions; !slices.Equal(got, wantT) {
		t.Errorf("transitions = %+v, want %+v", got, wantT)
	}
	h.tmu.Lock()
	n := len(h.trans)
	h.tmu.Unlock()
	if n != 2 {
		t.Errorf("transition hook called %d times, want 2", n)
	}
}

func TestRunnerShutdownSendsPriorityZeroInOneBatch(t *testing.T) {
	a, b, c := inst("A", 1, 255, "198.18.1.1/32"), inst("B", 2, 255, "198.18.1.2/32"), inst("C", 3, 100, "198.18.1.3/32")
	h := newHarness(t, Setup{Instances: []InstanceConfig{a, b, c}})
	h.send.take()
	h.send.onSend = func(b []OutAdvert) {
		h.addrs.record("send " + strings.Join(priorities([][]OutAdvert{b})[0], " "))
	}
	ops0 := len(h.addrs.ops)
	if err := h.r.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if d := diffBatches([][]string{{"A/0", "B/0"}}, priorities(h.send.take())); d != "" {
		t.Errorf("shutdown adverts (-want +got):\n%s", d)
	}
	// The priority-0 adverts leave before any VIP does (RFC 5798 6.4.3; the
	// backup's Skew_Time starts while this host still serves).
	wantOps := []string{"send A/0 B/0", "remove A 198.18.1.1/32", "remove B 198.18.1.2/32"}
	if got := h.addrs.ops[ops0:]; !slices.Equal(got, wantOps) {
		t.Errorf("shutdown order:\n got %q\nwant %q", got, wantOps)
	}
	for _, n := range []string{"A", "B", "C"} {
		if got := h.addrs.get(n); len(got) != 0 {
			t.Errorf("%s VIPs left: %v", n, got)
		}
		h.wantState(t, n, Init)
	}
	h.clock.Advance(10 * sec)
	if b := h.send.take(); len(b) != 0 {
		t.Errorf("adverts after shutdown: %v", priorities(b))
	}
	stops := 0
	for _, s := range h.notif.summary() {
		if strings.HasSuffix(s, " STOP") {
			stops++
		}
	}
	if stops != 3 {
		t.Errorf("STOP notifications = %d, want 3", stops)
	}
}

func TestRunnerReload(t *testing.T) {
	keep, change, drop := inst("keep", 1, 255, "198.18.1.1/32"), inst("change", 2, 255, "198.18.1.2/32"), inst("drop", 3, 255, "198.18.1.3/32")
	h := newHarness(t, Setup{Instances: []InstanceConfig{keep, change, drop}})
	h.send.take()
	h.tmu.Lock()
	h.trans = nil
	h.tmu.Unlock()

	change2 := change
	change2.VIPs = []VIP{{Prefix: netip.MustParsePrefix("198.18.1.22/32")}}
	change2.Preempt = false
	added := inst("added", 4, 100, "198.18.1.4/32")
	if err := h.r.Reload(Setup{Instances: []InstanceConfig{keep, change2, added}}); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	h.wantState(t, "keep", Master)
	h.wantState(t, "change", Master)
	h.wantState(t, "added", Backup)
	if d := diffPrefixes(prefixes("198.18.1.1/32"), h.addrs.get("keep")); d != "" {
		t.Errorf("keep VIPs (-want +got):\n%s", d)
	}
	if d := diffPrefixes(prefixes("198.18.1.22/32"), h.addrs.get("change")); d != "" {
		t.Errorf("change VIPs (-want +got):\n%s", d)
	}
	if got := h.addrs.get("drop"); len(got) != 0 {
		t.Errorf("drop VIPs left: %v", got)
	}
	if d := diffBatches([][]string{{"drop/0"}}, priorities(h.send.take())); d != "" {
		t.Errorf("reload adverts (-want +got):\n%s", d)
	}
	if !slices.Contains(h.dp.deleted, drop.Key) {
		t.Errorf("kernel instance of drop not deleted")
	}
	if kc := h.dp.instances[change.Key]; kc.Preempt {
		t.Errorf("kernel config of change not updated: %+v", kc)
	}
	h.tmu.Lock()
	var got []string
	for _, tr := range h.trans {
		got = append(got, tr.Instance+" "+tr.From.String()+">"+tr.To.String()+" "+tr.Reason.String())
	}
	h.tmu.Unlock()
	want := []string{"drop MASTER>INIT config_reload", "added INIT>BACKUP startup"}
	if !slices.Equal(got, want) {
		t.Errorf("transitions = %v, want %v", got, want)
	}
	h.clock.Advance(sec)
	if d := diffBatches([][]string{{"change/255", "keep/255"}}, priorities(h.send.take())); d != "" {
		t.Errorf("adverts after reload (-want +got):\n%s", d)
	}

	if err := h.r.Reload(Setup{Instances: []InstanceConfig{keep, keep}}); err == nil {
		t.Errorf("Reload with a duplicate instance succeeded")
	}
	h.wantState(t, "change", Master)
}

func TestRunnerSyncGroup(t *testing.T) {
	a, b := inst("A", 1, 100, "198.18.1.1/32"), inst("B", 2, 100, "198.18.1.2/32")
	b.Interface = "eth1"
	h := newHarness(t, Setup{
		Instances:  []InstanceConfig{a, b},
		SyncGroups: []SyncGroupConfig{{Name: "G", Instances: []string{"A", "B"}}},
	})
	// A's master dies: B follows A to Master.
	h.r.HandleKernelEvent(KernelEvent{Key: a.Key, Kind: EventMasterDown})
	h.wantState(t, "A", Master)
	h.wantState(t, "B", Master)
	if got := h.status(t, "B").LastReason; got != ReasonSyncGroup {
		t.Errorf("B reason = %v, want sync_group", got)
	}
	if d := diffPrefixes(prefixes("198.18.1.2/32"), h.addrs.get("B")); d != "" {
		t.Errorf("B VIPs (-want +got):\n%s", d)
	}
	// B's interface goes down: A follows into FAULT.
	h.links.set("eth1", false)
	h.wantState(t, "B", Fault)
	h.wantState(t, "A", Fault)
	if got := h.addrs.get("A"); len(got) != 0 {
		t.Errorf("A VIPs left: %v", got)
	}
	// B recovers: both come back as Backup.
	h.links.set("eth1", true)
	h.wantState(t, "B", Backup)
	h.wantState(t, "A", Backup)
	if !slices.Contains(h.notif.summary(), "GROUP G FAULT") {
		t.Errorf("no group notification: %v", h.notif.summary())
	}
}

// TestRunnerSyncGroupStop: a sync group starts in BACKUP; on shutdown every instance gets STOP, then every sync
// group (notify_stop and the generic notify), as keepalived's notify_shutdown
// does (keepalived/vrrp/vrrp_notify.c): instances first, then groups.
func TestRunnerSyncGroupStop(t *testing.T) {
	a, b := inst("A", 1, 100, "198.18.1.1/32"), inst("B", 2, 100, "198.18.1.2/32")
	b.Interface = "eth1"
	h := newHarness(t, Setup{
		Instances:  []InstanceConfig{a, b},
		SyncGroups: []SyncGroupConfig{{Name: "G", Instances: []string{"A", "B"}, Notify: NotifyConfig{Stop: []string{"/g-stop.sh"}}}},
	})
	// The group's first state is BACKUP, with its members' startup, as
	// keepalived's GROUP BACKUP line and group notify_backup at start.
	if got := h.notif.summary(); !slices.Contains(got, "GROUP G BACKUP") {
		t.Errorf("no GROUP G BACKUP at startup: %q", got)
	}
	h.r.HandleKernelEvent(KernelEvent{Key: a.Key, Kind: EventMasterDown})
	h.wantState(t, "B", Master)
	if err := h.r.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := h.notif.summary()
	want := []string{"INSTANCE A STOP", "INSTANCE B STOP", "GROUP G STOP"}
	if len(got) < len(want) || !slices.Equal(got[len(got)-len(want):], want) {
		t.Errorf("notifications end (-want +got):\n-%q\n+%q", want, got)
	}
}

func TestRunnerTrackerWeights(t *testing.T) {
	c := inst("VI_1", 50, 100, "198.18.1.100/32")
	c.TrackInterfaces = []TrackRef{{Name: "uplink", Weight: -30}, {Name: "mgmt", Weight: 0}}
	h := newHarness(t, Setup{Instances: []InstanceConfig{c}})
	h.r.HandleKernelEvent(KernelEvent{Key: c.Key, Kind: EventMasterDown})
	h.send.take()
	h.links.set("uplink", false)
	if st := h.status(t, "VI_1"); st.EffectivePriority != 70 || st.State != Master {
		t.Fatalf("after uplink down: %v/%d, want MASTER/70", st.State, st.EffectivePriority)
	}
	if _, p := h.dp.state(c.Key); p != 70 {
		t.Errorf("kernel priority = %d, want 70", p)
	}
	h.clock.Advance(sec)
	if d := diffBatches([][]string{{"VI_1/70"}}, priorities(h.send.take())); d != "" {
		t.Errorf("adverts (-want +got):\n%s", d)
	}
	h.links.set("mgmt", false)
	h.wantState(t, "VI_1", Fault)
	if d := diffBatches([][]string{{"VI_1/0"}}, priorities(h.send.take())); d != "" {
		t.Errorf("fault adverts (-want +got):\n%s", d)
	}
	if st := h.status(t, "VI_1"); st.LastReason != ReasonTrackerFailed {
		t.Errorf("reason = %v", st.LastReason)
	}
	h.links.set("mgmt", true)
	h.links.set("uplink", true)
	if st := h.status(t, "VI_1"); st.State != Backup || st.EffectivePriority != 100 {
		t.Errorf("after recovery: %v/%d, want BACKUP/100", st.State, st.EffectivePriority)
	}
}

func TestRunnerPrimaryInterfaceDown(t *testing.T) {
	c := inst("VI_1", 50, 255, "198.18.1.100/32")
	h := newHarness(t, Setup{Instances: []InstanceConfig{c}})
	h.wantState(t, "VI_1", Master)
	h.send.take()
	h.links.set("eth0", false)
	h.wantState(t, "VI_1", Fault)
	if b := h.send.take(); len(b) != 0 {
		t.Errorf("adverts on a down link: %v", priorities(b))
	}
	if got := h.addrs.get("VI_1"); len(got) != 0 {
		t.Errorf("VIPs left: %v", got)
	}
	h.links.set("eth0", true)
	h.wantState(t, "VI_1", Master)
}

func TestRunnerSplitBrainOnSecondaryPath(t *testing.T) {
	second := InstanceKey{Ifindex: 3, VRID: 50}
	peerB := netip.MustParseAddr("198.19.0.6")
	tests := []struct {
		name      string
		action    SplitBrainAction
		peerPrio  uint8
		wantState State
	}{
		{"alert keeps master", SplitBrainAlert, 200, Master},
		{"demote loser", SplitBrainDemote, 200, Backup},
		{"demote winner stays", SplitBrainDemote, 50, Master},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := inst("VI_1", 50, 100, "198.18.1.100/32")
			c.SplitBrain = tt.action
			c.SecondaryPaths = []Path{{Key: second, Interface: "eth1", Src: netip.MustParseAddr("198.19.0.5")}}
			h := newHarness(t, Setup{Instances: []InstanceConfig{c}})
			if kc, ok := h.dp.instances[second]; !ok || !kc.Secondary {
				t.Fatalf("secondary path not registered: %+v", kc)
			}
			// Secondary-path events do nothing to a Backup.
			h.r.HandleKernelEvent(KernelEvent{Key: second, Kind: EventNewMaster, Addr: peerB, Priority: tt.peerPrio})
			h.wantState(t, "VI_1", Backup)
			h.r.HandleKernelEvent(KernelEvent{Key: c.Key, Kind: EventMasterDown})
			h.wantState(t, "VI_1", Master)
			b := h.send.take()
			if len(b) != 1 || len(b[0]) != 2 || b[0][1].Key != second || b[0][1].Interface != "eth1" {
				t.Errorf("master adverts do not cover the secondary path: %+v", b)
			}
			h.r.HandleKernelEvent(KernelEvent{Key: second, Kind: EventNewMaster, Addr: peerB, Priority: tt.peerPrio})
			h.wantState(t, "VI_1", tt.wantState)
			st := h.status(t, "VI_1")
			if st.BothMasters != 1 {
				t.Errorf("BothMasters = %d, want 1", st.BothMasters)
			}
			if !slices.Contains(h.notif.summary(), "INSTANCE VI_1 SPLIT_BRAIN") {
				t.Errorf("no SPLIT_BRAIN notification: %v", h.notif.summary())
			}
			if l := h.logs.Lines("split brain"); len(l) != 1 || !strings.Contains(l[0], "peer=198.19.0.6") || !strings.Contains(l[0], "local=198.18.0.5") {
				t.Errorf("split brain log = %v", l)
			}
			if tt.wantState == Master && !st.SplitBrain {
				t.Errorf("SplitBrain not reported while both are master")
			}
		})
	}
}

func TestRunnerPathFailure(t *testing.T) {
	second := InstanceKey{Ifindex: 3, VRID: 50}
	for _, takeover := range []bool{false, true} {
		t.Run(fmt.Sprintf("takeover=%v", takeover), func(t *testing.T) {
			c := inst("VI_1", 50, 100, "198.18.1.100/32")
			c.SecondaryPaths = []Path{{Key: second}}
			c.TakeoverOnPathFailure = takeover
			h := newHarness(t, Setup{Instances: []InstanceConfig{c}})
			h.r.HandleKernelEvent(KernelEvent{Key: c.Key, Kind: EventNewMaster, Addr: highAddr, Priority: 200, Interval: sec})
			h.dp.setAge(second, 200*time.Millisecond, true) // still heard on the secondary path
			h.r.HandleKernelEvent(KernelEvent{Key: c.Key, Kind: EventMasterDown})
			if takeover {
				h.wantState(t, "VI_1", Master)
				return
			}
			h.wantState(t, "VI_1", Backup)
			st := h.status(t, "VI_1")
			if !st.PathFailure || st.LastReason != ReasonPathFailure {
				t.Errorf("path failure not reported: %+v", st)
			}
			// Still only on the secondary path at the next deadline: still Backup.
			h.clock.Advance(4 * sec)
			h.wantState(t, "VI_1", Backup)
			// The secondary goes silent too: take over.
			h.dp.setAge(second, 0, false)
			h.clock.Advance(4 * sec)
			h.wantState(t, "VI_1", Master)
			if st := h.status(t, "VI_1"); st.PathFailure {
				t.Errorf("path failure still reported as Master")
			}
		})
	}
}

func TestRunnerVIPConflict(t *testing.T) {
	c := inst("VI_1", 50, 255, "198.18.1.100/32")
	h := newHarness(t, Setup{Instances: []InstanceConfig{c}})
	h.r.ReportVIPConflict("VI_1", netip.MustParseAddr("198.18.1.100"), net.HardwareAddr{2, 0, 0, 0, 0, 1})
	if st := h.status(t, "VI_1"); st.VIPConflicts != 1 || st.State != Master {
		t.Errorf("after conflict: %+v", st)
	}
	if !slices.Contains(h.notif.summary(), "INSTANCE VI_1 SPLIT_BRAIN") {
		t.Errorf("no SPLIT_BRAIN notification")
	}
}

func TestNewRunnerRejectsInvalidSetups(t *testing.T) {
	good := inst("VI_1", 50, 100, "198.18.1.100/32")
	deps := Deps{Dataplane: newFakeDataplane(), Addresses: newFakeAddresses(), Sender: &fakeSender{}}
	tests := []struct {
		name string
		s    Setup
	}{
		{"duplicate name", Setup{Instances: []InstanceConfig{good, good}}},
		{"duplicate key", Setup{Instances: []InstanceConfig{good, func() InstanceConfig { c := good; c.Name = "x"; return c }()}}},
		{"bad version", Setup{Instances: []InstanceConfig{func() InstanceConfig { c := good; c.Version = 4; return c }()}}},
		{"unknown tracker", Setup{Instances: []InstanceConfig{func() InstanceConfig { c := good; c.Track = []TrackRef{{Name: "nope"}}; return c }()}}},
		{"tracker with check and link", Setup{Trackers: []TrackerConfig{{Name: "t", Check: &scriptedCheck{}, Link: "eth0"}}}},
		{"unknown sync member", Setup{Instances: []InstanceConfig{good}, SyncGroups: []SyncGroupConfig{{Name: "g", Instances: []string{"nope"}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewRunner(deps, tt.s); err == nil {
				t.Errorf("NewRunner accepted %s", tt.name)
			}
		})
	}
	if _, err := NewRunner(deps, Setup{Instances: []InstanceConfig{good}}); err != nil {
		t.Errorf("NewRunner rejected a good setup: %v", err)
	}
}

// TestRunnerCheckWebScript is the tutorial's check_web.sh: a weight-0 tracker whose
// script tries to restart nginx and exits non-zero when that fails puts the Master in
// FAULT and releases the VIP; when the restart works, nothing happens.
func TestRunnerCheckWebScript(t *testing.T) {
	for _, tt := range []struct {
		name      string
		restart   string // stands in for "systemctl restart nginx"
		wantState State
	}{
		{"restart fails: give up the VIP", "false", Fault},
		{"restart works: keep the VIP", "true", Master},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			script := filepath.Join(dir, "check_web.sh")
			body := "#!/bin/sh\n" +
				"# nginx is down (no pid file); try to restart it\n" +
				"[ -e " + filepath.Join(dir, "nginx.pid") + " ] && exit 0\n" +
				"touch " + filepath.Join(dir, "tried") + "\n" +
				tt.restart + " || exit 1\n" +
				"exit 0\n"
			if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
				t.Fatal(err)
			}
			c := inst("VI_1", 50, 100, "198.18.1.100/32")
			c.Track = []TrackRef{{Name: "check_web", Weight: 0}}
			h := newHarness(t, Setup{
				Instances: []InstanceConfig{c},
				Trackers:  []TrackerConfig{{Name: "check_web", Check: commandCheck{script}, Interval: 2 * sec, Timeout: 10 * sec}},
			})
			h.r.HandleKernelEvent(KernelEvent{Key: c.Key, Kind: EventMasterDown})
			testutil.Eventually(t, 10*time.Second, "the script's verdict", func() bool {
				if _, err := os.Stat(filepath.Join(dir, "tried")); err != nil {
					return false
				}
				trs := h.status(t, "VI_1").Trackers
				failed := len(trs) == 1 && trs[0].LastError != ""
				return len(trs) == 1 && failed == (tt.wantState == Fault)
			})
			if tt.wantState == Fault {
				testutil.Eventually(t, 10*time.Second, "FAULT", func() bool { return h.status(t, "VI_1").State == Fault })
				if got := h.addrs.get("VI_1"); len(got) != 0 {
					t.Errorf("VIPs left: %v", got)
				}
				return
			}
			h.wantState(t, "VI_1", Master)
		})
	}
}

func TestRunnerRunPumpsEventsAndShutsDown(t *testing.T) {
	c := inst("VI_1", 50, 100, "198.18.1.100/32")
	dp, addrs, send := newFakeDataplane(), newFakeAddresses(), &fakeSender{}
	r, err := NewRunner(Deps{Clock: newFakeClock(), Dataplane: dp, Addresses: addrs, Sender: send,
		Logger: slog.New(slog.DiscardHandler)}, Setup{Instances: []InstanceConfig{c}})
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan KernelEvent)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, events) }()
	events <- KernelEvent{Key: c.Key, Kind: EventMasterDown}
	testutil.Eventually(t, 10*time.Second, "MASTER", func() bool { return len(r.Snapshot()) == 1 && r.Snapshot()[0].State == Master })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if st := r.Snapshot()[0].State; st != Init {
		t.Errorf("state after Run = %v, want INIT", st)
	}
	if got := addrs.get("VI_1"); len(got) != 0 {
		t.Errorf("VIPs left after Run: %v", got)
	}
	b := send.take()
	if last := b[len(b)-1]; last[0].Priority != 0 {
		t.Errorf("last advert priority = %d, want 0", last[0].Priority)
	}
	if err := r.Reload(Setup{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Reload after shutdown = %v, want ErrClosed", err)
	}
}

func TestRunnerHandoverWait(t *testing.T) {
	fast, slow, backup := inst("A", 1, 255, "198.18.1.1/32"), inst("B", 2, 255, "198.18.1.2/32"), inst("C", 3, 100, "198.18.1.3/32")
	fast.AdvertInterval = 10 * time.Millisecond
	slow.AdvertInterval = 300 * time.Millisecond
	backup.AdvertInterval = 5 * time.Second // never Master: does not count
	h := newHarness(t, Setup{Instances: []InstanceConfig{fast, slow, backup}})
	if got := h.r.HandoverWait(); got != 0 {
		t.Errorf("HandoverWait before Shutdown = %v, want 0", got)
	}
	if err := h.r.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := h.r.HandoverWait(); got != 375*time.Millisecond {
		t.Errorf("HandoverWait = %v, want 1.25 intervals of the slowest resigning Master, 375ms", got)
	}

	only := inst("D", 4, 100, "198.18.1.4/32")
	h = newHarness(t, Setup{Instances: []InstanceConfig{only}})
	if err := h.r.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := h.r.HandoverWait(); got != 0 {
		t.Errorf("HandoverWait with no Master = %v, want 0", got)
	}

	v2 := inst("E", 5, 255, "198.18.1.5/32")
	v2.Version, v2.AdvertInterval = 2, 10*time.Second
	h = newHarness(t, Setup{Instances: []InstanceConfig{v2}})
	if err := h.r.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := h.r.HandoverWait(); got != 1250*time.Millisecond {
		t.Errorf("HandoverWait at 10 s adverts = %v, want the 1.25 s cap", got)
	}
}

// firstValueCheck is a valued check (track_file) whose first read returns value
// and whose later reads never finish before their context ends.
type firstValueCheck struct {
	value int
	calls *atomic.Int32
}

func (firstValueCheck) Valued() {}

func (c firstValueCheck) Check(ctx context.Context) CheckResult {
	if c.calls.Add(1) == 1 {
		return CheckResult{OK: true, Value: c.value}
	}
	<-ctx.Done()
	return CheckResult{Err: ctx.Err()}
}

// TestRunnerTrackFileReadBeforeStart: a tracked file's value counts from the
// first state on, as keepalived reads it before its instances start
// (keepalived/trackers/track_file.c): a file holding 10 with weight 1 starts the
// instance at 110, not at 100 (nor 101) until a poll comes back.
func TestRunnerTrackFileReadBeforeStart(t *testing.T) {
	c := inst("VI_1", 50, 100, "198.18.1.100/32")
	c.Track = []TrackRef{{Name: "tf", Weight: 1}}
	calls := &atomic.Int32{}
	h := newHarness(t, Setup{
		Instances: []InstanceConfig{c},
		Trackers:  []TrackerConfig{{Name: "tf", Check: firstValueCheck{value: 10, calls: calls}, Interval: time.Hour, Timeout: time.Hour}},
	})
	if st := h.status(t, "VI_1"); st.EffectivePriority != 110 {
		t.Errorf("first effective priority %d, want 110 (100 + 10 × 1)", st.EffectivePriority)
	}
}
