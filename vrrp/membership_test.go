package vrrp_test

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
	"github.com/ebpfvrrp/ebpfvrrp/vrrp"
)

// A macvlan port filters multicast exactly as a NIC does: frames for a group reach
// it only once the host has joined that group there. This is the failure the
// veth+bridge lab hid (both hosts Master on real ports).
func TestMembershipOpensMacvlanFilter(t *testing.T) {
	testutil.Privileged(t)
	cases := []struct {
		name  string
		group netip.Addr
		mac   net.HardwareAddr
	}{
		{"IPv4", vrrp.IPv4Multicast, net.HardwareAddr{0x01, 0x00, 0x5e, 0x00, 0x00, 0x12}},
		{"IPv6", vrrp.IPv6Multicast, net.HardwareAddr{0x33, 0x33, 0x00, 0x00, 0x00, 0x12}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// A fresh port per case: the driver's filter keeps what it saw.
			sw, host, ifindex := macvlanPort(t)
			m := vrrp.NewMembership()
			t.Cleanup(func() { m.Close() })
			seen := func() int {
				t.Helper()
				return framesTo(t, sw, host, "v0", "m0", tc.group, tc.mac)
			}
			if n := seen(); n != 0 {
				t.Fatalf("before joining: %d frames for %v reached the macvlan port, want 0 (the filter should drop them)", n, tc.group)
			}
			want := []vrrp.Group{{Ifindex: ifindex, Addr: tc.group}}
			host.Do(t, func() error { return m.Set(want) })
			if out := host.Exec(t, "ip", "maddr", "show", "dev", "m0"); !strings.Contains(out, " "+tc.group.String()+"\n") {
				t.Fatalf("after joining, ip maddr does not list %v:\n%s", tc.group, out)
			}
			if got := m.Groups(); len(got) != 1 || got[0] != want[0] {
				t.Fatalf("Groups() = %v, want %v", got, want)
			}
			if n := seen(); n == 0 {
				t.Fatalf("after joining %v: no frame reached the macvlan port", tc.group)
			}
			// Down and up again: the kernel keeps the membership.
			host.Do(t, func() error {
				l, err := netlink.LinkByName("m0")
				if err != nil {
					return err
				}
				if err := netlink.LinkSetDown(l); err != nil {
					return err
				}
				return netlink.LinkSetUp(l)
			})
			if n := seen(); n == 0 {
				t.Fatalf("after link down/up: no frame for %v reached the macvlan port", tc.group)
			}
			host.Do(t, func() error { return m.Set(nil) })
			if got := m.Groups(); len(got) != 0 {
				t.Fatalf("Groups() after Set(nil) = %v, want none", got)
			}
			t.Log(host.Exec(t, "ip", "maddr", "show", "dev", "m0"))
			// The kernel's own list, as `ip maddr` prints it. (Whether the
			// macvlan's hash filter closes again is the driver's business: on
			// 6.18 it keeps delivering a group once seen, which only costs it
			// work.)
			if out := host.Exec(t, "ip", "maddr", "show", "dev", "m0"); strings.Contains(out, " "+tc.group.String()+"\n") {
				t.Fatalf("after leaving, the host is still a member of %v:\n%s", tc.group, out)
			}
		})
	}
}

// macvlanPort makes host's m0, a bridge-mode macvlan on a veth whose peer v0 is
// in sw.
func macvlanPort(t *testing.T) (sw, host *testutil.Netns, ifindex int) {
	t.Helper()
	sw = testutil.NewNetns(t, "mbsw")
	host = testutil.NewNetns(t, "mbh")
	testutil.Veth(t, sw, "v0", netip.MustParsePrefix("198.18.7.1/24"), host, "v1", netip.Prefix{})
	host.Do(t, func() error {
		lower, err := netlink.LinkByName("v1")
		if err != nil {
			return err
		}
		mv := &netlink.Macvlan{LinkAttrs: netlink.LinkAttrs{Name: "m0", ParentIndex: lower.Attrs().Index}, Mode: netlink.MACVLAN_MODE_BRIDGE}
		if err := netlink.LinkAdd(mv); err != nil {
			return err
		}
		if err := testutil.LinkUp("m0", netip.MustParsePrefix("198.18.7.2/24")); err != nil {
			return err
		}
		l, err := netlink.LinkByName("m0")
		ifindex = l.Attrs().Index
		return err
	})

	return sw, host, ifindex
}

func TestMembershipSet(t *testing.T) {
	testutil.Privileged(t)
	ns := testutil.NewNetns(t, "mbset")
	var lo int
	ns.Do(t, func() error {
		l, err := netlink.LinkByName("lo")
		lo = l.Attrs().Index
		return err
	})
	m := vrrp.NewMembership()
	t.Cleanup(func() { m.Close() })
	g4 := vrrp.Group{Ifindex: lo, Addr: vrrp.IPv4Multicast}
	g4b := vrrp.Group{Ifindex: lo, Addr: netip.MustParseAddr("224.0.0.19")}
	g6 := vrrp.Group{Ifindex: lo, Addr: vrrp.IPv6Multicast}
	steps := [][]vrrp.Group{
		{g4, g6},
		{g4, g4, g4b, g6}, // duplicates are one membership
		{g4b},
		{},
	}
	for i, want := range steps {
		ns.Do(t, func() error { return m.Set(want) })
		got := m.Groups()
		dedup := map[vrrp.Group]bool{}
		for _, g := range want {
			dedup[g] = true
		}
		if len(got) != len(dedup) {
			t.Fatalf("step %d: Groups() = %v, want %v", i, got, want)
		}
		for _, g := range got {
			if !dedup[g] {
				t.Fatalf("step %d: Groups() = %v, want %v", i, got, want)
			}
		}
	}
	if err := m.Set([]vrrp.Group{{Ifindex: lo, Addr: netip.MustParseAddr("198.18.0.1")}}); err == nil {
		t.Fatal("Set with a unicast address: no error")
	}
}

// framesTo sends a few datagrams to group from sw's ifname and counts the frames
// addressed to mac that arrive on host's port.
func framesTo(t *testing.T, sw, host *testutil.Netns, from, port string, group netip.Addr, mac net.HardwareAddr) int {
	t.Helper()
	var fd int
	host.Do(t, func() error {
		l, err := netlink.LinkByName(port)
		if err != nil {
			return err
		}
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
		if err != nil {
			return err
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: l.Attrs().Index}); err != nil {
			return err
		}
		return unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 50000})
	})
	defer unix.Close(fd)
	sw.Do(t, func() error {
		ifi, err := net.InterfaceByName(from)
		if err != nil {
			return err
		}
		if group.Is6() {
			// The sender needs a usable link-local source: wait out its DAD
			// (a second, longer on a busy machine).
			if err := waitLinkLocal(ifi.Index, 20*time.Second); err != nil {
				return err
			}
		}
		var dom int
		var sa unix.Sockaddr
		if group.Is4() {
			dom, sa = unix.AF_INET, &unix.SockaddrInet4{Port: 9, Addr: group.As4()}
		} else {
			dom, sa = unix.AF_INET6, &unix.SockaddrInet6{Port: 9, Addr: group.As16(), ZoneId: uint32(ifi.Index)}
		}
		s, err := unix.Socket(dom, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(s)
		if group.Is4() {
			err = unix.SetsockoptIPMreqn(s, unix.IPPROTO_IP, unix.IP_MULTICAST_IF, &unix.IPMreqn{Ifindex: int32(ifi.Index)})
		} else {
			err = unix.SetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_IF, ifi.Index)
		}
		if err != nil {
			return err
		}
		for range 3 {
			if err := unix.Sendto(s, []byte("vrrp-membership-test"), 0, sa); err != nil {
				return err
			}
		}
		return nil
	})
	n := 0
	buf := make([]byte, 2048)
	deadline := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(deadline) {
		k, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			continue
		}
		if k >= 6 && bytes.Equal(buf[:6], mac) && bytes.Contains(buf[:k], []byte("vrrp-membership-test")) {
			n++
		}
	}
	return n
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// waitLinkLocal waits until the interface ifindex (in the calling thread's
// namespace) has an IPv6 link-local address that is no longer tentative.
func waitLinkLocal(ifindex int, timeout time.Duration) error {
	link, err := netlink.LinkByIndex(ifindex)
	if err != nil {
		return err
	}
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		addrs, err := netlink.AddrList(link, netlink.FAMILY_V6)
		if err != nil {
			return err
		}
		for _, a := range addrs {
			if a.IP.IsLinkLocalUnicast() && a.Flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED) == 0 {
				return nil
			}
		}
	}
	return fmt.Errorf("no usable IPv6 link-local address on %s within %v", link.Attrs().Name, timeout)
}
