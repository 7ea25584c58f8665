package vm

import (
	"github.com/ebpfvrrp/ebpfvrrp/internal/lab"

	"net/netip"
	"testing"
	"time"
)

// TestManyVIPs: 40 VIPs in one instance, more than the receive path once
// accepted in an advert (32, while validate allowed 255): the hosts dropped each
// other's adverts and both became Master. Every pair must elect one Master and
// keep it, with ebpfvrrp or keepalived as Backup.
func TestManyVIPs(t *testing.T) {
	t.Parallel()
	pairs := append([]pair{allEbpfvrrp}, mixedPairs...)
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t, p, lab.Options{Version: 3, AdvertInterval: 100 * time.Millisecond})
			for _, h := range lab.LBHosts {
				c := l.LBConfig(h)
				for i := range 39 {
					c.Instances[0].VIPs = append(c.Instances[0].VIPs, netip.AddrFrom4([4]byte{198, 18, 0, byte(200 + i)}))
				}
				cfg := c.Keepalived()
				if l.Daemon(h) == lab.Ebpfvrrp {
					cfg = c.YAML()
				}
				if err := l.StartLB(h, cfg); err != nil {
					t.Fatalf("StartLB(%s): %v", h, err)
				}
			}
			waitVIP(t, l, lab.LB5)
			// Ten Master_Down_Intervals: a Backup deaf to the adverts would
			// have taken the VIP several times over.
			holdVIP(t, l, 4*time.Second, lab.LB5)
		})
	}
}
