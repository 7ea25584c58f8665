package control

import (
	"context"
	"net"
	"net/netip"
	"time"
)

// Test-only API of the Runner.

// Run starts the Runner, feeds it kernel events until ctx ends or events is closed,
// then shuts it down (priority-0 adverts, VIPs removed).
func (r *Runner) Run(ctx context.Context, events <-chan KernelEvent) error {
	if err := r.Start(); err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = r.Shutdown(sctx)
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			r.HandleKernelEvent(ev)
		}
	}
}

// ReportVIPConflict is ReportVIPProbe with a single conflicting answer.
func (r *Runner) ReportVIPConflict(instName string, vip netip.Addr, peerHW net.HardwareAddr) {
	r.ReportVIPProbe(instName, []VIPConflict{{VIP: vip, HW: peerHW}})
}
