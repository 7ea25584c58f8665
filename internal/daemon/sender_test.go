package daemon

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/control"
	"github.com/ebpfvrrp/ebpfvrrp/vrrp"
	"golang.org/x/net/ipv4"
)

// recordConn is a vrrp.BatchConn that keeps a copy of every packet written.
type recordConn struct {
	calls int
	pkts  [][]byte
	keep  bool
}

func (r *recordConn) WriteBatch(ms []ipv4.Message, _ int) (int, error) {
	r.calls++
	if r.keep {
		for _, m := range ms {
			r.pkts = append(r.pkts, bytes.Clone(m.Buffers[0]))
		}
	}
	return len(ms), nil
}
func (r *recordConn) Close() error { return nil }

// fakeSender is a senderAdapter whose one (interface, family) writes to rc.
func fakeSender(t testing.TB, rc *recordConn) *senderAdapter {
	t.Helper()
	ifi := &net.Interface{Index: 1 << 30, Name: "fake0"}
	c, err := vrrp.New(ifi, vrrp.IPv4, rc)
	if err != nil {
		t.Fatal(err)
	}
	s := newSenderAdapter()
	s.conns[senderKey{ifname: "fake0"}] = c
	return s
}

func outAdverts(n int) []control.OutAdvert {
	var out []control.OutAdvert
	for i := range n {
		out = append(out, control.OutAdvert{
			Instance: fmt.Sprintf("VI_%d", i), Interface: "fake0", Key: control.InstanceKey{Ifindex: 1<<30 + i/255, VRID: uint8(i%255 + 1)},
			Version: 3, VRID: uint8(i%255 + 1), Priority: 150, Interval: 10 * time.Millisecond,
			Addresses: []netip.Addr{netip.AddrFrom4([4]byte{198, 19, byte(i / 256), byte(i)})},
			Src:       netip.MustParseAddr("198.18.0.5"), Dst: vrrp.IPv4Multicast,
		})
	}
	return out
}

// TestSenderReencodesOnChange: the cached packet is re-sent while the advert is
// unchanged and replaced when its priority or addresses change; every packet
// parses as the advert it was built from.
func TestSenderReencodesOnChange(t *testing.T) {
	rc := &recordConn{keep: true}
	s := fakeSender(t, rc)
	msgs := outAdverts(2)
	for range 2 {
		if err := s.Send(msgs); err != nil {
			t.Fatal(err)
		}
	}
	msgs[1].Priority = 0
	msgs[0].Addresses = []netip.Addr{netip.MustParseAddr("198.19.9.9")}
	if err := s.Send(msgs); err != nil {
		t.Fatal(err)
	}
	if rc.calls != 3 || len(rc.pkts) != 6 {
		t.Fatalf("%d sendmmsg calls, %d packets; want 3 and 6", rc.calls, len(rc.pkts))
	}
	if !bytes.Equal(rc.pkts[0], rc.pkts[2]) || !bytes.Equal(rc.pkts[1], rc.pkts[3]) {
		t.Error("an unchanged advert was sent differently on the second tick")
	}
	for i, want := range []struct {
		prio uint8
		addr string
	}{{150, "198.19.0.0"}, {150, "198.19.0.1"}, {150, "198.19.0.0"}, {150, "198.19.0.1"}, {150, "198.19.9.9"}, {0, "198.19.0.1"}} {
		p, err := vrrp.ParsePacket(rc.pkts[i])
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if p.Priority != want.prio || len(p.Addresses) != 1 || p.Addresses[0].String() != want.addr {
			t.Errorf("packet %d: priority %d addresses %v, want %d [%s]", i, p.Priority, p.Addresses, want.prio, want.addr)
		}
	}
}

// BenchmarkSenderTick is the sender's steady-state tick: 1000 unchanged adverts
// on one interface, one sendmmsg (the socket is a no-op). It must not allocate.
func BenchmarkSenderTick(b *testing.B) {
	rc := &recordConn{}
	s := fakeSender(b, rc)
	msgs := outAdverts(1000)
	if err := s.Send(msgs); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Send(msgs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/advert")
}
