package vrrp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"
)

var (
	src4 = netip.MustParseAddr("198.18.0.1")
	src6 = netip.MustParseAddr("fe80::1")
)

func v2Adv() *Advertisement {
	pass, _ := Password("1111")
	return &Advertisement{
		Version: 2, VRID: 50, Priority: 150, Interval: time.Second,
		Addresses: []netip.Addr{netip.MustParseAddr("198.18.0.3"), netip.MustParseAddr("198.18.0.4")},
		AuthType:  AuthPass, AuthData: pass,
		Source: src4, Destination: IPv4Multicast,
	}
}

func v3Adv4() *Advertisement {
	return &Advertisement{
		Version: 3, VRID: 51, Priority: 200, Interval: 50 * time.Millisecond,
		Addresses: []netip.Addr{netip.MustParseAddr("198.18.0.13")},
		Source:    src4, Destination: IPv4Multicast,
	}
}

func v3Adv6() *Advertisement {
	return &Advertisement{
		Version: 3, VRID: 52, Priority: 100, Interval: 40950 * time.Millisecond,
		Addresses: []netip.Addr{netip.MustParseAddr("fd00:198:18::3"), netip.MustParseAddr("fd00:198:18::4")},
		Source:    src6, Destination: IPv6Multicast,
	}
}

func mustEncode(t testing.TB, a *Advertisement) []byte {
	t.Helper()
	b, err := EncodePacket(a, TTL)
	if err != nil {
		t.Fatalf("EncodePacket: %v", err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	many := v3Adv6()
	many.Addresses = nil
	for i := range 255 {
		many.Addresses = append(many.Addresses, netip.AddrFrom16([16]byte{0xfd, 15: byte(i)}))
	}
	none := v2Adv()
	none.AuthType, none.AuthData, none.Addresses = AuthNone, [8]byte{}, nil
	// Former FuzzUnmarshal crasher (testdata/fuzz/FuzzUnmarshal/23e16a7f5d8aa76a):
	// an IPv4-mapped address in an IPv6 advert was re-encoded as 4 bytes.
	mapped := v3Adv6()
	mapped.Addresses[0] = netip.MustParseAddr("::ffff:198.18.0.3")
	mapped.Source = netip.MustParseAddr("::ffff:198.18.0.1")
	unicast := v3Adv4()
	unicast.Destination = netip.MustParseAddr("198.18.0.2")
	tests := []struct {
		name string
		adv  *Advertisement
	}{
		{"v2 pass", v2Adv()},
		{"v2 no auth, no addresses", none},
		{"v3 ipv4", v3Adv4()},
		{"v3 ipv4 unicast", unicast},
		{"v3 ipv6 max interval", v3Adv6()},
		{"v3 ipv6 255 addresses", many},
		{"v3 ipv6 ipv4-mapped address and source", mapped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkt := mustEncode(t, tt.adv)
			got, err := ParsePacket(pkt)
			if err != nil {
				t.Fatalf("ParsePacket: %v", err)
			}
			if d := advDiff(tt.adv, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			// UnmarshalBinary alone, on a receiver that knows the IP addresses.
			var u Advertisement
			u.Source, u.Destination = tt.adv.Source, tt.adv.Destination
			msg, err := tt.adv.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if err := u.UnmarshalBinary(msg); err != nil {
				t.Fatalf("UnmarshalBinary: %v", err)
			}
			if d := advDiff(tt.adv, &u); d != "" {
				t.Errorf("UnmarshalBinary (-want +got):\n%s", d)
			}
		})
	}
}

func TestUnmarshalWithoutIPContext(t *testing.T) {
	for _, a := range []*Advertisement{v2Adv(), v3Adv4(), v3Adv6()} {
		msg, err := a.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		// Corrupting the v3 checksum goes unnoticed without the pseudo-header;
		// the v2 checksum never needs it.
		msg[6] ^= 0xff
		var u Advertisement
		err = u.UnmarshalBinary(msg)
		if a.Version == 2 {
			if !errors.Is(err, ErrBadChecksum) {
				t.Errorf("v2 with bad checksum: err = %v, want ErrBadChecksum", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("v3 without addresses: %v", err)
		}
		want := *a
		want.Source, want.Destination, want.Checksum = netip.Addr{}, netip.Addr{}, a.Checksum^0xff00
		if d := advDiff(&want, &u); d != "" {
			t.Errorf("(-want +got):\n%s", d)
		}
	}
}

// fixChecksum recomputes the VRRP checksum of pkt (an EncodePacket output) after a
// test mutated it, so the mutation, not the checksum, is what gets rejected.
func fixChecksum(pkt []byte) []byte {
	hdr, src, dst := ipv4HeaderLen, netip.AddrFrom4([4]byte(pkt[12:16])), netip.AddrFrom4([4]byte(pkt[16:20]))
	if pkt[0]>>4 == 6 {
		hdr, src, dst = ipv6HeaderLen, netip.AddrFrom16([16]byte(pkt[8:24])), netip.AddrFrom16([16]byte(pkt[24:40]))
	}
	msg := pkt[hdr:]
	msg[6], msg[7] = 0, 0
	var sum uint32
	if msg[0]>>4 == 3 {
		sum = pseudoHeaderSum(src, dst, len(msg))
	}
	binary.BigEndian.PutUint16(msg[6:], ^fold(sumBytes(sum, msg)))
	return pkt
}

// setLen rewrites the IP length field after a test changed the payload size.
func setLen(pkt []byte) []byte {
	if pkt[0]>>4 == 6 {
		binary.BigEndian.PutUint16(pkt[4:], uint16(len(pkt)-ipv6HeaderLen))
	} else {
		binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
	}
	return pkt
}

func TestParsePacketErrors(t *testing.T) {
	v2 := func() []byte { return mustEncode(t, v2Adv()) }
	v34 := func() []byte { return mustEncode(t, v3Adv4()) }
	v36 := func() []byte { return mustEncode(t, v3Adv6()) }
	with := func(b []byte, f func(b []byte) []byte) []byte { return f(b) }
	tests := []struct {
		name string
		pkt  []byte
		want error
	}{
		{"empty", nil, ErrShortPacket},
		{"ipv4 header truncated", v2()[:19], ErrShortPacket},
		{"ipv4 ihl beyond data", with(v2(), func(b []byte) []byte { b[0] = 0x4f; return b[:40] }), ErrShortPacket},
		{"ipv4 ihl below 5", with(v2(), func(b []byte) []byte { b[0] = 0x44; return b }), ErrShortPacket},
		{"ipv4 total length beyond data", v2()[:40], ErrShortPacket},
		{"ipv4 total length below ihl", with(v2(), func(b []byte) []byte { binary.BigEndian.PutUint16(b[2:], 19); return b }), ErrShortPacket},
		{"ipv6 header truncated", v36()[:39], ErrShortPacket},
		{"ipv6 payload beyond data", v36()[:60], ErrShortPacket},
		{"ipv6 extension header truncated", with(v36(), func(b []byte) []byte { b[6] = nhHopByHop; b[41] = 200; return b }), ErrShortPacket},
		{"vrrp header truncated", setLen(v2()[:ipv4HeaderLen+7]), ErrShortPacket},

		{"ipv4 ttl 254", with(v2(), func(b []byte) []byte { b[8] = 254; return b }), ErrBadTTL},
		{"ipv4 ttl 1", with(v34(), func(b []byte) []byte { b[8] = 1; return b }), ErrBadTTL},
		{"ipv6 hop limit 64", with(v36(), func(b []byte) []byte { b[7] = 64; return b }), ErrBadTTL},

		{"ipv4 more fragments", with(v2(), func(b []byte) []byte { b[6] |= 0x20; return b }), ErrFragment},
		{"ipv4 offset", with(v34(), func(b []byte) []byte { b[7] = 1; return b }), ErrFragment},
		{"ipv6 fragment header", with(v36(), func(b []byte) []byte {
			frag := []byte{ProtocolNumber, 0, 0, 1, 0, 0, 0, 42} // offset 0, MF
			out := append(append(append([]byte{}, b[:40]...), frag...), b[40:]...)
			out[6] = nhFragment
			return setLen(out)
		}), ErrFragment},

		{"version 0", fixChecksum(with(v2(), func(b []byte) []byte { b[20] = 0x01; return b })), ErrBadVersion},
		{"version 1", fixChecksum(with(v2(), func(b []byte) []byte { b[20] = 0x11; return b })), ErrBadVersion},
		{"version 4", fixChecksum(with(v34(), func(b []byte) []byte { b[20] = 0x41; return b })), ErrBadVersion},
		{"v2 over ipv6", fixChecksum(with(v36(), func(b []byte) []byte { b[40] = 0x21; return b })), ErrBadVersion},

		{"type 0", fixChecksum(with(v2(), func(b []byte) []byte { b[20] = 0x20; return b })), ErrBadType},
		{"type 2", fixChecksum(with(v36(), func(b []byte) []byte { b[40] = 0x32; return b })), ErrBadType},

		{"v2 count too high", fixChecksum(with(v2(), func(b []byte) []byte { b[23]++; return b })), ErrAddrCount},
		{"v2 count too low", fixChecksum(with(v2(), func(b []byte) []byte { b[23]--; return b })), ErrAddrCount},
		{"v2 trailing bytes", fixChecksum(setLen(append(v2(), 0, 0, 0, 0))), ErrAddrCount},
		{"v2 missing auth data", fixChecksum(setLen(v2()[:len(v2())-8])), ErrAddrCount},
		{"v3 ipv4 count too high", fixChecksum(with(v34(), func(b []byte) []byte { b[23]++; return b })), ErrAddrCount},
		{"v3 ipv6 count too low", fixChecksum(with(v36(), func(b []byte) []byte { b[43]--; return b })), ErrAddrCount},
		{"v3 ipv6 with ipv4-sized addresses", fixChecksum(with(v36(), func(b []byte) []byte { b[43] = 8; return b })), ErrAddrCount},

		{"v2 checksum", with(v2(), func(b []byte) []byte { b[26] ^= 1; return b }), ErrBadChecksum},
		{"v2 address changed", with(v2(), func(b []byte) []byte { b[31] ^= 1; return b }), ErrBadChecksum},
		{"v3 ipv4 checksum", with(v34(), func(b []byte) []byte { b[27] ^= 1; return b }), ErrBadChecksum},
		{"v3 ipv4 other source", with(v34(), func(b []byte) []byte { b[15] ^= 1; return b }), ErrBadChecksum},
		{"v3 ipv6 other destination", with(v36(), func(b []byte) []byte { b[39] ^= 1; return b }), ErrBadChecksum},
		{"v3 priority changed", with(v36(), func(b []byte) []byte { b[42]++; return b }), ErrBadChecksum},

		{"v2 auth type ah", fixChecksum(with(v2(), func(b []byte) []byte { b[24] = 2; return b })), ErrBadAuthType},
		{"v2 auth type 255", fixChecksum(with(v2(), func(b []byte) []byte { b[24] = 255; return b })), ErrBadAuthType},

		{"v2 interval 0", fixChecksum(with(v2(), func(b []byte) []byte { b[25] = 0; return b })), ErrBadInterval},
		{"v3 interval 0", fixChecksum(with(v36(), func(b []byte) []byte { b[44], b[45] = 0xf0, 0; return b })), ErrBadInterval},

		{"not vrrp", with(v2(), func(b []byte) []byte { b[9] = 17; return b }), ErrNotVRRP},
		{"not vrrp behind ipv6 fragment", with(v36(), func(b []byte) []byte {
			out := append(append(append([]byte{}, b[:40]...), 17, 0, 0, 0, 0, 0, 0, 1), b[40:]...)
			out[6] = nhFragment
			return setLen(out)
		}), ErrNotVRRP},
		{"ip version 5", with(v2(), func(b []byte) []byte { b[0] = 0x55; return b }), ErrNotVRRP},
	}
	seen := map[DropReason]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParsePacket(tt.pkt)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParsePacket: err = %v, want %v", err, tt.want)
			}
			if a != nil {
				t.Errorf("ParsePacket returned %+v with an error", a)
			}
			if !strings.HasPrefix(err.Error(), "vrrp: parse packet: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			r, ok := ReasonOf(err)
			if tt.want == ErrNotVRRP {
				if ok {
					t.Errorf("ReasonOf(%v) = %v, want no reason", err, r)
				}
				return
			}
			if !ok || r.Err() != tt.want {
				t.Errorf("ReasonOf(%v) = %v, %v; want %v", err, r, ok, tt.want)
			}
			seen[r] = true
		})
	}
	// Every reason a packet alone can earn has a case above; the rest are
	// config-relative and covered by TestPolicyCheck.
	for _, r := range []DropReason{ReasonShortPacket, ReasonBadTTL, ReasonFragment, ReasonBadVersion,
		ReasonBadType, ReasonAddrCount, ReasonBadChecksum, ReasonBadAuthType, ReasonBadInterval} {
		if !seen[r] {
			t.Errorf("no malformed-packet case for %v", r)
		}
	}
}

func TestParsePacketAccepts(t *testing.T) {
	v2 := func() []byte { return mustEncode(t, v2Adv()) }
	v36 := func() []byte { return mustEncode(t, v3Adv6()) }
	tests := []struct {
		name string
		pkt  []byte
		want *Advertisement
	}{
		{"ipv4 options", func() []byte {
			b := v2()
			out := append(append(append([]byte{}, b[:20]...), 0x94, 4, 0, 0), b[20:]...) // router alert
			out[0] = 0x46
			return setLen(out)
		}(), v2Adv()},
		{"ethernet padding", append(v2(), 0, 0, 0, 0, 0, 0), v2Adv()},
		{"ipv6 hop-by-hop and destination options", func() []byte {
			b := v36()
			ext := []byte{nhDestOpts, 0, 1, 4, 0, 0, 0, 0, ProtocolNumber, 0, 1, 4, 0, 0, 0, 0}
			out := append(append(append([]byte{}, b[:40]...), ext...), b[40:]...)
			out[6] = nhHopByHop
			return setLen(out)
		}(), v3Adv6()},
		{"v3 reserved bits ignored", fixChecksum(func() []byte { b := v36(); b[44] |= 0xf0; return b }()), v3Adv6()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePacket(tt.pkt)
			if err != nil {
				t.Fatalf("ParsePacket: %v", err)
			}
			tt.want.Checksum = got.Checksum
			if d := advDiff(tt.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestMarshalErrors(t *testing.T) {
	mod := func(a *Advertisement, f func(a *Advertisement)) *Advertisement { f(a); return a }
	tests := []struct {
		name string
		adv  *Advertisement
		want error // nil: any error
	}{
		{"version 4", mod(v2Adv(), func(a *Advertisement) { a.Version = 4 }), ErrBadVersion},
		{"v2 interval 0", mod(v2Adv(), func(a *Advertisement) { a.Interval = 0 }), ErrBadInterval},
		{"v2 interval 1.5s", mod(v2Adv(), func(a *Advertisement) { a.Interval = 1500 * time.Millisecond }), ErrBadInterval},
		{"v2 interval 256s", mod(v2Adv(), func(a *Advertisement) { a.Interval = 256 * time.Second }), ErrBadInterval},
		{"v3 interval 5ms", mod(v3Adv4(), func(a *Advertisement) { a.Interval = 5 * time.Millisecond }), ErrBadInterval},
		{"v3 interval 41s", mod(v3Adv4(), func(a *Advertisement) { a.Interval = 41 * time.Second }), ErrBadInterval},
		{"v2 auth ah", mod(v2Adv(), func(a *Advertisement) { a.AuthType = AuthAH }), ErrBadAuthType},
		{"v3 with password", mod(v3Adv4(), func(a *Advertisement) { a.AuthType = AuthPass }), ErrBadAuthType},
		{"v2 ipv6 addresses", mod(v2Adv(), func(a *Advertisement) {
			a.Addresses = []netip.Addr{netip.MustParseAddr("fd00::1")}
			a.Source = netip.Addr{}
		}), ErrBadVersion},
		{"v3 mixed families", mod(v3Adv4(), func(a *Advertisement) {
			a.Addresses = append(a.Addresses, netip.MustParseAddr("fd00::1"))
		}), ErrAddrCount},
		{"v3 ipv6 addresses from ipv4 source", mod(v3Adv6(), func(a *Advertisement) { a.Source, a.Destination = src4, IPv4Multicast }), ErrAddrCount},
		{"256 addresses", mod(v2Adv(), func(a *Advertisement) { a.Addresses = make([]netip.Addr, 256) }), ErrAddrCount},
		{"invalid address", mod(v2Adv(), func(a *Advertisement) { a.Addresses[1] = netip.Addr{} }), ErrAddrCount},
		{"v3 without source", mod(v3Adv4(), func(a *Advertisement) { a.Source = netip.Addr{} }), nil},
		{"v3 source and destination of different families", mod(v3Adv4(), func(a *Advertisement) { a.Destination = IPv6Multicast }), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.adv.MarshalBinary()
			if err == nil {
				t.Fatalf("MarshalBinary = %x, want an error", b)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "vrrp: marshal advertisement: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
	t.Run("EncodePacket without addresses", func(t *testing.T) {
		a := v2Adv()
		a.Source = netip.Addr{}
		if _, err := EncodePacket(a, TTL); err == nil {
			t.Error("EncodePacket without a source succeeded")
		}
	})
}

func TestAppendBinaryKeepsPrefix(t *testing.T) {
	a := v3Adv6()
	want, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	prefix := []byte("prefix")
	got, err := a.AppendBinary(prefix)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[:len(prefix)], prefix) || !bytes.Equal(got[len(prefix):], want) {
		t.Errorf("AppendBinary = %x, want %x after the prefix", got, want)
	}
	if a.Len() != len(want) {
		t.Errorf("Len() = %d, marshalled %d bytes", a.Len(), len(want))
	}
}

func TestPolicyCheck(t *testing.T) {
	pass, _ := Password("1111")
	base := Policy{VRID: 50, Version: 2, AuthType: AuthPass, Password: pass, Interval: time.Second}
	mod := func(a *Advertisement, f func(a *Advertisement)) *Advertisement { f(a); return a }
	tests := []struct {
		name   string
		policy Policy
		adv    *Advertisement
		want   error
	}{
		{"accept", base, v2Adv(), nil},
		{"unknown vrid", base, mod(v2Adv(), func(a *Advertisement) { a.VRID = 51 }), ErrUnknownVRID},
		{"other version", base, mod(v3Adv4(), func(a *Advertisement) { a.VRID = 50 }), ErrBadVersion},
		{"auth none, want pass", base, mod(v2Adv(), func(a *Advertisement) { a.AuthType, a.AuthData = AuthNone, [8]byte{} }), ErrBadAuthType},
		{"auth pass, want none", Policy{VRID: 50, Version: 2}, v2Adv(), ErrBadAuthType},
		{"wrong password", base, mod(v2Adv(), func(a *Advertisement) { a.AuthData[3] = '2' }), ErrWrongPassword},
		{"password with trailing byte", base, mod(v2Adv(), func(a *Advertisement) { a.AuthData[4] = 'x' }), ErrWrongPassword},
		{"auth none ignores data", Policy{VRID: 50, Version: 2, Interval: time.Second}, mod(v2Adv(), func(a *Advertisement) { a.AuthType = AuthNone }), nil},
		{"not a peer", func() Policy { p := base; p.Peers = []netip.Addr{netip.MustParseAddr("198.18.0.9")}; return p }(), v2Adv(), ErrNotPeer},
		{"peer", func() Policy {
			p := base
			p.Peers = []netip.Addr{netip.MustParseAddr("198.18.0.9"), netip.MustParseAddr("::ffff:198.18.0.1")}
			return p
		}(), v2Adv(), nil},
		{"ipv6 peer with zone", Policy{VRID: 52, Version: 3, Peers: []netip.Addr{netip.MustParseAddr("fe80::1%eth0")}}, v3Adv6(), nil},
		{"v2 interval mismatch", base, mod(v2Adv(), func(a *Advertisement) { a.Interval = 2 * time.Second }), ErrIntervalMismatch},
		{"v2 interval unchecked", Policy{VRID: 50, Version: 2, AuthType: AuthPass, Password: pass}, mod(v2Adv(), func(a *Advertisement) { a.Interval = 3 * time.Second }), nil},
		{"v3 interval adopted, not checked", Policy{VRID: 51, Version: 3, Interval: time.Second}, v3Adv4(), nil},
		{"v3 ignores auth policy", Policy{VRID: 51, Version: 3, AuthType: AuthPass, Password: pass}, v3Adv4(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Check(tt.adv)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Check = %v, want %v", err, tt.want)
			}
			if r, ok := ReasonOf(err); !ok || r.Err() != tt.want {
				t.Errorf("ReasonOf(%v) = %v, %v", err, r, ok)
			}
		})
	}
}

func TestPassword(t *testing.T) {
	tests := []struct {
		in      string
		want    [8]byte
		wantErr bool
	}{
		{"", [8]byte{}, false},
		{"1111", [8]byte{'1', '1', '1', '1'}, false},
		{"12345678", [8]byte{'1', '2', '3', '4', '5', '6', '7', '8'}, false},
		{"123456789", [8]byte{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Password(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Password(%q) err = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "8") {
				t.Errorf("error %q does not name the limit", err)
			}
			if !tt.wantErr && got != tt.want {
				t.Errorf("Password(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestDropReasons(t *testing.T) {
	// The numbering is an ABI with bpf/: pin it.
	want := []string{"short_packet", "bad_ttl", "fragment", "bad_version", "bad_type", "addr_count",
		"bad_checksum", "unknown_vrid", "bad_auth_type", "wrong_password", "not_peer",
		"interval_mismatch", "bad_interval", "addr_list"}
	if int(NumDropReasons) != len(want) {
		t.Fatalf("NumDropReasons = %d, want %d", NumDropReasons, len(want))
	}
	errs := map[error]bool{}
	for i, name := range want {
		r := DropReason(i)
		if r.String() != name {
			t.Errorf("DropReason(%d).String() = %q, want %q", i, r, name)
		}
		e := r.Err()
		if e == nil || errs[e] {
			t.Errorf("DropReason(%d).Err() = %v: missing or shared", i, e)
		}
		errs[e] = true
		got, ok := ReasonOf(errors.Join(errors.New("context"), e))
		if !ok || got != r {
			t.Errorf("ReasonOf(wrapped %v) = %v, %v; want %v", e, got, ok, r)
		}
	}
	if NumDropReasons.Err() != nil || NumDropReasons.String() != "reason_14" {
		t.Errorf("out of range: Err %v, String %q", NumDropReasons.Err(), NumDropReasons.String())
	}
	if _, ok := ReasonOf(nil); ok {
		t.Error("ReasonOf(nil) reported a reason")
	}
}

// TestChecksumMatchesNaive compares the 8-bytes-at-a-time sum with RFC 1071 done
// one 16-bit word at a time, over every length and alignment that matters.
func TestChecksumMatchesNaive(t *testing.T) {
	naive := func(b []byte) uint16 {
		var s uint32
		for i := 0; i+1 < len(b); i += 2 {
			s += uint32(b[i])<<8 | uint32(b[i+1])
		}
		if len(b)%2 == 1 {
			s += uint32(b[len(b)-1]) << 8
		}
		for s > 0xffff {
			s = s>>16 + s&0xffff
		}
		return uint16(s)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 300; n++ {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		if n%7 == 0 {
			for i := range b {
				b[i] = 0xff
			}
		}
		if got, want := fold(sumBytes(0, b)), naive(b); got != want {
			t.Fatalf("len %d: sum 0x%04x, want 0x%04x", n, got, want)
		}
	}
}
