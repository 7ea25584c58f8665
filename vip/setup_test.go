package vip

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

const testOwner = "vip-test"

// side is one end of a test link.
type side struct {
	ns      *testutil.Netns
	ifname  string
	ifindex int
	mac     net.HardwareAddr
}

// pair is two namespaces joined by a veth: "us" (the VRRP router under test)
// and "peer" (another router or a client on the same link).
type pair struct {
	us, peer side
}

func newPair(t *testing.T) *pair {
	t.Helper()
	testutil.Privileged(t)
	p := &pair{
		us:   side{ns: testutil.NewNetns(t, "vipus"), ifname: testutil.UniqueName("va")},
		peer: side{ns: testutil.NewNetns(t, "vippe"), ifname: testutil.UniqueName("vb")},
	}
	testutil.Veth(t, p.us.ns, p.us.ifname, netip.MustParsePrefix("198.18.0.1/24"),
		p.peer.ns, p.peer.ifname, netip.MustParsePrefix("198.18.0.2/24"))
	p.us.fill(t, "fd00:198:18::1/64")
	p.peer.fill(t, "fd00:198:18::2/64")
	return p
}

// fill adds the side's IPv6 address (no DAD, usable at once) and records its
// index and MAC.
func (s *side) fill(t *testing.T, v6 string) {
	t.Helper()
	s.ns.Do(t, func() error {
		l, err := netlink.LinkByName(s.ifname)
		if err != nil {
			return err
		}
		a, err := netlink.ParseAddr(v6)
		if err != nil {
			return err
		}
		a.Flags = unix.IFA_F_NODAD
		if err := netlink.AddrAdd(l, a); err != nil {
			return fmt.Errorf("add %s: %w", v6, err)
		}
		s.ifindex, s.mac = l.Attrs().Index, l.Attrs().HardwareAddr
		return nil
	})
	s.waitLinkLocal(t)
}

// waitLinkLocal waits until the kernel has generated the link-local address,
// which NA and NS use as their source.
func (s *side) waitLinkLocal(t *testing.T) {
	t.Helper()
	testutil.WaitFor(t, 10*time.Second, fmt.Sprintf("%s has a link-local address", s.ifname), func() (bool, string) {
		var ll netip.Addr
		s.ns.Do(t, func() error {
			addrs, err := rtnl{}.list(unix.AF_INET6, s.ifindex)
			ll = pickLinkLocal(addrs)
			return err
		})
		return ll.IsValid(), "no link-local"
	})
}

// kernelAddrs lists the addresses on the side's interface as the kernel
// reports them.
func (s *side) kernelAddrs(t *testing.T) []kernelAddr {
	t.Helper()
	addrs, err := rtnlAt(s.ns.Handle).list(unix.AF_UNSPEC, s.ifindex)
	if err != nil {
		t.Fatal(err)
	}
	return addrs
}

func (s *side) lookup(t *testing.T, ip netip.Addr) (kernelAddr, bool) {
	t.Helper()
	i := slices.IndexFunc(s.kernelAddrs(t), func(ka kernelAddr) bool { return ka.Prefix.Addr() == ip })
	if i < 0 {
		return kernelAddr{}, false
	}
	return s.kernelAddrs(t)[i], true
}

// ipAddrShow is iproute2's view of the interface, an independent check of
// our own netlink parsing.
func (s *side) ipAddrShow(t *testing.T) string {
	t.Helper()
	return s.ns.Exec(t, "ip", "-o", "addr", "show", "dev", s.ifname)
}

// addForeign adds an address the way an operator would, without our marker.
func (s *side) addForeign(t *testing.T, p netip.Prefix) {
	t.Helper()
	s.ns.Do(t, func() error {
		l, err := netlink.LinkByIndex(s.ifindex)
		if err != nil {
			return err
		}
		a, err := netlink.ParseAddr(p.String())
		if err != nil {
			return err
		}
		if p.Addr().Is6() {
			a.Flags = unix.IFA_F_NODAD
		}
		return netlink.AddrAdd(l, a)
	})
}

func (s *side) manager(owner string) *Manager {
	return NewManager(owner, WithNetns(s.ns.Handle))
}

func containsWord(out, word string) bool {
	// `ip -o` ends each record's first line with a backslash.
	fields := strings.FieldsFunc(out, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\\' })
	return slices.Contains(fields, word)
}
