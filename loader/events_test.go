package loader

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
	"github.com/ebpfvrrp/ebpfvrrp/vrrp"
)

// TestMasterDownTimer: a Backup that heard a master once gets MASTER_DOWN from
// the bpf_timer about Master_Down_Interval later, through the Events channel,
// and the master is forgotten so its return is a NEW_MASTER again.
func TestMasterDownTimer(t *testing.T) {
	testutil.Privileged(t)
	d := newDataplane(t)
	ns := testutil.NewNetns(t, "evtmr")
	k := InstanceKey{Ifindex: testIfindex, VRID: 7, Family: FamilyIPv4}
	// 50 ms adverts: MDI = 3*5cs + (156*5)/256 cs = 18 cs = 180 ms.
	if err := d.SetInstance(k, InstanceConfig{State: StateBackup, Priority: 100, Version: 3, Interval: 50 * time.Millisecond, Primary: ipSelf, Addresses: []netip.Addr{vip4}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := d.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a := vrrp.Advertisement{Version: 3, VRID: 7, Priority: 200, Interval: 50 * time.Millisecond, Addresses: []netip.Addr{vip4}, Source: ipA}
	frame := ether(advert(t, a, 255))
	sent := time.Now()
	if v := runIn(t, ns, d.RunXDP, frame); v != XDPPass {
		t.Fatalf("verdict %d, want pass", v)
	}
	mi, ok, err := d.Master(k)
	if err != nil || !ok || mi.Addr != ipA || mi.Priority != 200 || mi.Interval != 50*time.Millisecond {
		t.Fatalf("Master = %+v, %v, %v; want %v prio 200 interval 50ms", mi, ok, err, ipA)
	}
	want := []EventType{EventNewMaster, EventMasterDown}
	for _, w := range want {
		select {
		case e := <-events:
			if e.Type != w || e.Key != k || e.Addr != ipA || e.Priority != 200 {
				t.Fatalf("event %+v, want %v from %v prio 200 on %v", e, w, ipA, k)
			}
			if w == EventMasterDown {
				t.Logf("MASTER_DOWN %v after the advert (MDI 180ms)", time.Since(sent))
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %v event within 10s", w)
		}
	}
	if _, ok, _ := d.Master(k); ok {
		t.Errorf("master still known after MASTER_DOWN")
	}
	runIn(t, ns, d.RunXDP, frame)
	select {
	case e := <-events:
		if e.Type != EventNewMaster {
			t.Errorf("after master down, advert gave %v, want new_master", e.Type)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no NEW_MASTER after the master returned")
	}
	// Leaving Backup: the timer armed by that advert must not fire into a
	// later period.
	if err := d.SetState(k, StateMaster, 100); err != nil {
		t.Fatal(err)
	}
	if err := d.SetState(k, StateBackup, 100); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-events:
		t.Errorf("unexpected event after state change: %+v", e)
	case <-time.After(500 * time.Millisecond):
	}
}

// TestPreemptHoldsNoTimer: with preempt on, a lower-priority master does not
// hold our timer (RFC 5798 6.4.2): MASTER_DOWN comes even while it adverts,
// and Master().Age keeps growing for the userspace deadline.
func TestPreemptHoldsNoTimer(t *testing.T) {
	testutil.Privileged(t)
	d := newDataplane(t)
	ns := testutil.NewNetns(t, "evpre")
	k := InstanceKey{Ifindex: testIfindex, VRID: 8, Family: FamilyIPv4}
	if err := d.SetInstance(k, InstanceConfig{State: StateBackup, Priority: 200, Version: 3, Preempt: true, Interval: 50 * time.Millisecond, Primary: ipSelf, Addresses: []netip.Addr{vip4}}); err != nil {
		t.Fatal(err)
	}
	a := vrrp.Advertisement{Version: 3, VRID: 8, Priority: 100, Interval: 50 * time.Millisecond, Addresses: []netip.Addr{vip4}, Source: ipA}
	runIn(t, ns, d.RunXDP, ether(advert(t, a, 255)))
	got := drainEvents(t, d)
	if len(got) != 1 || got[0].Type != EventNewMaster {
		t.Fatalf("events %+v, want one new_master", got)
	}
	mi, ok, err := d.Master(k)
	if err != nil || !ok {
		t.Fatalf("Master: %v %v", ok, err)
	}
	if mi.Age != time.Duration(1<<63-1) {
		t.Errorf("Age = %v, want max: a lower master never held our timer", mi.Age)
	}
}

// TestStateChangeForgetsMaster: a state write by the controller (epoch) makes
// the next advert in Backup a NEW_MASTER even from the same router.
func TestStateChangeForgetsMaster(t *testing.T) {
	testutil.Privileged(t)
	d := newDataplane(t)
	ns := testutil.NewNetns(t, "evepo")
	k := InstanceKey{Ifindex: testIfindex, VRID: 9, Family: FamilyIPv4}
	if err := d.SetInstance(k, InstanceConfig{State: StateBackup, Priority: 100, Version: 3, Interval: time.Second, Primary: ipSelf, Addresses: []netip.Addr{vip4}}); err != nil {
		t.Fatal(err)
	}
	frame := ether(advert(t, v3adv(9, 150, ipA), 255))
	runIn(t, ns, d.RunXDP, frame)
	runIn(t, ns, d.RunXDP, frame)
	if got := drainEvents(t, d); len(got) != 1 || got[0].Type != EventNewMaster {
		t.Fatalf("events %+v, want one new_master", got)
	}
	// A priority-only change keeps the state, hence the master.
	if err := d.SetState(k, StateBackup, 90); err != nil {
		t.Fatal(err)
	}
	runIn(t, ns, d.RunXDP, frame)
	if got := drainEvents(t, d); len(got) != 0 {
		t.Fatalf("events %+v after a priority-only change, want none", got)
	}
	if err := d.SetState(k, StateMaster, 90); err != nil {
		t.Fatal(err)
	}
	if err := d.SetState(k, StateBackup, 90); err != nil {
		t.Fatal(err)
	}
	runIn(t, ns, d.RunXDP, frame)
	if got := drainEvents(t, d); len(got) != 1 || got[0].Type != EventNewMaster {
		t.Fatalf("events %+v, want one new_master", got)
	}
}

// TestVIPGuard: ARP requests and neighbour solicitations for a VIP pass while
// its lease is valid and are dropped (and counted) once it lapsed; other
// addresses and other interfaces are never touched.
func TestVIPGuard(t *testing.T) {
	testutil.Privileged(t)
	d := newDataplane(t)
	ns := testutil.NewNetns(t, "evvip")
	for _, vip := range []netip.Addr{vip4, vip6} {
		frame := arpRequest(vip)
		other := arpRequest(ipSelf)
		if vip.Is6() {
			frame = neighborSolicit(vip)
			other = neighborSolicit(netip.MustParseAddr("fd00:198:18::1"))
		}
		if err := d.SetVIPLease(testIfindex, vip, time.Hour); err != nil {
			t.Fatal(err)
		}
		if v := runIn(t, ns, d.RunXDP, frame); v != XDPPass {
			t.Errorf("%v: valid lease: verdict %d, want pass", vip, v)
		}
		if err := d.SetVIPLease(testIfindex, vip, -time.Second); err != nil {
			t.Fatal(err)
		}
		if v := runIn(t, ns, d.RunXDP, frame); v != XDPDrop {
			t.Errorf("%v: lapsed lease: verdict %d, want drop", vip, v)
		}
		if v := runIn(t, ns, d.RunTC, frame); v != TCShot {
			t.Errorf("%v: lapsed lease, tc: verdict %d, want shot", vip, v)
		}
		if v := runIn(t, ns, d.RunXDP, other); v != XDPPass {
			t.Errorf("%v: other address: verdict %d, want pass", vip, v)
		}
		if vip.Is4() {
			// Only well-formed Ethernet/IPv4 requests are guarded.
			reply := arpRequest(vip)
			reply[21] = 2
			odd := arpRequest(vip)
			odd[19] = 16 // plen: the target is not where an IPv4 ARP has it
			for name, f := range map[string][]byte{"arp reply": reply, "plen 16": odd} {
				if v := runIn(t, ns, d.RunXDP, f); v != XDPPass {
					t.Errorf("%v: %s: verdict %d, want pass", vip, name, v)
				}
			}
		}
		if n, err := d.VIPGuarded(testIfindex, vip); err != nil || n != 2 {
			t.Errorf("%v: guarded = %d, %v; want 2", vip, n, err)
		}
		if err := d.SetVIPLease(testIfindex+1, vip, -time.Second); err != nil {
			t.Fatal(err)
		}
		if err := d.DeleteVIPLease(testIfindex, vip); err != nil {
			t.Fatal(err)
		}
		if v := runIn(t, ns, d.RunXDP, frame); v != XDPPass {
			t.Errorf("%v: lease on another interface only: verdict %d, want pass", vip, v)
		}
	}
}

// TestEventsLostCounted: when the controller does not drain the ring buffer,
// records that do not fit are counted in events_lost (none vanish silently),
// and last_event still holds the newest event.
func TestEventsLostCounted(t *testing.T) {
	testutil.Privileged(t)
	d := newDataplane(t)
	ns := testutil.NewNetns(t, "evlost")
	k := InstanceKey{Ifindex: testIfindex, VRID: 11, Family: FamilyIPv4}
	if err := d.SetInstance(k, InstanceConfig{State: StateBackup, Priority: 100, Version: 3, Interval: time.Second, Primary: ipSelf, Addresses: []netip.Addr{vip4}}); err != nil {
		t.Fatal(err)
	}
	if n, err := d.EventsLost(); err != nil || n != 0 {
		t.Fatalf("EventsLost before any event = %d, %v; want 0", n, err)
	}
	// The master alternates its priority: one PRIO_CHANGE per advert, far
	// more than the 64 KiB ring holds (48 bytes a record).
	frames := [2][]byte{ether(advert(t, v3adv(11, 150, ipA), 255)), ether(advert(t, v3adv(11, 151, ipA), 255))}
	const n = 3000
	ns.Do(t, func() error {
		for i := 0; i < n; i++ {
			if v, _, err := d.RunXDP(frames[i%2], 1); err != nil || v != XDPPass {
				return fmt.Errorf("run %d: verdict %d, %v", i, v, err)
			}
		}
		return nil
	})
	got := len(drainEvents(t, d))
	lost, err := d.EventsLost()
	if err != nil {
		t.Fatal(err)
	}
	if lost == 0 || uint64(got)+lost != n {
		t.Errorf("received %d + lost %d events, want %d in all and some lost", got, lost, n)
	}
	var last vrrpEvent
	if err := d.objs.LastEvent.Lookup(rawKey(k), &last); err != nil {
		t.Fatal(err)
	}
	if last.Priority != 151 || last.PrevPriority != 150 || EventType(last.Type) != EventPrioChange {
		t.Errorf("last_event = %+v, want the final prio_change 150 -> 151", last)
	}
}

// TestTimerInitRecovers: an inst_state entry whose bpf_timer was never
// initialised (bpf_timer_init failed with -ENOMEM when the entry was created,
// or the entry was written from userspace) must still get its master-down
// timer armed by the next advert, not stay silent forever.
func TestTimerInitRecovers(t *testing.T) {
	testutil.Privileged(t)
	d := newDataplane(t)
	ns := testutil.NewNetns(t, "evtini")
	k := InstanceKey{Ifindex: testIfindex, VRID: 12, Family: FamilyIPv4}
	if err := d.SetInstance(k, InstanceConfig{State: StateBackup, Priority: 100, Version: 3, Interval: 50 * time.Millisecond, Primary: ipSelf, Addresses: []netip.Addr{vip4}}); err != nil {
		t.Fatal(err)
	}
	var cfg vrrpInstanceCfg
	if err := d.objs.Instances.Lookup(rawKey(k), &cfg); err != nil {
		t.Fatal(err)
	}
	if err := d.objs.InstState.Update(rawKey(k), vrrpInstanceState{Epoch: cfg.Epoch}, 0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := d.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a := vrrp.Advertisement{Version: 3, VRID: 12, Priority: 200, Interval: 50 * time.Millisecond, Addresses: []netip.Addr{vip4}, Source: ipA}
	runIn(t, ns, d.RunXDP, ether(advert(t, a, 255)))
	for _, w := range []EventType{EventNewMaster, EventMasterDown} {
		select {
		case e := <-events:
			if e.Type != w || e.Key != k {
				t.Fatalf("event %+v, want %v on %v", e, w, k)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %v event within 10s", w)
		}
	}
}

// TestCloseEndsEvents: Close (and Unpin) stop the ring-buffer readers, so a
// caller ranging over Events with a context that outlives the Dataplane is
// not left blocked on a reader of closed maps.
func TestCloseEndsEvents(t *testing.T) {
	testutil.Privileged(t)
	d := newDataplane(t)
	events, err := d.Events(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case e, ok := <-events:
		if ok {
			t.Fatalf("event %+v after Close, want the channel closed", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Events channel still open 10s after Close")
	}
	if _, err := d.Events(context.Background()); err == nil {
		t.Error("Events after Close succeeded")
	}
}

// TestTimerHoldLazily: an advert from the master moves the deadline and
// leaves a pending timer alone (bpf_timer_start per advert cost ~65 ns); the
// callback then re-arms for the rest, so MASTER_DOWN comes a whole
// Master_Down_Interval after the LAST advert. A priority-0 advert shortens a
// pending timer to Skew_Time at once. Checked on the kernel's own stamps:
// an hrtimer never fires early.
func TestTimerHoldLazily(t *testing.T) {
	testutil.Privileged(t)
	d := newDataplane(t)
	ns := testutil.NewNetns(t, "evlazy")
	k := InstanceKey{Ifindex: testIfindex, VRID: 13, Family: FamilyIPv4}
	const iv = 500 * time.Millisecond
	if err := d.SetInstance(k, InstanceConfig{State: StateBackup, Priority: 100, Version: 3, Interval: iv, Primary: ipSelf, Addresses: []netip.Addr{vip4}}); err != nil {
		t.Fatal(err)
	}
	// Skew in nanoseconds, as control.SkewTime: (156 × 500 ms) / 256.
	const skewNs = 156 * 500_000_000 / 256
	const mdiNs = 3*500_000_000 + skewNs
	state := func() vrrpInstanceState {
		t.Helper()
		var st vrrpInstanceState
		if err := d.objs.InstState.Lookup(rawKey(k), &st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := d.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	adv := func(prio uint8) {
		t.Helper()
		a := vrrp.Advertisement{Version: 3, VRID: 13, Priority: prio, Interval: iv, Addresses: []netip.Addr{vip4}, Source: ipA}
		runIn(t, ns, d.RunXDP, ether(advert(t, a, 255)))
	}
	next := func(want EventType) Event {
		t.Helper()
		e := nextEvent(t, events, 10*time.Second)
		if e.Type != want {
			t.Fatalf("event %+v, want %v", e, want)
		}
		return e
	}

	adv(200)
	next(EventNewMaster)
	first := state()
	if first.ExpiresNs != first.LastNs+mdiNs || first.DeadlineNs != first.ExpiresNs {
		t.Fatalf("after the first advert: last %d deadline %d expires %d; want both last+%d", first.LastNs, first.DeadlineNs, first.ExpiresNs, uint64(mdiNs))
	}
	time.Sleep(iv / 2)
	adv(200)
	second := state()
	if second.LastNs == first.LastNs || second.DeadlineNs != second.LastNs+mdiNs || second.ExpiresNs != first.ExpiresNs {
		t.Fatalf("after a second advert: last %d deadline %d expires %d; want deadline last+%d and the pending expiry %d kept",
			second.LastNs, second.DeadlineNs, second.ExpiresNs, uint64(mdiNs), first.ExpiresNs)
	}
	next(EventMasterDown)
	var last vrrpEvent
	if err := d.objs.LastEvent.Lookup(rawKey(k), &last); err != nil {
		t.Fatal(err)
	}
	if last.TsNs < second.DeadlineNs {
		t.Errorf("MASTER_DOWN stamped %d, %v before the last advert's deadline", last.TsNs, time.Duration(second.DeadlineNs-last.TsNs))
	}
	t.Logf("MASTER_DOWN %v after the last advert (Master_Down_Interval %v)", time.Duration(last.TsNs-second.LastNs), time.Duration(mdiNs))

	// Priority 0 shortens whatever is pending to Skew_Time.
	adv(200)
	next(EventNewMaster)
	held := state()
	adv(0)
	next(EventPrioZero)
	resigned := state()
	if resigned.ExpiresNs != resigned.LastNs+skewNs || resigned.DeadlineNs != resigned.ExpiresNs || resigned.ExpiresNs >= held.ExpiresNs {
		t.Errorf("after priority 0: last %d deadline %d expires %d (was %d); want both last+%d", resigned.LastNs, resigned.DeadlineNs, resigned.ExpiresNs, held.ExpiresNs, uint64(skewNs))
	}
	next(EventMasterDown)
	if err := d.objs.LastEvent.Lookup(rawKey(k), &last); err != nil {
		t.Fatal(err)
	}
	if last.TsNs < resigned.DeadlineNs {
		t.Errorf("MASTER_DOWN after priority 0 stamped before Skew_Time")
	}
}

// TestRecreatedInstanceForgetsMaster: an advert in flight while
// DeleteInstance runs can re-create the kernel state right after it was
// deleted. When the instance is configured again, that leftover must not
// count as the current Backup period: the next advert is a NEW_MASTER.
func TestRecreatedInstanceForgetsMaster(t *testing.T) {
	testutil.Privileged(t)
	d := newDataplane(t)
	ns := testutil.NewNetns(t, "evrecr")
	k := InstanceKey{Ifindex: testIfindex, VRID: 14, Family: FamilyIPv4}
	cfg := InstanceConfig{State: StateBackup, Priority: 100, Version: 3, Interval: time.Second, Primary: ipSelf, Addresses: []netip.Addr{vip4}}
	if err := d.SetInstance(k, cfg); err != nil {
		t.Fatal(err)
	}
	frame := ether(advert(t, v3adv(14, 150, ipA), 255))
	runIn(t, ns, d.RunXDP, frame)
	var raw vrrpInstanceCfg
	if err := d.objs.Instances.Lookup(rawKey(k), &raw); err != nil {
		t.Fatal(err)
	}
	var st vrrpInstanceState
	if err := d.objs.InstState.Lookup(rawKey(k), &st); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteInstance(k); err != nil {
		t.Fatal(err)
	}
	// The racing advert's re-creation, as it would look.
	leftover := vrrpInstanceState{Epoch: raw.Epoch, HasMaster: 1, MasterPrio: 150, MasterIntervalCs: 100, Master: st.Master}
	if err := d.objs.InstState.Update(rawKey(k), leftover, 0); err != nil {
		t.Fatal(err)
	}
	drainEvents(t, d)
	if err := d.SetInstance(k, cfg); err != nil {
		t.Fatal(err)
	}
	runIn(t, ns, d.RunXDP, frame)
	if got := drainEvents(t, d); len(got) != 1 || got[0].Type != EventNewMaster {
		t.Errorf("events %+v after re-creating the instance, want one new_master", got)
	}
}

// TestRestartSkipsStaleEvents: the ring buffer is pinned, so events the
// kernel wrote while no daemon was reading (it kept running) are still there
// after a restart. They describe a past the new controller never saw and
// must not reach it as if they had just happened.
func TestRestartSkipsStaleEvents(t *testing.T) {
	testutil.Privileged(t)
	d1 := newDataplane(t)
	ns := testutil.NewNetns(t, "evstale")
	k := InstanceKey{Ifindex: testIfindex, VRID: 15, Family: FamilyIPv4}
	if err := d1.SetInstance(k, InstanceConfig{State: StateBackup, Priority: 100, Version: 3, Interval: time.Second, Primary: ipSelf, Addresses: []netip.Addr{vip4}}); err != nil {
		t.Fatal(err)
	}
	// A 30 s advert interval: the master-down timer it arms (≈ 90 s) does not
	// fire while the second Load verifies the programs, however busy the host.
	slow := func(a vrrp.Advertisement) vrrp.Advertisement { a.Interval = 30 * time.Second; return a }
	runIn(t, ns, d1.RunXDP, ether(advert(t, slow(v3adv(15, 150, ipA)), 255))) // NEW_MASTER, never read
	if err := d1.Close(); err != nil {
		t.Fatal(err)
	}
	d2, err := Load(Options{PinPath: d1.PinPath()})
	if err != nil {
		t.Fatal(err)
	}
	// The pins are d2's now: d1's Unpin leaves them (ErrSuccessor).
	t.Cleanup(func() { _ = d2.Unpin() })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := d2.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	runIn(t, ns, d2.RunXDP, ether(advert(t, slow(v3adv(15, 160, ipA)), 255))) // PRIO_CHANGE
	if e := nextEvent(t, events, 10*time.Second); e.Type != EventPrioChange {
		t.Errorf("first event after restart %+v, want the new prio_change, not a stale one", e)
	}
}
