package vm

import (
	"bufio"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/lab"
	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

// addrEvents records `ip monitor address` in host's namespace until the test
// ends: the netlink view of whether the VIP ever left.
type addrEvents struct{ out *testutil.SyncBuffer }

func monitorAddresses(t *testing.T, l *lab.Lab, host string) *addrEvents {
	t.Helper()
	m := &addrEvents{out: &testutil.SyncBuffer{}}
	cmd := exec.Command("ip", "-n", l.Netns(host), "monitor", "address")
	cmd.SysProcAttr = lab.ProcAttr()
	pr, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		for sc := bufio.NewScanner(pr); sc.Scan(); {
			fmt.Fprintln(m.out, sc.Text())
		}
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return m
}

// deleted lists the monitor's deletions of the lab's VIP.
func (m *addrEvents) deleted(l *lab.Lab) []string {
	var out []string
	for _, line := range strings.Split(m.out.String(), "\n") {
		if strings.HasPrefix(line, "Deleted") && strings.Contains(line, " "+l.VIP().String()+"/") {
			out = append(out, line)
		}
	}
	return out
}

// lbLog is lb-5's daemon log; an upgraded process writes to the same file.
func lbLog(l *lab.Lab) string { return l.Log(lab.LB5, "lb") }

// stateChanges counts the state changes a daemon logged on host so far.
func stateChanges(l *lab.Lab, host string) int {
	log := l.Log(host, "lb")
	if l.Daemon(host) == lab.Keepalived {
		return strings.Count(log, "Entering MASTER STATE") + strings.Count(log, "Entering BACKUP STATE") +
			strings.Count(log, "Entering FAULT STATE")
	}
	return strings.Count(log, `"msg":"transition"`)
}

// restartOp is one way of replacing lb-5's daemon.
type restartOp struct {
	name   string
	daemon lab.Daemon
	run    func(t *testing.T, l *lab.Lab)
}

func restartLB5(sig syscall.Signal) func(t *testing.T, l *lab.Lab) {
	return func(t *testing.T, l *lab.Lab) {
		t.Helper()
		if err := l.StopLB(lab.LB5, sig); err != nil {
			t.Fatal(err)
		}
		if err := l.StartLB(lab.LB5, l.DefaultConfig(lab.LB5)); err != nil {
			t.Fatal(err)
		}
	}
}

// upgradeLB5 replaces lb-5's ebpfvrrp by re-executing it (SIGUSR2, or
// `ebpfvrrp upgrade` when viaCommand) and waits for the old process to exit.
// The new one is not the lab's child: it is stopped at cleanup through the
// process group it inherited.
func upgradeLB5(viaCommand bool) func(t *testing.T, l *lab.Lab) {
	return func(t *testing.T, l *lab.Lab) {
		t.Helper()
		pid := l.LBPid(lab.LB5)
		t.Cleanup(func() {
			_ = syscall.Kill(-pid, syscall.SIGTERM)
			for i := 0; i < 100 && syscall.Kill(-pid, 0) == nil; i++ {
				time.Sleep(50 * time.Millisecond)
			}
		})
		if viaCommand {
			out, err := exec.Command(l.Options().EbpfvrrpBinary, "upgrade", "--pin-path", l.PinPath(lab.LB5)).CombinedOutput()
			t.Logf("ebpfvrrp upgrade: %s", strings.TrimSpace(string(out)))
			if err != nil {
				t.Fatalf("ebpfvrrp upgrade: %v", err)
			}
		} else if err := syscall.Kill(pid, syscall.SIGUSR2); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(30 * time.Second); l.LBRunning(lab.LB5); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the old daemon did not exit after the upgrade")
			}
		}
	}
}

// holdRestartLB5 is systemctl restart as configs/ebpfvrrp.service does it:
// ExecStop's `ebpfvrrp hold`, SIGTERM, a new start.
func holdRestartLB5(t *testing.T, l *lab.Lab) {
	t.Helper()
	out, err := exec.Command(l.Options().EbpfvrrpBinary, "hold", "--pin-path", l.PinPath(lab.LB5)).CombinedOutput()
	t.Logf("ebpfvrrp hold: %s", strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("ebpfvrrp hold: %v", err)
	}
	restartLB5(syscall.SIGTERM)(t, l)
}

var restartOps = []restartOp{
	{"ebpfvrrp/hold+stop+start", lab.Ebpfvrrp, holdRestartLB5},
	{"ebpfvrrp/kill-9+start", lab.Ebpfvrrp, restartLB5(syscall.SIGKILL)},
	{"ebpfvrrp/SIGUSR2", lab.Ebpfvrrp, upgradeLB5(false)},
	{"ebpfvrrp/upgrade-command", lab.Ebpfvrrp, upgradeLB5(true)},
	// For comparison: what the same operator action does with keepalived.
	{"keepalived/stop+start", lab.Keepalived, restartLB5(syscall.SIGTERM)},
	{"keepalived/kill-9+start", lab.Keepalived, restartLB5(syscall.SIGKILL)},
}

// TestRestartKeepsVIP replaces the Master's daemon (the unit's systemctl
// restart, kill -9 and a new start, SIGUSR2, ebpfvrrp upgrade) while a client requests the
// VIP every 10 ms, on the tutorial's v2/1 s config and on v3/100 ms. ebpfvrrp,
// back within the backup's Master_Down_Interval, adopts the kernel state: no
// state change on either host, the VIP never deleted from lb-5 (netlink
// monitor), no failed request. keepalived's numbers for the same operation
// are logged for comparison.
func TestRestartKeepsVIP(t *testing.T) {
	for _, cfg := range []struct {
		name     string
		version  int
		interval time.Duration
	}{{"v2-1s", 2, time.Second}, {"v3-100ms", 3, 100 * time.Millisecond}} {
		for _, op := range restartOps {
			t.Run(cfg.name+"/"+op.name, func(t *testing.T) {
				p := pair{string(op.daemon), op.daemon, op.daemon}
				l := newLab(t, p, lab.Options{Version: cfg.version, AdvertInterval: cfg.interval})
				startPair(t, l)
				waitVIP(t, l, lab.LB5)
				if op.daemon == lab.Ebpfvrrp {
					// Up and following lb-5 (its start may take longer than lb-5's election).
					waitStatus(t, l, lab.LB6, "BACKUP following lb-5", func(st instStatus) bool {
						return st.State == "BACKUP" && st.Master == lab.Addr4(lab.LB5).String()
					})
				}
				settle(l)
				mon := monitorAddresses(t, l, lab.LB5)
				before5, before6 := stateChanges(l, lab.LB5), stateChanges(l, lab.LB6)
				probe := l.StartProbe(10 * time.Millisecond)
				time.Sleep(300 * time.Millisecond)
				start := time.Now()
				op.run(t, l)
				// Long enough for the backup to have taken over (several
				// Master_Down_Intervals), and for a restarted keepalived
				// to preempt back.
				deadline := start.Add(max(8*cfg.interval, 3*time.Second))
				var moved []string
				last := []string{lab.LB5}
				for time.Now().Before(deadline) {
					if got := l.VIPHolder(); strings.Join(got, ",") != strings.Join(last, ",") {
						moved = append(moved, fmt.Sprintf("%v: %v", time.Since(start).Round(time.Millisecond), got))
						last = got
					}
					time.Sleep(5 * time.Millisecond)
				}
				r := probe.Stop()
				changes5, changes6 := stateChanges(l, lab.LB5)-before5, stateChanges(l, lab.LB6)-before6
				vipGone := mon.deleted(l)
				t.Logf("%s %s: VIP holder changes %v; state changes lb-5 %d, lb-6 %d; VIP deleted on lb-5 %d times; client: %v",
					cfg.name, op.name, moved, changes5, changes6, len(vipGone), r)
				if op.daemon != lab.Ebpfvrrp {
					return // the comparison: numbers only
				}
				if !strings.Contains(lbLog(l), `"msg":"instance adopted"`) {
					t.Errorf("the restarted lb-5 did not adopt:\n%s", tail(lbLog(l), 30))
				}
				if len(moved) > 0 {
					t.Errorf("the VIP holders changed: %v", moved)
				}
				if len(vipGone) > 0 {
					t.Errorf("the VIP was deleted from lb-5:\n%s", strings.Join(vipGone, "\n"))
				}
				// lb-5's one line is its adoption (INIT→MASTER, reason adopted).
				if changes6 != 0 || changes5 > 1 {
					t.Errorf("state changes: lb-5 %d (want at most its adoption), lb-6 %d (want 0)", changes5, changes6)
				}
				if r.Failures != 0 {
					t.Errorf("%d of %d client requests failed; outages %+v", r.Failures, r.Requests, r.Outages)
				}
				if st := mustStatus(t, l, lab.LB6); st.State != "BACKUP" {
					t.Errorf("lb-6 is %s, want BACKUP", st.State)
				}
			})
		}
	}
}
