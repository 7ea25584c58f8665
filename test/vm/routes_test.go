package vm

import (
	"strings"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/lab"
)

// TestVirtualRoutes, side by side with keepalived on the same config: the
// virtual_routes and virtual_rules are on the Master only, follow the VIP to
// lb-6 on failover and leave it when lb-5 takes the VIP back
// (keepalived/vrrp/vrrp.c: vrrp_state_become_master adds them after the VIPs,
// vrrp_restore_interface removes them).
//
// keyword: vrrp_instance virtual_routes
// keyword: vrrp_instance virtual_rules
func TestVirtualRoutes(t *testing.T) {
	t.Parallel()
	routes := []string{"198.18.99.0/24 via 198.18.0.1 dev eth0 table 100", "blackhole 198.18.98.0/24"}
	rules := []string{"from 198.18.0.3 table 100"}
	for _, p := range daemonPairs {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t, p, lab.Options{Version: 3, AdvertInterval: fastInterval})
			for _, h := range lab.LBHosts {
				c := l.LBConfig(h)
				c.Instances[0].VirtualRoutes, c.Instances[0].VirtualRules = routes, rules
				cfg := c.Keepalived()
				if l.Daemon(h) == lab.Ebpfvrrp {
					cfg = c.YAML()
				}
				if err := l.StartLB(h, cfg); err != nil {
					t.Fatalf("StartLB(%s): %v", h, err)
				}
			}
			// has reports whether host holds all of them, or (want false) none.
			has := func(host string) (all, none bool) {
				r100, _ := l.Exec(host, "ip", "route", "show", "table", "100")
				main, _ := l.Exec(host, "ip", "route", "show")
				rl, _ := l.Exec(host, "ip", "rule", "show")
				got := []bool{
					strings.Contains(string(r100), "198.18.99.0/24 via 198.18.0.1 dev eth0"),
					strings.Contains(string(main), "blackhole 198.18.98.0/24"),
					strings.Contains(string(rl), "from 198.18.0.3 lookup 100"),
				}
				all, none = true, true
				for _, g := range got {
					all, none = all && g, none && !g
				}
				return all, none
			}
			wait := func(host string, want bool) {
				t.Helper()
				deadline := time.Now().Add(10 * time.Second)
				for {
					all, none := has(host)
					if (want && all) || (!want && none) {
						return
					}
					if time.Now().After(deadline) {
						r, _ := l.Exec(host, "sh", "-c", "ip route show table all | grep -v ' local \\|^local\\|fe80\\|multicast'; ip rule show")
						t.Fatalf("%s: want routes and rules present=%v, have:\n%s", host, want, r)
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
			waitVIP(t, l, lab.LB5)
			settle(l)
			wait(lab.LB5, true)
			wait(lab.LB6, false)
			if err := l.CutLink(lab.LB5); err != nil {
				t.Fatal(err)
			}
			waitVIPOn(t, l, lab.LB6)
			wait(lab.LB6, true)
			if err := l.RestoreLink(lab.LB5); err != nil {
				t.Fatal(err)
			}
			waitVIP(t, l, lab.LB5)
			wait(lab.LB6, false)
			wait(lab.LB5, true)
		})
	}
}
