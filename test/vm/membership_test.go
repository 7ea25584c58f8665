package vm

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/lab"
)

// Issue 12: a daemon that starts on a multicast instance joins the VRRP group, so a
// NIC's filter (here: the macvlan port) and a snooping switch deliver the adverts.
// The report must be seen on the trunk: IGMP for 224.0.0.18, MLD for ff02::12.
// keepalived, which joins, checks the test itself.
func TestGroupMembershipReports(t *testing.T) {
	t.Parallel()
	for _, d := range []lab.Daemon{lab.Keepalived, lab.Ebpfvrrp} {
		for _, ipv6 := range []bool{false, true} {
			group, family := "224.0.0.18", "ipv4"
			if ipv6 {
				group, family = "ff02::12", "ipv6"
			}
			t.Run(string(d)+"/"+family, func(t *testing.T) {
				t.Parallel()
				l := newLab(t, pair{string(d), d, d}, lab.Options{LinkKind: lab.Macvlan, Version: 3, AdvertInterval: fastInterval, IPv6: ipv6})
				// Not "icmp6": MLD comes behind a hop-by-hop header, which that filter misses.
				stop := startCapture(t, l, lab.Switch, lab.Trunk, "igmp or ip6")
				if err := l.StartLB(lab.LB5, l.DefaultConfig(lab.LB5)); err != nil {
					t.Fatal(err)
				}
				// IGMPv3 and MLDv2 send an unsolicited report at once and repeat it
				// (robustness 2, within 1 s): 2 s leaves room for a slow start.
				waitVIP(t, l, lab.LB5)
				time.Sleep(2 * time.Second)
				dump := readPcap(t, stop())
				var reports []string
				for _, line := range strings.Split(dump, "\n") {
					if strings.Contains(line, "report") && strings.Contains(line, "gaddr "+group+" ") {
						reports = append(reports, strings.TrimSpace(line))
					}
				}
				if d == lab.Ebpfvrrp {
					ifs := waitInterfaceStatus(t, l, lab.LB5)
					if !slices.Contains(ifs["eth0"].Groups, group) {
						t.Errorf("ebpfvrrp status: eth0 groups %v, want %s", ifs["eth0"].Groups, group)
					}
				}
				if len(reports) == 0 {
					t.Errorf("%s started on lb-5: no IGMP/MLD report for %s seen on the trunk; capture:\n%s", d, group, dump)
				} else {
					t.Logf("reports for %s: %q", group, reports)
				}
			})
		}
	}
}
