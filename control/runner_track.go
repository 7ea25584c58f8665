package control

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"time"
)

type trackerRun struct {
	cfg    TrackerConfig
	gen    uint64
	status TrackerStatus
	poll   *poller
	link   *linkTracker
}

// diffTrackers keeps the trackers s leaves unchanged and returns those to stop
// and to start (already entered in r.trackers). r.mu is held.
func (r *Runner) diffTrackers(s Setup) (stop []*trackerRun, start []TrackerConfig) {
	want := make(map[string]TrackerConfig)
	for _, t := range s.Trackers {
		want[t.Name] = t
	}
	for _, inst := range s.Instances {
		for _, ti := range inst.TrackInterfaces {
			want[linkTrackerName(ti.Name)] = TrackerConfig{Name: linkTrackerName(ti.Name), Link: ti.Name}
		}
	}
	for name, tr := range r.trackers {
		if c, ok := want[name]; !ok || !reflect.DeepEqual(c, tr.cfg) {
			stop = append(stop, tr)
			delete(r.trackers, name)
		}
	}
	for name, c := range want {
		if _, ok := r.trackers[name]; !ok {
			r.trackGen++
			r.trackers[name] = &trackerRun{cfg: c, gen: r.trackGen, status: initialStatus(c)}
			start = append(start, c)
		}
	}
	return stop, start
}

// initialStatus is a new tracker's verdict before its first poll: up unless
// init_fail. A valued check (track_file) is read once right here, as keepalived
// reads a tracked file before its instances start (keepalived/trackers/
// track_file.c), so the first state is entered at the file's priority (150 +
// 10 × 1 = 160 for a file holding 10) rather than at the bare one. r.mu is held:
// the read is bounded by initialReadTimeout.
func initialStatus(c TrackerConfig) TrackerStatus {
	st := TrackerStatus{Name: c.Name, Up: !c.InitFail}
	if _, ok := c.Check.(Valued); !ok {
		return st
	}
	st.Valued = true
	ctx, cancel := context.WithTimeout(context.Background(), initialReadTimeout)
	defer cancel()
	if res := c.Check.Check(ctx); res.Err != nil {
		st.LastError = res.Err.Error()
	} else {
		st.Value = res.Value
	}
	return st
}

// initialReadTimeout bounds initialStatus's read of a tracked file.
const initialReadTimeout = time.Second

func linkTrackerName(ifname string) string { return "link:" + ifname }

func (tr *trackerRun) stop() {
	if tr.poll != nil {
		tr.poll.stop()
	}
	if tr.link != nil {
		tr.link.stop()
	}
}

func (r *Runner) startTracker(c TrackerConfig) error {
	r.mu.Lock()
	tr := r.trackers[c.Name]
	r.mu.Unlock()
	if tr == nil {
		return nil
	}
	gen := tr.gen
	report := func(st TrackerStatus) { r.trackerUpdate(c.Name, gen, st) }
	if c.Check != nil {
		p := startPoller(c, r.d.Clock, report)
		r.mu.Lock()
		tr.poll = p
		r.mu.Unlock()
		return nil
	}
	if r.d.Links == nil {
		return fmt.Errorf("control: tracker %s: link tracking needs a LinkWatcher", c.Name)
	}
	lt, err := startLinkTracker(r.d.Links, c.Name, c.Link, report)
	if err != nil {
		return fmt.Errorf("control: tracker %s: watch link %s: %w", c.Name, c.Link, err)
	}
	r.mu.Lock()
	tr.link = lt
	r.mu.Unlock()
	return nil
}

func (r *Runner) subscribeLinks(inst *instance) []error {
	r.mu.Lock()
	cfg := inst.cfg
	needIface := inst.ifaceCancel == nil && !cfg.DontTrackPrimary && cfg.Interface != "" && r.d.Links != nil
	r.mu.Unlock()
	if !needIface {
		return nil
	}
	cancel, err := r.d.Links.WatchLink(cfg.Interface, func(up bool) { r.linkUpdate(inst, up) })
	if err != nil {
		return []error{fmt.Errorf("control: instance %s: watch link %s: %w", cfg.Name, cfg.Interface, err)}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if inst.removed {
		cancel()
		return nil
	}
	inst.ifaceCancel = cancel
	return nil
}

func (r *Runner) linkUpdate(inst *instance, up bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if inst.removed || r.closed {
		return
	}
	var ev Event = InterfaceDown{}
	if up {
		ev = InterfaceUp{}
	}
	r.dispatch(r.d.Clock.Now(), inst, ev)
	r.flushLocked()
}

func (r *Runner) trackerUpdate(name string, gen uint64, st TrackerStatus) {
	r.mu.Lock()
	defer r.mu.Unlock()
	tr := r.trackers[name]
	if tr == nil || tr.gen != gen || r.closed {
		return
	}
	if st.Up != tr.status.Up || st.Value != tr.status.Value {
		r.log.Info("tracker changed", "tracker", name, "up", st.Up, "value", st.Value, "err", st.LastError)
	}
	tr.status = st
	now := r.d.Clock.Now()
	for _, inst := range r.insts {
		if inst.refs(name) {
			r.recompute(now, inst)
		}
	}
	r.flushLocked()
}

func (inst *instance) trackRefs() []TrackRef {
	refs := slices.Clone(inst.cfg.Track)
	for _, ti := range inst.cfg.TrackInterfaces {
		refs = append(refs, TrackRef{Name: linkTrackerName(ti.Name), Weight: ti.Weight})
	}
	return refs
}

func (inst *instance) refs(name string) bool {
	return slices.ContainsFunc(inst.trackRefs(), func(t TrackRef) bool { return t.Name == name })
}

// recompute feeds the instance's machine the effective priority and fault verdict
// of its trackers.
func (r *Runner) recompute(now time.Time, inst *instance) {
	eff, fault := EffectivePriority(inst.cfg.Priority, inst.trackRefs(), func(n string) (TrackerStatus, bool) {
		tr := r.trackers[n]
		if tr == nil {
			return TrackerStatus{}, false
		}
		return tr.status, true
	})
	if eff != inst.m.Status().EffectivePriority {
		r.dispatch(now, inst, PriorityChanged{eff})
	}
	if fault != inst.trackFault {
		inst.trackFault = fault
		if fault {
			r.dispatch(now, inst, TrackerFault{})
		} else {
			r.dispatch(now, inst, TrackerRecovered{})
		}
	}
}
