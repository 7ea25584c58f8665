package vip

import (
	"bytes"
	"errors"
	"github.com/ebpfvrrp/ebpfvrrp/vrrp"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func sysctl(t *testing.T, dev, key string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/net/ipv4/conf/" + dev + "/" + key)
	if err != nil {
		t.Errorf("read sysctl %s/%s: %v", dev, key, err)
	}
	return strings.TrimSpace(string(b))
}

func TestVMAC(t *testing.T) {
	p := newPair(t)
	tests := []struct {
		family   vrrp.Family
		wantName string
		wantMAC  string
	}{
		{vrrp.IPv4, "vrrp.7", "00:00:5e:00:01:07"},
		{vrrp.IPv6, "vrrp6.7", "00:00:5e:00:02:07"},
	}
	for _, tt := range tests {
		t.Run(tt.wantName, func(t *testing.T) {
			p.us.ns.Do(t, func() error {
				idx, name, err := EnsureVMAC(p.us.ifname, 7, tt.family)
				if err != nil {
					return err
				}
				if name != tt.wantName {
					t.Errorf("name = %q, want %q", name, tt.wantName)
				}
				l, err := netlink.LinkByIndex(idx)
				if err != nil {
					return err
				}
				mv, ok := l.(*netlink.Macvlan)
				if !ok {
					t.Fatalf("link is %T, want *netlink.Macvlan", l)
				}
				if mv.Name != tt.wantName || mv.HardwareAddr.String() != tt.wantMAC || mv.Mode != netlink.MACVLAN_MODE_PRIVATE ||
					mv.ParentIndex != p.us.ifindex || mv.Flags&net.FlagUp == 0 {
					t.Errorf("vmac = %s mac %s mode %v parent %d flags %v; want %s mac %s private parent %d up",
						mv.Name, mv.HardwareAddr, mv.Mode, mv.ParentIndex, mv.Flags, tt.wantName, tt.wantMAC, p.us.ifindex)
				}
				for _, c := range []struct{ dev, key, want string }{
					{name, "arp_ignore", "1"}, {name, "accept_local", "1"}, {name, "rp_filter", "0"},
					{p.us.ifname, "arp_ignore", "1"}, {p.us.ifname, "arp_filter", "1"}, {p.us.ifname, "arp_announce", "2"},
				} {
					if got := sysctl(t, c.dev, c.key); got != c.want {
						t.Errorf("%s %s = %s, want %s", c.dev, c.key, got, c.want)
					}
				}
				addrs, err := rtnl{}.list(unix.AF_INET6, idx)
				if err != nil {
					return err
				}
				// Address generation is off (both routers share the MAC: identical
				// EUI-64 link-locals would fail DAD); an IPv6 VMAC carries the
				// parent's link-local instead, as keepalived's
				// add_link_local_address (keepalived/vrrp/vrrp_vmac.c) gives it.
				var want []netip.Prefix
				if tt.family == vrrp.IPv6 {
					parent, err := rtnl{}.list(unix.AF_INET6, p.us.ifindex)
					if err != nil {
						return err
					}
					for _, a := range parent {
						if a.Prefix.Addr().IsLinkLocalUnicast() {
							want = append(want, a.Prefix)
						}
					}
					if len(want) != 1 {
						t.Fatalf("parent link-locals %v, want one", parent)
					}
				}
				var got []netip.Prefix
				for _, a := range addrs {
					got = append(got, a.Prefix)
				}
				if !slices.Equal(got, want) {
					t.Errorf("vmac has IPv6 addresses %v, want %v", got, want)
				}
				again, _, err := EnsureVMAC(p.us.ifname, 7, tt.family)
				if err != nil || again != idx {
					t.Errorf("second EnsureVMAC = %d, %v; want %d, nil", again, err, idx)
				}
				for i := range 2 { // absent the second time: nil
					if err := RemoveVMAC(name); err != nil {
						t.Errorf("RemoveVMAC #%d: %v", i+1, err)
					}
				}
				if _, err := netlink.LinkByName(name); err == nil {
					t.Errorf("%s still exists after RemoveVMAC", name)
				}
				return nil
			})
		})
	}
}

func TestVMACRefusesForeignInterfaces(t *testing.T) {
	p := newPair(t)
	p.us.ns.Do(t, func() error {
		// An interface already called vrrp.8 that is not our VMAC.
		mv := &netlink.Macvlan{
			LinkAttrs: netlink.LinkAttrs{Name: "vrrp.8", ParentIndex: p.us.ifindex, HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 0, 8}},
			Mode:      netlink.MACVLAN_MODE_BRIDGE,
		}
		if err := netlink.LinkAdd(mv); err != nil {
			return err
		}
		if _, _, err := EnsureVMAC(p.us.ifname, 8, vrrp.IPv4); !errors.Is(err, ErrVMACConflict) {
			t.Errorf("EnsureVMAC over a foreign vrrp.8 = %v, want ErrVMACConflict", err)
		}
		for _, name := range []string{"vrrp.8", p.us.ifname} {
			if err := RemoveVMAC(name); !errors.Is(err, ErrVMACConflict) {
				t.Errorf("RemoveVMAC(%s) = %v, want ErrVMACConflict", name, err)
			}
			if _, err := netlink.LinkByName(name); err != nil {
				t.Errorf("%s was deleted: %v", name, err)
			}
		}
		if l, err := netlink.LinkByName("vrrp.8"); err == nil && !bytes.Equal(l.Attrs().HardwareAddr, mv.HardwareAddr) {
			t.Errorf("vrrp.8 MAC changed to %s", l.Attrs().HardwareAddr)
		}
		if _, _, err := EnsureVMAC(p.us.ifname, 0, vrrp.IPv4); err == nil {
			t.Error("EnsureVMAC with VRID 0 succeeded")
		}
		if _, _, err := EnsureVMAC("nonexistent0", 9, vrrp.IPv4); err == nil {
			t.Error("EnsureVMAC on a missing parent succeeded")
		}
		return nil
	})
}
