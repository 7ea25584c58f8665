package hooks

import (
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/control"
	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

// TestFIFOLines: the lines and the pipe's life as keepalived's notify_fifo
// (keepalived/vrrp/vrrp_notify.c notify_fifo: `TYPE "NAME" STATE PRIO`, PRIO 0
// for a group; lib/notify.c fifo_open: mkfifo 0644 unless it exists, the script
// started with the pipe's path before the pipe is opened; fifo_close: removed if
// created).
func TestFIFOLines(t *testing.T) {
	dir := t.TempDir()
	path, out := filepath.Join(dir, "notify.fifo"), filepath.Join(dir, "out")
	ready := filepath.Join(dir, "ready")
	// The script says when it has the pipe open: lines written and the pipe
	// closed before a reader opened it would be gone.
	script := []string{"sh", "-c", `exec 3<"$0"; touch ` + ready + `; exec cat <&3 > ` + out}
	f, err := OpenFIFO(FIFOConfig{Path: path, Script: script}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	testutil.Eventually(t, 10*time.Second, "the fifo script to open the pipe", func() bool { _, err := os.Stat(ready); return err == nil })
	st, err := os.Lstat(path)
	if err != nil || st.Mode()&fs.ModeNamedPipe == 0 {
		t.Fatalf("no FIFO at %s: %v %v", path, st, err)
	}
	for _, n := range []control.Notification{
		{Type: "INSTANCE", Name: "VI_1", State: control.HookBackup, Priority: 100},
		{Type: "INSTANCE", Name: "VI_1", State: control.HookMaster, Priority: 160},
		{Type: "INSTANCE", Name: "VI_1", State: control.HookSplitBrain, Priority: 160},
		{Type: "GROUP", Name: "G1", State: control.HookMaster, Priority: 160},
		{Type: "INSTANCE", Name: "VI_1", State: control.HookFault, Priority: 100},
		{Type: "INSTANCE", Name: "VI_1", State: control.HookStop, Priority: 100},
		{Type: "GROUP", Name: "G1", State: control.HookStop},
	} {
		f.Notify(n)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	want := `INSTANCE "VI_1" BACKUP 100
INSTANCE "VI_1" MASTER 160
GROUP "G1" MASTER 0
INSTANCE "VI_1" FAULT 100
INSTANCE "VI_1" STOP 100
GROUP "G1" STOP 0
`
	// The script reads to the end of the pipe (its only writer closed it) and exits.
	testutil.WaitFor(t, 10*time.Second, "the fifo script's lines", func() (bool, string) {
		b, _ := os.ReadFile(out)
		return string(b) == want, string(b)
	})
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("the FIFO it created is still there after Close: %v", err)
	}
}

func TestFIFOExistingPath(t *testing.T) {
	dir := t.TempDir()
	t.Run("a FIFO is kept", func(t *testing.T) {
		p := filepath.Join(dir, "fifo")
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := OpenFIFO(FIFOConfig{Path: p}, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Nobody reads: the line fits in the pipe's buffer, and Notify never blocks.
		f.Notify(control.Notification{Type: "INSTANCE", Name: "VI_1", State: control.HookMaster, Priority: 1})
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("a FIFO it did not create was removed: %v", err)
		}
	})
	t.Run("a regular file is refused", func(t *testing.T) {
		p := filepath.Join(dir, "file")
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if f, err := OpenFIFO(FIFOConfig{Path: p}, nil); err == nil || !strings.Contains(err.Error(), "not a FIFO") {
			if f != nil {
				f.Close()
			}
			t.Fatalf("OpenFIFO on a regular file: %v, want a \"not a FIFO\" error", err)
		}
	})
}

// TestFIFONeverBlocks: with nobody reading, lines beyond the pipe's buffer are
// dropped rather than blocking the daemon (keepalived's fd is O_NONBLOCK too).
func TestFIFONeverBlocks(t *testing.T) {
	f, err := OpenFIFO(FIFOConfig{Path: filepath.Join(t.TempDir(), "fifo")}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	done := make(chan struct{})
	go func() {
		for range 20000 { // ~30 bytes each: several times a 64 KiB pipe
			f.Notify(control.Notification{Type: "INSTANCE", Name: "VI_1", State: control.HookMaster, Priority: 100})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Notify blocked on a full FIFO")
	}
}
