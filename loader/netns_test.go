package loader

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"

	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
	"github.com/ebpfvrrp/ebpfvrrp/vrrp"
)

// pair is two namespaces joined by a veth: a sends, b receives.
type pair struct {
	a, b         *testutil.Netns
	ifA, ifB     string
	addrA, addrB netip.Addr
	ifindexB     uint32
}

func newPair(t *testing.T, subnet byte) *pair {
	t.Helper()
	p := &pair{
		a: testutil.NewNetns(t, "evA"), b: testutil.NewNetns(t, "evB"),
		ifA: testutil.UniqueName("va"), ifB: testutil.UniqueName("vb"),
		addrA: netip.AddrFrom4([4]byte{198, 18, subnet, 1}), addrB: netip.AddrFrom4([4]byte{198, 18, subnet, 2}),
	}
	testutil.Veth(t, p.a, p.ifA, netip.PrefixFrom(p.addrA, 24), p.b, p.ifB, netip.PrefixFrom(p.addrB, 24))
	p.b.Do(t, func() error {
		ifi, err := net.InterfaceByName(p.ifB)
		if err != nil {
			return err
		}
		p.ifindexB = uint32(ifi.Index)
		return nil
	})
	return p
}

// sender opens a vrrp.Conn on an interface of ns.
func sender(t *testing.T, ns *testutil.Netns, ifname string) *vrrp.Conn {
	t.Helper()
	var c *vrrp.Conn
	ns.Do(t, func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		c, err = vrrp.Dial(ifi, 4)
		return err
	})
	t.Cleanup(func() { c.Close() })
	return c
}

func send(t *testing.T, c *vrrp.Conn, a vrrp.Advertisement) {
	t.Helper()
	if _, err := c.WriteBatch([]vrrp.Message{{Adv: &a}}); err != nil {
		t.Fatalf("send advert: %v", err)
	}
}

func nextEvent(t *testing.T, ch <-chan Event, within time.Duration) Event {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatal("event channel closed")
		}
		return e
	case <-time.After(within):
		t.Fatalf("no event within %v", within)
	}
	return Event{}
}

func mdi(interval time.Duration, prio uint8) time.Duration {
	return 3*interval + time.Duration(256-int(prio))*interval/256
}

// TestNetnsOwnSender: real adverts from our encoder over a veth into XDP (and
// TC for the second half), read back as peers and events; our own adverts
// leaving the receiver show in TxStats; stopping the sender gives MASTER_DOWN.
func TestNetnsOwnSender(t *testing.T) {
	testutil.Privileged(t)
	for _, mode := range []AttachMode{AttachAuto, AttachTC, AttachXDPGeneric} {
		t.Run(mode.String(), func(t *testing.T) {
			p := newPair(t, 1)
			d := newDataplane(t)
			p.b.Do(t, func() error { return d.Attach(p.ifB, mode) })
			got, ok := d.Mode(p.ifB)
			wantMode := map[AttachMode]AttachMode{AttachAuto: AttachXDPNative, AttachTC: AttachTC, AttachXDPGeneric: AttachXDPGeneric}[mode]
			if !ok || got != wantMode {
				t.Fatalf("Mode = %v, %v; want %v (veth does native XDP)", got, ok, wantMode)
			}
			k := InstanceKey{Ifindex: int(p.ifindexB), VRID: 51, Family: FamilyIPv4}
			const iv = 100 * time.Millisecond
			if err := d.SetInstance(k, InstanceConfig{State: StateBackup, Priority: 100, Version: 3, Interval: iv, Primary: p.addrB, Addresses: []netip.Addr{netip.MustParseAddr("198.18.1.100")}}); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			events, err := d.Events(ctx)
			if err != nil {
				t.Fatal(err)
			}
			c := sender(t, p.a, p.ifA)
			adv := vrrp.Advertisement{Version: 3, VRID: 51, Priority: 150, Interval: iv, Addresses: []netip.Addr{netip.MustParseAddr("198.18.1.100")}}
			const n = 5
			var last time.Time
			for i := 0; i < n; i++ {
				send(t, c, adv)
				last = time.Now()
				time.Sleep(iv)
			}
			// An advert for a VRID we do not run, dropped in the kernel.
			other := adv
			other.VRID = 99
			send(t, c, other)

			if e := nextEvent(t, events, 10*time.Second); e.Type != EventNewMaster || e.Addr != p.addrA || e.Key != k {
				t.Fatalf("first event %+v, want new_master from %v", e, p.addrA)
			}
			e := nextEvent(t, events, 3*mdi(iv, 100)+2*time.Second)
			if e.Type != EventMasterDown || e.Addr != p.addrA {
				t.Fatalf("event %+v, want master_down of %v", e, p.addrA)
			}
			t.Logf("%v: MASTER_DOWN stamped %v, received %v after the last advert was sent; Master_Down_Interval %v",
				mode, e.Time.Sub(last).Round(time.Millisecond), time.Since(last).Round(time.Millisecond), mdi(iv, 100))

			ps, err := d.Peers()
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) != 1 || ps[0].Addr != p.addrA || ps[0].Count != n || ps[0].Key != k || ps[0].Interval != iv || ps[0].Priority != 150 {
				t.Fatalf("Peers = %+v, want one: %v count %d prio 150 interval %v", ps, p.addrA, n, iv)
			}
			var hist uint64
			for _, h := range ps[0].Hist {
				hist += h
			}
			if hist != n-1 || ps[0].MaxGap < iv/2 {
				t.Errorf("histogram holds %d gaps (want %d), max gap %v", hist, n-1, ps[0].MaxGap)
			}
			testutil.Eventually(t, 5*time.Second, "unknown_vrid drop", func() bool {
				ds, _ := d.Drops()
				return len(ds) == 1 && ds[0].Reason == vrrp.ReasonUnknownVRID && ds[0].Ifindex == p.ifindexB && ds[0].Count == 1
			})

			// Our own adverts leaving b: TC egress.
			cb := sender(t, p.b, p.ifB)
			own := adv
			own.VRID = 60
			for i := 0; i < 3; i++ {
				send(t, cb, own)
			}
			testutil.Eventually(t, 5*time.Second, "3 tx adverts", func() bool {
				ts, _ := d.TxStats()
				return len(ts) == 1 && ts[0].Count == 3 && ts[0].Key == InstanceKey{Ifindex: int(p.ifindexB), VRID: 60, Family: FamilyIPv4}
			})
		})
	}
}

// startKeepalived runs a real keepalived in ns with conf and returns the pid
// of its VRRP child (the process that sends adverts).
func startKeepalived(t *testing.T, ns *testutil.Netns, conf string) int {
	t.Helper()
	testutil.Require(t, "keepalived")
	dir := t.TempDir()
	cf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	pid, vpid, cpid := filepath.Join(dir, "k.pid"), filepath.Join(dir, "v.pid"), filepath.Join(dir, "c.pid")
	cmd := exec.Command("ip", "netns", "exec", ns.Name, "keepalived", "-n", "-l", "-D", "-P",
		"-f", cf, "-p", pid, "-r", vpid, "-c", cpid)
	logf, err := os.Create(filepath.Join(dir, "keepalived.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	readPid := func(f string) int {
		b, err := os.ReadFile(f)
		if err != nil {
			return 0
		}
		n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return n
	}
	t.Cleanup(func() {
		// By id only: the VRRP child (it may be stopped) and the parent.
		if v := readPid(vpid); v > 0 {
			_ = syscall.Kill(v, syscall.SIGKILL)
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("keepalived log:\n%s", b)
		}
	})
	var v int
	testutil.Eventually(t, 10*time.Second, "keepalived VRRP child pid", func() bool { v = readPid(vpid); return v > 0 })
	return v
}

// TestNetnsKeepalived: a real keepalived (v2, PASS) is the master; the kernel
// accepts its adverts, follows it as master, and reports MASTER_DOWN once it
// goes silent (SIGSTOP: no priority-0 goodbye).
func TestNetnsKeepalived(t *testing.T) {
	testutil.Privileged(t)
	p := newPair(t, 2)
	d := newDataplane(t)
	p.b.Do(t, func() error { return d.Attach(p.ifB, AttachAuto) })
	k := InstanceKey{Ifindex: int(p.ifindexB), VRID: 52, Family: FamilyIPv4}
	pass, _ := vrrp.Password("ktest")
	if err := d.SetInstance(k, InstanceConfig{State: StateBackup, Priority: 100, Version: 2, AuthType: 1, AuthPass: pass, Interval: time.Second, Primary: p.addrB, Addresses: []netip.Addr{netip.MustParseAddr("198.18.2.100")}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := d.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vpid := startKeepalived(t, p.a, fmt.Sprintf(`global_defs {
  router_id %s
  vrrp_garp_master_repeat 1
}
vrrp_instance VI_52 {
  state MASTER
  interface %s
  virtual_router_id 52
  priority 150
  advert_int 1
  version 2
  authentication {
    auth_type PASS
    auth_pass ktest
  }
  virtual_ipaddress {
    198.18.2.100/32
  }
}
`, p.a.Name, p.ifA))
	e := nextEvent(t, events, 20*time.Second)
	if e.Type != EventNewMaster || e.Addr != p.addrA || e.Priority != 150 || e.Interval != time.Second {
		t.Fatalf("event %+v, want new_master %v prio 150 interval 1s", e, p.addrA)
	}
	testutil.Eventually(t, 10*time.Second, "3 keepalived adverts", func() bool {
		ps, _ := d.Peers()
		return len(ps) == 1 && ps[0].Count >= 3
	})
	if ds, _ := d.Drops(); len(ds) != 0 {
		t.Errorf("drops %+v, want none: keepalived's adverts are valid", ds)
	}
	mi, ok, err := d.Master(k)
	if err != nil || !ok || mi.Addr != p.addrA || mi.Age > 2*time.Second {
		t.Errorf("Master = %+v %v %v, want %v heard within 2s", mi, ok, err, p.addrA)
	}
	if err := syscall.Kill(vpid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	want := mdi(time.Second, 100)
	e = nextEvent(t, events, 3*want+2*time.Second)
	if e.Type != EventMasterDown || e.Addr != p.addrA {
		t.Fatalf("event %+v, want master_down of %v", e, p.addrA)
	}
	t.Logf("keepalived stopped: MASTER_DOWN after %v; Master_Down_Interval %v (plus up to 1s since its last advert)", time.Since(stopped).Round(time.Millisecond), want)
	// Without bpf_timer the controller would poll Master().Age: it must have
	// passed Master_Down_Interval by now too.
	if mi, _, _ := d.Master(k); mi.Age < want {
		t.Errorf("Age %v < Master_Down_Interval %v at MASTER_DOWN", mi.Age, want)
	}
}

// emptyXDP is the floor: XDP_PASS and nothing else.
func emptyXDP(t testing.TB) *ebpf.Program {
	t.Helper()
	p, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type: ebpf.XDP, License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 2), asm.Return()},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestForeignXDPNotReplaced: another XDP program on the interface is a clear
// error, and it stays attached.
func TestForeignXDPNotReplaced(t *testing.T) {
	testutil.Privileged(t)
	p := newPair(t, 3)
	d := newDataplane(t)
	prog := emptyXDP(t)
	p.b.Do(t, func() error {
		l, err := link.AttachXDP(link.XDPOptions{Program: prog, Interface: int(p.ifindexB)})
		if err != nil {
			return err
		}
		t.Cleanup(func() { l.Close() })
		return nil
	})
	for _, mode := range []AttachMode{AttachAuto, AttachXDPNative, AttachXDPGeneric} {
		err := p.b.Run(func() error { return d.Attach(p.ifB, mode) })
		if !errors.Is(err, ErrXDPInUse) {
			t.Errorf("Attach(%v) = %v, want ErrXDPInUse", mode, err)
		}
	}
	if _, ok := d.Mode(p.ifB); ok {
		t.Error("Mode reports an attachment after a refused Attach")
	}
	// TC still works there (another XDP program and our TC hook coexist).
	if err := p.b.Run(func() error { return d.Attach(p.ifB, AttachTC) }); err != nil {
		t.Errorf("Attach(tc) next to a foreign XDP program: %v", err)
	}
}

// TestBpftoolDump: pinned maps print named fields through BTF.
func TestBpftoolDump(t *testing.T) {
	testutil.Privileged(t)
	testutil.Require(t, "bpftool")
	d, ns := setupFixture(t)
	runIn(t, ns, d.RunXDP, ether(advert(t, v3adv(20, 150, ipA), 255)))
	runIn(t, ns, d.RunXDP, ether(advert(t, v3adv(99, 150, ipA), 255)))
	for m, fields := range map[string][]string{
		"instances":     {"state", "priority", "interval_cs", "primary"},
		"inst_state":    {"master", "master_prio", "last_ns", "both_masters"},
		"peers":         {"first_ns", "last_ns", "count", "hist", "missed", "max_gap_ns"},
		"drops":         {"ifindex", "reason"},
		"allowed_peers": {"vrid", "addr"},
		"last_event":    {"type", "priority", "prev_priority"},
	} {
		out, err := exec.Command("bpftool", "-j", "map", "dump", "pinned", filepath.Join(d.PinPath(), m)).CombinedOutput()
		if err != nil {
			t.Errorf("bpftool map dump %s: %v\n%s", m, err, out)
			continue
		}
		var v any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Errorf("%s: bpftool output is not JSON: %v", m, err)
		}
		for _, f := range fields {
			if !strings.Contains(string(out), `"`+f+`"`) {
				t.Errorf("bpftool dump of %s lacks field %q:\n%s", m, f, out)
			}
		}
	}
}

// TestTwoDataplanesAndRestart: two daemons in two namespaces with two pin
// paths do not see each other; Close keeps the pins and the attachment, so
// counters keep counting and survive into the next Load, whose Attach takes
// over the pinned link.
func TestTwoDataplanesAndRestart(t *testing.T) {
	testutil.Privileged(t)
	p := newPair(t, 4)
	d1 := newDataplane(t) // receives in b
	d2 := newDataplane(t) // in a
	p.b.Do(t, func() error { return d1.Attach(p.ifB, AttachAuto) })
	p.a.Do(t, func() error { return d2.Attach(p.ifA, AttachAuto) })
	k := InstanceKey{Ifindex: int(p.ifindexB), VRID: 53, Family: FamilyIPv4}
	if err := d1.SetInstance(k, InstanceConfig{State: StateBackup, Priority: 100, Version: 3, Interval: time.Second, Primary: p.addrB, Addresses: []netip.Addr{netip.MustParseAddr("198.18.4.100")}}); err != nil {
		t.Fatal(err)
	}
	c := sender(t, p.a, p.ifA)
	adv := vrrp.Advertisement{Version: 3, VRID: 53, Priority: 150, Interval: time.Second, Addresses: []netip.Addr{netip.MustParseAddr("198.18.4.100")}}
	count := func(d *Dataplane) uint64 {
		ps, err := d.Peers()
		if err != nil {
			t.Fatal(err)
		}
		var n uint64
		for _, x := range ps {
			n += x.Count
		}
		return n
	}
	send(t, c, adv)
	send(t, c, adv)
	testutil.Eventually(t, 5*time.Second, "2 adverts in d1", func() bool { return count(d1) == 2 })
	if _, ok, _ := d2.Master(k); ok || count(d2) != 0 {
		t.Errorf("d2 sees d1's instance or peers")
	}
	if ts, _ := d2.TxStats(); len(ts) != 1 || ts[0].Count != 2 {
		t.Errorf("d2 TxStats = %+v, want our 2 adverts leaving a", ts)
	}
	if ts, _ := d1.TxStats(); len(ts) != 0 {
		t.Errorf("d1 TxStats = %+v, want none", ts)
	}

	// Restart d1: Close keeps pins; the link stays, the kernel keeps counting.
	pin := d1.PinPath()
	if err := d1.Close(); err != nil {
		t.Fatal(err)
	}
	send(t, c, adv)
	d1b, err := Load(Options{PinPath: pin})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d1b.Unpin() })
	testutil.Eventually(t, 5*time.Second, "3 adverts after restart", func() bool { return count(d1b) == 3 })
	if err := p.b.Run(func() error { return d1b.Attach(p.ifB, AttachAuto) }); err != nil {
		t.Fatalf("re-Attach after restart: %v", err)
	}
	if m, _ := d1b.Mode(p.ifB); m != AttachXDPNative {
		t.Errorf("mode after restart %v", m)
	}
	send(t, c, adv)
	testutil.Eventually(t, 5*time.Second, "4 adverts via the taken-over link", func() bool { return count(d1b) == 4 })
	if mi, ok, _ := d1b.Master(k); !ok || mi.Addr != p.addrA {
		t.Errorf("master lost across restart: %+v %v", mi, ok)
	}
	// Clean shutdown of d2 leaves d1 alone.
	if err := d2.Unpin(); err != nil {
		t.Fatal(err)
	}
	send(t, c, adv)
	testutil.Eventually(t, 5*time.Second, "5 adverts after d2 went", func() bool { return count(d1b) == 5 })
	// And d1's clean shutdown detaches: nothing XDP left on b.
	if err := d1b.Unpin(); err != nil {
		t.Fatal(err)
	}
	p.b.Do(t, func() error {
		out, err := exec.Command("ip", "-d", "link", "show", p.ifB).CombinedOutput()
		if err != nil {
			return err
		}
		if strings.Contains(string(out), "xdp") {
			return fmt.Errorf("xdp still attached after Unpin:\n%s", out)
		}
		return nil
	})
}

// TestClsactFallback: on a kernel without TCX, AttachTC uses a clsact qdisc
// (forced here); Detach removes the filters.
func TestClsactFallback(t *testing.T) {
	testutil.Privileged(t)
	p := newPair(t, 5)
	d := newDataplaneWith(t, Options{NoTCX: true})
	p.b.Do(t, func() error { return d.Attach(p.ifB, AttachTC) })
	k := InstanceKey{Ifindex: int(p.ifindexB), VRID: 54, Family: FamilyIPv4}
	if err := d.SetInstance(k, InstanceConfig{State: StateBackup, Priority: 100, Version: 3, Interval: time.Second, Primary: p.addrB, Addresses: []netip.Addr{netip.MustParseAddr("198.18.5.100")}}); err != nil {
		t.Fatal(err)
	}
	c := sender(t, p.a, p.ifA)
	adv := vrrp.Advertisement{Version: 3, VRID: 54, Priority: 150, Interval: time.Second, Addresses: []netip.Addr{netip.MustParseAddr("198.18.5.100")}}
	send(t, c, adv)
	send(t, c, adv)
	testutil.Eventually(t, 5*time.Second, "2 adverts via clsact ingress", func() bool {
		ps, _ := d.Peers()
		return len(ps) == 1 && ps[0].Count == 2
	})
	cb := sender(t, p.b, p.ifB)
	send(t, cb, adv)
	testutil.Eventually(t, 5*time.Second, "1 advert via clsact egress", func() bool {
		ts, _ := d.TxStats()
		return len(ts) == 1 && ts[0].Count == 1
	})
	for _, dir := range []string{"ingress", "egress"} {
		if out := p.b.Exec(t, "tc", "filter", "show", "dev", p.ifB, dir); !strings.Contains(out, "ebpfvrrp-tc-"+dir) {
			t.Errorf("no ebpfvrrp %s filter while attached:\n%s", dir, out)
		}
	}
	if err := p.b.Run(func() error { return d.Detach(p.ifB) }); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"ingress", "egress"} {
		out := p.b.Exec(t, "tc", "filter", "show", "dev", p.ifB, dir)
		if strings.Contains(out, "ebpfvrrp") {
			t.Errorf("%s filter left after Detach:\n%s", dir, out)
		}
	}
}

// TestClsactRestartCleanup: clsact filters cannot be pinned, so after a
// restart the new process has no link pins for them; its Detach and Unpin
// must still remove the filters the previous process attached (they keep
// running the old program otherwise, after a "clean" shutdown).
func TestClsactRestartCleanup(t *testing.T) {
	testutil.Privileged(t)
	p := newPair(t, 6)
	filters := func() string {
		return p.b.Exec(t, "tc", "filter", "show", "dev", p.ifB, "ingress") + p.b.Exec(t, "tc", "filter", "show", "dev", p.ifB, "egress")
	}
	for _, how := range []string{"detach", "unpin"} {
		t.Run(how, func(t *testing.T) {
			d1 := newDataplaneWith(t, Options{NoTCX: true})
			p.b.Do(t, func() error { return d1.Attach(p.ifB, AttachTC) })
			if out := filters(); strings.Count(out, "ebpfvrrp-tc-") != 2 {
				t.Fatalf("want our ingress and egress filters:\n%s", out)
			}
			if err := d1.Close(); err != nil {
				t.Fatal(err)
			}
			d2, err := Load(Options{PinPath: d1.PinPath(), NoTCX: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = d2.Unpin() })
			if how == "detach" {
				if err := p.b.Run(func() error { return d2.Detach(p.ifB) }); err != nil {
					t.Errorf("Detach after restart: %v", err)
				}
			} else if err := p.b.Run(d2.Unpin); err != nil {
				t.Errorf("Unpin after restart: %v", err)
			}
			if out := filters(); strings.Contains(out, "ebpfvrrp") {
				t.Errorf("filters left after %s by the restarted process:\n%s", how, out)
			}
		})
	}
}
