package vrrp

import (
	"encoding/binary"
	"net/netip"
)

// sumBytes adds b to the running one's-complement sum as big-endian 16-bit words
// (RFC 1071), padding an odd tail with a zero byte. Carries are folded later.
func sumBytes(sum uint32, b []byte) uint32 {
	s := uint64(sum)
	for len(b) >= 8 {
		// Summing 32-bit halves into a 64-bit accumulator is the RFC 1071 §2(B)
		// trick: byte order independence lets us fold the words at the end.
		s += uint64(binary.BigEndian.Uint32(b)) + uint64(binary.BigEndian.Uint32(b[4:]))
		b = b[8:]
	}
	for len(b) >= 2 {
		s += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0]) << 8
	}
	s = s>>32 + s&0xffffffff
	s = s>>32 + s&0xffffffff
	return uint32(s>>16 + s&0xffff) // ≤ 0x1fffe: headroom for further adds
}

// fold reduces a running sum to 16 bits with end-around carry.
func fold(s uint32) uint16 {
	s = s>>16 + s&0xffff
	s = s>>16 + s&0xffff
	return uint16(s)
}

// pseudoHeaderSum is the sum of the IPv4 (RFC 768) or IPv6 (RFC 8200 §8.1)
// pseudo-header for a VRRP message of length n. Both reduce to the same words:
// zero padding adds nothing and a length below 65536 sums the same in 16 or 32 bits.
func pseudoHeaderSum(src, dst netip.Addr, n int) uint32 {
	var sum uint32
	for _, ip := range [2]netip.Addr{src, dst} {
		if ip.Is4() {
			b := ip.As4()
			sum = sumBytes(sum, b[:])
		} else {
			b := ip.As16()
			sum = sumBytes(sum, b[:])
		}
	}
	return sum + ProtocolNumber + uint32(n)
}
