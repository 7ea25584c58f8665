package vip

import (
	"net/netip"
	"testing"

	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

func BenchmarkFrames(b *testing.B) {
	b.Run("gratuitous ARP", func(b *testing.B) {
		for b.Loop() {
			if _, err := gratuitousARP(ourMAC, vip4); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unsolicited NA", func(b *testing.B) {
		for b.Loop() {
			if _, err := unsolicitedNA(ourMAC, ll6, vip6); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkManagerAddRemove measures one VIP add plus remove through netlink,
// including the lookups that guard ownership: the cost a failover pays per VIP.
func BenchmarkManagerAddRemove(b *testing.B) {
	testutil.Privileged(b)
	us, peer := testutil.NewNetns(b, "vipus"), testutil.NewNetns(b, "vippe")
	usIf := testutil.UniqueName("va")
	testutil.Veth(b, us, usIf, netip.MustParsePrefix("198.18.0.1/24"), peer, testutil.UniqueName("vb"), netip.Prefix{})
	var idx int
	us.Do(b, func() error {
		addrs, err := rtnl{}.list(0, 0)
		for _, ka := range addrs {
			if ka.Prefix.Addr() == netip.MustParseAddr("198.18.0.1") {
				idx = ka.Ifindex
			}
		}
		return err
	})
	m := NewManager(testOwner, WithNetns(us.Handle))
	for _, s := range []string{"198.18.0.100/32", "fd00:198:18::100/128"} {
		a := Address{Prefix: netip.MustParsePrefix(s), Ifindex: idx}
		b.Run(s, func(b *testing.B) {
			for b.Loop() {
				if err := m.Add(a); err != nil {
					b.Fatal(err)
				}
				if err := m.Remove(a); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAnnounce measures one Announce of an IPv4 and an IPv6 VIP (two
// frames, plus the link-local lookup) on a veth.
func BenchmarkAnnounce(b *testing.B) {
	testutil.Privileged(b)
	us, peer := testutil.NewNetns(b, "vipus"), testutil.NewNetns(b, "vippe")
	usIf := testutil.UniqueName("va")
	testutil.Veth(b, us, usIf, netip.MustParsePrefix("198.18.0.1/24"), peer, testutil.UniqueName("vb"), netip.Prefix{})
	var a *Announcer
	us.Do(b, func() error {
		addrs, err := rtnl{}.list(0, 0)
		if err != nil {
			return err
		}
		for _, ka := range addrs {
			if ka.Prefix.Addr() == netip.MustParseAddr("198.18.0.1") {
				a, err = NewAnnouncer(ka.Ifindex)
			}
		}
		return err
	})
	b.Cleanup(func() { a.Close() })
	vips := []netip.Addr{vip4, vip6}
	for b.Loop() {
		if err := a.Announce(vips, nil); err != nil {
			b.Fatal(err)
		}
	}
}
