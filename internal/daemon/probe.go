package daemon

import (
	"context"
	"net/netip"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/control"
	"github.com/ebpfvrrp/ebpfvrrp/vip"
)

// probeLoop ARP/NS-probes the VIPs of every Master at split_brain.probe_interval
// (read each round, so a reload can change or disable it) and feeds every round to
// the Runner: an answer from another MAC is a VIP conflict, i.e. a split brain; a
// clean round ends it. This is what detects a split brain when the heartbeat is cut
// both ways and no advert of the other Master ever arrives.
func (d *Daemon) probeLoop(ctx context.Context) {
	prober := dataplaneAdapter{d.dp}
	for {
		d.mu.Lock()
		every := d.cfg.SplitBrain.ProbeInterval
		d.mu.Unlock()
		wait := every
		if every <= 0 {
			wait = time.Second // off: look again after a possible reload
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if every <= 0 {
			continue
		}
		d.probeRound(ctx, prober, every/2)
	}
}

// probeRound probes once, for timeout, and reports the round to every instance
// holding VIPs.
func (d *Daemon) probeRound(ctx context.Context, prober dataplaneAdapter, timeout time.Duration) {
	// One probe per interface for the VIPs of every Master on it, not one per
	// instance: 200 instances would otherwise open 200 packet sockets a
	// round. The answers are then handed to the instance owning each VIP.
	held := d.addrs.heldVIPs()
	if len(held) == 0 {
		return
	}
	owner := map[netip.Addr]string{}
	var all []vip.Address
	for inst, addrs := range held {
		for _, a := range addrs {
			owner[a.Prefix.Addr()] = inst
		}
		all = append(all, addrs...)
	}
	conflicts, err := prober.probeAddrs(ctx, all, timeout)
	if err != nil {
		// A round that could not listen proves nothing either way.
		d.log.Debug("VIP probe failed", "err", err)
		return
	}
	byInst := map[string][]control.VIPConflict{}
	for _, c := range conflicts {
		if inst, ok := owner[c.VIP]; ok {
			byInst[inst] = append(byInst[inst], c)
		}
	}
	for inst := range held {
		// Every instance hears its round, clean ones too: a clean round
		// ends a conflict.
		d.runner.ReportVIPProbe(inst, byInst[inst])
	}
}
