package control

import (
	"net/netip"
	"time"
)

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
			r.adv.queue(inst, a.Priority)
		case AddVIPs:
			if err := r.d.Addresses.Add(inst.cfg.Name, inst.cfg.allVIPs()); err != nil {
				r.log.Error("add VIPs", "instance", inst.cfg.Name, "err", err)
			}
			// After the VIPs, as keepalived's vrrp_state_become_master: a
			// route may name a VIP as its source.
			if r.d.Routes != nil {
				if err := r.d.Routes.Up(inst.cfg.Name); err != nil {
					r.log.Error("add virtual routes", "instance", inst.cfg.Name, "err", err)
				}
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
				inst.advert.armed = false
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
			if a.LowerPriority {
				r.log.Info("lower-priority master heard: GARP/NA again", "instance", inst.cfg.Name)
			} else {
				r.log.Info("split brain over: VIPs no longer answered by another host", "instance", inst.cfg.Name)
			}
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
	if g == nil || t.Reason == ReasonSyncGroup || t.To == Init {
		return
	}
	if t.From == Init && t.To == Backup {
		// A member's startup moves no other member; but the group's own first
		// state is BACKUP, notified as keepalived does (its GROUP BACKUP line).
		if g.state == Init {
			r.groupEnters(g, Backup, inst, t.Reason)
		}
		return
	}
	if g.state != t.To {
		r.groupEnters(g, t.To, inst, t.Reason)
	}
	for _, m := range g.members {
		if m != inst && !m.removed {
			r.dispatch(now, m, SyncGroupState{State: t.To})
		}
	}
}

// groupEnters records g's new state and runs its notifications.
func (r *Runner) groupEnters(g *syncGroup, st State, by *instance, why Reason) {
	g.state = st
	hs := map[State]HookState{Master: HookMaster, Backup: HookBackup, Fault: HookFault}[st]
	r.notify(nil, Notification{Type: "GROUP", Name: g.cfg.Name, State: hs, Hooks: g.cfg.Notify})
	r.log.Info("sync group follows", "group", g.cfg.Name, "state", st.String(), "instance", by.cfg.Name, "reason", why.String())
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
	if r.d.Routes != nil {
		if err := r.d.Routes.Down(inst.cfg.Name); err != nil {
			r.log.Error("remove virtual routes", "instance", inst.cfg.Name, "err", err)
		}
	}
	if err := r.d.Addresses.Remove(inst.cfg.Name, inst.cfg.allVIPs()); err != nil {
		r.log.Error("remove VIPs", "instance", inst.cfg.Name, "err", err)
	}
}
