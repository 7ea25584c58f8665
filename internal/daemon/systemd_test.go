package daemon

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

func TestOneLine(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"a\nb  c", 100, "a ; b c"},
		{"vrid: 300 is outside 1–255", 24, "vrid: 300 is outside 1…"}, // never half an en dash
	} {
		if got := oneLine(tc.in, tc.max); got != tc.want {
			t.Errorf("oneLine(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

// notifySocket is what systemd listens on for a Type=notify unit: a unixgram
// socket whose datagrams the test reads.
type notifySocket struct {
	path string
	msgs chan string
	mu   sync.Mutex
	all  []string // every message so far, for ever
}

func newNotifySocket(t *testing.T) *notifySocket {
	t.Helper()
	s := &notifySocket{path: filepath.Join(t.TempDir(), "notify.sock"), msgs: make(chan string, 4096)}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: s.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(s.msgs)
				return
			}
			s.mu.Lock()
			s.all = append(s.all, string(buf[:n]))
			s.mu.Unlock()
			s.msgs <- string(buf[:n])
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return s
}

// next waits for a message for which match holds, returning it and skipping the
// others; it fails the test after timeout (a liveness bound).
func (s *notifySocket) next(t *testing.T, what string, timeout time.Duration, match func(string) bool) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m, ok := <-s.msgs:
			if !ok {
				t.Fatalf("notify socket closed waiting for %s", what)
			}
			if match(m) {
				return m
			}
		case <-deadline:
			t.Fatalf("no %s on NOTIFY_SOCKET within %v", what, timeout)
		}
	}
}

// ever waits until some message so far, consumed by next or not, matches.
func (s *notifySocket) ever(t *testing.T, what string, timeout time.Duration, match func(string) bool) {
	t.Helper()
	testutil.WaitFor(t, timeout, what, func() (bool, string) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return slices.ContainsFunc(s.all, match), fmt.Sprintf("%q", s.all[max(0, len(s.all)-5):])
	})
}

func isWatchdog(m string) bool { return m == "WATCHDOG=1" }

// daemonPID returns the pid of the daemon: `ip netns exec` execs it, or on some
// versions forks it as its child.
func daemonPID(t *testing.T, n *node) int {
	t.Helper()
	pid := n.cmd.Process.Pid
	var found int
	testutil.WaitFor(t, 10*time.Second, "the daemon's pid", func() (bool, string) {
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil {
			return false, err.Error()
		}
		if strings.TrimSpace(string(comm)) != "ip" {
			found = pid
			return true, ""
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
		if err != nil {
			return false, err.Error()
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			return false, "ip has not started the daemon yet"
		}
		found, err = strconv.Atoi(f[0])
		return err == nil, fmt.Sprint(err)
	})
	return found
}

// stopped reports whether pid is in the stopped state (T).
func stopped(pid int) (bool, string) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false, err.Error()
	}
	// The state follows the parenthesised command name.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return false, s
	}
	return s[i+2] == 'T', "state " + s[i+2:i+3]
}

const systemdConfig = `router_id: sdn
instances:
  - name: VI_1
    interface: eth0
    vrid: 71
    priority: 150
    version: 3
    advert_interval: 100ms
    vips: [198.18.14.3/32]
  - name: VI_2
    interface: eth1
    vrid: 72
    priority: 100
    state: backup
    version: 3
    advert_interval: 100ms
    vips: [198.18.15.3/32]
`

// TestSystemdNotify runs the daemon as systemd would run a Type=notify unit with
// WatchdogSec=, NOTIFY_SOCKET and WATCHDOG_USEC set (systemd is not PID 1 on the
// test machine): READY=1 comes after the receive path is on every interface and
// every instance has started; STATUS= follows transitions and a rejected reload;
// the WATCHDOG=1 pings stop while the daemon is stopped (SIGSTOP), which is what
// makes systemd kill and restart it, and resume with SIGCONT.
func TestSystemdNotify(t *testing.T) {
	testutil.Privileged(t)
	testutil.Require(t, "ip")
	a, b := testutil.NewNetns(t, "sda"), testutil.NewNetns(t, "sdb")
	testutil.Veth(t, a, "eth0", netip.MustParsePrefix("198.18.14.5/24"), b, "eth0", netip.MustParsePrefix("198.18.14.6/24"))
	testutil.Veth(t, a, "eth1", netip.MustParsePrefix("198.18.15.5/24"), b, "eth1", netip.MustParsePrefix("198.18.15.6/24"))
	cfg := filepath.Join(t.TempDir(), "sdn.yaml")
	if err := os.WriteFile(cfg, []byte(systemdConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	sock := newNotifySocket(t)
	const watchdog = 600 * time.Millisecond // pings every 300 ms
	n := &node{ns: a, cfg: cfg, pin: "/sys/fs/bpf/" + testutil.UniqueName("sdnt"),
		env: []string{"NOTIFY_SOCKET=" + sock.path, "WATCHDOG_USEC=" + strconv.Itoa(int(watchdog/time.Microsecond))}}
	startNode(t, n)
	pid := daemonPID(t, n)
	// Never leave it stopped: the cleanup's SIGTERM must reach a running daemon.
	t.Cleanup(func() { n.signal(syscall.SIGCONT) })

	ready := sock.next(t, "READY=1", 20*time.Second, func(m string) bool { return strings.Contains(m, "READY=1") })
	// Freeze the daemon at once, so what the test sees is the state at READY.
	n.signal(syscall.SIGSTOP)
	for _, ifname := range []string{"eth0", "eth1"} {
		link := a.Exec(t, "ip", "-d", "link", "show", "dev", ifname)
		if !strings.Contains(link, "prog/xdp") {
			t.Errorf("READY=1 arrived before the receive path was attached to %s:\n%s", ifname, link)
		}
	}
	if !strings.Contains(ready, "STATUS=2 instance(s): ") || strings.Contains(ready, "INIT") {
		t.Errorf("READY=1 before every instance started, or without a status: %q", ready)
	}
	n.signal(syscall.SIGCONT)

	// Watchdog pings come while the controller runs.
	for i := 0; i < 3; i++ {
		sock.next(t, "WATCHDOG=1", 10*time.Second, isWatchdog)
	}
	// SIGSTOP: once the process is stopped and what it sent before is read, no
	// ping comes for three watchdog periods: systemd would have restarted it.
	n.signal(syscall.SIGSTOP)
	testutil.WaitFor(t, 10*time.Second, "the daemon stopped", func() (bool, string) { return stopped(pid) })
drain:
	for {
		select {
		case <-sock.msgs:
		default:
			break drain
		}
	}
	silence := time.After(3 * watchdog)
wait:
	for {
		select {
		case m := <-sock.msgs:
			if isWatchdog(m) {
				t.Fatalf("WATCHDOG=1 from a stopped daemon")
			}
		case <-silence:
			break wait
		}
	}
	n.signal(syscall.SIGCONT)
	sock.next(t, "WATCHDOG=1 after SIGCONT", 10*time.Second, isWatchdog)

	// Both instances hear nobody and become Master: STATUS= says so.
	sock.ever(t, "STATUS= with the Masters", 20*time.Second, func(m string) bool {
		return strings.Contains(m, "STATUS=2 instance(s): 2 MASTER")
	})

	// A config that does not validate, on SIGHUP: RELOADING=1, then READY=1 with
	// the rejection in STATUS=.
	if err := os.WriteFile(cfg, []byte("instances:\n  - vrid: 999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n.signal(syscall.SIGHUP)
	sock.next(t, "RELOADING=1", 10*time.Second, func(m string) bool { return strings.HasPrefix(m, "RELOADING=1\nMONOTONIC_USEC=") })
	rejected := sock.next(t, "READY=1 after the reload", 10*time.Second, func(m string) bool { return strings.Contains(m, "READY=1") })
	if !strings.Contains(rejected, "STATUS=reload rejected, running config kept: ") || !strings.Contains(rejected, "problems, first: ") ||
		strings.Contains(rejected, "\n\n") || strings.Count(rejected, "\n") != 1 {
		t.Errorf("after a rejected reload: %q, want READY=1 and a one-line STATUS= with the problem", rejected)
	}
	// The log line went out first, through the pipe the test copies from.
	testutil.Eventually(t, 10*time.Second, "the log saying the reload was rejected", func() bool {
		return strings.Contains(n.logs.String(), "reload rejected")
	})

	// SIGTERM: STOPPING=1 before the handover.
	n.signal(syscall.SIGTERM)
	sock.next(t, "STOPPING=1", 10*time.Second, func(m string) bool { return strings.HasPrefix(m, "STOPPING=1") })
}
