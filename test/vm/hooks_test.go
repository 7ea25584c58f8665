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
//     the same for the same events: start, become Master, stop.
func TestHooksSideBySide(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	lines := map[lab.Daemon][]string{}
	t.Run("daemons", func(t *testing.T) {
		for _, d := range []lab.Daemon{lab.Keepalived, lab.Ebpfvrrp} {
			t.Run(string(d), func(t *testing.T) {
				t.Parallel()
				got := runHooksConf(t, d)
				mu.Lock()
				lines[d] = got
				mu.Unlock()
			})
		}
	})
	if t.Failed() {
		return
	}
	ka, eb := lines[lab.Keepalived], lines[lab.Ebpfvrrp]
	t.Logf("keepalived's notify FIFO lines: %q", ka)
	if strings.Join(ka, "\n") != strings.Join(eb, "\n") {
		t.Errorf("notify FIFO lines differ:\nkeepalived: %q\nebpfvrrp:   %q", ka, eb)
	}
}

// runHooksConf runs the side-by-side config on lb-5 under d and returns the
// notify FIFO's lines, once d has stopped.
func runHooksConf(t *testing.T, d lab.Daemon) []string {
	l := newLab(t, pair{string(d), d, d}, lab.Options{})
	dir := filepath.Join(l.Dir, "hooks")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, body string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tf := write("tf", "10\n", 0o644)
	masterLog, fifoLog := filepath.Join(dir, "master.log"), filepath.Join(dir, "fifo.log")
	master := write("master.sh", fmt.Sprintf("#!/bin/sh\necho start >> %s\nsleep 8\necho end >> %s\n", masterLog, masterLog), 0o755)
	// The FIFO's path is the script's argument (keepalived lib/notify.c,
	// fifo_open). keepalived sends its scripts SIGTERM as it stops, maybe before
	// the reader has read the last lines: like keepalived's sample
	// (doc/samples/sample_notify_fifo.sh), the reader traps it and reads on
	// until the daemon closes the pipe.
	fifoScript := write("fifo.sh", fmt.Sprintf("#!/bin/sh\ntrap '' TERM\nexec cat \"$1\" >> %s\n", fifoLog), 0o755)
	fifo := filepath.Join(dir, "notify.fifo")

	conf := l.LBConfig(lab.LB5).Keepalived()
	conf = strings.Replace(conf, "    script_user root\n",
		fmt.Sprintf("    script_user root\n    vrrp_notify_fifo %s\n    vrrp_notify_fifo_script %s\n", fifo, fifoScript), 1)
	conf = strings.Replace(conf, "\nvrrp_instance", fmt.Sprintf("\ntrack_file tf {\n    file %s\n}\n\nvrrp_instance", tf), 1)
	conf = addToInstance(conf, fmt.Sprintf("    track_file {\n        tf\n    }\n    notify_master %s\n", master))
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
	testutil.WaitFor(t, 15*time.Second, "the STOP line in the notify FIFO", func() (bool, string) {
		b, _ := os.ReadFile(fifoLog)
		got = strings.Split(strings.TrimSpace(string(b)), "\n")
		return strings.Contains(string(b), " STOP "), string(b) + "\n" + tail(l.Log(lab.LB5, "lb"), 40)
	})
	return got
}
