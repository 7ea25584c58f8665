package daemon

import (
	"context"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/control"
)

// waitStartupDelay is keepalived's vrrp_startup_delay: a fresh start holds every
// instance back for the delay, while taking over Masters from an earlier run (an
// upgrade, a restart that adopts them) never waits. It reports false when ctx
// ended first: the daemon stops without starting an instance.
func (d *Daemon) waitStartupDelay(ctx context.Context, delay time.Duration, setup control.Setup) bool {
	if delay <= 0 || d.inh != nil || len(setup.Adopt) > 0 {
		return true
	}
	d.log.Info("startup delay: instances start after it", "delay", delay.String())
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
