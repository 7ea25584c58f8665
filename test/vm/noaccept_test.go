package vm

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/ebpfvrrp/ebpfvrrp/internal/lab"
)

// TestNoAccept, side by side with keepalived on the same config: with
// no_accept, the Master (priority 150, not the address owner) holds the VIP
// but does not accept traffic to it (keepalived installs an nftables drop rule,
// keepalived/vrrp/vrrp.c vrrp_handle_accept_mode; ebpfvrrp drops in XDP). ARP
// for the VIP still resolves to the Master, and its own address still answers.
func TestNoAccept(t *testing.T) {
	t.Parallel()
	for _, p := range daemonPairs {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t, p, lab.Options{Version: 3, NoAccept: true})
			startPair(t, l)
			waitVIP(t, l, lab.LB5)
			settle(l)
			ping := func(dst netip.Addr) error {
				_, err := l.Exec(lab.Client, "ping", "-n", "-q", "-c", "2", "-W", "1", dst.String())
				return err
			}
			if err := ping(lab.Addr4(lab.LB5)); err != nil {
				t.Fatalf("ping lb-5's own address: %v", err)
			}
			if err := ping(l.VIP()); err == nil {
				t.Errorf("the VIP answered a ping; with no_accept the Master must drop it")
			}
			out, err := l.Exec(lab.Client, "ip", "neigh", "show", l.VIP().String())
			if err != nil {
				t.Fatal(err)
			}
			f := strings.Fields(string(out))
			i := slices.Index(f, "lladdr")
			if i < 0 || i+1 >= len(f) {
				t.Fatalf("client has no neighbour entry for the VIP (%q): ARP must pass no_accept", out)
			}
			link, err := l.Exec(lab.LB5, "ip", "-o", "link", "show", "eth0")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(link), "link/ether "+f[i+1]) {
				t.Errorf("client resolved the VIP to %s, not lb-5's eth0 (%q)", f[i+1], link)
			}
		})
	}
}
