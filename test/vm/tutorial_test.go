package vm

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/lab"
)

// tutorialConfig reads the tutorial's keepalived.conf for host from configs/keepalived
// and changes only the VIP: the lab uses 198.18.0.0/24 for the tutorial's 10.0.0.0/24.
// Everything else (Chinese comments, PASS 1111, VRID 50, advert_int 1, eth0) is the
// operator's file unchanged.
func tutorialConfig(t *testing.T, host string) string {
	t.Helper()
	b, err := os.ReadFile("../../configs/keepalived/" + host + ".conf")
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(b)
	if !strings.Contains(cfg, "10.0.0.3") {
		t.Fatalf("%s.conf no longer carries the tutorial's VIP 10.0.0.3", host)
	}
	return strings.ReplaceAll(cfg, "10.0.0.3", lab.VIP4.String())
}

// TestTutorialKeepalivedConf runs the tutorial's own keepalived.conf pair under
// ebpfvrrp and under keepalived: the same election, the same failover when lb-5's
// link is cut, the same failback with preempt.
func TestTutorialKeepalivedConf(t *testing.T) {
	t.Parallel()
	forEachLinkKind(t, func(t *testing.T, kind lab.LinkKind) {
		outages := map[string]time.Duration{}
		for _, p := range append([]pair{allKeepalived, allEbpfvrrp}, mixedPairs...) {
			t.Run(p.name, func(t *testing.T) {
				l := newLab(t, p, lab.Options{LinkKind: kind})
				for _, h := range lab.LBHosts {
					if err := l.StartLB(h, tutorialConfig(t, h)); err != nil {
						t.Fatalf("StartLB(%s) with the tutorial's %s.conf: %v", h, h, err)
					}
				}
				waitVIP(t, l, lab.LB5)
				settle(l)
				probe := l.StartProbe(10 * time.Millisecond)
				time.Sleep(200 * time.Millisecond)
				failover(t, l, probe)
				back := time.Since(probe.Started())
				if err := l.RestoreLink(lab.LB5); err != nil {
					t.Fatal(err)
				}
				waitVIP(t, l, lab.LB5)
				waitServed(t, probe, back)
				r := probe.Stop()
				outages[p.name] = r.LongestOutage
				t.Logf("tutorial pair under %s: %v; outages %+v", p.name, r, r.Outages)
				if len(r.Outages) == 0 {
					t.Error("cutting the master caused no outage: lb-5 was not the master")
				}
				// Master_Down_Interval for lb-6 is 3 s + 156/256 s; a generous bound.
				if r.LongestOutage > 8*time.Second {
					t.Errorf("outage %v, want about Master_Down_Interval (3.6 s)", r.LongestOutage)
				}
			})
		}
		t.Logf("longest outage by pair: %v", outages)
	})
}
