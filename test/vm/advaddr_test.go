package vm

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/lab"
)

// TestAdvertAddressCheck, side by side with keepalived: lb-6 is configured
// with one VIP more than lb-5. keepalived ignores an advert whose addresses
// are not its VIPs (keepalived/vrrp/vrrp.c, vrrp_in_chk: addr_list_err), so
// neither side follows the other and both become Master; ebpfvrrp does the
// same in the kernel and counts the adverts in drops_total{reason="addr_list"}.
func TestAdvertAddressCheck(t *testing.T) {
	t.Parallel()
	for _, p := range []pair{allKeepalived, {"ebpfvrrp-keepalived", lab.Ebpfvrrp, lab.Keepalived}} {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t, p, lab.Options{Version: 3, AdvertInterval: fastInterval})
			for _, h := range lab.LBHosts {
				c := l.LBConfig(h)
				if h == lab.LB6 {
					c.Instances[0].VIPs = append(c.Instances[0].VIPs, netip.MustParseAddr("198.18.0.99"))
				}
				cfg := c.Keepalived()
				if l.Daemon(h) == lab.Ebpfvrrp {
					cfg = c.YAML()
				}
				if err := l.StartLB(h, cfg); err != nil {
					t.Fatalf("StartLB(%s): %v", h, err)
				}
			}
			waitVIP(t, l, lab.LB5, lab.LB6)
			if l.Daemon(lab.LB5) != lab.Ebpfvrrp {
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			m, err := l.Metrics(ctx, lab.LB5)
			if err != nil {
				t.Fatal(err)
			}
			var n float64
			for series, v := range m {
				if strings.HasPrefix(series, "ebpfvrrp_drops_total{") && strings.Contains(series, `reason="addr_list"`) {
					n += v
				}
			}
			if n == 0 {
				t.Errorf(`ebpfvrrp_drops_total{reason="addr_list"} is 0 on lb-5 after keepalived's adverts with another VIP list`)
			}
		})
	}
}
