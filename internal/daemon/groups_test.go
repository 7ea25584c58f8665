package daemon

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

// TestGroupsFollowReloadAndLink: the host is a member of an instance's group for
// as long as the instance runs there: a reload that adds an instance on another
// interface joins there (IPv6 this time), one that removes it leaves, a unicast
// instance joins nothing, and a link going down and up keeps the membership.
func TestGroupsFollowReloadAndLink(t *testing.T) {
	testutil.Privileged(t)
	testutil.Require(t, "ip")
	a, b := testutil.NewNetns(t, "dmga"), testutil.NewNetns(t, "dmgb")
	testutil.Veth(t, a, "eth0", netip.MustParsePrefix("198.18.12.5/24"), b, "eth0", netip.MustParsePrefix("198.18.12.6/24"))
	testutil.Veth(t, a, "eth1", netip.MustParsePrefix("198.18.13.5/24"), b, "eth1", netip.MustParsePrefix("198.18.13.6/24"))
	one := `instances:
  - {name: VI_1, interface: eth0, vrid: 52, priority: 150, version: 3, advert_interval: 100ms, vips: [198.18.12.3/32]}
`
	two := one + `  - {name: VI_6, interface: eth1, vrid: 53, priority: 150, version: 3, advert_interval: 100ms, vips: ["fd00:198:13::3/128"]}
  - {name: VI_U, interface: eth1, vrid: 54, priority: 150, version: 3, advert_interval: 100ms, vips: [198.18.13.3/32],
     unicast_source: 198.18.13.5, unicast_peers: [198.18.13.6]}
`
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(cfg, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(one)
	n := &node{ns: a, cfg: cfg, pin: "/sys/fs/bpf/" + testutil.UniqueName("dmgt")}
	startNode(t, n)

	// groups waits until status and the kernel (ip maddr) agree on want.
	groups := func(what string, want map[string][]string) {
		t.Helper()
		testutil.WaitFor(t, 15*time.Second, what, func() (bool, string) {
			st, err := nodeStatus(t, n)
			if err != nil {
				return false, err.Error()
			}
			got := map[string][]string{}
			for _, is := range st.Interfaces {
				if len(is.Groups) > 0 {
					got[is.Name] = is.Groups
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				return false, fmt.Sprintf("status groups %v, want %v", got, want)
			}
			for _, ifname := range []string{"eth0", "eth1"} {
				maddr := a.Exec(t, "ip", "maddr", "show", "dev", ifname)
				for _, g := range []string{"224.0.0.18", "ff02::12"} {
					if has, wants := strings.Contains(maddr, " "+g+"\n"), slices.Contains(want[ifname], g); has != wants {
						return false, fmt.Sprintf("%s: kernel member of %s = %v, want %v:\n%s", ifname, g, has, wants, maddr)
					}
				}
			}
			return true, ""
		})
	}
	groups("eth0 joined", map[string][]string{"eth0": {"224.0.0.18"}})

	write(two)
	n.signal(syscall.SIGHUP)
	groups("reload: ff02::12 joined on eth1, nothing for the unicast instance",
		map[string][]string{"eth0": {"224.0.0.18"}, "eth1": {"ff02::12"}})

	a.Do(t, func() error {
		l, err := netlink.LinkByName("eth0")
		if err != nil {
			return err
		}
		if err := netlink.LinkSetDown(l); err != nil {
			return err
		}
		time.Sleep(200 * time.Millisecond)
		return netlink.LinkSetUp(l)
	})
	groups("eth0 down and up: still a member", map[string][]string{"eth0": {"224.0.0.18"}, "eth1": {"ff02::12"}})

	write(one)
	n.signal(syscall.SIGHUP)
	groups("reload: eth1's group left with its last instance", map[string][]string{"eth0": {"224.0.0.18"}})
}
