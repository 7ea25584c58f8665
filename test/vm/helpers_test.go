package vm

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/lab"
	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

// pair is which daemon runs on lb-5 (priority 150) and lb-6 (priority 100).
type pair struct {
	name     string
	lb5, lb6 lab.Daemon
}

var (
	allKeepalived = pair{"keepalived", lab.Keepalived, lab.Keepalived}
	allEbpfvrrp   = pair{"ebpfvrrp", lab.Ebpfvrrp, lab.Ebpfvrrp}
	// daemonPairs runs each scenario on ebpfvrrp and on the keepalived baseline.
	daemonPairs = []pair{allKeepalived, allEbpfvrrp}
	// mixedPairs puts keepalived in both roles opposite ebpfvrrp.
	mixedPairs = []pair{
		{"ebpfvrrp-master+keepalived-backup", lab.Ebpfvrrp, lab.Keepalived},
		{"keepalived-master+ebpfvrrp-backup", lab.Keepalived, lab.Ebpfvrrp},
	}
)

func (p pair) uses(d lab.Daemon) bool { return p.lb5 == d || p.lb6 == d }

// forEachLinkKind runs fn as a parallel subtest per link kind (named after it): every
// scenario must hold on veth, which floods every frame, and on macvlan, which filters
// multicast for groups the host did not join, as real NICs do.
func forEachLinkKind(t *testing.T, fn func(t *testing.T, kind lab.LinkKind)) {
	t.Helper()
	for _, kind := range lab.LinkKinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			fn(t, kind)
		})
	}
}

// withLinkKind returns o on link kind k.
func withLinkKind(o lab.Options, k lab.LinkKind) lab.Options {
	o.LinkKind = k
	return o
}

// newLab builds a fresh lab for p, removed at cleanup; on failure the daemons' and
// nginx's logs are printed first.
func newLab(t *testing.T, p pair, opts lab.Options) *lab.Lab {
	t.Helper()
	testutil.Privileged(t)
	testutil.Require(t, "keepalived", "nginx", "nft", "tcpdump")
	opts.Prefix = "evt"
	opts.Daemons = map[string]lab.Daemon{lab.LB5: p.lb5, lab.LB6: p.lb6}
	opts.RequireNginx = true
	if p.uses(lab.Ebpfvrrp) {
		opts.EbpfvrrpBinary = testutil.EbpfvrrpBinary(t)
	}
	opts.Logf = func(format string, args ...any) { t.Logf(format, args...) }
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := lab.New(ctx, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, h := range l.LBs() {
				t.Logf("--- %s %s log:\n%s", h, l.Daemon(h), tail(l.Log(h, "lb"), 80))
				t.Logf("--- %s nginx log:\n%s", h, tail(l.Log(h, "web"), 20))
			}
		}
		// Keep Logf quiet after the test returned.
		l.SetLogf(nil)
		if err := l.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return l
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// startPair starts lb-5 then lb-6 on DefaultConfig.
func startPair(t *testing.T, l *lab.Lab) {
	t.Helper()
	for _, h := range lab.LBHosts {
		if err := l.StartLB(h, l.DefaultConfig(h)); err != nil {
			t.Fatalf("StartLB(%s): %v", h, err)
		}
	}
}

// waitVIP waits up to 15 s until exactly want hold the VIP.
func waitVIP(t *testing.T, l *lab.Lab, want ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	start := time.Now()
	if _, err := l.WaitVIP(ctx, want...); err != nil {
		t.Fatalf("%v", err)
	}
	t.Logf("VIP on %v after %v", want, time.Since(start).Round(time.Millisecond))
	waitRunning(t, l)
}

// waitRunning waits until every ebpfvrrp the lab runs has logged that it runs
// its instances: the VIP on the Master says nothing of a Backup still
// verifying its programs, which takes seconds on a busy two-core machine.
func waitRunning(t *testing.T, l *lab.Lab) {
	t.Helper()
	for _, h := range l.LBs() {
		if l.Daemon(h) != lab.Ebpfvrrp {
			continue
		}
		testutil.WaitFor(t, time.Minute, h+" running", func() (bool, string) {
			return !l.LBRunning(h) || strings.Contains(l.Log(h, "lb"), `"msg":"ebpfvrrp running"`), ""
		})
	}
}

// waitVIPOn waits up to 15 s until h holds the VIP (others may too: a cut-off master
// keeping it harms nobody).
func waitVIPOn(t *testing.T, l *lab.Lab, h string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !slices.Contains(l.VIPHolder(), h) {
		if time.Now().After(deadline) {
			t.Fatalf("VIP not on %s within 15 s (holders %v)", h, l.VIPHolder())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// holdVIP checks for d that exactly want keep holding the VIP.
func holdVIP(t *testing.T, l *lab.Lab, d time.Duration, want ...string) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if got := l.VIPHolder(); !slices.Equal(got, want) {
			t.Fatalf("VIP holders changed: want %v, got %v", want, got)
		}
	}
}

// waitServed waits up to 10 s until the probe has a success sent after since.
func waitServed(t *testing.T, p *lab.Probe, since time.Duration) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		r := p.Snapshot()
		for i := len(r.Timeline) - 1; i >= 0 && r.Timeline[i].T > since; i-- {
			if r.Timeline[i].OK {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("client not served again within 10 s: %v", p.Snapshot())
}

// settle gives the backup time to hear the master before a fault is injected, so
// the scenario starts from steady state rather than mid-election.
func settle(l *lab.Lab) {
	time.Sleep(max(3*l.Options().AdvertInterval, 500*time.Millisecond))
}

// fastInterval is the advert interval of scenarios that do not care about it: short
// for speed, long enough that a 2-core machine running labs in parallel under -race
// never delays adverts past Master_Down_Interval (at 100 ms that happened).
const fastInterval = 200 * time.Millisecond

func TestMain(m *testing.M) { testutil.Main(m) }
