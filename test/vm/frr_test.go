package vm

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/lab"
	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

// Mixed pairs with lab.FRR's vrrpd, the second outside implementation after keepalived:
// lab.FRR in both roles opposite ebpfvrrp, for VRRPv3 IPv4, VRRPv3 IPv6 and VRRPv2 IPv4
// (no authentication: lab.FRR has none). Each pair elects one Master, fails over when the
// Master's bridge port is cut, and fails back by preemption when it returns. Who holds
// the VIP is read three ways: ebpfvrrp's VIP on eth0 (VIPHolder), lab.FRR's macvlan out of
// protodown, and the MAC address the client resolves the VIP to.
func TestFRRMixedPairs(t *testing.T) {
	t.Parallel()
	protos := []struct {
		name string
		opts lab.Options
	}{
		// 100 ms, not the 10 ms of TestMixedPairs: lab.FRR's timers are coarser, and this
		// file must stay robust on two busy cores.
		{"v3-ipv4-100ms", lab.Options{Version: 3, AdvertInterval: 100 * time.Millisecond}},
		{"v3-ipv6-100ms", lab.Options{Version: 3, AdvertInterval: 100 * time.Millisecond, IPv6: true}},
		// VRRPv2 carries whole seconds; 1 s is the shortest both can do.
		{"v2-ipv4-1s", lab.Options{Version: 2, AdvertInterval: time.Second}},
	}
	pairs := []pair{
		{"frr-master+ebpfvrrp-backup", lab.FRR, lab.Ebpfvrrp},
		{"ebpfvrrp-master+frr-backup", lab.Ebpfvrrp, lab.FRR},
	}
	for _, proto := range protos {
		for _, p := range pairs {
			// Sequential: at 100 ms adverts several labs at once on two shared cores
			// would test the scheduler rather than the protocol.
			t.Run(proto.name+"/"+p.name, func(t *testing.T) {
				testFRRPair(t, p, proto.opts)
			})
		}
	}
}

func testFRRPair(t *testing.T, p pair, opts lab.Options) {
	testutil.Privileged(t)
	requireFRR(t)
	l := newLab(t, p, opts)
	if dir := os.Getenv("EBPFVRRP_FRR_PCAP"); dir != "" {
		capture(t, l, filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+".pcap"))
	}
	frrHost, ebpfHost := lab.LB5, lab.LB6
	if p.lb6 == lab.FRR {
		frrHost, ebpfHost = lab.LB6, lab.LB5
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Both sides take the lab's tutorial shape (lb-5 150, lb-6 100, preempt); only
	// PASS authentication goes, since lab.FRR cannot speak it.
	cfg := l.LBConfig(ebpfHost)
	cfg.Instances[0].AuthPass = ""
	if err := l.StartLB(ebpfHost, cfg.YAML()); err != nil {
		t.Fatalf("StartLB(%s): %v", ebpfHost, err)
	}
	frrPrio := l.LBConfig(frrHost).Instances[0].Priority
	f, err := l.StartFRR(ctx, frrHost, lab.FRROptions{Priority: frrPrio})
	if err != nil {
		t.Fatalf("StartFRR(%s): %v", frrHost, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- %s lab.FRR log:\n%s", frrHost, tail(f.Log(), 60))
		}
		if err := f.Stop(); err != nil {
			t.Errorf("FRR Stop: %v", err)
		}
	})

	macOf := map[string]net.HardwareAddr{frrHost: f.VMAC()}
	if macOf[ebpfHost], err = l.HardwareAddr(ebpfHost); err != nil {
		t.Fatal(err)
	}
	holders := func() []string {
		h := l.VIPHolder() // ebpfvrrp's VIP on eth0; lab.FRR's lives on its macvlan
		if f.Master() {
			h = append(h, frrHost)
		}
		sort.Strings(h)
		return h
	}
	waitHolders := func(what string, ok func([]string) bool) {
		t.Helper()
		start := time.Now()
		for got := holders(); !ok(got); got = holders() {
			if time.Since(start) > 15*time.Second {
				t.Fatalf("%s: VIP holders %v after 15 s", what, got)
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("%s: VIP holders %v after %v", what, holders(), time.Since(start).Round(time.Millisecond))
	}
	exactly := func(want ...string) func([]string) bool {
		return func(got []string) bool { return slices.Equal(got, want) }
	}
	steady := func(what string, d time.Duration, want ...string) {
		t.Helper()
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			if got := holders(); !slices.Equal(got, want) {
				t.Fatalf("%s: VIP holders changed: want %v, got %v", what, want, got)
			}
		}
	}
	clientSees := func(what, want string) {
		t.Helper()
		mac, err := l.ClientNeighbor(ctx)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if mac.String() != macOf[want].String() {
			t.Errorf("%s: client resolves %s to %s, want %s's %s (MACs: %v)", what, l.VIP(), mac, want, macOf[want], macOf)
		}
	}
	frrState := func(what, want string) {
		t.Helper()
		st, err := f.Status(ctx)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		t.Logf("%s: lab.FRR on %s: %+v", what, frrHost, st)
		if st.State != want {
			t.Errorf("%s: lab.FRR on %s says %q, want %q", what, frrHost, st.State, want)
		}
		if want == "Backup" && st.AdvertsRx == 0 {
			t.Errorf("%s: lab.FRR Backup on %s received no adverts", what, frrHost)
		}
		if want == "Backup" && st.MasterAdverInterval != opts.AdvertInterval {
			t.Errorf("%s: lab.FRR learnt Master_Adver_Interval %v from ebpfvrrp, want %v", what, st.MasterAdverInterval, opts.AdvertInterval)
		}
	}
	settleFor := max(3*opts.AdvertInterval, 500*time.Millisecond)

	// Election: lab.FRR starts in Backup and waits Master_Down_Interval, whoever is lb-5
	// must end up the only Master.
	waitHolders("election", exactly(lab.LB5))
	steady("election", settleFor+time.Second, lab.LB5)
	clientSees("election", lab.LB5)
	if frrHost == lab.LB5 {
		frrState("election", "Master")
	} else {
		frrState("election", "Backup")
	}
	logDrops(t, l, ebpfHost, "election")

	// Failover: lb-5's bridge port goes down; lb-6 takes over. lb-5, isolated, may
	// still think it is Master: only the reachable side counts.
	if err := l.CutLink(lab.LB5); err != nil {
		t.Fatal(err)
	}
	waitHolders("failover", func(h []string) bool { return slices.Contains(h, lab.LB6) })
	time.Sleep(settleFor)
	clientSees("failover", lab.LB6)
	if frrHost == lab.LB6 {
		frrState("failover", "Master")
	}

	// Failback: lb-5 returns with the higher priority and preempts.
	if err := l.RestoreLink(lab.LB5); err != nil {
		t.Fatal(err)
	}
	waitHolders("failback", exactly(lab.LB5))
	steady("failback", settleFor+time.Second, lab.LB5)
	clientSees("failback", lab.LB5)
	if frrHost == lab.LB5 {
		frrState("failback", "Master")
	} else {
		frrState("failback", "Backup")
	}
	logDrops(t, l, ebpfHost, "failback")
}

// requireFRR fails (never skips) a privileged test when lab.FRR is not installed.
func requireFRR(t *testing.T) {
	t.Helper()
	testutil.Require(t, "vtysh")
	for _, d := range []string{"zebra", "vrrpd"} {
		if _, err := os.Stat(filepath.Join(lab.FRRBinDir, d)); err != nil {
			t.Fatalf("prerequisite lab.FRR %s not found (run `make deps`): %v", d, err)
		}
	}
}

// logDrops logs ebpfvrrp's nonzero drop counters: an advert lab.FRR sends that ebpfvrrp's
// kernel path refuses shows up here before it shows up as a second Master.
func logDrops(t *testing.T, l *lab.Lab, h, what string) {
	t.Helper()
	m, err := l.Metrics(context.Background(), h)
	if err != nil {
		t.Logf("%s: metrics of %s: %v", what, h, err)
		return
	}
	var drops []string
	for series, v := range m {
		if v != 0 && lab.SumMetrics(map[string]float64{series: v}, "ebpfvrrp_drops_total") != 0 {
			drops = append(drops, fmt.Sprintf("%s=%v", series, v))
		}
	}
	sort.Strings(drops)
	t.Logf("%s: %s ebpfvrrp drops: %v", what, h, drops)
}

// capture writes what crosses the lab's bridge (VRRP, ARP, ICMPv6) to file until the
// test ends: EBPFVRRP_FRR_PCAP=DIR keeps one pcap per case, for tshark.
func capture(t *testing.T, l *lab.Lab, file string) {
	t.Helper()
	cmd := exec.Command("tcpdump", "-i", "br0", "-U", "-s", "256", "-w", file, "ip proto 112 or ip6 proto 112 or arp or icmp6")
	cmd.SysProcAttr = lab.ProcAttr()
	if err := l.Do(lab.Switch, cmd.Start); err != nil {
		t.Fatalf("tcpdump: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		_ = cmd.Wait()
		t.Logf("capture: %s", file)
	})
	time.Sleep(200 * time.Millisecond) // tcpdump attaches before the daemons start
}
