package daemon

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
	"github.com/ebpfvrrp/ebpfvrrp/loader"
)

const restartConfig = `router_id: %s
instances:
  - name: VI_1
    interface: eth0
    vrid: 52
    priority: %d
    version: 3
    advert_interval: 2s
    vips: [198.18.12.3/32]
`

// restartPair is the two hosts of the restart and upgrade tests: a Master
// (lb-5, priority 150) and a Backup (lb-6, 100) on one veth link, both daemons
// started under nsenter so their pins outlive them, and an address monitor on
// the Master's namespace.
type restartPair struct {
	master, backup *node
	mon            *addrMonitor
	masterAddr     string
}

// newRestartPair builds the pair from cfg (a format taking router_id and
// priority) on 198.18.net.0/24 with the given namespace prefix; mod, if not
// nil, adjusts each node before it starts.
func newRestartPair(t *testing.T, prefix string, net int, cfg string, mod func(*node)) *restartPair {
	t.Helper()
	testutil.Privileged(t)
	testutil.Require(t, "ip", "nsenter")
	a, b := testutil.NewNetns(t, prefix+"a"), testutil.NewNetns(t, prefix+"b")
	pairLinks(t, "veth", a, b, netip.MustParsePrefix(fmt.Sprintf("198.18.%d.5/24", net)),
		netip.MustParsePrefix(fmt.Sprintf("198.18.%d.6/24", net)))
	dir := t.TempDir()
	mk := func(ns *testutil.Netns, name string, prio int) *node {
		path := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(path, []byte(fmt.Sprintf(cfg, name, prio)), 0o644); err != nil {
			t.Fatal(err)
		}
		n := &node{ns: ns, cfg: path, pin: "/sys/fs/bpf/" + testutil.UniqueName(prefix+"t"), hostBPFFS: true}
		if mod != nil {
			mod(n)
		}
		return n
	}
	p := &restartPair{master: mk(a, "lb-5", 150), backup: mk(b, "lb-6", 100), masterAddr: fmt.Sprintf("198.18.%d.5", net)}
	p.mon = monitorAddresses(t, a)
	return p
}

// again is a new process of n's host over n's pins and config.
func (n *node) again(env ...string) *node {
	return &node{ns: n.ns, cfg: n.cfg, pin: n.pin, hostBPFFS: true, logFile: n.logFile, env: env}
}

// waitRoles waits until m is MASTER and the pair's backup BACKUP following
// the Master's address.
func (p *restartPair) waitRoles(t *testing.T, what string, m *node) {
	t.Helper()
	p.waitStates(t, what, m, "MASTER", "BACKUP")
}

// waitStates waits until m is in mState and the pair's backup in bState
// (following the Master's address when it is BACKUP). The bound is generous:
// a first start verifies the programs, which takes tens of seconds on a busy
// two-core machine.
func (p *restartPair) waitStates(t *testing.T, what string, m *node, mState, bState string) {
	t.Helper()
	testutil.WaitFor(t, 60*time.Second, what, func() (bool, string) {
		sm, err1 := nodeStatus(t, m)
		sb, err2 := nodeStatus(t, p.backup)
		if err1 != nil || err2 != nil {
			return false, fmt.Sprint(err1, err2)
		}
		ok := len(sm.Instances) == 1 && sm.Instances[0].State == mState &&
			len(sb.Instances) == 1 && sb.Instances[0].State == bState &&
			(bState != "BACKUP" || sb.Instances[0].Master == p.masterAddr)
		return ok, fmt.Sprintf("%+v / %+v", sm.Instances, sb.Instances)
	})
}

// addrMonitor records `ip monitor address` in ns until the test ends.
type addrMonitor struct {
	out *testutil.SyncBuffer
}

func monitorAddresses(t *testing.T, ns *testutil.Netns) *addrMonitor {
	t.Helper()
	m := &addrMonitor{out: &testutil.SyncBuffer{}}
	cmd := exec.Command("ip", "-n", ns.Name, "monitor", "address")
	pr, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			fmt.Fprintln(m.out, sc.Text())
		}
	}()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return m
}

func (m *addrMonitor) deleted(vip string) []string {
	var out []string
	for _, l := range strings.Split(m.out.String(), "\n") {
		if strings.HasPrefix(l, "Deleted") && strings.Contains(l, " "+vip+"/") {
			out = append(out, l)
		}
	}
	return out
}

func killNode(t *testing.T, n *node) {
	t.Helper()
	n.signal(syscall.SIGKILL)
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
		t.Fatal("daemon did not die on SIGKILL")
	}
}

// transitions counts the logged transitions of a node's current process.
func transitions(n *node) []string {
	var out []string
	for _, l := range strings.Split(n.log(), "\n") {
		if strings.Contains(l, `"msg":"transition"`) {
			out = append(out, l)
		}
	}
	return out
}

// TestDaemonCrashRestart: the Master's daemon is killed (-9) and started
// again over the pins it left. Back within the backup's Master_Down_Interval
// it adopts: still Master, the VIP never deleted, no transition on the
// backup. Back later, it starts clean and the pair converges as the RFC says
// (the backup took over; the higher priority preempts it back).
func TestDaemonCrashRestart(t *testing.T) {
	p := newRestartPair(t, "dmr", 12, restartConfig, nil)
	master, backup, mon := p.master, p.backup, p.mon
	startNode(t, master)
	startNode(t, backup)
	waitRoles := func(what string, m *node) { t.Helper(); p.waitRoles(t, what, m) }
	waitRoles("lb-5 MASTER, lb-6 BACKUP", master)
	backupTrans := len(transitions(backup))

	// kill -9 and straight back.
	killNode(t, master)
	again := master.again()
	startNode(t, again)
	testutil.WaitFor(t, 20*time.Second, "the restarted lb-5 adopts", func() (bool, string) {
		l := again.logs.String()
		return strings.Contains(l, `"msg":"instance adopted"`) || strings.Contains(l, "instance starts clean"), l
	})
	if !strings.Contains(again.logs.String(), `"msg":"instance adopted"`) {
		t.Fatalf("restart within Master_Down_Interval did not adopt:\n%s", again.logs.String())
	}
	waitRoles("lb-5 still MASTER", again)
	// Two more adverts' worth: a late takeover by lb-6 would show by now.
	time.Sleep(4 * time.Second)
	if got := transitions(backup); len(got) != backupTrans {
		t.Errorf("lb-6 made transitions during lb-5's restart:\n%s", strings.Join(got[backupTrans:], "\n"))
	}
	if d := mon.deleted("198.18.12.3"); len(d) > 0 {
		t.Errorf("the VIP left lb-5 during the restart:\n%s", strings.Join(d, "\n"))
	}
	for _, l := range transitions(again) {
		if !strings.Contains(l, `"reason":"adopted"`) {
			t.Errorf("the restarted lb-5 made a transition other than its adoption: %s", l)
		}
	}

	// kill -9 and back only after lb-6 took over: a clean start, then the
	// RFC's preemption.
	killNode(t, again)
	testutil.WaitFor(t, 20*time.Second, "lb-6 takes over", func() (bool, string) {
		sb, err := nodeStatus(t, backup)
		return err == nil && len(sb.Instances) == 1 && sb.Instances[0].State == "MASTER", fmt.Sprintf("%+v %v", sb, err)
	})
	late := master.again()
	startNode(t, late)
	waitRoles("lb-5 preempts back", late)
	if l := late.logs.String(); !strings.Contains(l, `"msg":"instance starts clean"`) || !strings.Contains(l, "Master_Down_Interval") {
		t.Errorf("a restart after Master_Down_Interval did not start clean with the reason:\n%s", l)
	}
}

// TestDaemonLayoutChange: a build of another map layout started over the
// pins of a crashed Master cannot read them: it replaces them and starts
// clean (saying why), the backup takes over, and the pair converges as after
// any fresh start. The same build adopts (TestDaemonCrashRestart).
func TestDaemonLayoutChange(t *testing.T) {
	p := newRestartPair(t, "dml", 12, restartConfig, nil)
	master, backup := p.master, p.backup
	startNode(t, master)
	startNode(t, backup)
	p.waitRoles(t, "lb-5 MASTER, lb-6 BACKUP", master)
	backupTrans := len(transitions(backup))

	killNode(t, master)
	other := master.again(fmt.Sprintf("%s=%d", envLayout, loader.LayoutVersion+1))
	startNode(t, other)
	testutil.WaitFor(t, 20*time.Second, "the other build starts clean", func() (bool, string) {
		l := other.logs.String()
		return strings.Contains(l, `"msg":"instance starts clean"`) && strings.Contains(l, "layout version"), l
	})
	if strings.Contains(other.logs.String(), `"msg":"instance adopted"`) {
		t.Fatalf("a build of another layout adopted the pins:\n%s", other.logs.String())
	}
	p.waitRoles(t, "lb-5 MASTER again", other)
	if got := transitions(backup); len(got) <= backupTrans {
		t.Errorf("lb-6 made no transition although lb-5 started clean (the VIP must have moved): %v", got)
	}
}

// postHold asks n's daemon to treat its next stop as a restart, as the unit's
// ExecStop (`ebpfvrrp hold`) does.
func postHold(t *testing.T, n *node) {
	t.Helper()
	if held, why := NewClient(DefaultControlSocket(n.pin)).Hold(context.Background(), n.pin); !held {
		t.Fatalf("hold: %s", why)
	}
}

// TestDaemonHoldRestart is systemctl restart as the unit does it: ExecStop's
// hold, SIGTERM, a new start. The stop sends no priority 0 and leaves the VIP
// and the pins; the new daemon adopts; the backup makes no transition.
func TestDaemonHoldRestart(t *testing.T) {
	p := newRestartPair(t, "dmh", 12, restartConfig, nil)
	master, backup, mon := p.master, p.backup, p.mon
	startNode(t, master)
	startNode(t, backup)
	p.waitRoles(t, "lb-5 MASTER, lb-6 BACKUP", master)
	before6 := len(transitions(backup))

	postHold(t, master)
	master.signal(syscall.SIGTERM)
	select {
	case <-master.done:
	case <-time.After(10 * time.Second):
		t.Fatal("lb-5 did not stop")
	}
	if l := master.logs.String(); !strings.Contains(l, "stopping for a restart (hold)") || strings.Contains(l, `"reason":"shutdown"`) {
		t.Errorf("the held stop shut the instance down:\n%s", l)
	}
	if !hasVIP(t, master, "198.18.12.3") {
		t.Error("the held stop removed the VIP")
	}
	if _, err := os.Stat(master.pin); err != nil {
		t.Errorf("the held stop removed the pins: %v", err)
	}
	again := master.again()
	startNode(t, again)
	testutil.WaitFor(t, 20*time.Second, "the restarted lb-5 adopts as MASTER", func() (bool, string) {
		st, err := nodeStatus(t, again)
		return err == nil && len(st.Instances) == 1 && st.Instances[0].State == "MASTER" &&
			strings.Contains(again.logs.String(), `"msg":"instance adopted"`), again.logs.String()
	})
	time.Sleep(4 * time.Second)
	if got := transitions(backup); len(got) != before6 {
		t.Errorf("lb-6 made transitions during the restart:\n%s", strings.Join(got[before6:], "\n"))
	}
	if d := mon.deleted("198.18.12.3"); len(d) > 0 {
		t.Errorf("the VIP left lb-5 during the restart:\n%s", strings.Join(d, "\n"))
	}
}
