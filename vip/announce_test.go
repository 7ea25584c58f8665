package vip

import (
	"github.com/ebpfvrrp/ebpfvrrp/vrrp"

	"bytes"
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

var staleMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x99}

// capture opens an AF_PACKET socket on the side's interface before anything
// is sent, so no frame is missed.
func (s *side) capture(t *testing.T, v6 bool) *packet.Conn {
	t.Helper()
	var c *packet.Conn
	s.ns.Do(t, func() error {
		ifi, err := net.InterfaceByIndex(s.ifindex)
		if err != nil {
			return err
		}
		proto, cfg := unix.ETH_P_ARP, (*packet.Config)(nil)
		if v6 {
			proto, cfg = unix.ETH_P_IPV6, &packet.Config{Filter: naFilter}
		}
		c, err = packet.Listen(ifi, packet.Raw, proto, cfg)
		return err
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// next returns the first captured frame match accepts, within 10 s.
func next(t *testing.T, c *packet.Conn, match func([]byte) bool) []byte {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	for {
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no matching frame captured: %v", err)
		}
		if match(buf[:n]) {
			return bytes.Clone(buf[:n])
		}
	}
}

// seedNeighbour gives the side a STALE cache entry for ip at staleMAC, as a
// client that talked to the previous Master has: Linux only updates existing
// entries from gratuitous ARP and unsolicited NA (arp_accept and
// accept_untracked_na are off by default).
func (s *side) seedNeighbour(t *testing.T, ip netip.Addr) {
	t.Helper()
	s.ns.Do(t, func() error {
		return netlink.NeighAdd(&netlink.Neigh{
			LinkIndex: s.ifindex, Family: family(ip), State: netlink.NUD_STALE,
			IP: ip.AsSlice(), HardwareAddr: staleMAC,
		})
	})
}

func (s *side) neighbour(t *testing.T, ip netip.Addr) net.HardwareAddr {
	t.Helper()
	var mac net.HardwareAddr
	s.ns.Do(t, func() error {
		ns, err := netlink.NeighList(s.ifindex, family(ip))
		for _, n := range ns {
			if a, ok := netip.AddrFromSlice(n.IP); ok && a.Unmap() == ip {
				mac = n.HardwareAddr
			}
		}
		return err
	})
	return mac
}

func TestAnnounceMovesClientEntry(t *testing.T) {
	custom := net.HardwareAddr{0x02, 0, 0, 0, 0, 0x42}
	tests := []struct {
		name string
		vip  netip.Addr
		mac  net.HardwareAddr // argument to Announce
		vmac bool             // announce from a VMAC on our interface
	}{
		{"ipv4 interface MAC", netip.MustParseAddr("198.18.0.100"), nil, false},
		{"ipv4 explicit MAC", netip.MustParseAddr("198.18.0.100"), custom, false},
		{"ipv4 VMAC", netip.MustParseAddr("198.18.0.100"), nil, true},
		{"ipv6 interface MAC", netip.MustParseAddr("fd00:198:18::100"), nil, false},
		{"ipv6 explicit MAC", netip.MustParseAddr("fd00:198:18::100"), custom, false},
		// The VMAC carries the parent's link-local (EnsureVMAC), which the NA
		// is sourced from, as keepalived's (its ifp->sin6_addr).
		{"ipv6 VMAC (sourced from its link-local)", netip.MustParseAddr("fd00:198:18::100"), nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPair(t)
			ifindex, wantMAC := p.us.ifindex, p.us.mac
			wantSrc := netip.Addr{}
			if tt.vmac {
				p.us.ns.Do(t, func() error {
					var err error
					ifindex, _, err = EnsureVMAC(p.us.ifname, 7, vrrp.FamilyOf(tt.vip.Is6()))
					return err
				})
				wantMAC = VMACAddr(7, vrrp.FamilyOf(tt.vip.Is6()))
				wantSrc = tt.vip
				if tt.vip.Is6() {
					p.us.ns.Do(t, func() error {
						addrs, err := rtnl{}.list(unix.AF_INET6, ifindex)
						wantSrc = pickLinkLocal(addrs)
						return err
					})
				}
			} else if tt.vip.Is6() {
				p.us.ns.Do(t, func() error {
					addrs, err := rtnl{}.list(unix.AF_INET6, ifindex)
					wantSrc = pickLinkLocal(addrs)
					return err
				})
			}
			if tt.mac != nil {
				wantMAC = tt.mac
			}
			bits := 32
			if tt.vip.Is6() {
				bits = 128
			}
			m := p.us.manager(testOwner)
			if err := m.Add(Address{Prefix: netip.PrefixFrom(tt.vip, bits), Ifindex: ifindex}); err != nil {
				t.Fatal(err)
			}
			p.peer.seedNeighbour(t, tt.vip)
			capt := p.peer.capture(t, tt.vip.Is6())

			var a *Announcer
			p.us.ns.Do(t, func() error {
				var err error
				a, err = NewAnnouncer(ifindex)
				return err
			})
			defer a.Close()
			// Outside the namespace on purpose: the socket stays bound to it.
			if err := a.Announce([]netip.Addr{tt.vip}, tt.mac); err != nil {
				t.Fatalf("Announce: %v", err)
			}

			if tt.vip.Is4() {
				b := next(t, capt, func(b []byte) bool { c, ok := arpClaim(b); return ok && c.Addr == tt.vip })
				var f ethernet.Frame
				var ap arp.Packet
				if err := f.UnmarshalBinary(b); err != nil {
					t.Fatal(err)
				}
				if err := ap.UnmarshalBinary(f.Payload); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(f.Destination, ethernet.Broadcast) || !bytes.Equal(f.Source, wantMAC) ||
					ap.Operation != arp.OperationRequest || !bytes.Equal(ap.SenderHardwareAddr, wantMAC) ||
					ap.SenderIP != tt.vip || ap.TargetIP != tt.vip {
					t.Errorf("captured %s→%s %+v, want broadcast ARP request from %s, sender=target=%s", f.Source, f.Destination, ap, wantMAC, tt.vip)
				}
			} else {
				b := next(t, capt, func(b []byte) bool { c, ok := naClaim(b); return ok && c.Addr == tt.vip })
				nd, err := parseNDFrame(b)
				if err != nil {
					t.Fatal(err)
				}
				na := nd.Message.(*ndp.NeighborAdvertisement)
				c, _ := naClaim(b)
				if nd.Dst != allNodes || nd.Src != wantSrc || !bytes.Equal(nd.SrcMAC, wantMAC) ||
					!na.Override || na.Solicited || !bytes.Equal(c.MAC, wantMAC) {
					t.Errorf("captured NA %s→%s from %s override=%v solicited=%v tlla=%s; want %s→ff02::1 from %s, override, unsolicited, tlla %s",
						nd.Src, nd.Dst, nd.SrcMAC, na.Override, na.Solicited, c.MAC, wantSrc, wantMAC, wantMAC)
				}
			}

			testutil.WaitFor(t, 10*time.Second, "the peer's neighbour entry to move", func() (bool, string) {
				got := p.peer.neighbour(t, tt.vip)
				return bytes.Equal(got, wantMAC), "peer has " + tt.vip.String() + " at " + got.String() + ", want " + wantMAC.String()
			})
		})
	}
}

// TestAnnouncementsOnTheWire runs the real schedule briefly and counts the
// frames a peer sees: two bursts of Repeat for each address, the first frame
// sent before AnnounceThenSchedule returns.
func TestAnnouncementsOnTheWire(t *testing.T) {
	p := newPair(t)
	vips := []netip.Addr{netip.MustParseAddr("198.18.0.100"), netip.MustParseAddr("fd00:198:18::100")}
	c4, c6 := p.peer.capture(t, false), p.peer.capture(t, true)
	var a *Announcer
	p.us.ns.Do(t, func() error {
		var err error
		a, err = NewAnnouncer(p.us.ifindex)
		return err
	})
	defer a.Close()
	s := GARPSettings{Repeat: 3, Delay: 20 * time.Millisecond, Interval: time.Millisecond}
	done := make(chan error, 1)
	if err := AnnounceThenSchedule(context.Background(), a, vips, s, func(err error) { done <- err }); err != nil {
		t.Fatalf("first announcement: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("schedule: %v", err)
	}
	for _, c := range []struct {
		conn  *packet.Conn
		claim func([]byte) (claim, bool)
		vip   netip.Addr
	}{{c4, arpClaim, vips[0]}, {c6, naClaim, vips[1]}} {
		for i := range 2 * s.Repeat {
			next(t, c.conn, func(b []byte) bool { cl, ok := c.claim(b); return ok && cl.Addr == c.vip })
			_ = i
		}
		// Nothing beyond the schedule: the socket must stay quiet.
		if err := c.conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 2048)
		for {
			n, _, err := c.conn.ReadFrom(buf)
			if err != nil {
				break
			}
			if cl, ok := c.claim(buf[:n]); ok && cl.Addr == c.vip {
				t.Errorf("%s: more than %d announcements", c.vip, 2*s.Repeat)
			}
		}
	}
}
