// Package testutil holds helpers for privileged tests: the EBPFVRRP_PRIVILEGED_TESTS
// gate, fresh network namespaces with guaranteed cleanup, and veth/bridge plumbing.
// Every address a test uses comes from 198.18.0.0/15 (RFC 2544 benchmarking range).
package testutil

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// EnvPrivileged is the variable that turns privileged tests on.
const EnvPrivileged = "EBPFVRRP_PRIVILEGED_TESTS"

// PrivilegedEnabled reports whether privileged tests were requested.
func PrivilegedEnabled() bool { return os.Getenv(EnvPrivileged) == "1" }

// Privileged skips the test visibly unless EBPFVRRP_PRIVILEGED_TESTS=1. When it is
// set, missing root is a failure, never a skip: CI must not go green by skipping.
func Privileged(t testing.TB) {
	t.Helper()
	if !PrivilegedEnabled() {
		t.Skipf("privileged test: set %s=1 and run as root", EnvPrivileged)
	}
	if os.Geteuid() != 0 {
		t.Fatalf("%s=1 but not running as root", EnvPrivileged)
	}
}

// Require fails a privileged test when a prerequisite program is missing (never skips).
func Require(t testing.TB, programs ...string) {
	t.Helper()
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("prerequisite %q not found in PATH (run `make deps`): %v", p, err)
		}
	}
}

// UniqueName returns prefix plus 6 random hex characters, short enough for an
// interface name (≤15) when prefix is at most 8 characters.
func UniqueName(prefix string) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// PinPath returns a unique bpffs pin directory for a test's daemon and removes
// it when the test ends, with the temporary directories (pin-tmpNNN) a load
// killed before its rename leaves beside it.
func PinPath(t testing.TB, prefix string) string {
	pin := "/sys/fs/bpf/" + UniqueName(prefix)
	t.Cleanup(func() { RemovePins(pin) })
	return pin
}

// RemovePins removes the pin directory pin and a killed load's temporaries.
func RemovePins(pin string) {
	os.RemoveAll(pin)
	tmps, _ := filepath.Glob(pin + "-tmp*")
	for _, d := range tmps {
		os.RemoveAll(d)
	}
}

// Netns is a named network namespace created for one test.
type Netns struct {
	Name   string
	Handle netns.NsHandle
}

// NewNetns creates a fresh named network namespace ("ip netns" compatible, so
// `ip netns exec NAME` works) with loopback up, and removes it at test cleanup.
func NewNetns(t testing.TB, prefix string) *Netns {
	t.Helper()
	name := UniqueName(prefix)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatalf("get current netns: %v", err)
	}
	defer orig.Close()
	h, err := netns.NewNamed(name)
	if err != nil {
		t.Fatalf("create netns %s: %v", name, err)
	}
	// NewNamed switched this thread into the new namespace; switch back first.
	if err := netns.Set(orig); err != nil {
		t.Fatalf("restore netns: %v", err)
	}
	ns := &Netns{Name: name, Handle: h}
	t.Cleanup(func() {
		h.Close()
		if err := netns.DeleteNamed(name); err != nil {
			t.Errorf("delete netns %s: %v", name, err)
		}
	})
	ns.Do(t, func() error {
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		return netlink.LinkSetUp(lo)
	})
	return ns
}

// Do runs fn on a locked OS thread inside the namespace and fails the test on error.
func (n *Netns) Do(t testing.TB, fn func() error) {
	t.Helper()
	if err := n.Run(fn); err != nil {
		t.Fatalf("in netns %s: %v", n.Name, err)
	}
}

// HTTPClient is an HTTP client whose connections are made inside the namespace.
func (n *Netns) HTTPClient() *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var c net.Conn
			err := n.Run(func() error {
				var err error
				c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
				return err
			})
			return c, err
		},
	}}
}

// Run runs fn on a locked OS thread inside the namespace and returns its error.
// Goroutines fn starts do not inherit the namespace.
func (n *Netns) Run(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		// The thread is never unlocked: if restoring the namespace failed it must
		// die with the goroutine rather than return to the pool in the wrong netns.
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		if err := netns.Set(n.Handle); err != nil {
			errc <- err
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			errc <- fmt.Errorf("restore netns: %w", err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// Exec runs a command inside the namespace (via `ip netns exec`) and returns its
// combined output, failing the test on error.
func (n *Netns) Exec(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", n.Name, name}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns exec %s %s %v: %v\n%s", n.Name, name, args, err, out)
	}
	return string(out)
}

// Veth creates a veth pair with one end (nameA) in a and the other (nameB) in b,
// assigns the given prefixes (invalid prefix: none) and brings both up.
func Veth(t testing.TB, a *Netns, nameA string, addrA netip.Prefix, b *Netns, nameB string, addrB netip.Prefix) {
	t.Helper()
	// The peer is created under a temporary name and renamed once it is in b, so
	// both ends may have the same name (every lab host calls its link eth0).
	tmp := UniqueName("vtmp")
	a.Do(t, func() error {
		la := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: nameA}, PeerName: tmp}
		if err := netlink.LinkAdd(la); err != nil {
			return fmt.Errorf("add veth %s/%s: %w", nameA, nameB, err)
		}
		peer, err := netlink.LinkByName(tmp)
		if err != nil {
			return err
		}
		return netlink.LinkSetNsFd(peer, int(b.Handle))
	})
	b.Do(t, func() error {
		peer, err := netlink.LinkByName(tmp)
		if err != nil {
			return err
		}
		return netlink.LinkSetName(peer, nameB)
	})
	up := func(ns *Netns, name string, p netip.Prefix) {
		ns.Do(t, func() error { return LinkUp(name, p) })
	}
	up(a, nameA, addrA)
	up(b, nameB, addrB)
}

// Bridge creates a bridge named name in ns, up, and returns a function that plugs a
// new veth into it: the host end (hostIf, with addr) goes into host, the port end
// (portIf) stays in ns enslaved to the bridge.
func Bridge(t testing.TB, ns *Netns, name string) func(host *Netns, hostIf string, addr netip.Prefix, portIf string) {
	t.Helper()
	ns.Do(t, func() error {
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}
		if err := netlink.LinkAdd(br); err != nil {
			return fmt.Errorf("add bridge %s: %w", name, err)
		}
		return netlink.LinkSetUp(br)
	})
	return func(host *Netns, hostIf string, addr netip.Prefix, portIf string) {
		t.Helper()
		Veth(t, ns, portIf, netip.Prefix{}, host, hostIf, addr)
		ns.Do(t, func() error {
			br, err := netlink.LinkByName(name)
			if err != nil {
				return err
			}
			port, err := netlink.LinkByName(portIf)
			if err != nil {
				return err
			}
			return netlink.LinkSetMaster(port, br)
		})
	}
}

// LinkUp assigns p (if valid) to the link called name in the current namespace and
// sets it up. IPv6 DAD is disabled on the link so link-local addresses are usable
// at once.
func LinkUp(name string, p netip.Prefix) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	_ = os.WriteFile("/proc/sys/net/ipv6/conf/"+name+"/accept_dad", []byte("0"), 0o644)
	if p.IsValid() {
		a, err := netlink.ParseAddr(p.String())
		if err != nil {
			return err
		}
		if err := netlink.AddrAdd(l, a); err != nil {
			return fmt.Errorf("add %s to %s: %w", p, name, err)
		}
	}
	return netlink.LinkSetUp(l)
}

// SyncBuffer is a bytes.Buffer that a child process's output copier may write while
// the test reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// WaitFor polls cond every 10 ms until it holds, failing the test after timeout
// with cond's last description (a liveness bound, not a timing assertion).
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() (ok bool, last string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			if last != "" {
				t.Fatalf("timed out after %v waiting for %s; last: %s", timeout, what, last)
			}
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Eventually is WaitFor for a condition that has nothing to say.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	WaitFor(t, timeout, what, func() (bool, string) { return cond(), "" })
}

// Lines returns the lines written so far that contain substr.
func (s *SyncBuffer) Lines(substr string) []string {
	var out []string
	for _, l := range strings.Split(s.String(), "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return out
}
