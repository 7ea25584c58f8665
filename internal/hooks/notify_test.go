package hooks

import (
	"context"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/control"
	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

// recorder writes a script that appends "<tag> <args>" to out.
func recorder(t *testing.T, dir, tag string) []string {
	t.Helper()
	p := filepath.Join(dir, tag+".sh")
	body := "#!/bin/sh\necho \"" + tag + " $*\" >> " + filepath.Join(dir, "out") + "\n"
	if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return []string{p}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// TestExecNotifierArguments checks the calls keepalived makes
// (keepalived/vrrp/vrrp_notify.c, notify_script_exec): the state's own script
// without arguments, the generic one with "GROUP|INSTANCE NAME STATE PRIO", PRIO
// 0 for a group. SPLIT_BRAIN is ebpfvrrp's: the generic script receives it, and
// SPLIT_BRAIN_END, only when the operator opts in.
func TestExecNotifierArguments(t *testing.T) {
	peer := netip.MustParseAddr("198.18.0.6")
	for _, tc := range []struct {
		name             string
		splitBrainNotify bool
		want             []string
	}{
		{"keepalived's states only", false, []string{
			"master", "generic INSTANCE VI_1 MASTER 100",
			"backup", "generic INSTANCE VI_1 BACKUP 90",
			"sb INSTANCE VI_1 SPLIT_BRAIN 90 198.18.0.6 200",
			"stop", "generic INSTANCE VI_1 STOP 90",
			"fault", "generic GROUP G FAULT 0",
		}},
		{"split brain opted in", true, []string{
			"master", "generic INSTANCE VI_1 MASTER 100",
			"backup", "generic INSTANCE VI_1 BACKUP 90",
			"generic INSTANCE VI_1 SPLIT_BRAIN 90", "sb INSTANCE VI_1 SPLIT_BRAIN 90 198.18.0.6 200",
			"generic INSTANCE VI_1 SPLIT_BRAIN_END 90",
			"stop", "generic INSTANCE VI_1 STOP 90",
			"fault", "generic GROUP G FAULT 0",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			hooks := control.NotifyConfig{
				Master: recorder(t, dir, "master"), Backup: recorder(t, dir, "backup"),
				Fault: recorder(t, dir, "fault"), Stop: recorder(t, dir, "stop"),
				Generic: recorder(t, dir, "generic"), SplitBrain: recorder(t, dir, "sb"),
				SplitBrainNotify: tc.splitBrainNotify,
			}
			n := NewExecNotifier(slog.New(slog.DiscardHandler))
			for _, nt := range []control.Notification{
				{Type: "INSTANCE", Name: "VI_1", State: control.HookMaster, Priority: 100},
				{Type: "INSTANCE", Name: "VI_1", State: control.HookBackup, Priority: 90},
				{Type: "INSTANCE", Name: "VI_1", State: control.HookSplitBrain, Priority: 90, Peer: peer, PeerPriority: 200},
				{Type: "INSTANCE", Name: "VI_1", State: control.HookSplitBrainEnd, Priority: 90},
				{Type: "INSTANCE", Name: "VI_1", State: control.HookStop, Priority: 90},
				{Type: "GROUP", Name: "G", State: control.HookFault},
			} {
				nt.Hooks = hooks
				n.Notify(nt)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			if err := n.Wait(ctx); err != nil {
				t.Fatal(err)
			}
			// Hooks run concurrently, as keepalived forks them: the set is what counts.
			got := readLines(t, filepath.Join(dir, "out"))
			for i := range got {
				got[i] = strings.TrimSpace(got[i])
			}
			want := slices.Clone(tc.want)
			slices.Sort(got)
			slices.Sort(want)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("hook calls (-want +got):\n-%q\n+%q", want, got)
			}
		})
	}
}

func TestExecNotifierTimeoutKillsHook(t *testing.T) {
	logs := &testutil.SyncBuffer{}
	n := NewExecNotifier(slog.New(slog.NewTextHandler(logs, nil)))
	n.Notify(control.Notification{Type: "INSTANCE", Name: "VI_1", State: control.HookMaster,
		Hooks: control.NotifyConfig{Master: []string{"sleep", "300"}, Timeout: 50 * time.Millisecond}})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := n.Wait(ctx); err != nil {
		t.Fatalf("hook not killed at its timeout: %v", err)
	}
	if len(logs.Lines("notify hook failed")) != 1 {
		t.Errorf("no log line for the killed hook")
	}
}

// TestSlowHookNeverDelaysTransitions: while a master hook blocks until released,
// Notify still returns at once (the Runner calls it mid-transition), the backup
// hook after it runs at once too (keepalived forks every hook without waiting),
// and with no timeout configured the blocked hook is never killed: it runs to its
// end once released, as keepalived's notify scripts do.
func TestSlowHookNeverDelaysTransitions(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "release")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	started := filepath.Join(dir, "started")
	slow := []string{"sh", "-c", "touch " + started + "; cat " + fifo + " >/dev/null; echo master-done >> " + filepath.Join(dir, "out")}
	hooks := control.NotifyConfig{Master: slow, Backup: recorder(t, dir, "backup")}
	notifier := NewExecNotifier(slog.New(slog.DiscardHandler))
	t.Cleanup(func() {
		// Release the hook if the test failed before doing so, then wait for it.
		f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err == nil {
			f.Close()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = notifier.Wait(ctx)
	})
	notifier.Notify(control.Notification{Type: "INSTANCE", Name: "VI_1", State: control.HookMaster, Priority: 255, Hooks: hooks})
	testutil.Eventually(t, 10*time.Second, "the master hook to start", func() bool { _, err := os.Stat(started); return err == nil })
	// While it blocks, the instance steps down: that notification must not wait.
	done := make(chan struct{})
	go func() {
		notifier.Notify(control.Notification{Type: "INSTANCE", Name: "VI_1", State: control.HookBackup, Priority: 255, Hooks: hooks})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Notify blocked behind a running hook")
	}
	testutil.Eventually(t, 10*time.Second, "the backup hook, while the master hook still runs", func() bool {
		return slices.Equal(readLines(t, filepath.Join(dir, "out")), []string{"backup"})
	})
	// Still running, not killed: Wait does not return.
	short, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if err := notifier.Wait(short); err == nil {
		t.Fatal("the master hook ended before it was released")
	}
	f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	testutil.Eventually(t, 10*time.Second, "the master hook to run to its end", func() bool {
		return slices.Contains(readLines(t, filepath.Join(dir, "out")), "master-done")
	})
}

// TestNotifyRunsAsUser: notify hooks and a notify FIFO's script run as the
// configured "USER[:GROUP]" (keepalived's script_user / SCRIPT USER GROUP).
func TestNotifyRunsAsUser(t *testing.T) {
	testutil.Privileged(t)
	// Not t.TempDir: its parent is root's 0700, which nobody cannot enter.
	dir, err := os.MkdirTemp("", "ebpfvrrp-hooks-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	n := NewExecNotifier(slog.New(slog.DiscardHandler))
	hookOut := filepath.Join(dir, "hook")
	n.Notify(control.Notification{Type: "INSTANCE", Name: "VI_1", State: control.HookMaster, Priority: 100,
		Hooks: control.NotifyConfig{Master: []string{`echo "$(id -u) $(id -G)" > ` + hookOut}, Shell: true, User: "nobody:nogroup"}})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := n.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if got := readLines(t, hookOut); !slices.Equal(got, []string{"65534 65534"}) {
		t.Errorf("notify hook ran as %q, want uid 65534 with only group 65534", got)
	}

	fifoOut := filepath.Join(dir, "fifo-script")
	f, err := OpenFIFO(FIFOConfig{Path: filepath.Join(dir, "fifo"), RunAs: "nobody",
		Script: []string{"sh", "-c", `id -u > ` + fifoOut}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "the FIFO script as nobody", func() (bool, string) {
		got := readLines(t, fifoOut)
		return slices.Equal(got, []string{"65534"}), strings.Join(got, ",")
	})
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
