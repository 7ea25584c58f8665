package daemon

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"sync"

	"github.com/ebpfvrrp/ebpfvrrp/config"
	"github.com/ebpfvrrp/ebpfvrrp/control"
	"github.com/ebpfvrrp/ebpfvrrp/vip"
)

// announcerAdapter implements control.Announcer: one GARP/NA schedule per Master.
type announcerAdapter struct {
	ctx      context.Context
	log      *slog.Logger
	settings map[string]vip.GARPSettings // by instance
	ifindex  map[string]int              // by instance

	mu  sync.Mutex
	ann map[int]*vip.Announcer
}

func (a *announcerAdapter) Start(inst string, vips []netip.Addr) func() {
	return a.start(inst, vips, false)
}

// StartRefresh is Start for an adopted Master (control.Refresher): one
// announcement, then only the periodic refresh, if configured.
func (a *announcerAdapter) StartRefresh(inst string, vips []netip.Addr) func() {
	return a.start(inst, vips, true)
}

func (a *announcerAdapter) start(inst string, vips []netip.Addr, refresh bool) func() {
	a.mu.Lock()
	ifx := a.ifindex[inst]
	an, ok := a.ann[ifx]
	if !ok {
		var err error
		if an, err = vip.NewAnnouncer(ifx); err != nil {
			a.mu.Unlock()
			a.log.Error("cannot send GARP/NA", "instance", inst, "err", err)
			return func() {}
		}
		a.ann[ifx] = an
	}
	s, ok := a.settings[inst]
	if !ok {
		s = vip.DefaultGARPSettings()
	}
	if refresh {
		s.Repeat, s.Delay = 1, 0
	}
	a.mu.Unlock()
	ctx, cancel := context.WithCancel(a.ctx)
	// The first GARP/NA goes out before Start returns; the rest of the schedule
	// runs in its own goroutine.
	err := vip.AnnounceThenSchedule(ctx, an, vips, s, func(err error) {
		if err != nil {
			a.log.Warn("GARP/NA announcements incomplete", "instance", inst, "err", err)
		}
	})
	if err != nil {
		a.log.Warn("first GARP/NA failed", "instance", inst, "err", err)
	}
	return cancel
}

func (a *announcerAdapter) Close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, an := range a.ann {
		an.Close()
	}
}

func (d *Daemon) setAnnounceSettings(cfg *config.Config, s control.Setup) {
	settings := map[string]vip.GARPSettings{}
	ifx := map[string]int{}
	for i, in := range cfg.Instances {
		g := in.GARP
		settings[in.Name] = vip.GARPSettings{Delay: g.MasterDelay, Repeat: g.MasterRepeat,
			Refresh: g.Refresh, RefreshRepeat: g.RefreshRepeat, Interval: g.Interval}
		// GARP/NA leave from the interface the instance sends on (its VMAC if any).
		ifx[in.Name] = s.Instances[i].Key.Ifindex
		if ifi, err := net.InterfaceByName(s.Instances[i].Interface); err == nil {
			ifx[in.Name] = ifi.Index
		}
	}
	d.ann.mu.Lock()
	d.ann.settings, d.ann.ifindex = settings, ifx
	d.ann.mu.Unlock()
}
