package vip

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
	"github.com/vishvananda/netlink"
)

// probeTimeout bounds how long each probe listens; it is a listening window,
// not an assertion about speed.
const probeTimeout = 1500 * time.Millisecond

func TestProbe(t *testing.T) {
	tests := []struct {
		name       string
		vip        string
		peerHolds  bool
		opts       probeOptions
		wantPeerAt bool
	}{
		{"ipv4 only we hold it", "198.18.0.100/32", false, probeOptions{}, false},
		{"ipv4 peer holds it too", "198.18.0.100/32", true, probeOptions{}, true},
		{"ipv6 only we hold it", "fd00:198:18::100/128", false, probeOptions{}, false},
		{"ipv6 peer holds it too", "fd00:198:18::100/128", true, probeOptions{}, true},
		{"ipv6 DAD-form NS, peer holds it too", "fd00:198:18::100/128", true, probeOptions{unspecifiedSource: true}, true},
		{"ipv6 DAD-form NS, only we hold it", "fd00:198:18::100/128", false, probeOptions{unspecifiedSource: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPair(t)
			pfx := netip.MustParsePrefix(tt.vip)
			if err := p.us.manager(testOwner).Add(Address{Prefix: pfx, Ifindex: p.us.ifindex}); err != nil {
				t.Fatal(err)
			}
			if tt.peerHolds {
				p.peer.addForeign(t, pfx)
			}
			var got []Conflict
			p.us.ns.Do(t, func() error {
				var err error
				got, err = probe(context.Background(), p.us.ifindex, []netip.Addr{pfx.Addr()}, probeTimeout, tt.opts)
				return err
			})
			if !tt.wantPeerAt {
				if len(got) != 0 {
					t.Errorf("conflicts = %v, want none", got)
				}
				return
			}
			want := []Conflict{{Addr: pfx.Addr(), MAC: p.peer.mac}}
			if len(got) != 1 || got[0].Addr != want[0].Addr || !bytes.Equal(got[0].MAC, want[0].MAC) {
				t.Errorf("conflicts (-want +got):\n-%v\n+%v", want, got)
			}
		})
	}
}

// TestProbeIgnoresOurOwnHost puts two of our interfaces on one bridge: with
// arp_ignore=0 (the default) our second interface answers the probe for the
// VIP held by the first, with its own MAC. That answer is us, not a conflict;
// a real peer on the same bridge still is one.
func TestProbeIgnoresOurOwnHost(t *testing.T) {
	testutil.Privileged(t)
	sw := testutil.NewNetns(t, "vipsw")
	us := testutil.NewNetns(t, "vipus")
	peer := testutil.NewNetns(t, "vippe")
	plug := testutil.Bridge(t, sw, testutil.UniqueName("br"))
	us1, us2, pe := testutil.UniqueName("u1"), testutil.UniqueName("u2"), testutil.UniqueName("pe")
	plug(us, us1, netip.MustParsePrefix("198.18.0.1/24"), testutil.UniqueName("p1"))
	plug(us, us2, netip.Prefix{}, testutil.UniqueName("p2"))
	plug(peer, pe, netip.MustParsePrefix("198.18.0.2/24"), testutil.UniqueName("p3"))

	var us1Index int
	var us2MAC, peerMAC net.HardwareAddr
	us.Do(t, func() error {
		l1, err := netlink.LinkByName(us1)
		if err != nil {
			return err
		}
		l2, err := netlink.LinkByName(us2)
		if err != nil {
			return err
		}
		us1Index, us2MAC = l1.Attrs().Index, l2.Attrs().HardwareAddr
		return nil
	})
	peer.Do(t, func() error {
		l, err := netlink.LinkByName(pe)
		if err != nil {
			return err
		}
		peerMAC = l.Attrs().HardwareAddr
		return nil
	})
	vip := netip.MustParsePrefix("198.18.0.100/32")
	if err := NewManager(testOwner, WithNetns(us.Handle)).Add(Address{Prefix: vip, Ifindex: us1Index}); err != nil {
		t.Fatal(err)
	}
	run := func(opts probeOptions) []Conflict {
		t.Helper()
		var got []Conflict
		us.Do(t, func() error {
			var err error
			got, err = probe(context.Background(), us1Index, []netip.Addr{vip.Addr()}, probeTimeout, opts)
			return err
		})
		return got
	}
	// Precondition: our second interface really answers (seen when nothing
	// counts as ours), or the next check proves nothing.
	if got := run(probeOptions{own: map[string]bool{}}); len(got) != 1 || !bytes.Equal(got[0].MAC, us2MAC) {
		t.Fatalf("with no MAC counted as ours: conflicts %v, want exactly our second interface %s", got, us2MAC)
	}
	if got := run(probeOptions{}); len(got) != 0 {
		t.Errorf("conflicts = %v, want none: every answer came from this host", got)
	}
	peer.Do(t, func() error {
		l, err := netlink.LinkByName(pe)
		if err != nil {
			return err
		}
		a, _ := netlink.ParseAddr(vip.String())
		return netlink.AddrAdd(l, a)
	})
	if got := run(probeOptions{}); len(got) != 1 || !bytes.Equal(got[0].MAC, peerMAC) {
		t.Errorf("with the peer holding the VIP: conflicts %v, want exactly the peer at %s", got, peerMAC)
	}
}

func TestProbeReturnsOnCancel(t *testing.T) {
	p := newPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p.us.ns.Do(t, func() error {
		_, err := Probe(ctx, p.us.ifindex, []netip.Addr{netip.MustParseAddr("198.18.0.100")}, time.Hour)
		if err == nil {
			t.Error("Probe with a cancelled context returned no error")
		}
		return nil
	})
}
