package control

import (
	"context"
	"sync/atomic"
	"testing"
)

// TestRunnerHeartbeat: the heartbeat comes from the advert tick, at least every
// HeartbeatInterval, with and without a Master, and not after Shutdown. (That a
// stopped controller gives none is internal/daemon's TestSystemdNotify.)
func TestRunnerHeartbeat(t *testing.T) {
	var beats atomic.Int64
	every := 2 * sec
	h := newHarnessWith(t, Setup{Instances: []InstanceConfig{inst("VI_1", 50, 100, "198.18.1.100/32")}}, func(d *Deps) {
		d.Heartbeat = func() { beats.Add(1) }
		d.HeartbeatInterval = every
	})
	// The first beat is due at Start, the next ones every interval.
	h.clock.Advance(0)
	if got := beats.Load(); got != 1 {
		t.Fatalf("beats after Start = %d, want 1", got)
	}
	// Backup: no adverts, the tick runs for the heartbeat alone.
	h.clock.Advance(every)
	h.wantState(t, "VI_1", Backup)
	if got := beats.Load(); got != 2 {
		t.Fatalf("beats after one interval as Backup = %d, want 2", got)
	}
	// Master (after Master_Down_Interval): the beat rides on the advert ticks.
	h.clock.Advance(3*sec + skew100v3)
	h.wantState(t, "VI_1", Master)
	before := beats.Load()
	h.clock.Advance(4 * every)
	if got := beats.Load() - before; got < 4 || got > 5 {
		t.Errorf("beats over 4 intervals as Master = %d, want 4 or 5", got)
	}

	// Shut down: no loop, no beats.
	if err := h.r.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	stopped := beats.Load()
	h.clock.Advance(4 * every)
	if got := beats.Load(); got != stopped {
		t.Errorf("beats after Shutdown: %d -> %d, want none", stopped, got)
	}
}

func TestRunnerHeartbeatNeedsInterval(t *testing.T) {
	d := Deps{Dataplane: newFakeDataplane(), Addresses: newFakeAddresses(), Sender: &fakeSender{clock: newFakeClock()},
		Heartbeat: func() {}}
	if _, err := NewRunner(d, Setup{}); err == nil {
		t.Fatal("NewRunner with a Heartbeat and no HeartbeatInterval: no error")
	}
}
