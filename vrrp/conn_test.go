package vrrp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"

	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

// fakeConn records what a Conn hands the socket. perCall limits how many
// messages one WriteBatch accepts (0: all), failAfter makes the call after that
// many messages fail.
type fakeConn struct {
	perCall   int
	failAfter int
	calls     int
	sent      []ipv4.Message // deep copies
}

func (f *fakeConn) WriteBatch(ms []ipv4.Message, _ int) (int, error) {
	f.calls++
	n := len(ms)
	if f.perCall > 0 && n > f.perCall {
		n = f.perCall
	}
	if f.failAfter > 0 && len(f.sent)+n > f.failAfter {
		n = f.failAfter - len(f.sent)
		f.record(ms[:n])
		return n, syscall.ENOBUFS
	}
	f.record(ms[:n])
	return n, nil
}

func (f *fakeConn) record(ms []ipv4.Message) {
	for _, m := range ms {
		f.sent = append(f.sent, ipv4.Message{
			Buffers: [][]byte{slices.Concat(m.Buffers...)},
			OOB:     slices.Clone(m.OOB),
			Addr:    m.Addr,
		})
	}
}

func (f *fakeConn) Close() error { return nil }

// fakeIfi has no addresses: no such index exists.
var fakeIfi = &net.Interface{Index: 1 << 30, Name: "fake0"}

func newFake(t *testing.T, family Family, f *fakeConn) *Conn {
	t.Helper()
	c, err := New(fakeIfi, family, f)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConnIPv4(t *testing.T) {
	peer := netip.MustParseAddr("198.18.0.2")
	other := netip.MustParseAddr("198.18.0.7")
	a, b := v2Adv(), v3Adv4()
	a.Source, a.Destination = netip.Addr{}, netip.Addr{} // the Conn decides
	b.Source, b.Destination = netip.Addr{}, netip.Addr{}
	msgs := []Message{{Adv: a}, {Adv: b}, {Adv: b, Dst: peer}, {Adv: a, Src: other}}
	type want struct{ src, dst netip.Addr }
	wants := []want{{src4, IPv4Multicast}, {src4, IPv4Multicast}, {src4, peer}, {other, IPv4Multicast}}

	for _, f := range []*fakeConn{{}, {perCall: 1}, {perCall: 3}} {
		t.Run(fmt.Sprintf("per call %d", f.perCall), func(t *testing.T) {
			c := newFake(t, 4, f)
			if _, err := c.WriteBatch(msgs[:1]); err == nil {
				t.Fatal("WriteBatch without any source address succeeded")
			}
			c.SetSource(src4)
			n, err := c.WriteBatch(msgs)
			if err != nil || n != len(msgs) {
				t.Fatalf("WriteBatch = %d, %v; want %d, nil", n, err, len(msgs))
			}
			if len(f.sent) != len(msgs) {
				t.Fatalf("socket got %d messages, want %d", len(f.sent), len(msgs))
			}
			if f.perCall == 1 && f.calls != len(msgs) {
				t.Errorf("%d WriteBatch calls for a 1-per-call socket, want %d", f.calls, len(msgs))
			}
			for i, m := range f.sent {
				got, err := ParsePacket(m.Buffers[0])
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				exp := *msgs[i].Adv
				exp.Source, exp.Destination, exp.Checksum = wants[i].src, wants[i].dst, got.Checksum
				if d := advDiff(&exp, got); d != "" {
					t.Errorf("message %d (-want +got):\n%s", i, d)
				}
				if addr := m.Addr.(*net.IPAddr).IP.String(); addr != wants[i].dst.String() {
					t.Errorf("message %d: sent to %s, want %s", i, addr, wants[i].dst)
				}
			}
			if a.Source.IsValid() || b.Destination.IsValid() {
				t.Error("WriteBatch modified the caller's advertisements")
			}
		})
	}
}

func TestConnIPv6(t *testing.T) {
	f := &fakeConn{}
	c := newFake(t, 6, f)
	c.SetSource(src6)
	a := v3Adv6()
	a.Source, a.Destination = netip.Addr{}, netip.Addr{}
	if n, err := c.WriteBatch([]Message{{Adv: a}, {Adv: a, Src: netip.MustParseAddr("fe80::99")}}); err != nil || n != 2 {
		t.Fatalf("WriteBatch = %d, %v", n, err)
	}
	for i, wantSrc := range []netip.Addr{src6, netip.MustParseAddr("fe80::99")} {
		m := f.sent[i]
		var cm ipv6.ControlMessage
		if err := cm.Parse(m.OOB); err != nil {
			t.Fatalf("message %d: control message: %v", i, err)
		}
		// Parse reads IPV6_PKTINFO as a received packet's: its address lands in Dst.
		if cm.HopLimit != TTL || cm.TrafficClass != tosInternetControl || cm.IfIndex != fakeIfi.Index || !cm.Dst.Equal(wantSrc.AsSlice()) {
			t.Errorf("message %d: control message %v, want hop limit 255, tclass 0xc0, ifindex %d, src %v", i, &cm, fakeIfi.Index, wantSrc)
		}
		got := Advertisement{Source: wantSrc, Destination: IPv6Multicast}
		if err := got.UnmarshalBinary(m.Buffers[0]); err != nil { // checksum over the pseudo-header
			t.Fatalf("message %d: %v", i, err)
		}
		if !m.Addr.(*net.IPAddr).IP.Equal(IPv6Multicast.AsSlice()) {
			t.Errorf("message %d: sent to %v", i, m.Addr)
		}
	}
}

func TestConnErrors(t *testing.T) {
	bad := v2Adv()
	bad.Interval = 0
	tests := []struct {
		name     string
		family   Family
		fake     fakeConn
		msgs     []Message
		wantN    int
		wantSent int
		wantErr  error // nil: any error
	}{
		{"invalid advertisement sends nothing", 4, fakeConn{}, []Message{{Adv: v2Adv()}, {Adv: bad}}, 0, 0, ErrBadInterval},
		{"nil advertisement", 4, fakeConn{}, []Message{{}}, 0, 0, nil},
		{"ipv6 destination on ipv4 conn", 4, fakeConn{}, []Message{{Adv: v2Adv(), Dst: IPv6Multicast}}, 0, 0, nil},
		{"ipv4 advert on ipv6 conn", 6, fakeConn{}, []Message{{Adv: v3Adv4()}}, 0, 0, nil},
		{"socket fails mid-batch", 4, fakeConn{failAfter: 2}, []Message{{Adv: v2Adv()}, {Adv: v2Adv()}, {Adv: v2Adv()}}, 2, 2, syscall.ENOBUFS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newFake(t, tt.family, &tt.fake)
			c.SetSource(src4)
			if tt.family == 6 {
				c.SetSource(src6)
			}
			n, err := c.WriteBatch(tt.msgs)
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Fatalf("WriteBatch err = %v, want %v", err, tt.wantErr)
			}
			if n != tt.wantN || len(tt.fake.sent) != tt.wantSent {
				t.Errorf("WriteBatch n = %d with %d on the socket, want %d and %d", n, len(tt.fake.sent), tt.wantN, tt.wantSent)
			}
			if !strings.HasPrefix(err.Error(), "vrrp: write batch on fake0: ") {
				t.Errorf("error %q lacks the prefix", err)
			}
		})
	}
	if _, err := New(fakeIfi, 5, &fakeConn{}); err == nil {
		t.Error("New with family 5 succeeded")
	}
}

// capture is an AF_PACKET socket on one interface returning IP packets.
type capture struct{ fd int }

func newCapture(t *testing.T, ns *testutil.Netns, ifname string) *capture {
	t.Helper()
	c := &capture{}
	ns.Do(t, func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		proto := int(htons(unix.ETH_P_ALL))
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, proto)
		if err != nil {
			return err
		}
		c.fd = fd
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: uint16(proto), Ifindex: ifi.Index}); err != nil {
			return err
		}
		tv := unix.NsecToTimeval(int64(200 * time.Millisecond))
		return unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	})
	t.Cleanup(func() { unix.Close(c.fd) })
	return c
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// adverts reads until n VRRP packets arrived (other traffic, e.g. MLD, is
// skipped) or 10 s passed, and returns the raw packets.
func (c *capture) adverts(t *testing.T, n int) [][]byte {
	t.Helper()
	var out [][]byte
	buf := make([]byte, 65536)
	deadline := time.Now().Add(10 * time.Second)
	for len(out) < n && time.Now().Before(deadline) {
		m, _, err := unix.Recvfrom(c.fd, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			t.Fatalf("capture: %v", err)
		}
		if _, err := ParsePacket(buf[:m]); errors.Is(err, ErrNotVRRP) {
			continue
		}
		out = append(out, slices.Clone(buf[:m]))
	}
	if len(out) < n {
		t.Fatalf("captured %d adverts in 10s, want %d", len(out), n)
	}
	return out
}

func linkLocal(t *testing.T, ns *testutil.Netns, ifname string) netip.Addr {
	t.Helper()
	var ll netip.Addr
	ns.Do(t, func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		ll, err = SourceAddress(ifi, 6)
		return err
	})
	return ll
}

// TestDialSendsOnTheWire sends batches from one namespace and checks, on the
// other end of a veth, exactly what arrived.
func TestDialSendsOnTheWire(t *testing.T) {
	testutil.Privileged(t)
	a := testutil.NewNetns(t, "vrrpca")
	b := testutil.NewNetns(t, "vrrpcb")
	ifA, ifB := testutil.UniqueName("vra"), testutil.UniqueName("vrb")
	testutil.Veth(t, a, ifA, netip.MustParsePrefix("198.18.1.1/24"), b, ifB, netip.MustParsePrefix("198.18.1.2/24"))
	a.Exec(t, "ip", "addr", "add", "198.18.1.5/24", "dev", ifA) // secondary
	capB := newCapture(t, b, ifB)
	llA := linkLocal(t, a, ifA)

	dial := func(family Family) *Conn {
		t.Helper()
		var c *Conn
		a.Do(t, func() error {
			ifi, err := net.InterfaceByName(ifA)
			if err != nil {
				return err
			}
			c, err = Dial(ifi, family)
			return err
		})
		t.Cleanup(func() { c.Close() })
		return c
	}

	t.Run("ipv4", func(t *testing.T) {
		c := dial(4)
		v2, v3 := v2Adv(), v3Adv4()
		msgs := []Message{{Adv: v2}, {Adv: v3}, {Adv: v3, Dst: netip.MustParseAddr("198.18.1.2")}}
		a.Do(t, func() error {
			n, err := c.WriteBatch(msgs)
			if err == nil && n != len(msgs) {
				err = fmt.Errorf("sent %d of %d", n, len(msgs))
			}
			return err
		})
		got := capB.adverts(t, len(msgs))
		for i, pkt := range got {
			adv, err := ParsePacket(pkt) // includes TTL 255 and the checksum
			if err != nil {
				t.Fatalf("packet %d: %v", i, err)
			}
			want := *msgs[i].Adv
			want.Source = netip.MustParseAddr("198.18.1.1") // primary, not the secondary .5
			want.Destination = IPv4Multicast
			if msgs[i].Dst.IsValid() {
				want.Destination = msgs[i].Dst
			}
			want.Checksum = adv.Checksum
			if d := advDiff(&want, adv); d != "" {
				t.Errorf("packet %d (-want +got):\n%s", i, d)
			}
			if pkt[1] != tosInternetControl || pkt[6]&0x40 != 0 {
				t.Errorf("packet %d: TOS 0x%02x, DF %v; want keepalived's 0xc0 and no DF", i, pkt[1], pkt[6]&0x40 != 0)
			}
		}

		c.SetSource(netip.MustParseAddr("198.18.1.5"))
		a.Do(t, func() error { _, err := c.WriteBatch(msgs[:1]); return err })
		adv, err := ParsePacket(capB.adverts(t, 1)[0])
		if err != nil {
			t.Fatal(err)
		}
		if want := netip.MustParseAddr("198.18.1.5"); adv.Source != want {
			t.Errorf("configured source: got %v, want %v", adv.Source, want)
		}
	})

	t.Run("ipv6", func(t *testing.T) {
		c := dial(6)
		v3 := v3Adv6()
		msgs := []Message{{Adv: v3}, {Adv: v3}}
		a.Do(t, func() error {
			n, err := c.WriteBatch(msgs)
			if err == nil && n != len(msgs) {
				err = fmt.Errorf("sent %d of %d", n, len(msgs))
			}
			return err
		})
		for i, pkt := range capB.adverts(t, len(msgs)) {
			adv, err := ParsePacket(pkt)
			if err != nil {
				t.Fatalf("packet %d: %v", i, err)
			}
			want := *v3
			want.Source, want.Destination, want.Checksum = llA, IPv6Multicast, adv.Checksum
			if d := advDiff(&want, adv); d != "" {
				t.Errorf("packet %d (-want +got):\n%s", i, d)
			}
			if tc := pkt[0]<<4 | pkt[1]>>4; tc != tosInternetControl {
				t.Errorf("packet %d: traffic class 0x%02x, want 0xc0", i, tc)
			}
		}
	})
}

// TestDialNeverQueues floods a Dial'd socket with unicast VRRP (delivered to raw
// sockets, unlike multicast to a group nobody joined) and checks its receive
// queue stays empty while an ordinary raw socket's fills.
func TestDialNeverQueues(t *testing.T) {
	testutil.Privileged(t)
	a := testutil.NewNetns(t, "vrrpqa")
	b := testutil.NewNetns(t, "vrrpqb")
	ifA, ifB := testutil.UniqueName("vqa"), testutil.UniqueName("vqb")
	testutil.Veth(t, a, ifA, netip.MustParsePrefix("198.18.2.1/24"), b, ifB, netip.MustParsePrefix("198.18.2.2/24"))

	var ours *Conn
	var control net.PacketConn
	a.Do(t, func() error {
		ifi, err := net.InterfaceByName(ifA)
		if err != nil {
			return err
		}
		if ours, err = Dial(ifi, 4); err != nil {
			return err
		}
		control, err = net.ListenPacket("ip4:112", "0.0.0.0")
		return err
	})
	t.Cleanup(func() { ours.Close(); control.Close() })

	var sender *Conn
	b.Do(t, func() error {
		ifi, err := net.InterfaceByName(ifB)
		if err != nil {
			return err
		}
		sender, err = Dial(ifi, 4)
		return err
	})
	t.Cleanup(func() { sender.Close() })
	const flood = 256
	msgs := make([]Message, flood)
	for i := range msgs {
		msgs[i] = Message{Adv: v2Adv(), Dst: netip.MustParseAddr("198.18.2.1")}
	}
	b.Do(t, func() error { _, err := sender.WriteBatch(msgs); return err })

	queuedFD := func(fd int) int {
		t.Helper()
		n, err := unix.IoctlGetInt(fd, unix.SIOCINQ)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	queued := func(pc net.PacketConn) int {
		t.Helper()
		rc, err := pc.(*net.IPConn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := rc.Control(func(fd uintptr) { n = queuedFD(int(fd)) }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	ourFD, err := ours.raw.sysfd()
	if err != nil {
		t.Fatal(err)
	}
	// The control socket proves the flood arrived; poll for it generously.
	deadline := time.Now().Add(10 * time.Second)
	for queued(control) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if queued(control) == 0 {
		t.Fatal("the unfiltered control socket received nothing: the test cannot tell")
	}
	if n := queuedFD(ourFD); n != 0 {
		t.Errorf("Dial'd socket has %d bytes queued, want 0 (drop-all filter)", n)
	}
	// Once the filter is locked, nothing may detach it.
	derr := unix.SetsockoptInt(ourFD, unix.SOL_SOCKET, unix.SO_DETACH_FILTER, 0)
	if !errors.Is(derr, os.ErrPermission) && !errors.Is(derr, unix.EPERM) {
		t.Errorf("SO_DETACH_FILTER on a locked filter: %v, want EPERM", derr)
	}
}
