package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/daemon"
	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

// fakeDaemon serves st on a control socket, as the daemon does.
func fakeDaemon(t *testing.T, st daemon.Status) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "ctl.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(st)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return sock
}

var testStatus = daemon.Status{Version: "test", Instances: []daemon.InstanceStatus{{
	Name: "VI_1", Interface: "eth0", VRID: 50, State: "MASTER", ConfiguredPriority: 150, EffectivePriority: 150, AdvertsSent: 7,
}}}

func TestStatusKeepsItsShape(t *testing.T) {
	sock := fakeDaemon(t, testStatus)
	out, errOut, err := runCLI(t, "status", "--control-socket", sock)
	if err != nil {
		t.Fatalf("status: %v\n%s", err, errOut)
	}
	if !strings.HasPrefix(out, "INSTANCE  IFACE  VRID  STATE ") || strings.Contains(out, clearScreen) {
		t.Errorf("status output changed shape:\n%q", out)
	}
	if !strings.Contains(out, "VI_1") || !strings.Contains(out, "MASTER") {
		t.Errorf("status lacks the instance:\n%s", out)
	}
}

// watchCLI runs status --watch until frames frames are drawn, then Ctrl-C.
func watchCLI(t *testing.T, frames int, args ...string) []string {
	t.Helper()
	out, errOut := &testutil.SyncBuffer{}, &testutil.SyncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"status", "--watch", "--interval", "10ms"}, args...),
			Env{Stdout: out, Stderr: errOut, Getenv: func(string) string { return "" }})
	}()
	testutil.WaitFor(t, 10*time.Second, "frames", func() (bool, string) {
		select {
		case err := <-done:
			t.Fatalf("status --watch returned before Ctrl-C: %v\n%s", err, errOut.String())
		default:
		}
		return strings.Count(out.String(), clearScreen) >= frames, out.String()
	})
	cancel() // what SIGINT does through main's signal.NotifyContext
	if err := <-done; err != nil {
		t.Fatalf("status --watch after Ctrl-C: %v", err)
	}
	got := strings.Split(out.String(), clearScreen)
	if got[0] != "" {
		t.Errorf("output before the first clear: %q", got[0])
	}
	return got[1:]
}

func TestStatusWatch(t *testing.T) {
	sock := fakeDaemon(t, testStatus)
	for i, f := range watchCLI(t, 3, "--control-socket", sock) {
		if !strings.HasPrefix(f, "Every 10ms: ebpfvrrp status") || !strings.Contains(f, "\nINSTANCE  IFACE") || !strings.Contains(f, "VI_1") {
			t.Errorf("frame %d:\n%s", i, f)
		}
	}
}

func TestStatusWatchWithoutDaemon(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	for i, f := range watchCLI(t, 2, "--control-socket", sock) {
		if !strings.Contains(f, "no daemon is running") {
			t.Errorf("frame %d:\n%s", i, f)
		}
	}
}

func TestStatusWatchUsage(t *testing.T) {
	for _, args := range [][]string{{"--watch", "--json"}, {"--watch", "--interval", "0s"}} {
		if _, _, err := runCLI(t, append([]string{"status"}, args...)...); !errors.Is(err, errUsage) {
			t.Errorf("status %v: %v, want a usage error", args, err)
		}
	}
}
