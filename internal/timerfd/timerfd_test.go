package timerfd

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
	"golang.org/x/sys/unix"
)

func TestThreadTimer(t *testing.T) {
	tt, err := New(0)
	if err != nil {
		t.Fatal(err)
	}
	defer tt.Close()
	fired := make(chan string, 4)

	start := time.Now()
	tt.AfterFunc(20*time.Millisecond, func() { fired <- "a" })
	select {
	case got := <-fired:
		if got != "a" {
			t.Fatalf("fired %q, want a", got)
		}
		if el := time.Since(start); el < 20*time.Millisecond {
			t.Errorf("fired after %v, before its 20 ms", el)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("never fired")
	}

	// Re-arming replaces: only the newest function runs, and a stale handle
	// cannot stop it.
	old := tt.AfterFunc(time.Hour, func() { fired <- "stale" })
	tt.AfterFunc(5*time.Millisecond, func() { fired <- "b" })
	if old.Stop() {
		t.Error("Stop of a replaced arm reported success")
	}
	select {
	case got := <-fired:
		if got != "b" {
			t.Fatalf("fired %q, want b", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("re-armed timer never fired")
	}

	// Stop disarms.
	var n atomic.Int32
	h := tt.AfterFunc(5*time.Millisecond, func() { n.Add(1) })
	if !h.Stop() {
		t.Error("Stop of a pending arm reported failure")
	}
	time.Sleep(50 * time.Millisecond)
	if n.Load() != 0 {
		t.Error("stopped timer fired")
	}

	// After Close nothing fires and arming is harmless.
	tt.Close()
	tt.AfterFunc(time.Millisecond, func() { n.Add(1) })
	time.Sleep(50 * time.Millisecond)
	if n.Load() != 0 {
		t.Error("closed timer fired")
	}
}

// BenchmarkAfterFunc: re-arming the advert clock, as every tick does, allocates
// nothing.
func BenchmarkAfterFunc(b *testing.B) {
	tt, err := New(0)
	if err != nil {
		b.Fatal(err)
	}
	defer tt.Close()
	f := func() {}
	b.ReportAllocs()
	for b.Loop() {
		tt.AfterFunc(time.Hour, f).Stop()
	}
}

// TestThreadRealtime: with a real-time priority the armed function runs on a
// SCHED_RR thread at that priority (root has CAP_SYS_NICE).
func TestThreadRealtime(t *testing.T) {
	testutil.Privileged(t)
	tt, err := New(7)
	if err != nil {
		t.Fatal(err)
	}
	defer tt.Close()
	got := make(chan *unix.SchedAttr, 1)
	tt.AfterFunc(time.Millisecond, func() {
		a, err := unix.SchedGetAttr(0, 0)
		if err != nil {
			t.Error(err)
		}
		got <- a
	})
	select {
	case a := <-got:
		if a == nil || a.Policy != unix.SCHED_RR || a.Priority != 7 {
			t.Errorf("thread scheduling %+v, want SCHED_RR priority 7", a)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("never fired")
	}
	if _, err := New(100); err == nil {
		t.Error("New(100) succeeded")
	}
}
