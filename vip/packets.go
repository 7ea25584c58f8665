package vip

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
	"golang.org/x/net/ipv6"
)

const (
	ipv6HeaderLen = 40
	protoICMPv6   = 58
	// ndHopLimit is the hop limit every ND message must carry (RFC 4861 §7.1).
	ndHopLimit = 255
)

var (
	allNodes     = netip.MustParseAddr("ff02::1")
	allNodesMAC  = net.HardwareAddr{0x33, 0x33, 0, 0, 0, 1}
	zeroMAC      = net.HardwareAddr{0, 0, 0, 0, 0, 0}
	errNotIPv6ND = errors.New("not an IPv6 neighbour discovery message")
)

// multicastMAC maps an IPv6 multicast address to its Ethernet group (RFC 2464 §7).
func multicastMAC(a netip.Addr) net.HardwareAddr {
	b := a.As16()
	return net.HardwareAddr{0x33, 0x33, b[12], b[13], b[14], b[15]}
}

// solicitedNode returns ff02::1:ffXX:XXXX for a (RFC 4291 §2.7.1).
func solicitedNode(a netip.Addr) netip.Addr {
	b := a.As16()
	return netip.AddrFrom16([16]byte{0xff, 0x02, 10: 0, 11: 1, 12: 0xff, 13: b[13], 14: b[14], 15: b[15]})
}

// gratuitousARP builds the frame keepalived sends for an IPv4 VIP: an ARP
// request, broadcast, sender and target protocol address both the VIP, target
// hardware address broadcast. A request (not a reply) is what every stack
// accepts as an update of an existing cache entry (RFC 5227 §3 "ARP Announcement").
func gratuitousARP(mac net.HardwareAddr, vip netip.Addr) ([]byte, error) {
	p, err := arp.NewPacket(arp.OperationRequest, mac, vip, ethernet.Broadcast, vip)
	if err != nil {
		return nil, fmt.Errorf("vip: gratuitous arp for %s: %w", vip, err)
	}
	return arpFrame(mac, ethernet.Broadcast, p)
}

// arpProbe builds an RFC 5227 §2.1.1 probe: sender protocol address 0.0.0.0,
// so it pollutes no cache, which Linux answers for addresses it owns.
func arpProbe(mac net.HardwareAddr, target netip.Addr) ([]byte, error) {
	p, err := arp.NewPacket(arp.OperationRequest, mac, netip.IPv4Unspecified(), zeroMAC, target)
	if err != nil {
		return nil, fmt.Errorf("vip: arp probe for %s: %w", target, err)
	}
	return arpFrame(mac, ethernet.Broadcast, p)
}

func arpFrame(src, dst net.HardwareAddr, p *arp.Packet) ([]byte, error) {
	pb, err := p.MarshalBinary()
	if err != nil {
		return nil, err
	}
	f := &ethernet.Frame{Destination: dst, Source: src, EtherType: ethernet.EtherTypeARP, Payload: pb}
	return f.MarshalBinary()
}

// unsolicitedNA builds the frame keepalived sends for an IPv6 VIP (RFC 4861
// §7.2.6): a neighbour advertisement to ff02::1 with Override set, Solicited
// clear and the target link-layer address option, from src (the interface's
// link-local address, or the VIP itself when the interface has none).
func unsolicitedNA(mac net.HardwareAddr, src, vip netip.Addr) ([]byte, error) {
	na := &ndp.NeighborAdvertisement{
		Override:      true,
		TargetAddress: vip,
		Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: mac}},
	}
	return ndFrame(mac, allNodesMAC, src, allNodes, na)
}

// neighborSolicitation builds an NS for target to its solicited-node group.
// From an unspecified source it is the DAD form (no source link-layer option,
// RFC 4862 §5.4.2) and the owner answers to ff02::1.
func neighborSolicitation(mac net.HardwareAddr, src, target netip.Addr) ([]byte, error) {
	ns := &ndp.NeighborSolicitation{TargetAddress: target}
	if !src.IsUnspecified() {
		ns.Options = []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: mac}}
	}
	dst := solicitedNode(target)
	return ndFrame(mac, multicastMAC(dst), src, dst, ns)
}

// ndFrame wraps an ND message in IPv6 and Ethernet. The checksum is ours to
// compute: an AF_PACKET socket gets no help from the kernel.
//
//	IPv6 header (40 bytes):
//	+-------+-------+---------------+---------------+---------------+
//	|Version| Class |           Flow Label                          |
//	+-------+-------+-------+-------+---------------+---------------+
//	|         Payload Length        |  Next Header  |   Hop Limit   |
//	+-------------------------------+---------------+---------------+
//	|                  Source Address (16 bytes)                    |
//	|               Destination Address (16 bytes)                  |
//	+---------------------------------------------------------------+
func ndFrame(srcMAC, dstMAC net.HardwareAddr, src, dst netip.Addr, m ndp.Message) ([]byte, error) {
	icmp, err := ndp.MarshalMessageChecksum(m, src, dst)
	if err != nil {
		return nil, fmt.Errorf("vip: marshal %T: %w", m, err)
	}
	ip := make([]byte, ipv6HeaderLen+len(icmp))
	ip[0] = 6 << 4
	binary.BigEndian.PutUint16(ip[4:6], uint16(len(icmp)))
	ip[6] = protoICMPv6
	ip[7] = ndHopLimit
	s, d := src.As16(), dst.As16()
	copy(ip[8:24], s[:])
	copy(ip[24:40], d[:])
	copy(ip[40:], icmp)
	f := &ethernet.Frame{Destination: dstMAC, Source: srcMAC, EtherType: ethernet.EtherTypeIPv6, Payload: ip}
	return f.MarshalBinary()
}

// parsedND is an ND message with the fields of its IPv6 header we check.
type parsedND struct {
	SrcMAC, DstMAC net.HardwareAddr
	Src, Dst       netip.Addr
	HopLimit       int
	Message        ndp.Message
}

// parseNDFrame decodes an Ethernet frame carrying an ICMPv6 ND message without
// extension headers (ND never uses them) and verifies its checksum.
func parseNDFrame(b []byte) (parsedND, error) {
	var f ethernet.Frame
	if err := f.UnmarshalBinary(b); err != nil {
		return parsedND{}, err
	}
	if f.EtherType != ethernet.EtherTypeIPv6 || len(f.Payload) < ipv6HeaderLen || f.Payload[6] != protoICMPv6 {
		return parsedND{}, errNotIPv6ND
	}
	h := f.Payload
	plen := int(binary.BigEndian.Uint16(h[4:6]))
	if len(h) < ipv6HeaderLen+plen {
		return parsedND{}, fmt.Errorf("vip: truncated IPv6 packet: %d < %d", len(h), ipv6HeaderLen+plen)
	}
	p := parsedND{
		SrcMAC:   f.Source,
		DstMAC:   f.Destination,
		Src:      netip.AddrFrom16([16]byte(h[8:24])),
		Dst:      netip.AddrFrom16([16]byte(h[24:40])),
		HopLimit: int(h[7]),
	}
	icmp := h[ipv6HeaderLen : ipv6HeaderLen+plen]
	if c := icmpv6Checksum(p.Src, p.Dst, icmp); c != 0 {
		return parsedND{}, fmt.Errorf("vip: bad ICMPv6 checksum (residue %#04x)", c)
	}
	m, err := ndp.ParseMessage(icmp)
	if err != nil {
		return parsedND{}, err
	}
	p.Message = m
	return p, nil
}

// icmpv6Checksum returns the one's-complement sum over the pseudo-header and
// msg folded and inverted: 0 when msg carries a correct checksum.
func icmpv6Checksum(src, dst netip.Addr, msg []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for len(b) >= 2 {
			sum += uint32(binary.BigEndian.Uint16(b))
			b = b[2:]
		}
		if len(b) == 1 {
			sum += uint32(b[0]) << 8
		}
	}
	s, d := src.As16(), dst.As16()
	add(s[:])
	add(d[:])
	var l [8]byte
	binary.BigEndian.PutUint32(l[0:4], uint32(len(msg)))
	l[7] = protoICMPv6
	add(l[:])
	add(msg)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// claim is one piece of evidence that a host answers for an address.
type claim struct {
	Addr netip.Addr
	MAC  net.HardwareAddr
}

// arpClaim extracts "MAC holds IP" from an ARP frame: a reply, or a request
// whose sender protocol address is set (an announcement or ordinary request;
// a probe from 0.0.0.0 claims nothing).
func arpClaim(b []byte) (claim, bool) {
	var f ethernet.Frame
	if err := f.UnmarshalBinary(b); err != nil || f.EtherType != ethernet.EtherTypeARP {
		return claim{}, false
	}
	var p arp.Packet
	if err := p.UnmarshalBinary(f.Payload); err != nil {
		return claim{}, false
	}
	if !p.SenderIP.IsValid() || p.SenderIP.IsUnspecified() {
		return claim{}, false
	}
	return claim{Addr: p.SenderIP, MAC: p.SenderHardwareAddr}, true
}

// naClaim extracts "MAC holds target" from a neighbour advertisement. The MAC
// is the target link-layer option when present, else the frame's source.
func naClaim(b []byte) (claim, bool) {
	p, err := parseNDFrame(b)
	if err != nil || p.HopLimit != ndHopLimit {
		return claim{}, false
	}
	na, ok := p.Message.(*ndp.NeighborAdvertisement)
	if !ok {
		return claim{}, false
	}
	mac := p.SrcMAC
	for _, o := range na.Options {
		if lla, ok := o.(*ndp.LinkLayerAddress); ok && lla.Direction == ndp.Target {
			mac = lla.Addr
		}
	}
	return claim{Addr: na.TargetAddress, MAC: mac}, true
}

// ICMPv6 type of a neighbour advertisement, for the socket filter.
var icmpTypeNA = uint32(ipv6.ICMPTypeNeighborAdvertisement)
