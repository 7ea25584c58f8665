package control

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"
)

// sameIdentity: the instance can be reconfigured in place.
func sameIdentity(a, b InstanceConfig) bool {
	return a.Key == b.Key && a.Version == b.Version && a.Interface == b.Interface &&
		(a.Priority == 255) == (b.Priority == 255) && a.DontTrackPrimary == b.DontTrackPrimary &&
		reflect.DeepEqual(a.SecondaryPaths, b.SecondaryPaths)
}

// apply converges the running set to s. Link subscriptions are made without the lock
// because a LinkWatcher may report the current state from within WatchLink.
func (r *Runner) apply(s Setup) error {
	r.mu.Lock()
	now := r.d.Clock.Now()
	stopTrackers, startTrackers := r.diffTrackers(s)
	fresh, subscribe, errs := r.applyInstances(now, s)
	r.rebuildGroups(s)
	deferred := r.deferred
	r.deferred = nil
	r.mu.Unlock()

	for _, f := range deferred {
		f()
	}

	for _, tr := range stopTrackers {
		tr.stop()
	}
	for _, c := range startTrackers {
		if err := r.startTracker(c); err != nil {
			errs = append(errs, err)
		}
	}
	for _, inst := range subscribe {
		errs = append(errs, r.subscribeLinks(inst)...)
	}

	r.mu.Lock()
	now = r.d.Clock.Now()
	for _, inst := range r.insts {
		r.recompute(now, inst)
	}
	for _, inst := range fresh {
		if inst.removed {
			continue
		}
		if st, ok := s.Adopt[inst.cfg.Name]; ok {
			r.dispatch(now, inst, Adopt{State: st})
		} else {
			r.dispatch(now, inst, Startup{})
		}
	}
	r.flushLocked()
	r.mu.Unlock()
	return errors.Join(errs...)
}

// applyInstances removes the instances s drops or changes the identity of,
// reconfigures the changed ones and creates the new ones (returned as fresh, to
// start once the lock is released); subscribe are those whose links to watch.
// r.mu is held.
func (r *Runner) applyInstances(now time.Time, s Setup) (fresh, subscribe []*instance, errs []error) {
	next := make(map[string]InstanceConfig)
	for _, c := range s.Instances {
		next[c.Name] = c
	}
	for name, inst := range r.insts {
		c, ok := next[name]
		if ok && sameIdentity(inst.cfg, c) {
			continue
		}
		r.removeInstance(now, inst, ReasonConfigReload)
	}
	for _, c := range s.Instances {
		if inst, ok := r.insts[c.Name]; ok {
			if !reflect.DeepEqual(inst.cfg, c) {
				r.reconfigure(now, inst, c)
				subscribe = append(subscribe, inst)
			}
			continue
		}
		inst := &instance{cfg: c, m: NewMachine(c), transitions: make(map[transKey]uint64)}
		r.insts[c.Name] = inst
		r.byKey[c.Key] = inst
		for _, k := range ownPathKeys(c) {
			r.bySecond[k] = inst
		}
		// An adopted instance is written in the state it resumes: the kernel
		// must not see it leave Master (or forget the master it follows)
		// for the moment between this write and the Adopt event.
		kst := Init
		if st, ok := s.Adopt[c.Name]; ok && (st == Master || st == Backup) {
			kst = st
		}
		if err := r.d.Dataplane.SetInstance(c.Key, kernelConfig(c, kst, c.Priority, false)); err != nil {
			errs = append(errs, fmt.Errorf("control: instance %s: set kernel instance: %w", c.Name, err))
		}
		for _, k := range ownPathKeys(c) {
			if err := r.d.Dataplane.SetInstance(k, kernelConfig(c, Init, c.Priority, true)); err != nil {
				errs = append(errs, fmt.Errorf("control: instance %s: set kernel path %+v: %w", c.Name, k, err))
			}
		}
		fresh = append(fresh, inst)
		subscribe = append(subscribe, inst)
	}
	return fresh, subscribe, errs
}

// rebuildGroups regroups the instances by s's sync groups; a group takes the
// state of a member that has one. r.mu is held.
func (r *Runner) rebuildGroups(s Setup) {
	r.groups = make(map[string]*syncGroup)
	for _, inst := range r.insts {
		inst.group = nil
	}
	for _, gc := range s.SyncGroups {
		g := &syncGroup{cfg: gc, state: Init}
		for _, n := range gc.Instances {
			inst := r.insts[n]
			inst.group = g
			g.members = append(g.members, inst)
			if st := inst.m.Status().State; st != Init {
				g.state = st
			}
		}
		r.groups[gc.Name] = g
	}
}

func kernelConfig(c InstanceConfig, st State, prio uint8, secondary bool) KernelConfig {
	k := KernelConfig{
		Instance: c.Name, Version: c.Version, State: st, Priority: prio,
		AdvertInterval: c.AdvertInterval, Preempt: c.Preempt, PrimaryAddr: c.PrimaryAddr,
		AuthType: c.AuthType, AuthData: c.AuthData, AllowedPeers: c.AllowedPeers,
		Addresses: c.advertAddrs(), Secondary: secondary, Unicast: len(c.Peers) > 0,
		SkipAddrCheck: c.SkipCheckAdvAddr,
	}
	if !secondary {
		k.NoAccept = c.noAcceptAddrs()
	}
	return k
}

// reconfigure applies a changed config to a running instance of the same identity.
func (r *Runner) reconfigure(now time.Time, inst *instance, c InstanceConfig) {
	old := inst.cfg
	inst.cfg = c
	inst.addrs = nil
	inst.m.Reconfigure(c)
	st := inst.m.Status()
	if err := r.d.Dataplane.SetInstance(c.Key, kernelConfig(c, st.State, st.EffectivePriority, false)); err != nil {
		r.log.Error("set kernel instance", "instance", c.Name, "err", err)
	}
	if st.State == Master {
		oldV, newV := old.allVIPs(), c.allVIPs()
		gone := slices.DeleteFunc(slices.Clone(oldV), func(v VIP) bool { return slices.Contains(newV, v) })
		added := slices.DeleteFunc(slices.Clone(newV), func(v VIP) bool { return slices.Contains(oldV, v) })
		if len(gone) > 0 {
			if err := r.d.Addresses.Remove(c.Name, gone); err != nil {
				r.log.Error("remove VIPs", "instance", c.Name, "err", err)
			}
		}
		if len(added) > 0 {
			if err := r.d.Addresses.Add(c.Name, added); err != nil {
				r.log.Error("add VIPs", "instance", c.Name, "err", err)
			}
		}
		if len(gone)+len(added) > 0 {
			r.stopAnnounce(inst)
			r.startAnnounce(inst)
		}
	}
	// Link trackers of removed track_interfaces are dropped by apply; the primary
	// interface watch is unchanged because the identity is.
}

func (r *Runner) removeInstance(now time.Time, inst *instance, reason Reason) {
	r.dispatch(now, inst, Shutdown{Reason: reason})
	r.flushLocked()
	for k := range inst.timers {
		r.stopTimer(inst, TimerKind(k))
	}
	inst.removed = true
	if inst.ifaceCancel != nil {
		c := inst.ifaceCancel
		inst.ifaceCancel = nil
		r.deferred = append(r.deferred, c)
	}
	delete(r.insts, inst.cfg.Name)
	delete(r.byKey, inst.cfg.Key)
	if err := r.d.Dataplane.DeleteInstance(inst.cfg.Key); err != nil {
		r.log.Error("delete kernel instance", "instance", inst.cfg.Name, "err", err)
	}
	for _, k := range ownPathKeys(inst.cfg) {
		delete(r.bySecond, k)
		if err := r.d.Dataplane.DeleteInstance(k); err != nil {
			r.log.Error("delete kernel path", "instance", inst.cfg.Name, "err", err)
		}
	}
	r.rescheduleAdverts(now)
}
