package loader

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/vishvananda/netlink"
)

// This kernel has no 8021q, so no VLAN device can be made here. What a VLAN
// looks like to the receive path can still be fed to it with BPF_PROG_RUN:
// a tagged advert on the parent (its ifindex, the tag in the frame), and the
// same advert after a NIC's rx-vlan offload stripped the tag and the stack
// delivered it on the VLAN device (its own ifindex, no tag in the frame). A
// veth stands in for the VLAN device: to the program only its ifindex counts.
func TestVLANDeliveries(t *testing.T) {
	d, ns := setupFixture(t)
	var vlanIfindex int
	ns.Do(t, func() error {
		if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eth0.100"}, PeerName: "vlanpeer"}); err != nil {
			return err
		}
		l, err := netlink.LinkByName("eth0.100")
		if err != nil {
			return err
		}
		vlanIfindex = l.Attrs().Index
		return netlink.LinkSetUp(l)
	})
	onVLAN := InstanceKey{Ifindex: int(uint32(vlanIfindex)), VRID: 70, Family: FamilyIPv4}
	if err := d.SetInstance(onVLAN, InstanceConfig{State: StateBackup, Priority: 100, Version: 3, Interval: time.Second,
		Primary: netip.MustParseAddr("198.18.0.1"), Addresses: []netip.Addr{vip4}}); err != nil {
		t.Fatal(err)
	}
	adv := func() []byte { return advert(t, v3adv(70, 150, ipA), 255) }
	onParent := InstanceKey{Ifindex: testIfindex, VRID: 70, Family: FamilyIPv4}

	cases := []struct {
		name    string
		ifindex int
		frame   []byte
		want    uint32
		counted InstanceKey // whose peer count goes up by one (zero: none)
	}{
		// The VLAN device's VRID is not configured on the parent: the
		// program leaves the tagged frame to the VLAN device's own hook.
		{"tagged on the parent", testIfindex, ether(adv(), 100), XDPPass, InstanceKey{}},
		{"tag stripped, on the VLAN device", vlanIfindex, ether(adv()), XDPPass, onVLAN},
		{"QinQ on the parent", testIfindex, ether(adv(), 200, 100), XDPPass, InstanceKey{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := map[InstanceKey]uint64{onVLAN: d.peerCount(t, peerRef{onVLAN, ipA}), onParent: d.peerCount(t, peerRef{onParent, ipA})}
			drops := d.dropTotal(t)
			var got uint32
			ns.Do(t, func() error {
				var err error
				got, err = runXDPOn(d, tc.ifindex, tc.frame)
				return err
			})
			if got != tc.want {
				t.Errorf("verdict = %d, want %d", got, tc.want)
			}
			for k, n := range before {
				want := uint64(0)
				if k == tc.counted {
					want = 1
				}
				if d := d.peerCount(t, peerRef{k, ipA}) - n; d != want {
					t.Errorf("peer count of %v went up by %d, want %d", k, d, want)
				}
			}
			if n := d.dropTotal(t) - drops; n != 0 {
				t.Errorf("drops went up by %d, want 0", n)
			}
		})
	}
}

// runXDPOn runs the XDP program on frame as if it arrived on ifindex (which
// must exist in the calling thread's namespace).
func runXDPOn(d *Dataplane, ifindex int, frame []byte) (uint32, error) {
	// struct xdp_md: data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex.
	ctx := make([]byte, 24)
	binary.LittleEndian.PutUint32(ctx[4:], uint32(len(frame)))
	binary.LittleEndian.PutUint32(ctx[12:], uint32(ifindex))
	return d.objs.VrrpXdp.Run(&ebpf.RunOptions{Data: frame, Context: ctx})
}
