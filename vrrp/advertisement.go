package vrrp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"
)

// Protocol constants shared by both versions.
const (
	// ProtocolNumber is the IP protocol number assigned to VRRP (RFC 3768 §5.2.4,
	// RFC 5798 §5.1.1.4).
	ProtocolNumber = 112
	// TTL is the only TTL / hop limit a VRRP router sends and accepts
	// (RFC 3768 §5.2.3 and §7.1, RFC 5798 §5.1.1.3 and §7.1).
	TTL = 255
)

// Multicast destinations (RFC 3768 §5.2.2, RFC 5798 §5.1.1.2 and §5.1.2.2), the
// defaults of config's mcast_group4/6.
var (
	IPv4Multicast = netip.MustParseAddr("224.0.0.18")
	IPv6Multicast = netip.MustParseAddr("ff02::12")
)

// typeAdvertisement is the only VRRP packet type (RFC 3768 §5.3.2, RFC 5798 §5.2.2).
const typeAdvertisement = 1

const (
	headerLen   = 8 // version/type … checksum, both versions
	authDataLen = 8 // v2 Authentication Data (RFC 3768 §5.3.10)
)

// Interval limits: v2 carries whole seconds in 8 bits (RFC 3768 §5.3.7), v3
// centiseconds in 12 bits (RFC 5798 §5.2.7). Zero is invalid in both. The
// minimum is also each version's step. config and loader check against these.
const (
	MinIntervalV2 = time.Second
	MaxIntervalV2 = 255 * time.Second
	MinIntervalV3 = 10 * time.Millisecond
	MaxIntervalV3 = 0xfff * 10 * time.Millisecond
)

// AuthType is the VRRPv2 Auth Type field (RFC 3768 §5.3.6). VRRPv3 removed
// authentication (RFC 5798 §9); its advertisements always carry AuthNone here.
type AuthType uint8

const (
	// AuthNone is "No Authentication" (RFC 3768 §5.3.6.1).
	AuthNone AuthType = 0
	// AuthPass is the simple text password of RFC 2338 §5.3.6.2, reserved by RFC
	// 3768 but still what keepalived's "auth_type PASS" sends.
	AuthPass AuthType = 1
	// AuthAH is IP Authentication Header (RFC 2338 §5.3.6.3). With AH the IP protocol
	// is 51, not 112, so a VRRP message claiming it is rejected with ErrBadAuthType.
	AuthAH AuthType = 2
)

func (t AuthType) String() string {
	switch t {
	case AuthNone:
		return "none"
	case AuthPass:
		return "pass"
	case AuthAH:
		return "ah"
	}
	return fmt.Sprintf("auth_type_%d", uint8(t))
}

// Advertisement is one VRRP advertisement, version 2 or 3.
type Advertisement struct {
	// Version is 2 (RFC 3768 §5.3.1) or 3 (RFC 5798 §5.2.1).
	Version uint8
	// VRID is the Virtual Router Identifier (RFC 3768 §5.3.3, RFC 5798 §5.2.3).
	VRID uint8
	// Priority is the sender's priority: 255 for the address owner, 0 when the
	// Master is giving up (RFC 3768 §5.3.4, RFC 5798 §5.2.4).
	Priority uint8
	// Interval is the advertisement interval: whole seconds, 1–255, in v2
	// (Adver Int, RFC 3768 §5.3.7); centiseconds, 1–4095, in v3 (Max Adver Int,
	// RFC 5798 §5.2.7). Marshal rejects values the wire cannot carry exactly.
	Interval time.Duration
	// Addresses are the virtual addresses (RFC 3768 §5.3.9, RFC 5798 §5.2.9):
	// all IPv4, or, in v3 only, all IPv6. Families are netip's: an IPv4-mapped
	// IPv6 address is IPv6 (it is 16 bytes on the wire), so unmap addresses that
	// came from a 16-byte net.IP.
	Addresses []netip.Addr
	// AuthType is the v2 Auth Type (RFC 3768 §5.3.6); AuthNone in v3.
	AuthType AuthType
	// AuthData is the v2 Authentication Data (RFC 3768 §5.3.10): the PASS
	// password zero-padded to 8 bytes (see Password), zero for AuthNone. Always
	// zero in v3, which has no such field.
	AuthData [8]byte

	// Source and Destination are not VRRP fields: they are the IP addresses of the
	// packet, needed for the v3 checksum pseudo-header (RFC 5798 §5.2.8) and for
	// peer checks. ParsePacket sets them; set them before marshalling v3. As for
	// Addresses, an IPv4-mapped address counts as IPv6.
	Source, Destination netip.Addr

	// Checksum is the VRRP checksum (RFC 3768 §5.3.8, RFC 5798 §5.2.8) as decoded,
	// or as computed by the last MarshalBinary/AppendBinary.
	Checksum uint16
}

// Is6 reports whether the advertisement is for IPv6: decided by its addresses, or
// by Source when it has none.
func (a *Advertisement) Is6() bool {
	if len(a.Addresses) > 0 {
		return a.Addresses[0].Is6()
	}
	return a.Source.Is6()
}

// Len returns the length of the marshalled VRRP message in bytes.
func (a *Advertisement) Len() int {
	if a.Version == 2 {
		return headerLen + 4*len(a.Addresses) + authDataLen
	}
	if a.Is6() {
		return headerLen + 16*len(a.Addresses)
	}
	return headerLen + 4*len(a.Addresses)
}

// MarshalBinary returns the VRRP message (no IP header). For v3, Source and
// Destination must be set: they are part of the checksum.
func (a *Advertisement) MarshalBinary() ([]byte, error) {
	return a.AppendBinary(make([]byte, 0, a.Len()))
}

// AppendBinary appends the VRRP message (no IP header) to b and records the
// computed checksum in a.Checksum.
//
// VRRPv2 (RFC 3768 §5.1):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Auth Type   |   Adver Int   |          Checksum             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                         IP Address (1)                        |
//	|                            .....                              |
//	|                         IP Address (n)                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                     Authentication Data (1)                   |
//	|                     Authentication Data (2)                   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The v2 checksum covers the VRRP message only (RFC 3768 §5.3.8).
//
// VRRPv3 (RFC 5798 §5.1), addresses are 4 or 16 bytes each:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|(rsvd) |     Max Adver Int     |          Checksum             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                       IPvX Address(es)                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The v3 checksum also covers the IPv4 or IPv6 pseudo-header (RFC 5798 §5.2.8,
// RFC 9568 §5.2.8): source, destination, protocol 112 and the VRRP length.
// keepalived computes it with the packet's real source and destination, and so
// do we.
func (a *Advertisement) AppendBinary(b []byte) ([]byte, error) {
	is6, err := a.check()
	if err != nil {
		return b, fmt.Errorf("vrrp: marshal advertisement: %w", err)
	}
	start := len(b)
	n := len(a.Addresses)
	b = append(b, a.Version<<4|typeAdvertisement, a.VRID, a.Priority, uint8(n))
	if a.Version == 2 {
		b = append(b, uint8(a.AuthType), uint8(a.Interval/time.Second), 0, 0)
	} else {
		cs := uint16(a.Interval / (10 * time.Millisecond))
		b = append(b, uint8(cs>>8)&0x0f, uint8(cs), 0, 0)
	}
	for _, ip := range a.Addresses {
		if is6 {
			s := ip.As16()
			b = append(b, s[:]...)
		} else {
			s := ip.As4()
			b = append(b, s[:]...)
		}
	}
	if a.Version == 2 {
		b = append(b, a.AuthData[:]...)
	}
	msg := b[start:]
	var sum uint32
	if a.Version == 3 {
		sum = pseudoHeaderSum(a.Source, a.Destination, len(msg))
	}
	a.Checksum = ^fold(sumBytes(sum, msg))
	binary.BigEndian.PutUint16(msg[6:8], a.Checksum)
	return b, nil
}

// check validates a for marshalling and reports whether it is an IPv6 advert.
func (a *Advertisement) check() (is6 bool, err error) {
	switch a.Version {
	case 2:
		if a.Interval < MinIntervalV2 || a.Interval > MaxIntervalV2 || a.Interval%MinIntervalV2 != 0 {
			return false, fmt.Errorf("%w: v2 interval %v is not 1s–255s in whole seconds", ErrBadInterval, a.Interval)
		}
		if a.AuthType > AuthPass {
			return false, fmt.Errorf("%w: %v", ErrBadAuthType, a.AuthType)
		}
	case 3:
		if a.Interval < MinIntervalV3 || a.Interval > MaxIntervalV3 || a.Interval%MinIntervalV3 != 0 {
			return false, fmt.Errorf("%w: v3 interval %v is not 10ms–40.95s in centiseconds", ErrBadInterval, a.Interval)
		}
		if a.AuthType != AuthNone || a.AuthData != [8]byte{} {
			return false, fmt.Errorf("%w: v3 has no authentication", ErrBadAuthType)
		}
		if !a.Source.IsValid() || !a.Destination.IsValid() {
			return false, fmt.Errorf("v3 checksum needs source and destination addresses")
		}
		if a.Source.Is6() != a.Destination.Is6() {
			return false, fmt.Errorf("source %v and destination %v are of different families", a.Source, a.Destination)
		}
	default:
		return false, fmt.Errorf("%w: %d", ErrBadVersion, a.Version)
	}
	if len(a.Addresses) > 255 {
		return false, fmt.Errorf("%w: %d addresses, at most 255", ErrAddrCount, len(a.Addresses))
	}
	is6 = a.Is6()
	if is6 && a.Version == 2 {
		return false, fmt.Errorf("%w: v2 carries IPv4 only", ErrBadVersion)
	}
	if a.Source.IsValid() && a.Source.Is6() != is6 {
		return false, fmt.Errorf("%w: addresses and source %v are of different families", ErrAddrCount, a.Source)
	}
	for _, ip := range a.Addresses {
		if !ip.IsValid() || ip.Is6() != is6 {
			return false, fmt.Errorf("%w: address %v is not of the advertisement's family", ErrAddrCount, ip)
		}
	}
	return is6, nil
}

// UnmarshalBinary decodes one VRRP message (no IP header), which must be exactly
// as long as its address count says. The v2 checksum is always verified; the v3
// checksum only when a.Source and a.Destination are already set, since the
// pseudo-header needs them (ParsePacket sets them). Source and Destination are
// kept; every other field is overwritten, and the Addresses backing array is
// reused, so decoding into one Advertisement in a loop does not allocate.
func (a *Advertisement) UnmarshalBinary(b []byte) error {
	if err := a.unmarshal(b); err != nil {
		return fmt.Errorf("vrrp: parse advertisement: %w", err)
	}
	return nil
}

func (a *Advertisement) unmarshal(b []byte) error {
	if len(b) < headerLen {
		return fmt.Errorf("%w: %d bytes, need at least %d", ErrShortPacket, len(b), headerLen)
	}
	version, typ := b[0]>>4, b[0]&0x0f
	if version != 2 && version != 3 {
		return fmt.Errorf("%w: %d", ErrBadVersion, version)
	}
	if typ != typeAdvertisement {
		return fmt.Errorf("%w: %d", ErrBadType, typ)
	}
	n := int(b[3])
	haveIP := a.Source.IsValid() && a.Destination.IsValid()
	srcIs6 := a.Source.Is6()
	addrLen := 4
	var want int
	switch {
	case version == 2:
		if srcIs6 {
			return fmt.Errorf("%w: v2 over IPv6", ErrBadVersion)
		}
		want = headerLen + 4*n + authDataLen
	case a.Source.IsValid():
		if srcIs6 {
			addrLen = 16
		}
		want = headerLen + addrLen*n
	default:
		// No IP context: the length is the only hint to the family.
		want = headerLen + 4*n
		if len(b) != want && n > 0 && len(b) == headerLen+16*n {
			addrLen, want = 16, len(b)
		}
	}
	if len(b) != want {
		return fmt.Errorf("%w: count %d needs %d bytes, have %d", ErrAddrCount, n, want, len(b))
	}
	if version == 2 || haveIP {
		var sum uint32
		if version == 3 {
			sum = pseudoHeaderSum(a.Source, a.Destination, len(b))
		}
		if s := fold(sumBytes(sum, b)); s != 0xffff {
			return fmt.Errorf("%w: 0x%04x", ErrBadChecksum, binary.BigEndian.Uint16(b[6:8]))
		}
	}
	var interval time.Duration
	authType := AuthNone
	if version == 2 {
		authType = AuthType(b[4])
		if authType > AuthPass {
			return fmt.Errorf("%w: %v", ErrBadAuthType, authType)
		}
		interval = time.Duration(b[5]) * time.Second
	} else {
		// The 4 reserved bits are ignored on receipt (RFC 5798 §5.2.6).
		interval = time.Duration(uint16(b[4]&0x0f)<<8|uint16(b[5])) * 10 * time.Millisecond
	}
	if interval == 0 {
		return fmt.Errorf("%w: 0", ErrBadInterval)
	}

	a.Version = version
	a.VRID = b[1]
	a.Priority = b[2]
	a.Interval = interval
	a.AuthType = authType
	a.Checksum = binary.BigEndian.Uint16(b[6:8])
	a.AuthData = [8]byte{}
	if version == 2 {
		copy(a.AuthData[:], b[headerLen+4*n:])
	}
	switch {
	case n == 0:
		a.Addresses = nil
	case cap(a.Addresses) < n:
		a.Addresses = make([]netip.Addr, 0, n)
	default:
		a.Addresses = a.Addresses[:0]
	}
	for i := 0; i < n; i++ {
		p := b[headerLen+i*addrLen:]
		if addrLen == 4 {
			a.Addresses = append(a.Addresses, netip.AddrFrom4([4]byte(p[:4])))
		} else {
			a.Addresses = append(a.Addresses, netip.AddrFrom16([16]byte(p[:16])))
		}
	}
	return nil
}
