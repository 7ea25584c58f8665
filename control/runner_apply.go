package control

import (
	"net/netip"
	"slices"
	"time"
)

// sendErrorLogEvery rate-limits the log line of a failing Sender (it may fail on
// every tick).
const sendErrorLogEvery = 10 * time.Second

// dispatch feeds ev to inst's machine and applies the resulting actions. Adverts are
// only queued; the caller flushes them (flushLocked) once per top-level operation.
func (r *Runner) dispatch(now time.Time, inst *instance, ev Event) {
	acts := inst.m.Handle(now, ev)
	var last *Transition
	var probes []uint64
	for _, a := range acts {
		switch a := a.(type) {
		case Transition:
			r.logTransition(now, inst, a)
			last = &a
		case SendAdvert:
			if a.Priority == 0 && r.removals != nil {
				continue // Shutdown sent it already, before dispatching
			}
			r.pending = r.appendAdverts(r.pending, inst, a.Priority)
		case AddVIPs:
			if err := r.d.Addresses.Add(inst.cfg.Name, inst.cfg.allVIPs()); err != nil {
				r.log.Error("add VIPs", "instance", inst.cfg.Name, "err", err)
			}
		case RemoveVIPs:
			r.stopAnnounce(inst)
			if r.removals != nil {
				// Shutdown: after the batch of priority-0 adverts.
				r.removals = append(r.removals, inst)
				continue
			}
			// A resigning Master's priority-0 advert goes out before its VIPs
			// go away (keepalived's order too): the backup's Skew_Time starts
			// while clients are still served here.
			r.flushLocked()
			r.removeVIPs(inst)
		case Announce:
			r.startAnnounce(inst)
		case SetKernelState:
			r.setKernelState(inst, a.State, a.Priority)
		case Notify:
			r.notify(inst, Notification{Type: "INSTANCE", Name: inst.cfg.Name, State: a.State,
				Priority: inst.m.Status().EffectivePriority, Hooks: inst.cfg.Notify})
		case ArmTimer:
			r.armTimer(now, inst, a.Kind, a.After)
		case CancelTimer:
			if a.Kind == TimerAdvert {
				inst.advertArmed = false
			} else {
				r.stopTimer(inst, a.Kind)
			}
		case SplitBrainDetected:
			r.splitBrain(inst, a)
		case PathFailureChanged:
			st := inst.m.Status()
			switch {
			case a.Active && a.VIPProbe:
				r.log.Warn("path failure: master silent on the primary path but another host still answers for the VIPs; staying backup",
					"instance", inst.cfg.Name, "master", addrString(st.Master), "master_priority", st.MasterPriority, "priority", st.EffectivePriority)
			case a.Active:
				r.log.Warn("path failure: master silent on the primary path but heard on a secondary path; staying backup",
					"instance", inst.cfg.Name, "master", addrString(st.Master), "priority", st.EffectivePriority)
			default:
				r.log.Info("path failure over", "instance", inst.cfg.Name)
			}
		case ProbeVIPs:
			probes = append(probes, a.Seq)
		case Refresh:
			r.startRefresh(inst)
		case Reannounce:
			r.log.Info("split brain over: VIPs no longer answered by another host", "instance", inst.cfg.Name)
			r.stopAnnounce(inst)
			r.startAnnounce(inst)
		}
	}
	if last != nil {
		r.propagate(now, inst, *last)
	}
	// After the other actions: without a prober the result is fed back at once.
	for _, seq := range probes {
		r.startTakeoverProbe(now, inst, seq)
	}
}

func addrString(a interface {
	IsValid() bool
	String() string
}) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func (r *Runner) logTransition(now time.Time, inst *instance, t Transition) {
	r.log.Info("transition", "instance", inst.cfg.Name, "from", t.From.String(), "to", t.To.String(),
		"reason", t.Reason.String(), "priority", t.Priority, "master", addrString(t.Master))
	inst.transitions[transKey{t.From, t.To, t.Reason}]++
	inst.lastTransition = now
	if r.d.OnTransition != nil {
		r.d.OnTransition(TransitionRecord{Instance: inst.cfg.Name, Transition: t, Time: now})
	}
}

// propagate makes the other members of inst's sync group follow a transition
// (keepalived's vrrp_sync_group): one goes FAULT or BACKUP or MASTER, all do.
// Transitions caused by the group itself, and a member's plain startup into Backup,
// do not propagate.
func (r *Runner) propagate(now time.Time, inst *instance, t Transition) {
	g := inst.group
	if g != nil && t.Reason == ReasonAdopted {
		// The group was in this state already: nobody follows, no hook.
		g.state = t.To
		return
	}
	if g == nil || t.Reason == ReasonSyncGroup || t.To == Init || (t.From == Init && t.To == Backup) {
		return
	}
	if g.state != t.To {
		g.state = t.To
		hs := map[State]HookState{Master: HookMaster, Backup: HookBackup, Fault: HookFault}[t.To]
		r.notify(nil, Notification{Type: "GROUP", Name: g.cfg.Name, State: hs, Hooks: g.cfg.Notify})
		r.log.Info("sync group follows", "group", g.cfg.Name, "state", t.To.String(), "instance", inst.cfg.Name, "reason", t.Reason.String())
	}
	for _, m := range g.members {
		if m != inst && !m.removed {
			r.dispatch(now, m, SyncGroupState{State: t.To})
		}
	}
}

func (r *Runner) notify(inst *instance, n Notification) {
	if r.d.Notifier == nil {
		return
	}
	n.Time = r.d.Clock.Now()
	r.d.Notifier.Notify(n)
}

func (r *Runner) splitBrain(inst *instance, d SplitBrainDetected) {
	if d.VIPConflict {
		// Peer is the last master we followed: the one the tie-break was against.
		r.log.Warn("split brain: another host answers for our VIP", "instance", inst.cfg.Name,
			"vip", addrString(d.VIP), "peer_hw", d.PeerHW.String(),
			"local", addrString(inst.cfg.PrimaryAddr), "local_priority", d.Priority,
			"last_master", addrString(d.Peer), "last_master_priority", d.PeerPriority,
			"action", d.Action.String(), "demoted", d.Demoted)
	} else {
		inst.bothMasters++
		r.log.Warn("split brain: another master seen", "instance", inst.cfg.Name,
			"local", addrString(inst.cfg.PrimaryAddr), "local_priority", d.Priority,
			"peer", addrString(d.Peer), "peer_priority", d.PeerPriority,
			"secondary_path", d.Secondary, "action", d.Action.String(), "demoted", d.Demoted)
	}
	hooks := inst.cfg.Notify
	if d.Action != SplitBrainScript {
		hooks.SplitBrain = nil
	}
	r.notify(inst, Notification{Type: "INSTANCE", Name: inst.cfg.Name, State: HookSplitBrain,
		Priority: d.Priority, Peer: d.Peer, PeerPriority: d.PeerPriority, Hooks: hooks})
}

func (r *Runner) setKernelState(inst *instance, st State, prio uint8) {
	if err := r.d.Dataplane.SetState(inst.cfg.Key, st, prio); err != nil {
		r.log.Error("set kernel state", "instance", inst.cfg.Name, "state", st.String(), "err", err)
	}
	for _, k := range ownPathKeys(inst.cfg) {
		if err := r.d.Dataplane.SetState(k, st, prio); err != nil {
			r.log.Error("set kernel path state", "instance", inst.cfg.Name, "path", k, "err", err)
		}
	}
}

func (r *Runner) startAnnounce(inst *instance) {
	if r.d.Announcer == nil || inst.announceStop != nil {
		return
	}
	vips := inst.cfg.allVIPs()
	addrs := make([]netip.Addr, 0, len(vips))
	for _, v := range vips {
		addrs = append(addrs, v.Prefix.Addr())
	}
	inst.announceStop = r.d.Announcer.Start(inst.cfg.Name, addrs)
}

// startRefresh is startAnnounce for an adopted Master (action Refresh).
func (r *Runner) startRefresh(inst *instance) {
	rf, ok := r.d.Announcer.(Refresher)
	if !ok {
		r.startAnnounce(inst)
		return
	}
	if inst.announceStop != nil {
		return
	}
	vips := inst.cfg.allVIPs()
	addrs := make([]netip.Addr, 0, len(vips))
	for _, v := range vips {
		addrs = append(addrs, v.Prefix.Addr())
	}
	inst.announceStop = rf.StartRefresh(inst.cfg.Name, addrs)
}

func (r *Runner) stopAnnounce(inst *instance) {
	if inst.announceStop != nil {
		inst.announceStop()
		inst.announceStop = nil
	}
}

func (r *Runner) removeVIPs(inst *instance) {
	if err := r.d.Addresses.Remove(inst.cfg.Name, inst.cfg.allVIPs()); err != nil {
		r.log.Error("remove VIPs", "instance", inst.cfg.Name, "err", err)
	}
}

func groupFor(c *InstanceConfig) netip.Addr {
	if c.Group.IsValid() {
		return c.Group
	}
	if c.Key.IsIPv6() {
		return DefaultGroup6
	}
	return DefaultGroup4
}

// appendAdverts appends inst's adverts with priority prio: one per destination on
// the primary path, plus one per secondary path with a source address.
func (r *Runner) appendAdverts(out []OutAdvert, inst *instance, prio uint8) []OutAdvert {
	c := &inst.cfg
	base := OutAdvert{
		Instance: c.Name, Interface: c.Interface, Key: c.Key, Version: c.Version, VRID: c.Key.VRID,
		Priority: prio, Interval: c.AdvertInterval, Addresses: inst.advertAddrs(),
		AuthType: c.AuthType, AuthData: c.AuthData, Src: c.PrimaryAddr,
	}
	if len(c.Peers) == 0 {
		a := base
		a.Dst = groupFor(c)
		out = append(out, a)
	}
	for _, p := range c.Peers {
		a := base
		a.Dst = p
		out = append(out, a)
	}
	for _, p := range c.SecondaryPaths {
		a := base
		a.Key, a.Interface, a.Src = p.Key, p.Interface, p.Src
		if !a.Src.IsValid() && p.Key == c.Key {
			a.Src, a.Interface = c.PrimaryAddr, c.Interface
		}
		if !a.Src.IsValid() {
			continue
		}
		a.Dst = p.Peer
		if !a.Dst.IsValid() {
			a.Dst = groupFor(c)
		}
		out = append(out, a)
	}
	return out
}

// flushLocked sends every queued advert in one batch.
func (r *Runner) flushLocked() {
	if len(r.pending) == 0 {
		return
	}
	batch := r.pending
	// The buffer is reused for the next tick (Sender must not retain it).
	defer func() { r.pending = batch[:0] }()
	if err := r.d.Sender.Send(batch); err != nil {
		r.sendErrors++
		now := r.d.Clock.Now()
		if now.Sub(r.lastSendErrLog) >= sendErrorLogEvery || r.lastSendErrLog.IsZero() {
			r.log.Error("send adverts", "adverts", len(batch), "errors_total", r.sendErrors, "err", err)
			r.lastSendErrLog = now
		}
	}
}

func (r *Runner) stopTimer(inst *instance, k TimerKind) {
	inst.gens[k]++
	if inst.timers[k] != nil {
		inst.timers[k].Stop()
		inst.timers[k] = nil
	}
	if k == TimerAdvert {
		inst.advertArmed = false
	}
}

func (r *Runner) armTimer(now time.Time, inst *instance, k TimerKind, after time.Duration) {
	if k == TimerAdvert {
		inst.advertArmed = true
		ref := now
		if due := inst.advertDue; due.After(now) {
			// Sent early, sharing a batch: the period runs from the grid point.
			ref = due
		}
		inst.advertDue = time.Time{}
		inst.nextAdvert = r.advertSlot(ref, after)
		if !r.batching {
			r.rescheduleAdverts(now)
		}
		return
	}
	r.stopTimer(inst, k)
	gen := inst.gens[k]
	inst.timers[k] = r.d.Clock.AfterFunc(after, func() { r.fire(inst, k, gen) })
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

// advertSlot returns when an advert due at most after past ref goes out: the
// latest point of the advert grid (advEpoch + k·after) not later than ref+after,
// so in (ref, ref+after]. Adverts are never late, at most one is early (the
// first after becoming Master, to join the grid), and a timer that fires late
// neither stretches the period (the grid does not drift) nor makes a burst (a
// tick more than an interval behind skips to the next slot). At 200 instances ×
// 10 ms this is one batch, one wake-up and one sendmmsg per interval, where
// anchoring each instance to its own phase kept the phases of the order in
// which instances became Master (three batches per interval in the lab).
func (r *Runner) advertSlot(ref time.Time, after time.Duration) time.Time {
	end := ref.Add(after)
	if after <= 0 || end.Before(r.advEpoch) {
		return end
	}
	k := end.Sub(r.advEpoch) / after
	return r.advEpoch.Add(k * after)
}

// advertWindow is how early an advert may go out to share a batch with others: an
// eighth of the instance's interval. Once sent together, instances with the same
// interval stay in phase, so steady state is one batch per interval.
func advertWindow(c *InstanceConfig) time.Duration { return c.AdvertInterval / 8 }

// rescheduleAdverts arms the single advert timer for the earliest due advert,
// or the heartbeat if that is due first.
func (r *Runner) rescheduleAdverts(now time.Time) {
	var due time.Time
	for _, inst := range r.insts {
		if inst.advertArmed && (due.IsZero() || inst.nextAdvert.Before(due)) {
			due = inst.nextAdvert
		}
	}
	if r.heartbeatOn() && (due.IsZero() || r.nextBeat.Before(due)) {
		due = r.nextBeat
	}
	if r.advTimer != nil && !due.IsZero() && due.Equal(r.advDue) {
		return
	}
	if r.advTimer != nil {
		r.advTimer.Stop()
		r.advTimer = nil
	}
	r.advGen++
	r.advDue = due
	if due.IsZero() {
		return
	}
	gen := r.advGen
	r.advTimer = r.d.AdvertClock.AfterFunc(max(due.Sub(now), 0), func() { r.fireAdverts(gen) })
}

func (r *Runner) fireAdverts(gen uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || gen != r.advGen {
		return
	}
	r.advTimer = nil
	r.advDue = time.Time{}
	now := r.d.Clock.Now()
	r.batching = true
	for _, inst := range r.ordered() {
		if inst.advertArmed && !inst.nextAdvert.After(now.Add(advertWindow(&inst.cfg))) {
			inst.advertArmed = false
			inst.advertDue = inst.nextAdvert
			r.dispatch(now, inst, AdvertTimer{})
			inst.advertDue = time.Time{}
		}
	}
	r.batching = false
	r.flushLocked()
	// A heartbeat due within a quarter interval rides on this tick rather than
	// waking the thread again.
	if r.heartbeatOn() && !now.Add(r.d.HeartbeatInterval/4).Before(r.nextBeat) {
		r.d.Heartbeat()
		r.nextBeat = now.Add(r.d.HeartbeatInterval)
	}
	r.rescheduleAdverts(now)
}

// heartbeatOn: Deps.Heartbeat is set and Start has run.
func (r *Runner) heartbeatOn() bool { return r.d.Heartbeat != nil && !r.nextBeat.IsZero() }

// ordered returns the instances sorted by name (batches and tests are deterministic).
func (r *Runner) ordered() []*instance {
	if len(r.order) != len(r.insts) || slices.ContainsFunc(r.order, func(i *instance) bool { return i.removed }) {
		r.order = r.order[:0]
		for _, inst := range r.insts {
			r.order = append(r.order, inst)
		}
		slices.SortFunc(r.order, func(a, b *instance) int {
			switch {
			case a.cfg.Name < b.cfg.Name:
				return -1
			case a.cfg.Name > b.cfg.Name:
				return 1
			}
			return 0
		})
	}
	return r.order
}

// advertAddrs caches the advertised addresses (shared by every advert of the
// instance; a Sender must not modify OutAdvert.Addresses).
func (inst *instance) advertAddrs() []netip.Addr {
	if inst.addrs == nil {
		inst.addrs = inst.cfg.advertAddrs()
	}
	return inst.addrs
}
