package daemon

import (
	"context"
	"log/slog"
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
	ifindex  map[string]int              // by instance: the interface it sends on
	// vipDev: the interface of a VIP written with its own dev (by instance, then
	// address); GARP/NA for it leave there, as keepalived sends them.
	vipDev map[string]map[netip.Addr]int

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
	// One schedule per interface the VIPs live on, in the order first seen.
	var order []int
	byIf := map[int][]netip.Addr{}
	for _, v := range vips {
		ifx, ok := a.vipDev[inst][v]
		if !ok {
			ifx = a.ifindex[inst]
		}
		if _, seen := byIf[ifx]; !seen {
			order = append(order, ifx)
		}
		byIf[ifx] = append(byIf[ifx], v)
	}
	s, ok := a.settings[inst]
	if !ok {
		s = vip.DefaultGARPSettings()
	}
	anns := map[int]*vip.Announcer{}
	for _, ifx := range order {
		an, ok := a.ann[ifx]
		if !ok {
			var err error
			if an, err = vip.NewAnnouncer(ifx); err != nil {
				a.log.Error("cannot send GARP/NA", "instance", inst, "ifindex", ifx, "err", err)
				continue
			}
			a.ann[ifx] = an
		}
		anns[ifx] = an
	}
	if refresh {
		s.Repeat, s.Delay = 1, 0
	}
	a.mu.Unlock()
	ctx, cancel := context.WithCancel(a.ctx)
	for _, ifx := range order {
		an := anns[ifx]
		if an == nil {
			continue
		}
		// The first GARP/NA goes out before Start returns; the rest of the
		// schedule runs in its own goroutine.
		err := vip.AnnounceThenSchedule(ctx, an, byIf[ifx], s, func(err error) {
			if err != nil {
				a.log.Warn("GARP/NA announcements incomplete", "instance", inst, "err", err)
			}
		})
		if err != nil {
			a.log.Warn("first GARP/NA failed", "instance", inst, "err", err)
		}
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
	vipDev := map[string]map[netip.Addr]int{}
	for i, in := range cfg.Instances {
		g := in.GARP
		settings[in.Name] = vip.GARPSettings{Delay: g.MasterDelay, Repeat: g.MasterRepeat,
			Refresh: g.Refresh, RefreshRepeat: g.RefreshRepeat, Interval: g.Interval}
		// GARP/NA leave from the interface the instance sends on (its VMAC if any).
		ifx[in.Name] = s.Instances[i].Key.Ifindex
		if idx, err := ifIndex(s.Instances[i].Interface); err == nil {
			ifx[in.Name] = idx
		}
		for _, v := range s.Instances[i].VIPs {
			if v.Device == "" || v.Device == s.Instances[i].Interface {
				continue
			}
			if idx, err := ifIndex(v.Device); err == nil {
				if vipDev[in.Name] == nil {
					vipDev[in.Name] = map[netip.Addr]int{}
				}
				vipDev[in.Name][v.Prefix.Addr()] = idx
			}
		}
	}
	d.ann.mu.Lock()
	d.ann.settings, d.ann.ifindex, d.ann.vipDev = settings, ifx, vipDev
	d.ann.mu.Unlock()
}
