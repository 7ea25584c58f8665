package control

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Shutdown stops every instance: Masters send a priority-0 advert (all in one batch)
// and remove their VIPs; trackers and link watches stop. The Runner cannot be
// restarted.
func (r *Runner) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	now := r.d.Clock.Now()
	names := slices.Sorted(maps.Keys(r.insts))
	// Every Master's priority-0 advert in one batch, first: the backups'
	// Skew_Time starts with it, so logging, kernel state and hooks come
	// after; then the VIPs go.
	for _, n := range names {
		if inst := r.insts[n]; inst.m.Status().State == Master {
			r.adv.queue(inst, 0)
			// A quarter interval of margin for the backup's own latency.
			r.handover = max(r.handover, min(inst.cfg.AdvertInterval, maxHandoverWait)*5/4)
		}
	}
	r.flushLocked()
	r.removals = []*instance{}
	for _, n := range names {
		r.dispatch(now, r.insts[n], Shutdown{})
	}
	r.stopGroups()
	r.flushLocked()
	for _, inst := range r.removals {
		r.removeVIPs(inst)
	}
	r.removals = nil
	trs := r.closeAndUnlock()
	done := make(chan struct{})
	go func() {
		for _, tr := range trs {
			tr.stop()
		}
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("control: shutdown: waiting for trackers: %w", ctx.Err())
	}
}

// stopGroups sends every sync group its STOP notification (notify_stop, the
// generic notify with GROUP NAME STOP 0), after the instances' own, as
// keepalived's notify_shutdown does (keepalived/vrrp/vrrp_notify.c).
func (r *Runner) stopGroups() {
	for _, n := range slices.Sorted(maps.Keys(r.groups)) {
		g := r.groups[n]
		r.notify(nil, Notification{Type: "GROUP", Name: g.cfg.Name, State: HookStop, Hooks: g.cfg.Notify})
	}
}

// Abandon stops the Runner without touching what it manages: no advert (no
// priority 0), VIPs and kernel state left as they are, no hook; timers,
// trackers and link watches stop. It is the way out of a daemon that handed
// its instances to a successor (an upgrade), which goes on from the same
// kernel state. The Runner cannot be restarted.
func (r *Runner) Abandon() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	for _, inst := range r.insts {
		// The GARP schedule only: the successor refreshes on adoption.
		r.stopAnnounce(inst)
	}
	r.adv.drop()
	for _, tr := range r.closeAndUnlock() {
		tr.stop()
	}
}

// closeAndUnlock is the tail Shutdown and Abandon share: every instance timer
// and the advert timer stop, link watches are cancelled, takeover probes in
// flight are cancelled and the Runner is closed. It releases r.mu (held on
// entry), runs the deferred cancels, and returns the trackers for the caller to
// stop outside the lock (a poller's last report may be waiting for it).
func (r *Runner) closeAndUnlock() []*trackerRun {
	for _, inst := range r.insts {
		for k := range inst.timers {
			r.stopTimer(inst, TimerKind(k))
		}
		if inst.ifaceCancel != nil {
			r.deferred = append(r.deferred, inst.ifaceCancel)
			inst.ifaceCancel = nil
		}
	}
	r.adv.stop()
	r.closed = true
	r.probeCancel()
	trs := slices.Collect(maps.Values(r.trackers))
	r.trackers = make(map[string]*trackerRun)
	deferred := r.deferred
	r.deferred = nil
	r.mu.Unlock()
	for _, f := range deferred {
		f()
	}
	return trs
}

// maxHandoverWait caps the interval HandoverWait counts (v2 intervals go up to
// 255 s, but their Skew_Time stays below a second).
const maxHandoverWait = time.Second

// HandoverWait is how long after Shutdown the caller should leave the
// dataplane and interfaces as they are: 1.25 advert intervals of the slowest
// instance that resigned as Master (a backup takes over within Skew_Time, less
// than an interval and less than a second, of the priority-0 advert), at most
// 1.25 s; 0 if none was Master. Tearing down at once would race the handover: detaching XDP
// from a NIC can reset its queues while the priority-0 advert is still in
// them, and on one kernel (namespaces, the lab) the detach holds the RTNL
// lock for tens of milliseconds, stalling the backup's VIP add behind it.
func (r *Runner) HandoverWait() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.handover
}
