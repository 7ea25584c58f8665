package vm

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/lab"
	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

// The lab leaves nothing behind, twice in a row, and Close is idempotent; also the
// demo's path without nginx (built-in Go servers), on both link kinds.
func TestLabLifecycle(t *testing.T) {
	testutil.Privileged(t)
	testutil.Require(t, "keepalived")
	runs := []struct {
		builtin bool
		kind    lab.LinkKind
	}{{true, lab.Veth}, {false, lab.Veth}, {false, lab.Macvlan}}
	for i, run := range runs {
		builtin := run.builtin
		if !builtin {
			testutil.Require(t, "nginx")
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		l, err := lab.New(ctx, lab.Options{Prefix: "evc", LinkKind: run.kind, BuiltinWeb: builtin, Version: 3, AdvertInterval: 50 * time.Millisecond, Logf: t.Logf})
		cancel()
		if err != nil {
			t.Fatalf("run %d: New: %v", i, err)
		}
		t.Cleanup(func() { _ = l.Close() }) // on an early Fatal; Close is idempotent
		startPair(t, l)
		if _, err := l.WaitVIP(context.Background(), lab.LB5); err != nil {
			l.Close()
			t.Fatal(err)
		}
		r := l.StartProbe(10 * time.Millisecond)
		time.Sleep(300 * time.Millisecond)
		res := r.Stop()
		t.Logf("run %d (builtin web %v, %s): %v", i, builtin, run.kind, res)
		if res.Backends[lab.Web7] == 0 || res.Backends[lab.Web8] == 0 {
			t.Errorf("run %d: want answers from both web hosts, got %v", i, res.Backends)
		}
		var pids []int
		for _, h := range lab.LBHosts {
			pids = append(pids, l.LBPid(h))
		}
		if out, err := l.Exec(lab.LB5, "ip", "-br", "addr", "show", "eth0"); err != nil || !strings.Contains(string(out), lab.VIP4.String()) {
			t.Errorf("run %d: Exec ip addr on lb-5: %v %s", i, err, out)
		}
		if err := l.Close(); err != nil {
			t.Errorf("run %d: Close: %v", i, err)
		}
		if err := l.Close(); err != nil {
			t.Errorf("run %d: second Close: %v", i, err)
		}
		for _, h := range append(lab.Hosts(), lab.Switch) {
			if _, err := os.Stat("/run/netns/" + l.Netns(h)); !os.IsNotExist(err) {
				t.Errorf("run %d: netns %s left behind (%v)", i, l.Netns(h), err)
			}
		}
		if _, err := os.Stat(l.Dir); !os.IsNotExist(err) {
			t.Errorf("run %d: temp dir %s left behind", i, l.Dir)
		}
		for _, pid := range pids {
			if pid == 0 {
				t.Errorf("run %d: LB daemon was not running", i)
			} else if err := syscall.Kill(pid, 0); err == nil {
				t.Errorf("run %d: daemon pid %d still alive", i, pid)
			}
		}
		if l.VIPHolder() != nil {
			t.Errorf("run %d: VIPHolder after Close: %v", i, l.VIPHolder())
		}
	}
}
