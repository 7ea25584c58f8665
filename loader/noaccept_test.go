package loader

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

// icmp6To is an ICMPv6 message of type typ from ip6A to dst (the body zero).
func icmp6To(dst netip.Addr, typ byte) []byte {
	icmp := make([]byte, 24)
	icmp[0] = typ
	copy(icmp[8:], dst.AsSlice())
	ip := make([]byte, 40)
	ip[0], ip[6], ip[7] = 0x60, 58, 255
	binary.BigEndian.PutUint16(ip[4:], uint16(len(icmp)))
	copy(ip[8:], ip6A.AsSlice())
	copy(ip[24:], dst.AsSlice())
	return ether(append(ip, icmp...))
}

// TestNoAccept: with no_accept, a Master that is not the address owner drops
// traffic to its VIPs, IPv4 and IPv6, as keepalived's firewall rule does
// (keepalived/vrrp/vrrp.c, vrrp_handle_accept_mode, on becoming Master;
// removed when it stops being one). ARP and neighbour discovery for the VIP
// and VRRP itself pass; so does traffic to our own address.
func TestNoAccept(t *testing.T) {
	testutil.Privileged(t)
	d := newDataplane(t)
	ns := testutil.NewNetns(t, "evnoacc")
	k4 := InstanceKey{Ifindex: testIfindex, VRID: 80, Family: FamilyIPv4}
	k6 := InstanceKey{Ifindex: testIfindex, VRID: 81, Family: FamilyIPv6}
	c4 := InstanceConfig{State: StateMaster, Priority: 100, Version: 3, Interval: time.Second, Primary: ipSelf,
		Addresses: []netip.Addr{vip4}, NoAccept: []netip.Addr{vip4}}
	c6 := InstanceConfig{State: StateMaster, Priority: 100, Version: 3, Interval: time.Second, Primary: netip.MustParseAddr("fe80::1"),
		Addresses: []netip.Addr{vip6}, NoAccept: []netip.Addr{vip6}}
	for k, c := range map[InstanceKey]InstanceConfig{k4: c4, k6: c6} {
		if err := d.SetInstance(k, c); err != nil {
			t.Fatal(err)
		}
	}
	verdict := func(frame []byte) uint32 { return runIn(t, ns, d.RunXDP, frame) }
	drops := func(a netip.Addr) (uint64, bool) {
		t.Helper()
		n, ok, err := d.NoAcceptDrops(a)
		if err != nil {
			t.Fatal(err)
		}
		return n, ok
	}
	rows := []struct {
		name  string
		frame []byte
		want  uint32
	}{
		{"tcp to the VIP", tcpTo(vip4), XDPDrop},
		{"tcp to our own address", tcpTo(ipSelf), XDPPass},
		{"arp request for the VIP", arpRequest(vip4), XDPPass},
		{"vrrp advert", ether(advert(t, v3adv(80, 50, ipA), 255)), XDPPass},
		{"ipv6 tcp to the VIP", tcpTo(vip6), XDPDrop},
		{"ipv6 echo request to the VIP", icmp6To(vip6, 128), XDPDrop},
		{"neighbour solicitation to the VIP", icmp6To(vip6, 135), XDPPass},
		{"neighbour advertisement to the VIP", icmp6To(vip6, 136), XDPPass},
	}
	for _, r := range rows {
		if got := verdict(r.frame); got != r.want {
			t.Errorf("Master: %s: verdict %d, want %d", r.name, got, r.want)
		}
	}
	if n, ok := drops(vip4); !ok || n != 1 {
		t.Errorf("drops of %v = %d (entry %v), want 1", vip4, n, ok)
	}
	if n, ok := drops(vip6); !ok || n != 2 {
		t.Errorf("drops of %v = %d (entry %v), want 2", vip6, n, ok)
	}

	// Backup: the VIPs are not ours, their traffic is not ours to drop.
	if err := d.SetState(k4, StateBackup, 100); err != nil {
		t.Fatal(err)
	}
	if got := verdict(tcpTo(vip4)); got != XDPPass {
		t.Errorf("Backup: tcp to the VIP: verdict %d, want pass", got)
	}
	if _, ok := drops(vip4); ok {
		t.Error("Backup: the VIP still has a no_accept entry")
	}
	if got := verdict(tcpTo(vip6)); got != XDPDrop {
		t.Errorf("the other instance, still Master: verdict %d, want drop", got)
	}
	// Master again, then the instance goes.
	if err := d.SetState(k4, StateMaster, 100); err != nil {
		t.Fatal(err)
	}
	if got := verdict(tcpTo(vip4)); got != XDPDrop {
		t.Errorf("Master again: tcp to the VIP: verdict %d, want drop", got)
	}
	for _, k := range []InstanceKey{k4, k6} {
		if err := d.DeleteInstance(k); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range [][]byte{tcpTo(vip4), tcpTo(vip6)} {
		if got := verdict(f); got != XDPPass {
			t.Errorf("after DeleteInstance: verdict %d, want pass", got)
		}
	}
	// accept (no NoAccept list): a Master drops nothing.
	c4.NoAccept = nil
	if err := d.SetInstance(k4, c4); err != nil {
		t.Fatal(err)
	}
	if got := verdict(tcpTo(vip4)); got != XDPPass {
		t.Errorf("accept mode: verdict %d, want pass", got)
	}

	// More VIPs than the inline set holds: the hash map decides.
	var many []netip.Addr
	for i := range 10 {
		many = append(many, netip.AddrFrom4([4]byte{198, 18, 101, byte(1 + i)}))
	}
	c4.Addresses, c4.NoAccept = many, many
	if err := d.SetInstance(k4, c4); err != nil {
		t.Fatal(err)
	}
	for _, a := range many {
		if got := verdict(tcpTo(a)); got != XDPDrop {
			t.Errorf("10 no_accept VIPs: tcp to %v: verdict %d, want drop", a, got)
		}
	}
	if got := verdict(tcpTo(netip.MustParseAddr("198.18.101.200"))); got != XDPPass {
		t.Errorf("10 no_accept VIPs: tcp to another address: verdict %d, want pass", got)
	}
}
