package vrrp

import (
	"bytes"
	"path/filepath"
	"testing"
)

// fuzzSeeds are keepalived's golden packets, their VRRP messages, and our own
// encodings of the test advertisements.
func fuzzSeeds(f *testing.F) (pkts, msgs [][]byte) {
	f.Helper()
	for _, tc := range goldenCases(f) {
		got, err := readPcap(filepath.Join("testdata", tc.name+".pcap"))
		if err != nil {
			f.Fatal(err)
		}
		pkts = append(pkts, got[0])
	}
	for _, a := range []*Advertisement{v2Adv(), v3Adv4(), v3Adv6()} {
		pkts = append(pkts, mustEncode(f, a))
	}
	for _, p := range pkts {
		hdr := ipv4HeaderLen
		if p[0]>>4 == 6 {
			hdr = ipv6HeaderLen
		}
		msgs = append(msgs, p[hdr:])
	}
	return pkts, msgs
}

// FuzzUnmarshal: no input panics, and whatever decodes re-encodes to the same
// length it was decoded from.
func FuzzUnmarshal(f *testing.F) {
	pkts, msgs := fuzzSeeds(f)
	for _, b := range append(pkts, msgs...) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if a, err := ParsePacket(b); err == nil {
			if _, err := EncodePacket(a, TTL); err != nil {
				t.Fatalf("ParsePacket accepted %x but EncodePacket fails: %v", b, err)
			}
		}
		for _, ctx := range []Advertisement{{}, {Source: src4, Destination: IPv4Multicast}, {Source: src6, Destination: IPv6Multicast}} {
			a := ctx
			if err := a.UnmarshalBinary(b); err != nil {
				continue
			}
			if a.Len() != len(b) {
				t.Fatalf("decoded %d bytes, Len() = %d: %+v", len(b), a.Len(), a)
			}
		}
	})
}

// FuzzRoundTrip: decode → encode → decode gives the same advertisement, and the
// encoding is byte-identical to the input unless the input set v3's reserved bits
// (ignored on receipt, so they change the checksum). Checked for bare messages
// (with IPv4 or IPv6 context) and whole packets.
func FuzzRoundTrip(f *testing.F) {
	pkts, msgs := fuzzSeeds(f)
	for _, b := range msgs {
		f.Add(b, false)
		f.Add(b, true)
	}
	for _, b := range pkts {
		f.Add(b, false)
	}
	f.Fuzz(func(t *testing.T, b []byte, six bool) {
		if a, err := ParsePacket(b); err == nil {
			enc, err := EncodePacket(a, TTL)
			if err != nil {
				t.Fatalf("EncodePacket(%+v): %v", a, err)
			}
			again, err := ParsePacket(enc)
			if err != nil {
				t.Fatalf("ParsePacket(EncodePacket(ParsePacket(%x))): %v", b, err)
			}
			a.Checksum = again.Checksum // may differ only by v3 reserved bits
			if d := advDiff(a, again); d != "" {
				t.Fatalf("packet round trip (-first +second):\n%s", d)
			}
		}

		a := Advertisement{Source: src4, Destination: IPv4Multicast}
		if six {
			a.Source, a.Destination = src6, IPv6Multicast
		}
		if err := a.UnmarshalBinary(b); err != nil {
			return
		}
		enc, err := a.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded %x to %+v, which does not marshal: %v", b, a, err)
		}
		if a.Version == 2 || b[4]&0xf0 == 0 {
			if !bytes.Equal(enc, b) {
				t.Fatalf("re-encoding differs:\n-%x\n+%x", b, enc)
			}
		}
		again := Advertisement{Source: a.Source, Destination: a.Destination}
		if err := again.UnmarshalBinary(enc); err != nil {
			t.Fatalf("decode of our own encoding %x: %v", enc, err)
		}
		if d := advDiff(&a, &again); d != "" {
			t.Fatalf("message round trip (-first +second):\n%s", d)
		}
	})
}
