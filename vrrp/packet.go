package vrrp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

const (
	ipv4HeaderLen = 20
	ipv6HeaderLen = 40
	// tosInternetControl is the TOS / traffic class keepalived puts on adverts
	// (IPTOS_PREC_INTERNETCONTROL); we send the same so captures look alike.
	tosInternetControl = 0xc0
)

// IPv6 extension headers ParsePacket steps over on the way to VRRP.
const (
	nhHopByHop = 0
	nhRouting  = 43
	nhFragment = 44
	nhDestOpts = 60
)

// ParsePacket decodes a whole IPv4 (any header length) or IPv6 packet carrying a
// VRRP advertisement, with no link-layer header. It checks, in order: the IP
// header is complete, the protocol is VRRP (else ErrNotVRRP), TTL / hop limit is
// 255, the packet is not a fragment; then decodes the message with Source and
// Destination taken from the IP header, so the v3 checksum is always verified.
// Bytes past the IP total / payload length (link-layer padding) are ignored. The
// IPv4 header checksum is not verified: the kernel does that before any socket
// sees the packet, and a corrupt header cannot reach here with a valid VRRP checksum
// by accident.
func ParsePacket(ip []byte) (*Advertisement, error) {
	a := new(Advertisement)
	if err := a.parsePacket(ip); err != nil {
		return nil, fmt.Errorf("vrrp: parse packet: %w", err)
	}
	return a, nil
}

func (a *Advertisement) parsePacket(ip []byte) error {
	if len(ip) == 0 {
		return fmt.Errorf("%w: empty", ErrShortPacket)
	}
	var (
		payload  []byte
		ttl      uint8
		proto    uint8
		fragment bool
	)
	switch ip[0] >> 4 {
	case 4:
		if len(ip) < ipv4HeaderLen {
			return fmt.Errorf("%w: %d-byte IPv4 header", ErrShortPacket, len(ip))
		}
		ihl := int(ip[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(ip[2:4]))
		if ihl < ipv4HeaderLen || total < ihl || len(ip) < total {
			return fmt.Errorf("%w: IPv4 header length %d, total length %d, have %d bytes", ErrShortPacket, ihl, total, len(ip))
		}
		ttl, proto = ip[8], ip[9]
		flagsFrag := binary.BigEndian.Uint16(ip[6:8])
		fragment = flagsFrag&0x2000 != 0 || flagsFrag&0x1fff != 0 // MF or offset
		a.Source = netip.AddrFrom4([4]byte(ip[12:16]))
		a.Destination = netip.AddrFrom4([4]byte(ip[16:20]))
		payload = ip[ihl:total]
	case 6:
		if len(ip) < ipv6HeaderLen {
			return fmt.Errorf("%w: %d-byte IPv6 header", ErrShortPacket, len(ip))
		}
		plen := int(binary.BigEndian.Uint16(ip[4:6]))
		if len(ip) < ipv6HeaderLen+plen {
			return fmt.Errorf("%w: IPv6 payload length %d, have %d bytes", ErrShortPacket, plen, len(ip)-ipv6HeaderLen)
		}
		ttl, proto = ip[7], ip[6]
		a.Source = netip.AddrFrom16([16]byte(ip[8:24]))
		a.Destination = netip.AddrFrom16([16]byte(ip[24:40]))
		payload = ip[ipv6HeaderLen : ipv6HeaderLen+plen]
	walk:
		for {
			switch proto {
			case nhHopByHop, nhRouting, nhDestOpts:
				if len(payload) < 8 || len(payload) < 8+int(payload[1])*8 {
					return fmt.Errorf("%w: IPv6 extension header %d", ErrShortPacket, proto)
				}
				proto, payload = payload[0], payload[8+int(payload[1])*8:]
			case nhFragment:
				if len(payload) < 8 {
					return fmt.Errorf("%w: IPv6 fragment header", ErrShortPacket)
				}
				// Only the first fragment would have the upper-layer header, but any
				// fragment of VRRP is dropped, so the next header is all we need.
				fragment, proto, payload = true, payload[0], payload[8:]
				break walk
			default:
				break walk
			}
		}
	default:
		return fmt.Errorf("%w: IP version %d", ErrNotVRRP, ip[0]>>4)
	}
	if proto != ProtocolNumber {
		return fmt.Errorf("%w: protocol %d", ErrNotVRRP, proto)
	}
	if ttl != TTL {
		return fmt.Errorf("%w: %d", ErrBadTTL, ttl)
	}
	if fragment {
		return ErrFragment
	}
	return a.unmarshal(payload)
}

// EncodePacket returns a whole IPv4 or IPv6 packet (no link layer) carrying a,
// which must have Source and Destination set; a.Checksum is updated. The header
// follows keepalived's choices so captures of both compare equal: TOS / traffic
// class 0xc0, no DF, no options; the IPv4 ID and IPv6 flow label are left zero,
// which on a raw IP_HDRINCL socket makes the kernel choose them.
func EncodePacket(a *Advertisement, hopLimit uint8) ([]byte, error) {
	b, err := appendPacket(make([]byte, 0, ipv6HeaderLen+a.Len()), a, hopLimit, 0)
	if err != nil {
		return nil, fmt.Errorf("vrrp: encode packet: %w", err)
	}
	return b, nil
}

// appendPacket appends the IP header and VRRP message; id is the IPv4
// Identification (keepalived counts it up per instance, from 1).
//
// IPv4 header (RFC 791 §3.1), 20 bytes, no options:
//
//	|Version|  IHL  |Type of Service|          Total Length         |
//	|         Identification        |Flags|      Fragment Offset    |
//	|  Time to Live |    Protocol   |         Header Checksum       |
//	|                       Source Address                          |
//	|                    Destination Address                        |
//
// IPv6 header (RFC 8200 §3), 40 bytes:
//
//	|Version| Traffic Class |           Flow Label                  |
//	|         Payload Length        |  Next Header  |   Hop Limit   |
//	|                  Source Address (128 bits)                    |
//	|               Destination Address (128 bits)                  |
func appendPacket(b []byte, a *Advertisement, hopLimit uint8, id uint16) ([]byte, error) {
	src, dst := a.Source, a.Destination
	if !src.IsValid() || !dst.IsValid() {
		return b, fmt.Errorf("source and destination addresses required")
	}
	if src.Is4() != dst.Is4() {
		return b, fmt.Errorf("source %v and destination %v are of different families", src, dst)
	}
	start := len(b)
	var err error
	if src.Is4() {
		b = append(b, make([]byte, ipv4HeaderLen)...)
		if b, err = a.AppendBinary(b); err != nil {
			return b[:start], err
		}
		h := b[start:]
		h[0] = 4<<4 | ipv4HeaderLen/4
		h[1] = tosInternetControl
		binary.BigEndian.PutUint16(h[2:4], uint16(len(h)))
		binary.BigEndian.PutUint16(h[4:6], id)
		h[8], h[9] = hopLimit, ProtocolNumber
		s, d := src.As4(), dst.As4()
		copy(h[12:16], s[:])
		copy(h[16:20], d[:])
		binary.BigEndian.PutUint16(h[10:12], ^fold(sumBytes(0, h[:ipv4HeaderLen])))
		return b, nil
	}
	b = append(b, make([]byte, ipv6HeaderLen)...)
	if b, err = a.AppendBinary(b); err != nil {
		return b[:start], err
	}
	h := b[start:]
	binary.BigEndian.PutUint32(h[0:4], 6<<28|tosInternetControl<<20)
	binary.BigEndian.PutUint16(h[4:6], uint16(len(h)-ipv6HeaderLen))
	h[6], h[7] = ProtocolNumber, hopLimit
	s, d := src.As16(), dst.As16()
	copy(h[8:24], s[:])
	copy(h[24:40], d[:])
	return b, nil
}
