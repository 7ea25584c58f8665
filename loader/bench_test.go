package loader

import (
	"net/netip"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

// BenchmarkXDP measures the receive path with BPF_PROG_RUN Repeat (b.N runs
// in one syscall). ns/pkt is the kernel's own per-run time; ns/op adds the
// amortised syscall. Targets: non_vrrp_tcp ≤ 1.5× empty; valid_advert (timer
// re-arm included) < 200 ns.
//
//	EBPFVRRP_PRIVILEGED_TESTS=1 go test -run '^$' -bench BenchmarkXDP ./loader/
var vipNoAccept = netip.MustParseAddr("198.18.100.22")

func BenchmarkXDP(b *testing.B) {
	testutil.Privileged(b)
	d := newDataplane(b)
	ns := testutil.NewNetns(b, "evbench")
	k := InstanceKey{Ifindex: testIfindex, VRID: 20, Family: FamilyIPv4}
	// Backup following a higher-priority master: every advert re-arms the timer.
	if err := d.SetInstance(k, InstanceConfig{State: StateBackup, Priority: 100, Version: 3, Interval: time.Second, Primary: ipSelf, Addresses: []netip.Addr{vip4}}); err != nil {
		b.Fatal(err)
	}
	// Backup with preempt under a lower-priority master: the same path
	// without bpf_timer_start, so the difference is the re-arm's cost.
	kp := InstanceKey{Ifindex: testIfindex, VRID: 21, Family: FamilyIPv4}
	if err := d.SetInstance(kp, InstanceConfig{State: StateBackup, Priority: 200, Preempt: true, Version: 3, Interval: time.Second, Primary: ipSelf, Addresses: []netip.Addr{vip4}}); err != nil {
		b.Fatal(err)
	}
	// A no_accept instance, Master only for the no_accept rows: then every
	// packet that is not VRRP, ARP or ND is looked up, and traffic to its
	// VIP is dropped. Until then the lookup is skipped (non_vrrp_tcp).
	kn := InstanceKey{Ifindex: testIfindex, VRID: 22, Family: FamilyIPv4}
	if err := d.SetInstance(kn, InstanceConfig{State: StateBackup, Priority: 100, Version: 3, Interval: time.Second, Primary: ipSelf,
		Addresses: []netip.Addr{vipNoAccept}, NoAccept: []netip.Addr{vipNoAccept}}); err != nil {
		b.Fatal(err)
	}
	empty := emptyXDP(b)
	valid := ether(advert(b, v3adv(20, 150, ipA), 255))
	for _, c := range []struct {
		name  string
		prog  *ebpf.Program
		frame []byte
		want  uint32
		// noAccept: the no_accept instance is Master for this row on.
		noAccept bool
	}{
		{"empty", empty, tcpFrame(), XDPPass, false},
		{"non_vrrp_tcp", d.objs.VrrpXdp, tcpFrame(), XDPPass, false},
		{"valid_advert", d.objs.VrrpXdp, valid, XDPPass, false},
		{"valid_advert_no_rearm", d.objs.VrrpXdp, ether(advert(b, v3adv(21, 150, ipA), 255)), XDPPass, false},
		{"valid_advert_qinq", d.objs.VrrpXdp, ether(advert(b, v3adv(20, 150, ipA), 255), 100, 200), XDPPass, false},
		{"dropped_unknown_vrid", d.objs.VrrpXdp, ether(advert(b, v3adv(99, 150, ipA), 255)), XDPDrop, false},
		{"dropped_bad_ttl", d.objs.VrrpXdp, ether(advert(b, v3adv(20, 150, ipA), 64)), XDPDrop, false},
		{"dropped_addr_list", d.objs.VrrpXdp, ether(advert(b, listing(v3adv(20, 150, ipA), ipB), 255)), XDPDrop, false},
		{"no_accept_other_tcp", d.objs.VrrpXdp, tcpFrame(), XDPPass, true},
		{"no_accept_vip_tcp", d.objs.VrrpXdp, tcpTo(vipNoAccept), XDPDrop, true},
	} {
		if c.noAccept {
			if err := d.SetState(kn, StateMaster, 100); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(c.name, func(b *testing.B) {
			var ret uint32
			var per time.Duration
			b.ResetTimer()
			ns.Do(b, func() error {
				var err error
				ret, per, err = run(c.prog, c.frame, b.N)
				return err
			})
			if ret != c.want {
				b.Fatalf("verdict %d, want %d", ret, c.want)
			}
			b.ReportMetric(float64(per.Nanoseconds()), "ns/pkt")
		})
	}
	drainEvents(b, d)
}
