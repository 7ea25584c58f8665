package vip

import (
	"bytes"
	"errors"
	"github.com/ebpfvrrp/ebpfvrrp/vrrp"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
)

var (
	ourMAC   = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}
	theirMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x02}
	vip4     = netip.MustParseAddr("198.18.0.100")
	vip6     = netip.MustParseAddr("fd00:198:18::100")
	ll6      = netip.MustParseAddr("fe80::1")
)

func decodeARP(t *testing.T, b []byte) (ethernet.Frame, arp.Packet) {
	t.Helper()
	var f ethernet.Frame
	if err := f.UnmarshalBinary(b); err != nil {
		t.Fatalf("ethernet: %v", err)
	}
	var p arp.Packet
	if err := p.UnmarshalBinary(f.Payload); err != nil {
		t.Fatalf("arp: %v", err)
	}
	return f, p
}

func TestGratuitousARP(t *testing.T) {
	b, err := gratuitousARP(ourMAC, vip4)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 60 {
		t.Errorf("frame length = %d, want 60 (padded to the Ethernet minimum)", len(b))
	}
	f, p := decodeARP(t, b)
	checks := []struct {
		name      string
		got, want any
	}{
		{"eth dst", f.Destination.String(), ethernet.Broadcast.String()},
		{"eth src", f.Source.String(), ourMAC.String()},
		{"ethertype", f.EtherType, ethernet.EtherTypeARP},
		{"op", p.Operation, arp.OperationRequest},
		{"sha", p.SenderHardwareAddr.String(), ourMAC.String()},
		{"spa", p.SenderIP, vip4},
		{"tha", p.TargetHardwareAddr.String(), ethernet.Broadcast.String()},
		{"tpa", p.TargetIP, vip4},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s (-want +got):\n-%v\n+%v", c.name, c.want, c.got)
		}
	}
}

func TestARPProbe(t *testing.T) {
	b, err := arpProbe(ourMAC, vip4)
	if err != nil {
		t.Fatal(err)
	}
	f, p := decodeARP(t, b)
	if !bytes.Equal(f.Destination, ethernet.Broadcast) || p.Operation != arp.OperationRequest ||
		p.SenderIP != netip.IPv4Unspecified() || !bytes.Equal(p.SenderHardwareAddr, ourMAC) ||
		!bytes.Equal(p.TargetHardwareAddr, zeroMAC) || p.TargetIP != vip4 {
		t.Errorf("probe = dst %s %+v, want broadcast request 0.0.0.0 → %s from %s", f.Destination, p, vip4, ourMAC)
	}
}

func TestUnsolicitedNA(t *testing.T) {
	for _, src := range []netip.Addr{ll6, vip6} {
		t.Run(src.String(), func(t *testing.T) {
			b, err := unsolicitedNA(ourMAC, src, vip6)
			if err != nil {
				t.Fatal(err)
			}
			p, err := parseNDFrame(b)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			na, ok := p.Message.(*ndp.NeighborAdvertisement)
			if !ok {
				t.Fatalf("message is %T, want *ndp.NeighborAdvertisement", p.Message)
			}
			if p.DstMAC.String() != "33:33:00:00:00:01" || p.Dst != allNodes || p.Src != src || p.HopLimit != 255 {
				t.Errorf("header = %s→%s %s→%s hop %d, want %s→33:33:00:00:00:01 %s→ff02::1 hop 255",
					p.SrcMAC, p.DstMAC, p.Src, p.Dst, p.HopLimit, ourMAC, src)
			}
			if !na.Override || na.Solicited || na.Router || na.TargetAddress != vip6 {
				t.Errorf("NA = %+v, want override, not solicited, not router, target %s", na, vip6)
			}
			c, ok := naClaim(b)
			if !ok || c.Addr != vip6 || !bytes.Equal(c.MAC, ourMAC) {
				t.Errorf("target link-layer option: claim %v %v, want %s at %s", c, ok, vip6, ourMAC)
			}
		})
	}
}

func TestParseNDFrameRejectsBadChecksum(t *testing.T) {
	b, err := unsolicitedNA(ourMAC, ll6, vip6)
	if err != nil {
		t.Fatal(err)
	}
	b[14+ipv6HeaderLen+8] ^= 0xff // first byte of the target address
	if _, err := parseNDFrame(b); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("parseNDFrame(corrupted) error = %v, want a checksum error", err)
	}
	if _, err := parseNDFrame(b[:20]); err == nil {
		t.Error("parseNDFrame(truncated) succeeded")
	}
	g, err := gratuitousARP(ourMAC, vip4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseNDFrame(g); !errors.Is(err, errNotIPv6ND) {
		t.Errorf("parseNDFrame(arp) error = %v, want %v", err, errNotIPv6ND)
	}
}

func TestNeighborSolicitation(t *testing.T) {
	tests := []struct {
		name     string
		src      netip.Addr
		wantSLLA bool
	}{
		{"link-local source carries source link-layer option", ll6, true},
		{"DAD form has no options", netip.IPv6Unspecified(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := neighborSolicitation(ourMAC, tt.src, vip6)
			if err != nil {
				t.Fatal(err)
			}
			p, err := parseNDFrame(b)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			ns, ok := p.Message.(*ndp.NeighborSolicitation)
			if !ok {
				t.Fatalf("message is %T, want *ndp.NeighborSolicitation", p.Message)
			}
			wantDst := netip.MustParseAddr("ff02::1:ff00:100")
			if p.Dst != wantDst || p.DstMAC.String() != "33:33:ff:00:01:00" || p.Src != tt.src || p.HopLimit != 255 {
				t.Errorf("header %s %s→%s %s hop %d, want 33:33:ff:00:01:00 %s→%s hop 255", p.DstMAC, p.Src, p.Dst, p.SrcMAC, p.HopLimit, tt.src, wantDst)
			}
			if ns.TargetAddress != vip6 {
				t.Errorf("target = %s, want %s", ns.TargetAddress, vip6)
			}
			if got := len(ns.Options) == 1; got != tt.wantSLLA {
				t.Errorf("options = %v, want source link-layer option: %v", ns.Options, tt.wantSLLA)
			}
		})
	}
}

func TestCollectorClassifies(t *testing.T) {
	must := func(b []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	arpReply := func(mac net.HardwareAddr, ip netip.Addr) []byte {
		p, err := arp.NewPacket(arp.OperationReply, mac, ip, ourMAC, netip.IPv4Unspecified())
		if err != nil {
			t.Fatal(err)
		}
		return must(arpFrame(mac, ourMAC, p))
	}
	solicitedNA := func(mac net.HardwareAddr, ip netip.Addr, hop byte) []byte {
		na := &ndp.NeighborAdvertisement{Solicited: true, Override: true, TargetAddress: ip,
			Options: []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: mac}}}
		b := must(ndFrame(mac, ourMAC, netip.MustParseAddr("fe80::2"), ll6, na))
		b[14+7] = hop
		return b
	}
	other4 := netip.MustParseAddr("198.18.0.200")
	tests := []struct {
		name     string
		classify func([]byte) (claim, bool)
		frame    []byte
		want     bool
	}{
		{"ARP reply from another MAC", arpClaim, arpReply(theirMAC, vip4), true},
		{"ARP reply from our own MAC", arpClaim, arpReply(ourMAC, vip4), false},
		{"ARP reply for an address we do not probe", arpClaim, arpReply(theirMAC, other4), false},
		{"another host's gratuitous ARP", arpClaim, must(gratuitousARP(theirMAC, vip4)), true},
		{"our own gratuitous ARP", arpClaim, must(gratuitousARP(ourMAC, vip4)), false},
		{"another host's ARP probe claims nothing", arpClaim, must(arpProbe(theirMAC, vip4)), false},
		{"NA from another MAC", naClaim, solicitedNA(theirMAC, vip6, 255), true},
		{"NA from our own MAC", naClaim, solicitedNA(ourMAC, vip6, 255), false},
		{"NA that crossed a router (hop limit 254)", naClaim, solicitedNA(theirMAC, vip6, 254), false},
		{"another host's unsolicited NA", naClaim, must(unsolicitedNA(theirMAC, vip6, vip6)), true},
		{"an NS is not a claim", naClaim, must(neighborSolicitation(theirMAC, ll6, vip6)), false},
		{"garbage", arpClaim, []byte{1, 2, 3}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &collector{
				want:  map[netip.Addr]bool{vip4: true, vip6: true},
				own:   map[string]bool{string(ourMAC): true},
				found: map[string]Conflict{},
			}
			c.add(tt.classify(tt.frame))
			got := c.conflicts()
			if (len(got) == 1) != tt.want || len(got) > 1 {
				t.Fatalf("conflicts = %v, want conflict: %v", got, tt.want)
			}
			if tt.want && !bytes.Equal(got[0].MAC, theirMAC) {
				t.Errorf("conflict MAC = %s, want %s", got[0].MAC, theirMAC)
			}
		})
	}
}

func TestAddressValidate(t *testing.T) {
	tests := []struct {
		name string
		a    Address
		ok   bool
	}{
		{"ipv4 with label", Address{Prefix: netip.MustParsePrefix("198.18.0.1/24"), Label: "eth0:vip", Ifindex: 2}, true},
		{"ipv6", Address{Prefix: netip.MustParsePrefix("fd00:198:18::1/64"), Ifindex: 2}, true},
		{"zero prefix", Address{Ifindex: 2}, false},
		{"no interface", Address{Prefix: netip.MustParsePrefix("198.18.0.1/32")}, false},
		{"ipv6 label", Address{Prefix: netip.MustParsePrefix("fd00:198:18::1/128"), Label: "x", Ifindex: 2}, false},
		{"label too long", Address{Prefix: netip.MustParsePrefix("198.18.0.1/32"), Label: "abcdefghijklmnop", Ifindex: 2}, false},
		{"mapped", Address{Prefix: netip.MustParsePrefix("::ffff:198.18.0.1/128"), Ifindex: 2}, false},
		{"multicast", Address{Prefix: netip.MustParsePrefix("224.0.0.18/32"), Ifindex: 2}, false},
		{"unspecified", Address{Prefix: netip.MustParsePrefix("0.0.0.0/32"), Ifindex: 2}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.a.validate()
			if (err == nil) != tt.ok {
				t.Fatalf("validate(%v) = %v, want ok %v", tt.a, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidAddress) {
				t.Errorf("error %v does not wrap ErrInvalidAddress", err)
			}
			// Add and Remove reject it before touching the kernel.
			if !tt.ok {
				m := NewManager("vip-test")
				if err := m.Add(tt.a); !errors.Is(err, ErrInvalidAddress) {
					t.Errorf("Add = %v, want ErrInvalidAddress", err)
				}
				if err := m.Remove(tt.a); !errors.Is(err, ErrInvalidAddress) {
					t.Errorf("Remove = %v, want ErrInvalidAddress", err)
				}
			}
		})
	}
}

func TestProto(t *testing.T) {
	if Proto("ebpfvrrp") != Proto("ebpfvrrp") {
		t.Fatal("Proto is not deterministic")
	}
	// A changed value would orphan the VIPs of a run made by an older binary.
	if got, want := Proto("ebpfvrrp"), uint8(0xa6); got != want {
		t.Errorf("Proto(ebpfvrrp) = %#x, want %#x (the value is part of the on-host format)", got, want)
	}
	for _, o := range []string{"", "a", "ebpfvrrp", "other", "vip-test"} {
		if p := Proto(o); p < 0x80 {
			t.Errorf("Proto(%q) = %#x, inside the range kernels and other tools use", o, p)
		}
	}
}

func TestVMACNaming(t *testing.T) {
	tests := []struct {
		vrid   uint8
		family vrrp.Family
		name   string
		mac    string
	}{
		{1, vrrp.IPv4, "vrrp.1", "00:00:5e:00:01:01"},
		{51, vrrp.IPv4, "vrrp.51", "00:00:5e:00:01:33"},
		{255, vrrp.IPv6, "vrrp6.255", "00:00:5e:00:02:ff"},
	}
	for _, tt := range tests {
		if got := VMACName(tt.vrid, tt.family); got != tt.name {
			t.Errorf("VMACName(%d, %d) = %q, want %q", tt.vrid, tt.family, got, tt.name)
		}
		if got := VMACAddr(tt.vrid, tt.family).String(); got != tt.mac {
			t.Errorf("VMACAddr(%d, %d) = %s, want %s", tt.vrid, tt.family, got, tt.mac)
		}
		if !isVRRPMAC(VMACAddr(tt.vrid, tt.family)) {
			t.Errorf("isVRRPMAC(%s) = false", tt.mac)
		}
	}
	if isVRRPMAC(ourMAC) {
		t.Errorf("isVRRPMAC(%s) = true", ourMAC)
	}
}
