package vm

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

// advertWatch reads VRRP packets (IP protocol 112) arriving on an interface
// of a namespace, through a packet socket: it sees multicast adverts whether
// or not the namespace joined the group.
type advertWatch struct{ fd int }

func watchAdverts(t *testing.T, ns *testutil.Netns, ifname string) *advertWatch {
	t.Helper()
	w := &advertWatch{fd: -1}
	ns.Do(t, func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		proto := int(htons(unix.ETH_P_IP))
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, proto)
		if err != nil {
			return err
		}
		w.fd = fd
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: uint16(proto), Ifindex: ifi.Index})
	})
	t.Cleanup(func() { unix.Close(w.fd) })
	return w
}

// drain discards what arrived so far.
func (w *advertWatch) drain() {
	buf := make([]byte, 2048)
	for {
		if _, _, err := unix.Recvfrom(w.fd, buf, unix.MSG_DONTWAIT); err != nil {
			return
		}
	}
}

// next waits up to timeout for the next advert and returns when it arrived.
func (w *advertWatch) next(timeout time.Duration) (time.Time, error) {
	buf := make([]byte, 2048)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		tv := unix.NsecToTimeval(int64(time.Until(deadline)))
		if err := unix.SetsockoptTimeval(w.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			return time.Time{}, err
		}
		n, _, err := unix.Recvfrom(w.fd, buf, 0)
		if err != nil {
			continue
		}
		if n >= 20 && buf[0]>>4 == 4 && buf[9] == 112 {
			return time.Now(), nil
		}
	}
	return time.Time{}, fmt.Errorf("no advert within %v", timeout)
}

// TestExecToFirstAdvert measures the time from exec of `ebpfvrrp run` to its
// first advert on the wire, for a first start (the programs are verified) and
// for a start over the pins a kill -9 left (the programs are kept, the
// instance adopted), and the time from SIGUSR2 to the old process's exit. It
// checks only that adverts come; the numbers are logged for
// docs/benchmarks.md:
//
//	EBPFVRRP_PRIVILEGED_TESTS=1 go test -count=1 -run TestExecToFirstAdvert -v ./test/vm/
func TestExecToFirstAdvert(t *testing.T) {
	testutil.Privileged(t)
	bin := testutil.EbpfvrrpBinary(t)
	a, b := testutil.NewNetns(t, "evma"), testutil.NewNetns(t, "evmb")
	testutil.Veth(t, a, "eth0", netip.MustParsePrefix("198.18.30.5/24"), b, "eth0", netip.MustParsePrefix("198.18.30.6/24"))
	dir := t.TempDir()
	cfg := filepath.Join(dir, "ebpfvrrp.yaml")
	// Priority 255, the address owner, advertises at once on a first start
	// too, so both starts are measured to an advert (not to a timeout).
	const conf = `instances:
  - name: VI_1
    interface: eth0
    vrid: 60
    priority: 255
    version: 3
    advert_interval: 100ms
    vips: [198.18.30.3/32]
`
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	pin := testutil.PinPath(t, "evm")
	w := watchAdverts(t, b, "eth0")
	var pgids []int
	t.Cleanup(func() {
		for _, g := range pgids {
			syscall.Kill(-g, syscall.SIGTERM)
		}
		time.Sleep(2 * time.Second)
		for _, g := range pgids {
			syscall.Kill(-g, syscall.SIGKILL)
		}
	})
	var loads []string // per start: the daemon's "dataplane loaded" line, shortened
	starts := 0
	start := func() (*exec.Cmd, time.Duration) {
		t.Helper()
		starts++
		logf, err := os.Create(filepath.Join(dir, fmt.Sprintf("daemon-%d.log", starts)))
		if err != nil {
			t.Fatal(err)
		}
		defer logf.Close()
		defer func() {
			for _, l := range strings.Split(readFile(logf.Name()), "\n") {
				if strings.Contains(l, `"msg":"dataplane loaded"`) {
					_, rest, _ := strings.Cut(l, `"programs_verified":`)
					loads = append(loads, rest)
					break
				}
			}
		}()
		cmd := exec.Command(bin, "run", "--config", cfg, "--pin-path", pin, "--metrics-listen", "off", "--log-format", "json")
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		w.drain()
		t0 := time.Now()
		if err := a.Run(cmd.Start); err != nil {
			t.Fatal(err)
		}
		pgids = append(pgids, cmd.Process.Pid)
		at, err := w.next(10 * time.Second)
		if err != nil {
			t.Fatalf("%v; log:\n%s", err, readFile(logf.Name()))
		}
		return cmd, at.Sub(t0)
	}
	const trials = 5
	var first, adopt, upgrade []time.Duration
	for i := 0; i < trials; i++ {
		testutil.RemovePins(pin)
		cmd, d := start()
		first = append(first, d)
		time.Sleep(300 * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		cmd, d = start()
		adopt = append(adopt, d)
		time.Sleep(300 * time.Millisecond)
		t0 := time.Now()
		cmd.Process.Signal(syscall.SIGUSR2)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("old process after SIGUSR2: %v", err)
		}
		upgrade = append(upgrade, time.Since(t0))
		// The upgraded process is in cmd's process group: stopped with it,
		// a clean stop (pins removed) before the next first start.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		for j := 0; j < 100 && syscall.Kill(-cmd.Process.Pid, 0) == nil; j++ {
			time.Sleep(20 * time.Millisecond)
		}
	}
	for _, m := range []struct {
		what string
		ds   []time.Duration
	}{{"exec → first advert, first start (programs verified)", first},
		{"exec → first advert, start over a kill -9's pins (adopted)", adopt},
		{"SIGUSR2 → old process exited (new one adopted and advertising)", upgrade}} {
		s := slices.Clone(m.ds)
		slices.Sort(s)
		t.Logf("%s: median %v, min %v, max %v (%d trials: %v)", m.what,
			s[len(s)/2].Round(100*time.Microsecond), s[0].Round(100*time.Microsecond), s[len(s)-1].Round(100*time.Microsecond), len(s), m.ds)
	}
	// Per start, in order (first, adopted, ...): programs verified? load time.
	t.Logf("dataplane loads (programs_verified, took): %v", loads)
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}
