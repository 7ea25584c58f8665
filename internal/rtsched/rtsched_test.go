package rtsched

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
	"golang.org/x/sys/unix"
)

func TestPriorityRange(t *testing.T) {
	for _, p := range []int{-1, 100} {
		if err := Thread(p); err == nil {
			t.Errorf("Thread(%d) succeeded", p)
		}
		if err := Process(p); err == nil {
			t.Errorf("Process(%d) succeeded", p)
		}
	}
}

// policyOf is StatSched of a line that must hold the fields.
func policyOf(t *testing.T, stat string) (policy, prio int) {
	t.Helper()
	policy, prio, ok := StatSched(stat)
	if !ok {
		t.Fatalf("short stat %q", stat)
	}
	return policy, prio
}

// TestProcessAndStart: Process moves every thread, threads started later
// inherit it, and a command started with Start runs in the normal class.
func TestProcessAndStart(t *testing.T) {
	testutil.Privileged(t)
	if err := Process(7); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := Process(0); err != nil {
			t.Error(err)
		}
	})
	// Force new threads: goroutines locked to their threads, blocked at once.
	var wg sync.WaitGroup
	release := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			wg.Done()
			<-release
		}()
	}
	wg.Wait()
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc/self/task", e.Name(), "stat"))
		if err != nil {
			continue // exited
		}
		if pol, prio := policyOf(t, string(b)); pol != unix.SCHED_RR || prio != 7 {
			t.Errorf("thread %s: policy %d priority %d, want SCHED_RR 7", e.Name(), pol, prio)
		}
	}
	close(release)

	cmd := exec.Command("cat", "/proc/self/stat")
	var out strings.Builder
	cmd.Stdout = &out
	if err := Start(cmd); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if pol, prio := policyOf(t, out.String()); pol != unix.SCHED_NORMAL || prio != 0 {
		t.Errorf("child: policy %d priority %d, want the normal class", pol, prio)
	}
	// The thread Start forked from is discarded, not returned to the pool.
	testutil.Eventually(t, 10*time.Second, "no thread left in the normal class", func() bool {
		ents, _ := os.ReadDir("/proc/self/task")
		for _, e := range ents {
			if b, err := os.ReadFile(filepath.Join("/proc/self/task", e.Name(), "stat")); err == nil {
				if pol, _ := policyOf(t, string(b)); pol == unix.SCHED_NORMAL {
					return false
				}
			}
		}
		return true
	})
}
