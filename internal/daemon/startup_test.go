package daemon

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/control"
)

// TestWaitStartupDelay: a fresh start waits (keepalived's vrrp_startup_delay) and
// gives up when stopped meanwhile; taking over an earlier run's Masters, or an
// upgrade, starts at once however long the delay.
func TestWaitStartupDelay(t *testing.T) {
	d := &Daemon{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if !d.waitStartupDelay(t.Context(), 0, control.Setup{}) {
		t.Error("no delay: did not start")
	}
	if !d.waitStartupDelay(t.Context(), time.Millisecond, control.Setup{}) {
		t.Error("short delay: did not start after it")
	}
	adopted := control.Setup{Adopt: map[string]control.State{"VI_1": control.Master}}
	if !d.waitStartupDelay(t.Context(), time.Hour, adopted) {
		t.Error("adopting Masters: did not start")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if d.waitStartupDelay(ctx, time.Hour, control.Setup{}) {
		t.Error("stopped during the delay: started anyway")
	}
	d.inh = &inherited{}
	if !d.waitStartupDelay(t.Context(), time.Hour, control.Setup{}) {
		t.Error("upgrade: did not start")
	}
}
