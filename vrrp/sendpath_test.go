package vrrp

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"

	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

// BenchmarkSendPath compares what one advert costs the sending thread on a
// veth (the peer namespace drops it in IP), 200 adverts per sendmmsg, in CPU
// per frame (RUSAGE_THREAD: user+sys, including the softirq work veth does in
// the sender's context):
//
//   - floor: pre-built Ethernet frames on a packet socket, the same sendmmsg
//     code (rawSocket) without the IP layer;
//   - cached: the daemon's steady state, packets encoded once (Encode) and
//     re-sent with WritePackets on the raw IP socket;
//   - encode: WriteBatch, every advert encoded again (the sender before).
func BenchmarkSendPath(b *testing.B) {
	testutil.Privileged(b)
	a, peer := testutil.NewNetns(b, "evsp"), testutil.NewNetns(b, "evsp")
	testutil.Veth(b, a, "eth0", netip.MustParsePrefix("198.18.0.1/24"), peer, "eth0", netip.MustParsePrefix("198.18.0.2/24"))
	const n = 200
	msgs := make([]Message, n)
	for i := range msgs {
		adv := &Advertisement{Version: 3, VRID: uint8(i + 1), Priority: 150, Interval: 10 * time.Millisecond,
			Addresses: []netip.Addr{netip.AddrFrom4([4]byte{198, 19, 0, byte(i + 1)})}}
		msgs[i] = Message{Adv: adv}
	}
	run := func(b *testing.B, setup func(ifi *net.Interface) (send func() error, done func())) {
		a.Do(b, func() error {
			ifi, err := net.InterfaceByName("eth0")
			if err != nil {
				return err
			}
			send, done := setup(ifi)
			defer done()
			var r0, r1 unix.Rusage
			_ = unix.Getrusage(unix.RUSAGE_THREAD, &r0)
			b.ResetTimer()
			for b.Loop() {
				if err := send(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			_ = unix.Getrusage(unix.RUSAGE_THREAD, &r1)
			cpu := unix.TimevalToNsec(r1.Utime) - unix.TimevalToNsec(r0.Utime) + unix.TimevalToNsec(r1.Stime) - unix.TimevalToNsec(r0.Stime)
			b.ReportMetric(float64(cpu)/1e3/float64(b.N*n), "cpu-µs/frame")
			return nil
		})
	}
	b.Run("floor", func(b *testing.B) {
		run(b, func(ifi *net.Interface) (func() error, func()) {
			fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				b.Fatal(err)
			}
			if err := unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: ifi.Index}); err != nil {
				b.Fatal(err)
			}
			s := &rawSocket{fd: fd, family: IPv4}
			ms := make([]ipv4.Message, n)
			for i, m := range msgs {
				adv := *m.Adv
				adv.Source, adv.Destination = netip.MustParseAddr("198.18.0.1"), IPv4Multicast
				pkt, err := EncodePacket(&adv, TTL)
				if err != nil {
					b.Fatal(err)
				}
				frame := make([]byte, 14+len(pkt))
				copy(frame, []byte{0x01, 0x00, 0x5e, 0x00, 0x00, 0x12})
				copy(frame[6:], ifi.HardwareAddr)
				binary.BigEndian.PutUint16(frame[12:], unix.ETH_P_IP)
				copy(frame[14:], pkt)
				ms[i].Buffers = [][]byte{frame}
			}
			return func() error { _, err := s.WriteBatch(ms, 0); return err }, func() { s.Close() }
		})
	})
	b.Run("cached", func(b *testing.B) {
		run(b, func(ifi *net.Interface) (func() error, func()) {
			c, err := Dial(ifi, IPv4)
			if err != nil {
				b.Fatal(err)
			}
			ps := make([]Packet, n)
			for i, m := range msgs {
				if ps[i], err = c.Encode(m); err != nil {
					b.Fatal(err)
				}
			}
			return func() error { _, err := c.WritePackets(ps); return err }, func() { c.Close() }
		})
	})
	b.Run("encode", func(b *testing.B) {
		run(b, func(ifi *net.Interface) (func() error, func()) {
			c, err := Dial(ifi, IPv4)
			if err != nil {
				b.Fatal(err)
			}
			return func() error { _, err := c.WriteBatch(msgs); return err }, func() { c.Close() }
		})
	})
}
