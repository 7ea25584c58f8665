package daemon

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

// TestHangupWhileLoading: a SIGHUP that arrives while the daemon is still loading
// its dataplane (a first start verifies the programs, which takes most of a second
// and far longer while other loaders hold the bpffs lock) does not end the process,
// as SIGHUP's default action would: it is one reload once the daemon runs. The
// chaos soak found this (a reload sent to a daemon restarted after kill -9).
func TestHangupWhileLoading(t *testing.T) {
	testutil.Privileged(t)
	testutil.Require(t, "ip")
	a, b := testutil.NewNetns(t, "dmha"), testutil.NewNetns(t, "dmhb")
	testutil.Veth(t, a, "eth0", netip.MustParsePrefix("198.18.14.5/24"), b, "eth0", netip.MustParsePrefix("198.18.14.6/24"))
	dir := t.TempDir()
	cfg, pidFile := filepath.Join(dir, "c.yaml"), filepath.Join(dir, "d.pid")
	if err := os.WriteFile(cfg, []byte(`instances:
  - {name: VI_1, interface: eth0, vrid: 55, priority: 150, version: 3, advert_interval: 100ms, vips: [198.18.14.3/32]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	n := &node{ns: a, cfg: cfg, pin: "/sys/fs/bpf/" + testutil.UniqueName("dmht"), env: []string{envPIDFile + "=" + pidFile}}
	startNode(t, n)
	// The pid file is written as Run starts, before the dataplane loads.
	testutil.Eventually(t, 30*time.Second, "pid file", func() bool { _, err := os.Stat(pidFile); return err == nil })
	loading := !strings.Contains(n.log(), "dataplane loaded")
	n.signal(syscall.SIGHUP)
	testutil.WaitFor(t, 60*time.Second, "running, then the held SIGHUP served as a reload", func() (bool, string) {
		select {
		case <-n.done:
			t.Fatalf("the daemon exited on SIGHUP: %v\n%s", n.err, n.log())
		default:
		}
		l := n.log()
		return strings.Contains(l, "ebpfvrrp running") && strings.Contains(l, "config reloaded"), l
	})
	t.Logf("SIGHUP sent while loading: %v", loading)
}
