package daemon

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

const upgradeConfig = `router_id: %s
instances:
  - name: VI_1
    interface: eth0
    vrid: 53
    priority: %d
    version: 3
    advert_interval: 100ms
    vips: [198.18.13.3/32]
`

// postUpgrade asks n's control socket for an upgrade, as `ebpfvrrp upgrade`.
func postUpgrade(t *testing.T, n *node) UpgradeResult {
	t.Helper()
	res, err := NewClient(DefaultControlSocket(n.pin)).Upgrade(context.Background())
	if err != nil {
		t.Fatalf("POST /upgrade: %v", err)
	}
	return res
}

// asNobody sends POST /upgrade to sock as uid/gid 65534 and returns what
// happened ("connect: …" or the status line).
func asNobody(t *testing.T, sock string) string {
	t.Helper()
	// The system's python: one under root's home is not for uid 65534.
	const python = "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("the client run as uid 65534 needs %s: %v", python, err)
	}
	script := `import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("connect:", e.strerror); sys.exit(0)
s.sendall(b"POST /upgrade HTTP/1.0\r\nHost: x\r\n\r\n")
print(s.recv(200).decode().splitlines()[0])`
	cmd := exec.Command(python, "-c", script, sock)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("client as uid 65534: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestDaemonUpgrade replaces the Master's daemon by re-executing it, at a
// 100 ms advert interval: a new binary that cannot adopt (another layout) is
// refused and the old one goes on; SIGUSR2 and POST /upgrade hand over with
// no transition on either host and the VIP never deleted; another user may
// not ask for an upgrade.
func TestDaemonUpgrade(t *testing.T) {
	dir := t.TempDir()
	failFlag := filepath.Join(dir, "fail-upgrade")
	p := newRestartPair(t, "dmu", 13, upgradeConfig, func(n *node) {
		n.logFile = filepath.Join(dir, filepath.Base(n.cfg)+".log")
		n.env = []string{envFailUpgrade + "=" + failFlag}
	})
	master, backup, mon := p.master, p.backup, p.mon
	startNode(t, master)
	// The processes an upgrade starts are in the first one's process group.
	pgid := master.cmd.Process.Pid
	t.Cleanup(func() {
		syscall.Kill(-pgid, syscall.SIGTERM)
		for i := 0; i < 100 && syscall.Kill(-pgid, 0) == nil; i++ {
			time.Sleep(50 * time.Millisecond)
		}
		syscall.Kill(-pgid, syscall.SIGKILL)
		if t.Failed() {
			t.Logf("lb-5 log:\n%s", master.log())
		}
	})
	startNode(t, backup)
	roles := func(what string) { t.Helper(); p.waitRoles(t, what, master) }
	roles("lb-5 MASTER, lb-6 BACKUP")
	before5, before6 := len(transitions(master)), len(transitions(backup))

	// A new binary of another layout: refused, the old one goes on.
	if err := os.WriteFile(failFlag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if res := postUpgrade(t, master); res.OK || !strings.Contains(res.Error, "layout") {
		t.Fatalf("upgrade to a binary of another layout = %+v; want refused, saying why", res)
	}
	os.Remove(failFlag)
	select {
	case <-master.done:
		t.Fatal("the old daemon exited after a failed upgrade")
	case <-time.After(500 * time.Millisecond):
	}
	roles("lb-5 still MASTER after the failed upgrade")

	// SIGUSR2: the old process exits once the new one took over.
	master.signal(syscall.SIGUSR2)
	select {
	case <-master.done:
		if master.err != nil {
			t.Fatalf("old daemon exit: %v", master.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the old daemon did not exit after SIGUSR2")
	}
	roles("lb-5 MASTER after SIGUSR2")

	// POST /upgrade (ebpfvrrp upgrade), answered by the process SIGUSR2 started.
	if res := postUpgrade(t, master); !res.OK || res.PID == 0 {
		t.Fatalf("POST /upgrade = %+v; want ok with the new pid", res)
	}
	// From the answer on, every connection is the new process's: the old one,
	// still exiting, stopped accepting on the socket it handed over.
	for i := 0; i < 50; i++ {
		if _, err := nodeStatus(t, master); err != nil {
			t.Errorf("status %d right after the upgrade: %v", i, err)
			break
		}
	}
	roles("lb-5 MASTER after POST /upgrade")
	time.Sleep(time.Second) // ten adverts' worth: a late takeover would show

	if got := transitions(backup); len(got) != before6 {
		t.Errorf("lb-6 made transitions during the upgrades:\n%s", strings.Join(got[before6:], "\n"))
	}
	for _, l := range transitions(master)[before5:] {
		if !strings.Contains(l, `"reason":"adopted"`) {
			t.Errorf("lb-5 made a transition other than adoptions: %s", l)
		}
	}
	if d := mon.deleted("198.18.13.3"); len(d) > 0 {
		t.Errorf("the VIP left lb-5 during the upgrades:\n%s", strings.Join(d, "\n"))
	}
	if l := master.log(); strings.Count(l, "upgrade: took over from the previous process") != 2 || strings.Contains(l, `"priority":0`) {
		t.Errorf("want two takeovers and no priority 0 in lb-5's log:\n%s", l)
	}

	// Another user: refused by the socket's mode, and, with the mode opened
	// up, by the daemon's peer-credential check.
	sock := DefaultControlSocket(master.pin)
	if got := asNobody(t, sock); !strings.HasPrefix(got, "connect:") {
		t.Errorf("uid 65534 through the socket's mode: %q; want the connect refused", got)
	}
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != controlSocketMode {
		t.Errorf("control socket mode = %v, %v; want %o", fi.Mode().Perm(), err, controlSocketMode)
	}
	os.Chmod(filepath.Dir(sock), 0o755)
	os.Chmod(sock, 0o666)
	if got := asNobody(t, sock); !strings.Contains(got, "403") {
		t.Errorf("uid 65534 with the socket open to all: %q; want 403 Forbidden", got)
	}
	roles("lb-5 still MASTER after the refused request")

	// A restart onto a binary that must verify its programs first would
	// outlast the peers' 361 ms: the daemon declines to hold.
	if resp, err := controlHTTP(sock, 5*time.Second).Post("http://ebpfvrrp/hold?programs=new", "", nil); err != nil || resp.StatusCode != http.StatusConflict {
		t.Errorf("POST /hold?programs=new at 100 ms adverts = %v, %v; want 409", resp, err)
	} else {
		resp.Body.Close()
	}

	// A clean stop of the upgraded daemon removes the socket it inherited.
	syscall.Kill(-pgid, syscall.SIGTERM)
	testutil.Eventually(t, 15*time.Second, "the control socket removed by the clean stop", func() bool {
		_, err := os.Stat(sock)
		return os.IsNotExist(err)
	})
}
