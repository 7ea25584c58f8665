package loader

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
	"github.com/ebpfvrrp/ebpfvrrp/vrrp"
)

// BPF_PROG_RUN runs as if received on the loopback device of the calling
// thread's namespace: ifindex 1. Tests run it inside a fresh netns anyway.
const testIfindex = 1

var (
	ipA    = netip.MustParseAddr("198.18.0.2")
	ipB    = netip.MustParseAddr("198.18.0.3")
	ipSelf = netip.MustParseAddr("198.18.0.1")
	ip6A   = netip.MustParseAddr("fe80::2")
	vip4   = netip.MustParseAddr("198.18.100.1")
	vip6   = netip.MustParseAddr("fd00:198:18::100")
)

func mustPass(t testing.TB, s string) [8]byte {
	t.Helper()
	p, err := vrrp.Password(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// fixtureInstances is the kernel config the fixture rows run against.
func fixtureInstances(t testing.TB) map[InstanceKey]InstanceConfig {
	k4 := func(vrid uint8) InstanceKey { return InstanceKey{Ifindex: testIfindex, VRID: vrid, Family: FamilyIPv4} }
	m := map[InstanceKey]InstanceConfig{
		// v2 PASS, Backup.
		k4(10): {State: StateBackup, Priority: 100, Version: 2, AuthType: 1, AuthPass: mustPass(t, "secret"), Interval: time.Second, Primary: ipSelf},
		// v3 with a peer list, Backup.
		k4(20): {State: StateBackup, Priority: 100, Version: 3, Interval: time.Second, Primary: ipSelf, Peers: []netip.Addr{ipA}},
		// IPv6 v3, Backup.
		{Ifindex: testIfindex, VRID: 30, Family: FamilyIPv6}: {State: StateBackup, Priority: 100, Version: 3, Interval: time.Second, Primary: netip.MustParseAddr("fe80::1")},
		// Masters, one per Master-state event (they share a rate limit).
		k4(40): {State: StateMaster, Priority: 100, Version: 3, Interval: time.Second, Primary: ipSelf},
		k4(41): {State: StateMaster, Priority: 100, Version: 3, Interval: time.Second, Primary: ipSelf},
		k4(42): {State: StateMaster, Priority: 100, Version: 3, Interval: time.Second, Primary: ipSelf},
		k4(43): {State: StateMaster, Priority: 100, Version: 3, Interval: time.Second, Primary: ipSelf},
		// Masters that first see a loser, then a winner / a resignation
		// within the rate-limit second.
		k4(44): {State: StateMaster, Priority: 100, Version: 3, Interval: time.Second, Primary: ipSelf},
		k4(45): {State: StateMaster, Priority: 100, Version: 3, Interval: time.Second, Primary: ipSelf},
		// IPv6 Masters for the equal-priority address tie-break: fe80::100
		// beats fe80::2 as a big-endian number, loses to it byte-swapped.
		{Ifindex: testIfindex, VRID: 31, Family: FamilyIPv6}: {State: StateMaster, Priority: 100, Version: 3, Interval: time.Second, Primary: netip.MustParseAddr("fe80::100")},
		{Ifindex: testIfindex, VRID: 32, Family: FamilyIPv6}: {State: StateMaster, Priority: 100, Version: 3, Interval: time.Second, Primary: netip.MustParseAddr("fe80::1")},
		// Unicast v3 (peers), whose adverts may cross routers.
		k4(60): {State: StateBackup, Priority: 100, Version: 3, Interval: time.Second, Primary: ipSelf, Unicast: true, Peers: []netip.Addr{ipA}},
		// Backup with VLAN/QinQ/IPv4-options rows (no events asserted beyond the first).
		k4(50): {State: StateBackup, Priority: 100, Version: 3, Interval: time.Second, Primary: ipSelf},
		// As many VIPs as the many-address rows list.
		k4(12): {State: StateBackup, Priority: 100, Version: 2, AuthType: 1, AuthPass: mustPass(t, "secret"), Interval: time.Second, Primary: ipSelf,
			Addresses: withAddrs(v2adv(t, 12, 150, ipA, ""), 40).Addresses},
		k4(13): {State: StateBackup, Priority: 100, Version: 2, AuthType: 1, AuthPass: mustPass(t, "secret"), Interval: time.Second, Primary: ipSelf,
			Addresses: withAddrs(v2adv(t, 13, 150, ipA, ""), 255).Addresses},
		k4(51): {State: StateBackup, Priority: 100, Version: 3, Interval: time.Second, Primary: ipSelf,
			Addresses: withAddrs(v3adv(51, 150, ipA), 255).Addresses},
		{Ifindex: testIfindex, VRID: 33, Family: FamilyIPv6}: {State: StateBackup, Priority: 100, Version: 3, Interval: time.Second, Primary: netip.MustParseAddr("fe80::1"),
			Addresses: withAddrs(v3adv(33, 150, ip6A), 9).Addresses},
		{Ifindex: testIfindex, VRID: 34, Family: FamilyIPv6}: {State: StateBackup, Priority: 100, Version: 3, Interval: time.Second, Primary: netip.MustParseAddr("fe80::1"),
			Addresses: withAddrs(v3adv(34, 150, ip6A), 90).Addresses},
		// Two VIPs, for an advert listing one of them twice.
		k4(14): {State: StateBackup, Priority: 100, Version: 3, Interval: time.Second, Primary: ipSelf,
			Addresses: withAddrs(v3adv(14, 150, ipA), 2).Addresses},
		// skip_check_adv_addr, Backup.
		k4(15): {State: StateBackup, Priority: 100, Version: 3, Interval: time.Second, Primary: ipSelf, SkipAddrCheck: true},
		// skip_check_adv_addr, Master: a Master always checks.
		k4(16): {State: StateMaster, Priority: 100, Version: 3, Interval: time.Second, Primary: ipSelf, SkipAddrCheck: true},
	}
	// Every other instance has the one VIP its adverts list.
	for k, c := range m {
		if c.Addresses == nil {
			c.Addresses = []netip.Addr{vip4}
			if k.Family == FamilyIPv6 {
				c.Addresses = []netip.Addr{vip6}
			}
			m[k] = c
		}
	}
	return m
}

func v2adv(t testing.TB, vrid, prio uint8, src netip.Addr, pass string) vrrp.Advertisement {
	a := vrrp.Advertisement{Version: 2, VRID: vrid, Priority: prio, Interval: time.Second,
		Addresses: []netip.Addr{vip4}, Source: src}
	if pass != "" {
		a.AuthType = vrrp.AuthPass
		a.AuthData = mustPass(t, pass)
	}
	return a
}

func v3adv(vrid, prio uint8, src netip.Addr) vrrp.Advertisement {
	addrs := []netip.Addr{vip4}
	if src.Is6() {
		addrs = []netip.Addr{vip6}
	}
	return vrrp.Advertisement{Version: 3, VRID: vrid, Priority: prio, Interval: time.Second,
		Addresses: addrs, Source: src}
}

// withAddrs gives a n distinct addresses of its family.
func withAddrs(a vrrp.Advertisement, n int) vrrp.Advertisement {
	a.Addresses = nil
	for i := range n {
		if a.Source.Is4() {
			a.Addresses = append(a.Addresses, netip.AddrFrom4([4]byte{198, 18, 100 + byte(i/250), byte(1 + i%250)}))
		} else {
			b := vip6.As16()
			b[14], b[15] = 0x10, byte(i)
			a.Addresses = append(a.Addresses, netip.AddrFrom16(b))
		}
	}
	return a
}

// listing gives a exactly the addresses addrs.
func listing(a vrrp.Advertisement, addrs ...netip.Addr) vrrp.Advertisement {
	a.Addresses = addrs
	return a
}

func reversed(a vrrp.Advertisement) vrrp.Advertisement {
	a.Addresses = slices.Clone(a.Addresses)
	slices.Reverse(a.Addresses)
	return a
}

func lastReplaced(a vrrp.Advertisement, by netip.Addr) vrrp.Advertisement {
	a.Addresses = slices.Clone(a.Addresses)
	a.Addresses[len(a.Addresses)-1] = by
	return a
}

// Packet surgery for the defect rows.
func withIP(ip []byte, f func(ip []byte)) []byte { f(ip); return ip }

func withVRRP(ip []byte, f func(m []byte)) []byte {
	f(ip[vrrpOffset(ip):])
	return ip
}

// ipv4Options inserts a 4-byte NOP option (IHL 6) into an IPv4 packet.
func ipv4Options(ip []byte) []byte {
	out := append([]byte{}, ip[:20]...)
	out = append(out, 1, 1, 1, 0) // NOP NOP NOP EOL
	out = append(out, ip[20:]...)
	out[0] = 0x46
	binary.BigEndian.PutUint16(out[2:], uint16(len(out)))
	return out
}

// ipv6HopByHop inserts an 8-byte hop-by-hop header (router alert) before VRRP.
func ipv6HopByHop(ip []byte) []byte {
	out := append([]byte{}, ip[:40]...)
	out = append(out, 112, 0, 5, 2, 0, 0, 1, 0) // next=VRRP, len 0, router alert, PadN
	out = append(out, ip[40:]...)
	out[6] = 0
	binary.BigEndian.PutUint16(out[4:], uint16(len(out)-40))
	return out
}

// ipv6Fragment inserts a fragment header before VRRP.
func ipv6Fragment(ip []byte) []byte {
	out := append([]byte{}, ip[:40]...)
	out = append(out, 112, 0, 0, 1, 0, 0, 0, 1) // next=VRRP, offset 0, M=1
	out = append(out, ip[40:]...)
	out[6] = 44
	binary.BigEndian.PutUint16(out[4:], uint16(len(out)-40))
	return out
}

// unicast3 is a v3 advert from ipA to ipSelf (unicast); old: its checksum
// was computed with 224.0.0.18 as the pseudo-header destination.
func unicast3(t testing.TB, old bool) []byte {
	a := v3adv(20, 150, ipA)
	a.Destination = ipSelf
	if old {
		a.Destination = netip.MustParseAddr("224.0.0.18")
	}
	ip := advert(t, a, 255)
	copy(ip[16:20], ipSelf.AsSlice())
	binary.BigEndian.PutUint16(ip[10:], 0)
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	return ip
}

func tcpFrame() []byte { return tcpTo(ipSelf) }

// tcpTo is a TCP segment from ipA (IPv4) or ip6A (IPv6) to dst.
func tcpTo(dst netip.Addr) []byte {
	if dst.Is6() {
		ip := make([]byte, 60)
		ip[0], ip[6], ip[7] = 0x60, 6, 64
		binary.BigEndian.PutUint16(ip[4:], 20)
		copy(ip[8:], ip6A.AsSlice())
		copy(ip[24:], dst.AsSlice())
		return ether(ip)
	}
	ip := make([]byte, 40)
	ip[0], ip[8], ip[9] = 0x45, 64, 6
	binary.BigEndian.PutUint16(ip[2:], 40)
	copy(ip[12:], ipA.AsSlice())
	copy(ip[16:], dst.AsSlice())
	return ether(ip)
}

func arpRequest(target netip.Addr) []byte {
	b := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x5e, 0, 1, 2, 0x08, 0x06,
		0, 1, 0x08, 0x00, 6, 4, 0, 1, 0, 0, 0x5e, 0, 1, 2}
	b = append(b, ipA.AsSlice()...)
	b = append(b, 0, 0, 0, 0, 0, 0)
	b = append(b, target.AsSlice()...)
	return b
}

func neighborSolicit(target netip.Addr) []byte {
	icmp := []byte{135, 0, 0, 0, 0, 0, 0, 0}
	icmp = append(icmp, target.AsSlice()...)
	ip := make([]byte, 40)
	ip[0], ip[6], ip[7] = 0x60, 58, 255
	binary.BigEndian.PutUint16(ip[4:], uint16(len(icmp)))
	copy(ip[8:], ip6A.AsSlice())
	copy(ip[24:], netip.MustParseAddr("ff02::1:ff00:100").AsSlice())
	return ether(append(ip, icmp...))
}

type fixture struct {
	name  string
	frame []byte
	want  uint32 // XDP verdict
	// drop is the reason whose counter must go up by one (nil: none may move).
	drop *DropReason
	// peer is the (instance, source) whose advert count must go up by one.
	peer   *peerRef
	events []EventType // exactly these, in order
	// stateful rows change the kernel's master tracking; the TC replay skips them.
	stateful bool
	// xdpOnly rows cannot be fed to a TC BPF_PROG_RUN (the kernel wants more
	// than an Ethernet header there).
	xdpOnly bool
}

type peerRef struct {
	k    InstanceKey
	addr netip.Addr
}

func reason(r DropReason) *DropReason { return &r }

func fixtures(t testing.TB) []fixture {
	k4 := func(vrid uint8) InstanceKey { return InstanceKey{Ifindex: testIfindex, VRID: vrid, Family: FamilyIPv4} }
	peer := func(vrid uint8, a netip.Addr) *peerRef {
		fam := FamilyIPv4
		if a.Is6() {
			fam = FamilyIPv6
		}
		return &peerRef{InstanceKey{Ifindex: testIfindex, VRID: vrid, Family: fam}, a}
	}
	good2 := func() []byte { return advert(t, v2adv(t, 10, 150, ipA, "secret"), 255) }
	good3 := func(vrid, prio uint8) []byte { return advert(t, v3adv(vrid, prio, ipA), 255) }
	adv6 := func() []byte { return advert(t, v3adv(30, 150, ip6A), 255) }
	_ = k4
	return []fixture{
		// Not VRRP: untouched, no counter.
		{name: "tcp passes untouched", frame: tcpFrame(), want: XDPPass},
		{name: "arp request without lease passes", frame: arpRequest(ipSelf), want: XDPPass},
		{name: "ipv6 neighbour solicitation without lease passes", frame: neighborSolicit(vip6), want: XDPPass},
		{name: "ethertype ipv4, no ip header, passes", frame: ether([]byte{0x45})[:14], want: XDPPass, xdpOnly: true},
		{name: "three vlan tags: not parsed, passes", frame: ether(good2(), 1, 2, 3), want: XDPPass},
		{name: "ipv6 other extension header is not vrrp", frame: ether(withIP(adv6(), func(ip []byte) { ip[6] = 60 })), want: XDPPass},

		// Valid adverts: accounted, passed, events only on change.
		{name: "v2 PASS advert: new master", frame: ether(good2()), want: XDPPass, peer: peer(10, ipA), events: []EventType{EventNewMaster}, stateful: true},
		{name: "v2 PASS advert again: no event", frame: ether(good2()), want: XDPPass, peer: peer(10, ipA)},
		// As many addresses as the count field holds (keepalived sends them).
		{name: "v2 advert with 40 addresses", frame: ether(advert(t, withAddrs(v2adv(t, 12, 150, ipA, "secret"), 40), 255)), want: XDPPass, peer: peer(12, ipA), events: []EventType{EventNewMaster}, stateful: true},
		{name: "v2 advert with 255 addresses", frame: ether(advert(t, withAddrs(v2adv(t, 13, 150, ipA, "secret"), 255), 255)), want: XDPPass, peer: peer(13, ipA), events: []EventType{EventNewMaster}, stateful: true},
		{name: "v2 master priority changes", frame: ether(advert(t, v2adv(t, 10, 120, ipA, "secret"), 255)), want: XDPPass, peer: peer(10, ipA), events: []EventType{EventPrioChange}, stateful: true},
		{name: "v2 lower router while master known: stats only", frame: ether(advert(t, v2adv(t, 10, 110, ipB, "secret"), 255)), want: XDPPass, peer: peer(10, ipB), stateful: true},
		{name: "v2 higher router takes over", frame: ether(advert(t, v2adv(t, 10, 130, ipB, "secret"), 255)), want: XDPPass, peer: peer(10, ipB), events: []EventType{EventNewMaster}, stateful: true},
		{name: "v2 master resigns", frame: ether(advert(t, v2adv(t, 10, 0, ipB, "secret"), 255)), want: XDPPass, peer: peer(10, ipB), events: []EventType{EventPrioZero}, stateful: true},
		{name: "v3 allowed peer", frame: ether(good3(20, 150)), want: XDPPass, peer: peer(20, ipA), events: []EventType{EventNewMaster}, stateful: true},
		{name: "v3 unicast advert", frame: ether(unicast3(t, false)), want: XDPPass, peer: peer(20, ipA)},
		// keepalived < 1.3.8, or with old_unicast_checksum, puts 224.0.0.18
		// in the pseudo-header of unicast v3 adverts; keepalived accepts them.
		{name: "v3 unicast advert, pseudo-header with 224.0.0.18", frame: ether(unicast3(t, true)), want: XDPPass, peer: peer(20, ipA)},
		{name: "v3 ipv6 advert", frame: ether(adv6()), want: XDPPass, peer: peer(30, ip6A), events: []EventType{EventNewMaster}, stateful: true},
		{name: "v3 ipv6 after hop-by-hop header", frame: ether(ipv6HopByHop(adv6())), want: XDPPass, peer: peer(30, ip6A)},
		// 9 IPv6 addresses: 152 bytes, whose length word once overflowed the
		// 32-bit pseudo-header sum (a bad checksum for every such advert).
		{name: "v3 ipv6 advert with 9 addresses", frame: ether(advert(t, withAddrs(v3adv(33, 150, ip6A), 9), 255)), want: XDPPass, peer: peer(33, ip6A), events: []EventType{EventNewMaster}, stateful: true},
		// 90 IPv6 addresses: the most a 1500-byte MTU carries.
		{name: "v3 ipv6 advert with 90 addresses", frame: ether(advert(t, withAddrs(v3adv(34, 150, ip6A), 90), 255)), want: XDPPass, peer: peer(34, ip6A), events: []EventType{EventNewMaster}, stateful: true},
		{name: "v3 802.1Q", frame: ether(good3(50, 150), 100), want: XDPPass, peer: peer(50, ipA), events: []EventType{EventNewMaster}, stateful: true},
		// Tagged adverts reach XDP on the parent with the parent's
		// ifindex; a VRID we do not run there belongs to the VLAN
		// device's instance (its own hook, ours or keepalived's).
		{name: "802.1Q advert for a VRID not ours on the parent passes", frame: ether(good3(99, 150), 100), want: XDPPass},
		{name: "v3 802.1ad QinQ", frame: ether(good3(50, 150), 100, 200), want: XDPPass, peer: peer(50, ipA)},
		{name: "v3 IPv4 options", frame: ether(ipv4Options(good3(50, 150))), want: XDPPass, peer: peer(50, ipA)},
		{name: "v3 advert with 255 addresses", frame: ether(advert(t, withAddrs(v3adv(51, 150, ipA), 255), 255)), want: XDPPass, peer: peer(51, ipA), events: []EventType{EventNewMaster}, stateful: true},
		{name: "v3 advert with our two VIPs in another order", frame: ether(advert(t, reversed(withAddrs(v3adv(14, 150, ipA), 2)), 255)), want: XDPPass, peer: peer(14, ipA), events: []EventType{EventNewMaster}, stateful: true},
		{name: "v3 ethernet padding ignored", frame: append(ether(good3(50, 150)), make([]byte, 16)...), want: XDPPass, peer: peer(50, ipA)},
		{name: "master: higher priority preempts", frame: ether(good3(40, 200)), want: XDPPass, peer: peer(40, ipA), events: []EventType{EventPreempt}, stateful: true},
		{name: "master: higher priority rate-limited", frame: ether(good3(40, 200)), want: XDPPass, peer: peer(40, ipA), stateful: true},
		{name: "master: equal priority, higher address preempts", frame: ether(good3(43, 100)), want: XDPPass, peer: peer(43, ipA), events: []EventType{EventPreempt}, stateful: true},
		{name: "master: lower priority is both masters", frame: ether(good3(41, 50)), want: XDPPass, peer: peer(41, ipA), events: []EventType{EventBothMasters}, stateful: true},
		{name: "master: priority 0 from another", frame: ether(good3(42, 0)), want: XDPPass, peer: peer(42, ipA), events: []EventType{EventPrioZero}, stateful: true},
		// A loser's BOTH_MASTERS must not hold back, for the rate-limit
		// second, the PREEMPT / PRIO_ZERO that follows it (split brain
		// resolving when the other side's tracker raises its priority).
		{name: "master: loser first", frame: ether(good3(44, 50)), want: XDPPass, peer: peer(44, ipA), events: []EventType{EventBothMasters}, stateful: true},
		{name: "master: then a winner preempts at once", frame: ether(good3(44, 200)), want: XDPPass, peer: peer(44, ipA), events: []EventType{EventPreempt}, stateful: true},
		{name: "master: loser again", frame: ether(good3(45, 50)), want: XDPPass, peer: peer(45, ipA), events: []EventType{EventBothMasters}, stateful: true},
		{name: "master: then priority 0 at once", frame: ether(good3(45, 0)), want: XDPPass, peer: peer(45, ipA), events: []EventType{EventPrioZero}, stateful: true},
		{name: "master ipv6: equal priority, lower address (big-endian)", frame: ether(advert(t, v3adv(31, 100, ip6A), 255)), want: XDPPass, peer: peer(31, ip6A), events: []EventType{EventBothMasters}, stateful: true},
		{name: "master ipv6: equal priority, higher address", frame: ether(advert(t, v3adv(32, 100, ip6A), 255)), want: XDPPass, peer: peer(32, ip6A), events: []EventType{EventPreempt}, stateful: true},

		// Every drop reason.
		{name: "short: truncated", frame: ether(good2())[:14+20+10], want: XDPDrop, drop: reason(vrrp.ReasonShortPacket)},
		{name: "short: ipv4 ihl < 5", frame: ether(withIP(good2(), func(ip []byte) { ip[0] = 0x44 })), want: XDPDrop, drop: reason(vrrp.ReasonShortPacket)},
		{name: "short: ipv6 payload beyond frame", frame: ether(adv6())[:14+40+8], want: XDPDrop, drop: reason(vrrp.ReasonShortPacket)},
		{name: "ttl 64", frame: ether(advert(t, v2adv(t, 10, 150, ipA, "secret"), 64)), want: XDPDrop, drop: reason(vrrp.ReasonBadTTL)},
		// keepalived checks the TTL only without unicast peers: a routed
		// unicast advert arrives with TTL < 255.
		{name: "unicast instance: routed advert, ttl 62", frame: ether(advert(t, v3adv(60, 150, ipA), 62)), want: XDPPass, peer: peer(60, ipA), events: []EventType{EventNewMaster}, stateful: true},
		{name: "peers without unicast: ttl 62", frame: ether(advert(t, v3adv(20, 150, ipA), 62)), want: XDPDrop, drop: reason(vrrp.ReasonBadTTL)},
		{name: "ipv6 hop limit 1", frame: ether(advert(t, v3adv(30, 150, ip6A), 1)), want: XDPDrop, drop: reason(vrrp.ReasonBadTTL)},
		{name: "ipv4 more fragments", frame: ether(withIP(good2(), func(ip []byte) { ip[6] = 0x20 })), want: XDPDrop, drop: reason(vrrp.ReasonFragment)},
		{name: "ipv6 fragment header", frame: ether(ipv6Fragment(adv6())), want: XDPDrop, drop: reason(vrrp.ReasonFragment)},
		{name: "version 4", frame: ether(withVRRP(good2(), func(m []byte) { m[0] = 0x41 })), want: XDPDrop, drop: reason(vrrp.ReasonBadVersion)},
		{name: "v3 for a v2 instance", frame: ether(good3(10, 150)), want: XDPDrop, drop: reason(vrrp.ReasonBadVersion)},
		{name: "type 2", frame: ether(withVRRP(good2(), func(m []byte) { m[0] = 0x22 })), want: XDPDrop, drop: reason(vrrp.ReasonBadType)},
		{name: "count says 2, one address", frame: ether(withVRRP(good2(), func(m []byte) { m[3] = 2 })), want: XDPDrop, drop: reason(vrrp.ReasonAddrCount)},
		{name: "count says 40, one address", frame: ether(resum(withVRRP(good2(), func(m []byte) { m[3] = 40 }))), want: XDPDrop, drop: reason(vrrp.ReasonAddrCount)},
		{name: "count says 255, 254 addresses", frame: ether(withIP(advert(t, withAddrs(v2adv(t, 10, 150, ipA, "secret"), 254), 255), func(ip []byte) { ip[20+3] = 255 })), want: XDPDrop, drop: reason(vrrp.ReasonAddrCount)},
		{name: "v2 checksum", frame: ether(withVRRP(good2(), func(m []byte) { m[7] ^= 0xff })), want: XDPDrop, drop: reason(vrrp.ReasonBadChecksum)},
		{name: "v3 checksum without pseudo-header", frame: ether(withIP(good3(20, 150), func(ip []byte) { ip[19]++ })), want: XDPDrop, drop: reason(vrrp.ReasonBadChecksum)},
		{name: "v3 ipv6 checksum", frame: ether(withVRRP(adv6(), func(m []byte) { m[6] ^= 1 })), want: XDPDrop, drop: reason(vrrp.ReasonBadChecksum)},
		{name: "unknown vrid", frame: ether(good3(99, 150)), want: XDPDrop, drop: reason(vrrp.ReasonUnknownVRID)},
		{name: "v2 no auth for a PASS instance", frame: ether(advert(t, v2adv(t, 10, 150, ipA, ""), 255)), want: XDPDrop, drop: reason(vrrp.ReasonBadAuthType)},
		{name: "v2 wrong password", frame: ether(advert(t, v2adv(t, 10, 150, ipA, "wrong"), 255)), want: XDPDrop, drop: reason(vrrp.ReasonWrongPassword)},
		{name: "v3 source not a peer", frame: ether(advert(t, v3adv(20, 150, ipB), 255)), want: XDPDrop, drop: reason(vrrp.ReasonNotPeer)},
		{name: "v2 interval 2s vs our 1s", frame: ether(advert(t, func() vrrp.Advertisement {
			a := v2adv(t, 10, 150, ipA, "secret")
			a.Interval = 2 * time.Second
			return a
		}(), 255)), want: XDPDrop, drop: reason(vrrp.ReasonIntervalMismatch)},
		// keepalived's address-list check (keepalived/vrrp/vrrp.c, vrrp_in_chk:
		// addr_list_err and the advert ignored): the count must be the number
		// of our VIPs and every VIP must be listed.
		{name: "addr list: two addresses, we have one VIP", frame: ether(advert(t, withAddrs(v3adv(50, 150, ipA), 2), 255)), want: XDPDrop, drop: reason(vrrp.ReasonAddrList)},
		{name: "addr list: no address, we have one VIP", frame: ether(advert(t, listing(v3adv(50, 150, ipA)), 255)), want: XDPDrop, drop: reason(vrrp.ReasonAddrList)},
		{name: "addr list: another VIP", frame: ether(advert(t, listing(v3adv(50, 150, ipA), ipB), 255)), want: XDPDrop, drop: reason(vrrp.ReasonAddrList)},
		{name: "addr list: v2 another VIP", frame: ether(advert(t, listing(v2adv(t, 10, 150, ipA, "secret"), ipB), 255)), want: XDPDrop, drop: reason(vrrp.ReasonAddrList)},
		{name: "addr list: ipv6 another VIP", frame: ether(advert(t, listing(v3adv(30, 150, ip6A), netip.MustParseAddr("fd00::9")), 255)), want: XDPDrop, drop: reason(vrrp.ReasonAddrList)},
		{name: "addr list: one VIP twice, the other missing", frame: ether(advert(t, listing(v3adv(14, 150, ipA), withAddrs(v3adv(14, 150, ipA), 1).Addresses[0], withAddrs(v3adv(14, 150, ipA), 1).Addresses[0]), 255)), want: XDPDrop, drop: reason(vrrp.ReasonAddrList)},
		{name: "addr list: 40 addresses, the first twice, the last missing", frame: ether(advert(t, lastReplaced(withAddrs(v2adv(t, 12, 150, ipA, "secret"), 40), withAddrs(v2adv(t, 12, 150, ipA, ""), 1).Addresses[0]), 255)), want: XDPDrop, drop: reason(vrrp.ReasonAddrList)},
		{name: "addr list: 255 addresses, the last not ours", frame: ether(advert(t, lastReplaced(withAddrs(v3adv(51, 150, ipA), 255), ipB), 255)), want: XDPDrop, drop: reason(vrrp.ReasonAddrList)},
		// skip_check_adv_addr skips the check only while Backup, for the
		// master already followed (keepalived/vrrp/vrrp.c, vrrp_state_backup;
		// vrrp_state_master_rx always checks).
		{name: "skip_check_adv_addr: no master yet, checked", frame: ether(advert(t, listing(v3adv(15, 150, ipA), ipB), 255)), want: XDPDrop, drop: reason(vrrp.ReasonAddrList), stateful: true},
		{name: "skip_check_adv_addr: a good advert makes a master", frame: ether(good3(15, 150)), want: XDPPass, peer: peer(15, ipA), events: []EventType{EventNewMaster}, stateful: true},
		{name: "skip_check_adv_addr: the master's, not checked", frame: ether(advert(t, listing(v3adv(15, 150, ipA), ipB), 255)), want: XDPPass, peer: peer(15, ipA), stateful: true},
		{name: "skip_check_adv_addr: another router's, checked", frame: ether(advert(t, listing(v3adv(15, 200, ipB), ipB), 255)), want: XDPDrop, drop: reason(vrrp.ReasonAddrList), stateful: true},
		{name: "skip_check_adv_addr: a Master checks", frame: ether(advert(t, listing(v3adv(16, 150, ipA), ipB), 255)), want: XDPDrop, drop: reason(vrrp.ReasonAddrList), stateful: true},
		{name: "v3 interval 0", frame: ether(resum(withVRRP(good3(20, 150), func(m []byte) { m[4], m[5] = 0, 0 }))), want: XDPDrop, drop: reason(vrrp.ReasonBadInterval)},
	}
}

func (d *Dataplane) dropCount(t testing.TB, r DropReason) uint64 {
	t.Helper()
	ds, err := d.Drops()
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range ds {
		if x.Ifindex == testIfindex && x.Reason == r {
			return x.Count
		}
	}
	return 0
}

func (d *Dataplane) dropTotal(t testing.TB) uint64 {
	t.Helper()
	ds, err := d.Drops()
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, x := range ds {
		n += x.Count
	}
	return n
}

func (d *Dataplane) peerCount(t testing.TB, p peerRef) uint64 {
	t.Helper()
	ps, err := d.Peers()
	if err != nil {
		t.Fatal(err)
	}
	var scanned uint64
	for _, x := range ps {
		if x.Key == p.k && x.Addr == p.addr {
			scanned = x.Count
		}
	}
	// The single lookup must agree with the walk of the whole map.
	one, ok, err := d.Peer(p.k, p.addr)
	if err != nil {
		t.Fatal(err)
	}
	if ok != (scanned != 0) || one.Count != scanned {
		t.Fatalf("Peer(%v, %v) = %d (found %v), Peers() says %d", p.k, p.addr, one.Count, ok, scanned)
	}
	return scanned
}

func setupFixture(t *testing.T) (*Dataplane, *testutil.Netns) {
	testutil.Privileged(t)
	d := newDataplane(t)
	for k, c := range fixtureInstances(t) {
		if err := d.SetInstance(k, c); err != nil {
			t.Fatalf("SetInstance(%v): %v", k, err)
		}
	}
	return d, testutil.NewNetns(t, "evfix")
}

func runIn(t *testing.T, ns *testutil.Netns, run func([]byte, int) (uint32, time.Duration, error), frame []byte) uint32 {
	t.Helper()
	var v uint32
	ns.Do(t, func() error {
		var err error
		v, _, err = run(frame, 1)
		return err
	})
	return v
}

func checkRow(t *testing.T, d *Dataplane, ns *testutil.Netns, f fixture, run func([]byte, int) (uint32, time.Duration, error), pass, drop uint32, events bool) {
	t.Helper()
	dropsBefore := d.dropTotal(t)
	var reasonBefore, peerBefore uint64
	if f.drop != nil {
		reasonBefore = d.dropCount(t, *f.drop)
	}
	if f.peer != nil {
		peerBefore = d.peerCount(t, *f.peer)
	}
	want := pass
	if f.want == XDPDrop {
		want = drop
	}
	if got := runIn(t, ns, run, f.frame); got != want {
		t.Errorf("verdict = %#x, want %#x", got, want)
	}
	if f.drop != nil {
		if got := d.dropCount(t, *f.drop) - reasonBefore; got != 1 {
			t.Errorf("drops[%v] went up by %d, want 1", *f.drop, got)
		}
		if got := d.dropTotal(t) - dropsBefore; got != 1 {
			t.Errorf("all drops went up by %d, want 1", got)
		}
	} else if got := d.dropTotal(t) - dropsBefore; got != 0 {
		ds, _ := d.Drops()
		t.Errorf("drops went up by %d, want 0: %v", got, ds)
	}
	if f.peer != nil {
		if got := d.peerCount(t, *f.peer) - peerBefore; got != 1 {
			t.Errorf("peer %v %v count went up by %d, want 1", f.peer.k, f.peer.addr, got)
		}
	}
	if events {
		got := drainEvents(t, d)
		var types []EventType
		for _, e := range got {
			types = append(types, e.Type)
		}
		if fmt.Sprint(types) != fmt.Sprint(f.events) {
			t.Errorf("events (-want +got):\n- %v\n+ %v (%+v)", f.events, types, got)
		}
	}
}

// TestFixtures is the dataplane's table: every drop reason, VLAN, QinQ, IPv6,
// non-VRRP traffic, advert accounting and each advert-driven event, through
// the XDP program and (stateless rows) through the TC ingress program.
func TestFixtures(t *testing.T) {
	d, ns := setupFixture(t)
	rows := fixtures(t)
	covered := map[DropReason]bool{}
	for _, f := range rows {
		if f.drop != nil {
			covered[*f.drop] = true
		}
		t.Run("xdp/"+f.name, func(t *testing.T) {
			checkRow(t, d, ns, f, d.RunXDP, XDPPass, XDPDrop, true)
		})
	}
	for r := DropReason(0); r < vrrp.NumDropReasons; r++ {
		if !covered[r] {
			t.Errorf("no fixture row for drop reason %v", r)
		}
	}
	for _, f := range rows {
		if f.stateful || f.xdpOnly {
			continue
		}
		t.Run("tc/"+f.name, func(t *testing.T) {
			checkRow(t, d, ns, f, d.RunTC, TCUnspec, TCShot, false)
		})
	}
}

// TestPeerGapOutOfOrder: two CPUs account adverts of one peer concurrently,
// so an advert can carry an older timestamp than the last_ns another CPU has
// just stored. That must count as a zero gap, not as a 2^64 ns one (which
// used to put ~10^10 into missed and max_gap).
func TestPeerGapOutOfOrder(t *testing.T) {
	d, ns := setupFixture(t)
	k := InstanceKey{Ifindex: testIfindex, VRID: 50, Family: FamilyIPv4}
	pk := vrrpPeerKey{Ifindex: uint32(k.Ifindex), Vrid: k.VRID, Family: uint8(k.Family), Addr: addr16(ipA)}
	future := monotonic() + uint64(time.Hour)
	if err := d.objs.Peers.Update(pk, vrrpPeerStats{FirstNs: future, LastNs: future, Count: 1, IntervalCs: 100}, 0); err != nil {
		t.Fatal(err)
	}
	if v := runIn(t, ns, d.RunXDP, ether(advert(t, v3adv(50, 150, ipA), 255))); v != XDPPass {
		t.Fatalf("verdict %d, want pass", v)
	}
	var got vrrpPeerStats
	if err := d.objs.Peers.Lookup(pk, &got); err != nil {
		t.Fatal(err)
	}
	if got.Count != 2 || got.Missed != 0 || got.MaxGapNs != 0 || got.LastNs != future {
		t.Errorf("peer after an out-of-order advert: count %d missed %d max_gap %d last_ns %d; want 2, 0, 0, %d (kept)",
			got.Count, got.Missed, got.MaxGapNs, got.LastNs, future)
	}
}
