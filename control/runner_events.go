package control

import (
	"context"
	"net/netip"
	"time"
)

// KernelEventKind says what the dataplane saw. Values are the kernel's (enum
// vrrp_event_type), so the daemon hands a ring-buffer event on without a switch.
type KernelEventKind uint8

const (
	EventMasterDown KernelEventKind = iota + 1
	EventNewMaster
	EventPrioChange
	EventPrioZero
	EventPreempt
	EventBothMasters
)

// KernelEvent is one ring-buffer event, copied by internal/daemon from the loader's
// type as the reader delivers it.
type KernelEvent struct {
	Key      InstanceKey
	Kind     KernelEventKind
	Addr     netip.Addr
	Priority uint8
	Interval time.Duration
}

// HandleKernelEvent feeds one dataplane event to the instance it belongs to.
func (r *Runner) HandleKernelEvent(ev KernelEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	now := r.d.Clock.Now()
	if inst := r.byKey[ev.Key]; inst != nil {
		var e Event
		switch ev.Kind {
		case EventMasterDown:
			e = KernelMasterDown{SecondaryAlive: r.secondaryAlive(inst)}
		case EventNewMaster:
			e = KernelNewMaster{Addr: ev.Addr, Prio: ev.Priority, Interval: ev.Interval}
		case EventPrioChange:
			e = KernelPrioChange{Addr: ev.Addr, Prio: ev.Priority}
		case EventPrioZero:
			e = KernelPrioZero{Addr: ev.Addr}
		case EventPreempt:
			e = KernelPreempt{Addr: ev.Addr, Prio: ev.Priority, Interval: ev.Interval}
		case EventBothMasters:
			e = KernelBothMasters{Addr: ev.Addr, Prio: ev.Priority}
		default:
			r.log.Warn("unknown kernel event", "kind", ev.Kind, "instance", inst.cfg.Name)
			return
		}
		r.dispatch(now, inst, e)
		r.flushLocked()
		return
	}
	inst := r.bySecond[ev.Key]
	if inst == nil || inst.m.Status().State != Master {
		// A Backup consults secondary paths only when the primary goes silent.
		return
	}
	if !r.pathMatches(inst, ev) {
		return
	}
	switch ev.Kind {
	case EventNewMaster, EventPrioChange, EventPreempt, EventBothMasters:
		if ev.Priority == 0 {
			return
		}
		r.dispatch(now, inst, KernelBothMasters{Addr: ev.Addr, Prio: ev.Priority, Secondary: true})
	case EventMasterDown:
		r.dispatch(now, inst, KernelMasterDown{})
	}
	r.flushLocked()
}

func (r *Runner) pathMatches(inst *instance, ev KernelEvent) bool {
	for _, p := range inst.cfg.SecondaryPaths {
		if p.Key == ev.Key && (!p.Peer.IsValid() || !ev.Addr.IsValid() || p.Peer == ev.Addr) {
			return true
		}
	}
	return false
}

// secondaryAlive: the master is heard on some secondary path within its
// Master_Down_Interval.
func (r *Runner) secondaryAlive(inst *instance) bool {
	mdi := inst.m.Status().MasterDownInterval
	for _, p := range inst.cfg.SecondaryPaths {
		var (
			age time.Duration
			ok  bool
			err error
		)
		if p.Peer.IsValid() {
			age, ok, err = r.d.Dataplane.PeerAge(p.Key, p.Peer)
		} else {
			age, ok, err = r.d.Dataplane.MasterAge(p.Key)
		}
		if err != nil {
			r.log.Warn("secondary path age", "instance", inst.cfg.Name, "path", p.Key, "err", err)
			continue
		}
		if ok && age < mdi {
			return true
		}
	}
	return false
}

func (r *Runner) fire(inst *instance, k TimerKind, gen uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || inst.removed || inst.gens[k] != gen {
		return
	}
	inst.timers[k] = nil
	now := r.d.Clock.Now()
	switch k {
	case TimerMasterDown:
		age, heard, err := r.d.Dataplane.MasterAge(inst.cfg.Key)
		if err != nil {
			// No evidence of a live master: behave as the RFC would without one.
			r.log.Warn("master age", "instance", inst.cfg.Name, "err", err)
			heard = false
		}
		ev := MasterDownTimer{Heard: heard, Age: age}
		if !heard || age >= inst.m.Status().MasterDownInterval {
			ev.SecondaryAlive = r.secondaryAlive(inst)
		}
		r.dispatch(now, inst, ev)
	case TimerPreemptDelay:
		r.dispatch(now, inst, PreemptDelayTimer{})
	}
	r.flushLocked()
}

func (r *Runner) stopTimer(inst *instance, k TimerKind) {
	inst.gens[k]++
	if inst.timers[k] != nil {
		inst.timers[k].Stop()
		inst.timers[k] = nil
	}
	if k == TimerAdvert {
		inst.advert.armed = false
	}
}

func (r *Runner) armTimer(now time.Time, inst *instance, k TimerKind, after time.Duration) {
	if k == TimerAdvert {
		if r.adv.arm(now, &inst.advert, after) {
			r.rescheduleAdverts(now)
		}
		return
	}
	r.stopTimer(inst, k)
	gen := inst.gens[k]
	inst.timers[k] = r.d.Clock.AfterFunc(after, func() { r.fire(inst, k, gen) })
}

// ReportVIPProbe feeds the result of one ownership probe round of a Master's VIPs
// (every VIP of the instance probed, conflicts = the answers from other MACs). A
// conflict is a split brain: SplitBrain is reported until a round comes back
// clean, and with split-brain action demote the loser (see SplitBrainDetected)
// returns to Backup. Every conflicting answer is counted in VIPConflicts. Results
// for an instance that is not Master (any more) are ignored.
func (r *Runner) ReportVIPProbe(instName string, conflicts []VIPConflict) {
	r.mu.Lock()
	defer r.mu.Unlock()
	inst := r.insts[instName]
	if inst == nil || r.closed || inst.m.Status().State != Master {
		return
	}
	inst.vipConflicts += uint64(len(conflicts))
	ev := VIPProbed{}
	if len(conflicts) > 0 {
		ev = VIPProbed{Conflict: true, VIP: conflicts[0].VIP, HW: conflicts[0].HW}
	}
	r.dispatch(r.d.Clock.Now(), inst, ev)
	r.flushLocked()
}

// takeoverProbeTimeout is how long a Backup listens for another host answering for
// its VIPs before taking over: one advert interval (an answer on a LAN takes well
// under a millisecond; the interval bounds what the check adds to failover), at
// least 100 ms so a loaded host still hears it, at most 500 ms.
func takeoverProbeTimeout(c *InstanceConfig) time.Duration {
	return min(max(c.AdvertInterval, 100*time.Millisecond), 500*time.Millisecond)
}

// startTakeoverProbe runs the probe a Backup asked for (ProbeVIPs) without holding
// the lock, and feeds the result back. Without a prober there is no evidence of a
// live master: the Backup takes over.
func (r *Runner) startTakeoverProbe(now time.Time, inst *instance, seq uint64) {
	if r.d.Prober == nil {
		r.dispatch(now, inst, TakeoverProbed{Seq: seq})
		return
	}
	vips := inst.cfg.allVIPs()
	timeout := takeoverProbeTimeout(&inst.cfg)
	ctx := r.probeCtx
	go func() {
		pctx, cancel := context.WithTimeout(ctx, timeout+time.Second)
		conflicts, err := r.d.Prober.ProbeVIPs(pctx, vips, timeout)
		cancel()
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.closed || inst.removed {
			return
		}
		if err != nil {
			r.log.Warn("takeover probe failed; taking over", "instance", inst.cfg.Name, "err", err)
		}
		r.dispatch(r.d.Clock.Now(), inst, TakeoverProbed{Seq: seq, Answered: err == nil && len(conflicts) > 0})
		r.flushLocked()
	}()
}
