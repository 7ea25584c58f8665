package vm

import (
	"bufio"
	"fmt"
	"net/netip"
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
	for _, cfg := range restartConfigs {
		for _, op := range restartOps {
			t.Run(cfg.name+"/"+op.name, func(t *testing.T) {
				o := measureRestart(t, cfg, op)
				if op.daemon != lab.Ebpfvrrp {
					return // the comparison: numbers only
				}
				if !o.Adopted {
					t.Errorf("the restarted lb-5 did not adopt:\n%s", tail(o.log, 30))
				}
				if len(o.Moved) > 0 {
					t.Errorf("the VIP holders changed: %v", o.Moved)
				}
				if len(o.VIPDeleted) > 0 {
					t.Errorf("the VIP was deleted from lb-5:\n%s", strings.Join(o.VIPDeleted, "\n"))
				}
				// lb-5's one line is its adoption (INIT→MASTER, reason adopted).
				if o.Changes6 != 0 || o.Changes5 > 1 {
					t.Errorf("state changes: lb-5 %d (want at most its adoption), lb-6 %d (want 0)", o.Changes5, o.Changes6)
				}
				if o.Probe.Failures != 0 {
					t.Errorf("%d of %d client requests failed; outages %+v", o.Probe.Failures, o.Probe.Requests, o.Probe.Outages)
				}
				if o.Backup6 != "BACKUP" {
					t.Errorf("lb-6 is %s, want BACKUP", o.Backup6)
				}
			})
		}
	}
}

// restartConfig is the protocol a restart is measured on.
type restartConfig struct {
	name     string
	version  int
	interval time.Duration
}

var restartConfigs = []restartConfig{{"v2-1s", 2, time.Second}, {"v3-100ms", 3, 100 * time.Millisecond}}

// restartOutcome is what one replacement of lb-5's daemon did, as the client,
// lb-5's netlink, both daemons' logs and the client's view of lb-5's adverts saw it.
type restartOutcome struct {
	Moved              []string // VIP holder changes, with the time after the operation began
	Changes5, Changes6 int      // state changes each daemon logged
	VIPDeleted         []string // RTM_DELADDR of the VIP on lb-5
	Probe              lab.ProbeResult
	// AdvertGap is the longest silence of lb-5's adverts at the client during
	// the operation: from the old process's last advert to the new one's first.
	AdvertGap time.Duration
	Adopted   bool   // ebpfvrrp: the new lb-5 logged "instance adopted"
	Backup6   string // lb-6's state afterwards (ebpfvrrp only)
	log       string
}

// measureRestart builds a pair of op's daemon on cfg, replaces lb-5's daemon by
// op while the client requests the VIP every 10 ms, and reports what happened.
func measureRestart(t *testing.T, cfg restartConfig, op restartOp) restartOutcome {
	t.Helper()
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
	sniff := startSniffer(t, l, lab.Client)
	sniffing := time.Now()
	before5, before6 := stateChanges(l, lab.LB5), stateChanges(l, lab.LB6)
	probe := l.StartProbe(10 * time.Millisecond)
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	op.run(t, l)
	// Long enough for the backup to have taken over (several
	// Master_Down_Intervals), and for a restarted keepalived to preempt back.
	deadline := start.Add(max(8*cfg.interval, 3*time.Second))
	var o restartOutcome
	last := []string{lab.LB5}
	for time.Now().Before(deadline) {
		if got := l.VIPHolder(); strings.Join(got, ",") != strings.Join(last, ",") {
			o.Moved = append(o.Moved, fmt.Sprintf("%v: %v", time.Since(start).Round(time.Millisecond), got))
			last = got
		}
		time.Sleep(5 * time.Millisecond)
	}
	o.Probe = probe.Stop()
	o.Changes5, o.Changes6 = stateChanges(l, lab.LB5)-before5, stateChanges(l, lab.LB6)-before6
	o.VIPDeleted = mon.deleted(l)
	o.AdvertGap = advertSilence(sniff, lab.Addr4(lab.LB5), sniffing, deadline)
	o.log = lbLog(l)
	o.Adopted = strings.Contains(o.log, `"msg":"instance adopted"`)
	if op.daemon == lab.Ebpfvrrp {
		o.Backup6 = mustStatus(t, l, lab.LB6).State
	}
	t.Logf("%s %s: VIP holder changes %v; state changes lb-5 %d, lb-6 %d; VIP deleted on lb-5 %d times; lb-5's longest advert gap %v; client: %v",
		cfg.name, op.name, o.Moved, o.Changes5, o.Changes6, len(o.VIPDeleted), o.AdvertGap.Round(time.Millisecond), o.Probe)
	return o
}

// advertSilence is the longest time in [from, to] without an advert from src,
// the window's edges included: a source that never spoke is silent throughout.
func advertSilence(s *sniffer, src netip.Addr, from, to time.Time) time.Duration {
	last, gap := from, time.Duration(0)
	for _, a := range s.between(from, to) {
		if a.Src != src {
			continue
		}
		gap = max(gap, a.T.Sub(last))
		last = a.T
	}
	return max(gap, to.Sub(last))
}
