package vm

import (
	"errors"
	"strings"
	"testing"

	"github.com/ebpfvrrp/ebpfvrrp/internal/lab"
)

// The macvlan kind wires what it says: each host's eth0 is a macvlan (bridge mode) of
// the switch's trunk, cutting a host's link is per host, and the switch has no port
// per host.
func TestLinkKindMacvlan(t *testing.T) {
	t.Parallel()
	l := newLab(t, allKeepalived, lab.Options{Version: 3, AdvertInterval: fastInterval, LinkKind: lab.Macvlan})
	out, err := l.Exec(lab.LB5, "ip", "-d", "link", "show", "eth0")
	if err != nil {
		t.Fatalf("ip link: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "macvlan mode bridge") {
		t.Errorf("lb-5 eth0 is not a bridge-mode macvlan:\n%s", out)
	}
	if _, err := l.LinkStats(lab.Switch, lab.LB5); !errors.Is(err, lab.ErrNoSwitchPort) {
		t.Errorf("LinkStats(switch, lb-5) on macvlan: %v, want ErrNoSwitchPort", err)
	}
	if _, err := l.LinkStats(lab.Switch, lab.Trunk); err != nil {
		t.Errorf("LinkStats(switch, trunk): %v", err)
	}
	if _, err := l.HardwareAddr(lab.LB6); err != nil {
		t.Errorf("HardwareAddr: %v", err)
	}
	ping := func(want bool) {
		t.Helper()
		_, err := l.Exec(lab.LB6, "ping", "-c1", "-W1", lab.Addr4(lab.LB5).String())
		if (err == nil) != want {
			t.Errorf("ping lb-6 -> lb-5: err %v, want reachable=%v", err, want)
		}
	}
	ping(true)
	if err := l.CutLink(lab.LB5); err != nil {
		t.Fatal(err)
	}
	ping(false)
	if _, err := l.Exec(lab.Web7, "ping", "-c1", "-W1", lab.Addr4(lab.LB6).String()); err != nil {
		t.Errorf("cutting lb-5 cut web-7 from lb-6 too: %v", err)
	}
	if err := l.RestoreLink(lab.LB5); err != nil {
		t.Fatal(err)
	}
	ping(true)
	if _, err := l.Exec(lab.LB6, "ping", "-6", "-c1", "-W1", lab.Addr6(lab.LB5).String()); err != nil {
		t.Errorf("IPv6 after restore: %v (addresses must survive the cut)", err)
	}
}
