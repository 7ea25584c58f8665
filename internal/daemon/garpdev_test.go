package daemon

import (
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

// TestGARPOnTheVIPsInterface: a VIP written with a dev of its own is announced on
// that interface, as keepalived does (each address's gratuitous ARP goes out on
// the interface the address is on), not on the instance's: a neighbour on the
// other segment would otherwise keep the old Master's MAC.
func TestGARPOnTheVIPsInterface(t *testing.T) {
	testutil.Privileged(t)
	a, b := testutil.NewNetns(t, "dmva"), testutil.NewNetns(t, "dmvb")
	testutil.Veth(t, a, "eth0", netip.MustParsePrefix("198.18.14.5/24"), b, "eth0", netip.MustParsePrefix("198.18.14.6/24"))
	testutil.Veth(t, a, "eth1", netip.MustParsePrefix("198.18.15.5/24"), b, "eth1", netip.MustParsePrefix("198.18.15.6/24"))
	// Listen on the peer's ends before the daemon starts: the first GARP leaves
	// at once on becoming Master.
	arps := map[string]chan netip.Addr{"eth0": make(chan netip.Addr, 64), "eth1": make(chan netip.Addr, 64)}
	for ifname, ch := range arps {
		var fd int
		b.Do(t, func() error {
			l, err := netlink.LinkByName(ifname)
			if err != nil {
				return err
			}
			fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ARP)))
			if err != nil {
				return err
			}
			if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 100000}); err != nil {
				return err
			}
			return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: l.Attrs().Index})
		})
		done := make(chan struct{})
		t.Cleanup(func() { close(done); unix.Close(fd) })
		go func() {
			buf := make([]byte, 128)
			for {
				select {
				case <-done:
					return
				default:
				}
				n, _, err := unix.Recvfrom(fd, buf, 0)
				// ARP for IPv4 over Ethernet: sender IP at 14, target IP at 24.
				if err != nil || n < 28 || binary.BigEndian.Uint16(buf[2:]) != unix.ETH_P_IP {
					continue
				}
				spa, tpa := netip.AddrFrom4([4]byte(buf[14:18])), netip.AddrFrom4([4]byte(buf[24:28]))
				if spa == tpa { // gratuitous
					ch <- spa
				}
			}
		}()
	}
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(cfg, []byte(`instances:
  - name: VI_1
    interface: eth0
    vrid: 55
    priority: 150
    state: master
    version: 3
    advert_interval: 100ms
    garp: {master_delay: 0s, master_repeat: 1}
    vips: [198.18.14.3/32, "198.18.15.3/32 dev eth1"]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	startNode(t, &node{ns: a, cfg: cfg, pin: "/sys/fs/bpf/" + testutil.UniqueName("dmvt")})
	want := map[string]netip.Addr{"eth0": netip.MustParseAddr("198.18.14.3"), "eth1": netip.MustParseAddr("198.18.15.3")}
	deadline := time.After(15 * time.Second)
	for ifname, vip := range want {
		select {
		case got := <-arps[ifname]:
			if got != vip {
				t.Errorf("gratuitous ARP on %s for %v, want %v", ifname, got, vip)
			}
		case <-deadline:
			t.Fatalf("no gratuitous ARP on %s for %v", ifname, vip)
		}
	}
	// Nothing for the other interface's VIP on either.
	time.Sleep(300 * time.Millisecond)
	for ifname, ch := range arps {
		for len(ch) > 0 {
			if got := <-ch; got != want[ifname] {
				t.Errorf("gratuitous ARP for %v on %s, which is not its interface", got, ifname)
			}
		}
	}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
