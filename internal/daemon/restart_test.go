package daemon

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
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
    advert_interval: 1s
    vips: [198.18.12.3/32]
`

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
	testutil.Privileged(t)
	testutil.Require(t, "ip", "nsenter")
	a, b := testutil.NewNetns(t, "dmra"), testutil.NewNetns(t, "dmrb")
	pairLinks(t, "veth", a, b, netip.MustParsePrefix("198.18.12.5/24"), netip.MustParsePrefix("198.18.12.6/24"))
	dir := t.TempDir()
	mk := func(ns *testutil.Netns, name string, prio int) *node {
		cfg := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(cfg, []byte(fmt.Sprintf(restartConfig, name, prio)), 0o644); err != nil {
			t.Fatal(err)
		}
		return &node{ns: ns, cfg: cfg, pin: "/sys/fs/bpf/" + testutil.UniqueName("dmrt"), hostBPFFS: true}
	}
	master, backup := mk(a, "lb-5", 150), mk(b, "lb-6", 100)
	mon := monitorAddresses(t, a)
	startNode(t, master)
	startNode(t, backup)
	waitRoles := func(what string, m *node) {
		t.Helper()
		testutil.WaitFor(t, 20*time.Second, what, func() (bool, string) {
			sm, err1 := nodeStatus(t, m)
			sb, err2 := nodeStatus(t, backup)
			if err1 != nil || err2 != nil {
				return false, fmt.Sprint(err1, err2)
			}
			ok := len(sm.Instances) == 1 && sm.Instances[0].State == "MASTER" &&
				len(sb.Instances) == 1 && sb.Instances[0].State == "BACKUP" && sb.Instances[0].Master == "198.18.12.5"
			return ok, fmt.Sprintf("%+v / %+v", sm.Instances, sb.Instances)
		})
	}
	waitRoles("lb-5 MASTER, lb-6 BACKUP", master)
	backupTrans := len(transitions(backup))

	// kill -9 and straight back.
	killNode(t, master)
	again := &node{ns: master.ns, cfg: master.cfg, pin: master.pin, hostBPFFS: true}
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
	time.Sleep(2 * time.Second)
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
	late := &node{ns: master.ns, cfg: master.cfg, pin: master.pin, hostBPFFS: true}
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
	testutil.Privileged(t)
	testutil.Require(t, "ip", "nsenter")
	a, b := testutil.NewNetns(t, "dmla"), testutil.NewNetns(t, "dmlb")
	pairLinks(t, "veth", a, b, netip.MustParsePrefix("198.18.12.5/24"), netip.MustParsePrefix("198.18.12.6/24"))
	dir := t.TempDir()
	mk := func(ns *testutil.Netns, name string, prio int) *node {
		cfg := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(cfg, []byte(fmt.Sprintf(restartConfig, name, prio)), 0o644); err != nil {
			t.Fatal(err)
		}
		return &node{ns: ns, cfg: cfg, pin: "/sys/fs/bpf/" + testutil.UniqueName("dmlt"), hostBPFFS: true}
	}
	master, backup := mk(a, "lb-5", 150), mk(b, "lb-6", 100)
	startNode(t, master)
	startNode(t, backup)
	roles := func(m, bk *node, mState, bState string) func() (bool, string) {
		return func() (bool, string) {
			sm, err1 := nodeStatus(t, m)
			sb, err2 := nodeStatus(t, bk)
			if err1 != nil || err2 != nil {
				return false, fmt.Sprint(err1, err2)
			}
			return len(sm.Instances) == 1 && sm.Instances[0].State == mState &&
				len(sb.Instances) == 1 && sb.Instances[0].State == bState, fmt.Sprintf("%+v / %+v", sm.Instances, sb.Instances)
		}
	}
	testutil.WaitFor(t, 20*time.Second, "lb-5 MASTER, lb-6 BACKUP", roles(master, backup, "MASTER", "BACKUP"))
	backupTrans := len(transitions(backup))

	killNode(t, master)
	other := &node{ns: master.ns, cfg: master.cfg, pin: master.pin, hostBPFFS: true,
		env: []string{fmt.Sprintf("%s=%d", envLayout, loader.LayoutVersion+1)}}
	startNode(t, other)
	testutil.WaitFor(t, 20*time.Second, "the other build starts clean", func() (bool, string) {
		l := other.logs.String()
		return strings.Contains(l, `"msg":"instance starts clean"`) && strings.Contains(l, "layout version"), l
	})
	if strings.Contains(other.logs.String(), `"msg":"instance adopted"`) {
		t.Fatalf("a build of another layout adopted the pins:\n%s", other.logs.String())
	}
	testutil.WaitFor(t, 20*time.Second, "lb-5 MASTER again", roles(other, backup, "MASTER", "BACKUP"))
	if got := transitions(backup); len(got) <= backupTrans {
		t.Errorf("lb-6 made no transition although lb-5 started clean (the VIP must have moved): %v", got)
	}
}

// postHold asks n's daemon to treat its next stop as a restart.
func postHold(t *testing.T, n *node) {
	t.Helper()
	sock := DefaultControlSocket(n.pin)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	resp, err := c.Post("http://ebpfvrrp/hold", "", nil)
	if err != nil {
		t.Fatalf("POST /hold: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /hold: %s", resp.Status)
	}
}

// TestDaemonHoldRestart is systemctl restart as the unit does it: ExecStop's
// hold, SIGTERM, a new start. The stop sends no priority 0 and leaves the VIP
// and the pins; the new daemon adopts; the backup makes no transition.
func TestDaemonHoldRestart(t *testing.T) {
	testutil.Privileged(t)
	testutil.Require(t, "ip", "nsenter")
	a, b := testutil.NewNetns(t, "dmha"), testutil.NewNetns(t, "dmhb")
	pairLinks(t, "veth", a, b, netip.MustParsePrefix("198.18.12.5/24"), netip.MustParsePrefix("198.18.12.6/24"))
	dir := t.TempDir()
	mk := func(ns *testutil.Netns, name string, prio int) *node {
		cfg := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(cfg, []byte(fmt.Sprintf(restartConfig, name, prio)), 0o644); err != nil {
			t.Fatal(err)
		}
		return &node{ns: ns, cfg: cfg, pin: "/sys/fs/bpf/" + testutil.UniqueName("dmht"), hostBPFFS: true}
	}
	master, backup := mk(a, "lb-5", 150), mk(b, "lb-6", 100)
	mon := monitorAddresses(t, a)
	startNode(t, master)
	startNode(t, backup)
	testutil.WaitFor(t, 20*time.Second, "lb-5 MASTER, lb-6 BACKUP", func() (bool, string) {
		sm, err1 := nodeStatus(t, master)
		sb, err2 := nodeStatus(t, backup)
		if err1 != nil || err2 != nil {
			return false, fmt.Sprint(err1, err2)
		}
		return len(sm.Instances) == 1 && sm.Instances[0].State == "MASTER" &&
			len(sb.Instances) == 1 && sb.Instances[0].State == "BACKUP" && sb.Instances[0].Master == "198.18.12.5", ""
	})
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
	again := &node{ns: master.ns, cfg: master.cfg, pin: master.pin, hostBPFFS: true}
	startNode(t, again)
	testutil.WaitFor(t, 20*time.Second, "the restarted lb-5 adopts as MASTER", func() (bool, string) {
		st, err := nodeStatus(t, again)
		return err == nil && len(st.Instances) == 1 && st.Instances[0].State == "MASTER" &&
			strings.Contains(again.logs.String(), `"msg":"instance adopted"`), again.logs.String()
	})
	time.Sleep(2 * time.Second)
	if got := transitions(backup); len(got) != before6 {
		t.Errorf("lb-6 made transitions during the restart:\n%s", strings.Join(got[before6:], "\n"))
	}
	if d := mon.deleted("198.18.12.3"); len(d) > 0 {
		t.Errorf("the VIP left lb-5 during the restart:\n%s", strings.Join(d, "\n"))
	}
}
