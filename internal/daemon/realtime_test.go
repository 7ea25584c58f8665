package daemon

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/rtsched"
	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
	"golang.org/x/sys/unix"
)

const realtimeConfig = `router_id: lb-5
scheduling:
  rt_priority: 5
instances:
  - name: VI_1
    interface: eth0
    vrid: 51
    priority: 150
    version: 3
    advert_interval: 50ms
    vips: [198.18.12.3/32]
    notify:
      master: [/bin/sh, -c, 'cat /proc/self/stat > %[1]s.tmp; for f in /proc/$PPID/task/*/stat; do cat "$f"; echo; done >> %[1]s.tmp; mv %[1]s.tmp %[1]s']
`

// TestDaemonRealtime: with scheduling.rt_priority every thread of the daemon
// is real-time (the advert thread at the priority, the others at
// daemonRTPriority), and a notify script it runs is back in the normal class.
func TestDaemonRealtime(t *testing.T) {
	testutil.Privileged(t)
	testutil.Require(t, "ip")
	a, b := testutil.NewNetns(t, "dmrt"), testutil.NewNetns(t, "dmru")
	pairLinks(t, "veth", a, b, netip.MustParsePrefix("198.18.12.5/24"), netip.MustParsePrefix("198.18.12.6/24"))
	dir := t.TempDir()
	out := filepath.Join(dir, "sched")
	cfg := filepath.Join(dir, "lb-5.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(realtimeConfig, out)), 0o644); err != nil {
		t.Fatal(err)
	}
	n := &node{ns: a, cfg: cfg, pin: "/sys/fs/bpf/" + testutil.UniqueName("dmrt")}
	startNode(t, n)
	var stat []byte
	testutil.WaitFor(t, 20*time.Second, "the MASTER notify script ran", func() (bool, string) {
		var err error
		stat, err = os.ReadFile(out)
		return err == nil, n.log()
	})
	lines := strings.Split(strings.TrimSpace(string(stat)), "\n")
	if pol, prio := statSched(t, lines[0]); pol != unix.SCHED_NORMAL || prio != 0 {
		t.Errorf("notify script: policy %d rtprio %d, want the normal class", pol, prio)
	}
	var atPrio, threads int
	for _, l := range lines[1:] {
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		threads++
		pol, prio := statSched(t, l)
		if pol != unix.SCHED_RR || prio < daemonRTPriority {
			t.Errorf("daemon thread in policy %d rtprio %d, want SCHED_RR: %s", pol, prio, l)
		}
		if prio == 5 {
			atPrio++
		}
	}
	if threads == 0 || atPrio == 0 {
		t.Errorf("%d daemon threads, %d at rt_priority 5; want the advert thread at 5", threads, atPrio)
	}
}

// statSched is rtsched.StatSched of a line that must hold the fields.
func statSched(t *testing.T, line string) (policy, prio int) {
	t.Helper()
	policy, prio, ok := rtsched.StatSched(line)
	if !ok {
		t.Fatalf("short stat line %q", line)
	}
	return policy, prio
}
