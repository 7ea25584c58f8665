package vm

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/lab"
	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

// TestHooksSideBySide runs one keepalived.conf under keepalived and under
// ebpfvrrp on lb-5 and requires the same outcome:
//   - a notify_master that takes 8 s runs to its end (keepalived never kills
//     notify scripts);
//   - a track_file holding 10 with no weight keeps the Master at priority 160
//     (150 + 10 × keepalived's default weight 1), read from its adverts;
//   - the vrrp_notify_fifo lines (its script started with the FIFO's path) are
//     the same for the same events (start, become Master, stop) for each
//     instance and for a sync group: keepalived 2.2.7 writes GROUP "G1" BACKUP 0,
//     MASTER 0, STOP 0 and INSTANCE "VIP_1" BACKUP 160, MASTER 160, STOP 160.
func TestHooksSideBySide(t *testing.T) {
	testutil.Privileged(t)
	t.Parallel()
	lines := sideBySide(t, runHooksConf)
	if t.Failed() {
		return
	}
	ka, eb := bySubject(lines[lab.Keepalived]), bySubject(lines[lab.Ebpfvrrp])
	t.Logf("keepalived's notify FIFO lines: %q", lines[lab.Keepalived])
	for _, subject := range []string{`INSTANCE "VIP_1"`, `INSTANCE "VIP_2"`, `GROUP "G1"`} {
		if len(ka[subject]) == 0 {
			t.Errorf("keepalived wrote no %s line", subject)
		}
	}
	if len(ka) != len(eb) {
		t.Errorf("subjects differ: keepalived %q, ebpfvrrp %q", lines[lab.Keepalived], lines[lab.Ebpfvrrp])
	}
	for subject, want := range ka {
		if got := eb[subject]; strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s lines differ:\nkeepalived: %q\nebpfvrrp:   %q", subject, want, got)
		}
	}
}

// bySubject splits FIFO lines by what they are about (`INSTANCE "VIP_1"`), in
// order: two instances' lines interleave as their timers fire, so only each one's
// own sequence is comparable.
func bySubject(lines []string) map[string][]string {
	out := map[string][]string{}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) < 2 {
			out[l] = append(out[l], l)
			continue
		}
		out[f[0]+" "+f[1]] = append(out[f[0]+" "+f[1]], l)
	}
	return out
}

// runHooksConf runs the side-by-side config on lb-5 under d and returns the
// notify FIFO's lines, once d has stopped.
func runHooksConf(t *testing.T, d lab.Daemon) []string {
	l := newLab(t, pair{string(d), d, d}, lab.Options{})
	h := newHooksDir(t, l)
	masterLog := filepath.Join(h.dir, "master.log")
	master := h.write("master.sh", fmt.Sprintf("#!/bin/sh\necho start >> %s\nsleep 8\necho end >> %s\n", masterLog, masterLog), 0o755)
	conf := addToInstance(h.conf(l), fmt.Sprintf("    notify_master %s\n", master))
	// A second instance in a sync group, for the GROUP lines. Not VIP_1:
	// keepalived ignores tracker weights in sync groups (and would fault it).
	conf += fmt.Sprintf(`
vrrp_instance VIP_2 {
    state BACKUP
    interface eth0
    virtual_router_id %d
    priority 120
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass %s
    }
    virtual_ipaddress {
        198.18.0.4
    }
}

vrrp_sync_group G1 {
    group {
        VIP_2
    }
}
`, lab.TutorialVRID+1, lab.TutorialPassword)
	t.Logf("%s keepalived.conf:\n%s", d, conf)

	stop, file := startCaptureFile(t, l, lab.Switch, lab.LB5, "ip proto 112")
	if err := l.StartLB(lab.LB5, conf); err != nil {
		t.Fatal(err)
	}
	waitVIPOn(t, l, lab.LB5)
	// tcpdump prints "vrid 50, prio 160" for each advert.
	waitFrames(t, file, fmt.Sprintf("%s > 224.0.0.18: VRRPv2, Advertisement, vrid %d, prio 160,", lab.Addr4(lab.LB5), lab.TutorialVRID), 3)
	if out := readPcap(t, stop()); strings.Contains(out, "prio 0,") || !strings.Contains(out, "prio 160,") {
		t.Errorf("adverts not all at priority 160:\n%s", tail(out, 20))
	}
	testutil.WaitFor(t, 30*time.Second, "notify_master to run to its end (8 s)", func() (bool, string) {
		b, _ := os.ReadFile(masterLog)
		return string(b) == "start\nend\n", string(b)
	})
	if err := l.StopLB(lab.LB5, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var got []string
	testutil.WaitFor(t, 15*time.Second, "the STOP lines (VIP_1, VIP_2, G1) in the notify FIFO", func() (bool, string) {
		b, _ := os.ReadFile(h.fifoLog)
		got = strings.Split(strings.TrimSpace(string(b)), "\n")
		return strings.Count(string(b), " STOP ") >= 3, string(b) + "\n" + tail(l.Log(lab.LB5, "lb"), 40)
	})
	return got
}

// hooksDir holds the files of a hooks lab run: the track_file (holding 10), the
// notify FIFO, its reader script and the reader's log.
type hooksDir struct {
	t                      *testing.T
	dir, tf, fifo, fifoLog string
	fifoScript             string
}

func newHooksDir(t *testing.T, l *lab.Lab) *hooksDir {
	t.Helper()
	h := &hooksDir{t: t, dir: filepath.Join(l.Dir, "hooks")}
	if err := os.MkdirAll(h.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	h.tf = h.write("tf", "10\n", 0o644)
	h.fifo, h.fifoLog = filepath.Join(h.dir, "notify.fifo"), filepath.Join(h.dir, "fifo.log")
	// The FIFO's path is the script's argument (keepalived lib/notify.c,
	// fifo_open). keepalived sends its scripts SIGTERM as it stops, maybe before
	// the reader has read the last lines: like keepalived's sample
	// (doc/samples/sample_notify_fifo.sh), the reader traps it and reads on
	// until the daemon closes the pipe.
	h.fifoScript = h.write("fifo.sh", fmt.Sprintf("#!/bin/sh\ntrap '' TERM\nexec cat \"$1\" >> %s\n", h.fifoLog), 0o755)
	return h
}

func (h *hooksDir) write(name, body string, mode os.FileMode) string {
	h.t.Helper()
	p := filepath.Join(h.dir, name)
	if err := os.WriteFile(p, []byte(body), mode); err != nil {
		h.t.Fatal(err)
	}
	return p
}

// conf is lb-5's tutorial keepalived.conf with the notify FIFO and its script,
// and the instance tracking the file (no weight: keepalived's default 1).
func (h *hooksDir) conf(l *lab.Lab) string {
	conf := l.LBConfig(lab.LB5).Keepalived()
	conf = strings.Replace(conf, "    script_user root\n",
		fmt.Sprintf("    script_user root\n    vrrp_notify_fifo %s\n    vrrp_notify_fifo_script %s\n", h.fifo, h.fifoScript), 1)
	conf = strings.Replace(conf, "\nvrrp_instance", fmt.Sprintf("\ntrack_file tf {\n    file %s\n}\n\nvrrp_instance", h.tf), 1)
	return addToInstance(conf, "    track_file {\n        tf\n    }\n")
}

func (h *hooksDir) lines() []string {
	b, _ := os.ReadFile(h.fifoLog)
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// TestSyncGroupIgnoresTrackWeights: put the instance tracking a file holding
// 10 into a sync group and keepalived 2.2 ignores the file's weight ("ignoring
// weight from tracked file tf due to SYNC group"): a non-zero value is FAULT.
// ebpfvrrp, importing the same keepalived.conf, must fault too, and write the
// same FIFO lines.
func TestSyncGroupIgnoresTrackWeights(t *testing.T) {
	testutil.Privileged(t)
	t.Parallel()
	lines := sideBySide(t, func(t *testing.T, d lab.Daemon) []string {
		l := newLab(t, pair{string(d), d, d}, lab.Options{})
		h := newHooksDir(t, l)
		conf := h.conf(l) + "\nvrrp_sync_group G1 {\n    group {\n        VIP_1\n    }\n}\n"
		if err := l.StartLB(lab.LB5, conf); err != nil {
			t.Fatal(err)
		}
		testutil.WaitFor(t, 20*time.Second, "FAULT lines for VIP_1 and G1", func() (bool, string) {
			got := strings.Join(h.lines(), "\n")
			return strings.Contains(got, `INSTANCE "VIP_1" FAULT`) && strings.Contains(got, `GROUP "G1" FAULT`), got
		})
		if holders := l.VIPHolder(); len(holders) != 0 {
			t.Errorf("VIP held by %v while faulted", holders)
		}
		return h.lines()
	})
	if t.Failed() {
		return
	}
	t.Logf("keepalived's notify FIFO lines: %q", lines[lab.Keepalived])
	ka, eb := bySubject(lines[lab.Keepalived]), bySubject(lines[lab.Ebpfvrrp])
	for subject, want := range ka {
		if got := eb[subject]; strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s lines differ:\nkeepalived: %q\nebpfvrrp:   %q", subject, want, got)
		}
	}
	if len(ka) != len(eb) {
		t.Errorf("subjects differ: keepalived %q, ebpfvrrp %q", lines[lab.Keepalived], lines[lab.Ebpfvrrp])
	}
}

// sideBySide runs run for keepalived and ebpfvrrp in parallel subtests, each
// on its own lab, and returns the lines each gave.
func sideBySide(t *testing.T, run func(t *testing.T, d lab.Daemon) []string) map[lab.Daemon][]string {
	var mu sync.Mutex
	lines := map[lab.Daemon][]string{}
	t.Run("daemons", func(t *testing.T) {
		for _, d := range []lab.Daemon{lab.Keepalived, lab.Ebpfvrrp} {
			t.Run(string(d), func(t *testing.T) {
				t.Parallel()
				got := run(t, d)
				mu.Lock()
				lines[d] = got
				mu.Unlock()
			})
		}
	})
	return lines
}
