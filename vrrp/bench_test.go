package vrrp

import (
	"testing"

	"golang.org/x/net/ipv4"
)

var benchAdvs = []struct {
	name string
	adv  func() *Advertisement
}{
	{"v2", v2Adv},
	{"v3-ipv4", v3Adv4},
	{"v3-ipv6", v3Adv6},
}

func BenchmarkMarshal(b *testing.B) {
	for _, bc := range benchAdvs {
		a := bc.adv()
		b.Run(bc.name+"/append", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(a.Len()))
			buf := make([]byte, 0, 256)
			for b.Loop() {
				var err error
				if buf, err = a.AppendBinary(buf[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"/packet", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := EncodePacket(a, TTL); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkUnmarshal(b *testing.B) {
	for _, bc := range benchAdvs {
		a := bc.adv()
		msg, err := a.MarshalBinary()
		if err != nil {
			b.Fatal(err)
		}
		pkt := mustEncode(b, a)
		b.Run(bc.name+"/message", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			u := Advertisement{Source: a.Source, Destination: a.Destination}
			for b.Loop() {
				if err := u.UnmarshalBinary(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"/packet", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(pkt)))
			for b.Loop() {
				if _, err := ParsePacket(pkt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type discardConn struct{}

func (discardConn) WriteBatch(ms []ipv4.Message, _ int) (int, error) { return len(ms), nil }
func (discardConn) Close() error                                     { return nil }

// BenchmarkWriteBatch measures the encoding side of Conn.WriteBatch for a batch
// of 16 adverts (the socket is a no-op).
func BenchmarkWriteBatch(b *testing.B) {
	for _, bc := range benchAdvs {
		b.Run(bc.name, func(b *testing.B) {
			a := bc.adv()
			family := IPv4
			if a.Is6() {
				family = 6
			}
			c, err := New(fakeIfi, family, discardConn{})
			if err != nil {
				b.Fatal(err)
			}
			c.SetSource(a.Source)
			msgs := make([]Message, 16)
			for i := range msgs {
				msgs[i] = Message{Adv: a}
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.WriteBatch(msgs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
