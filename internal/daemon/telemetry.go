package daemon

import (
	"slices"
	"sort"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/control"
	"github.com/ebpfvrrp/ebpfvrrp/loader"
	"github.com/ebpfvrrp/ebpfvrrp/telemetry"
	"github.com/ebpfvrrp/ebpfvrrp/vrrp"
)

// telemetrySource implements telemetry.Source over the daemon's dataplane and runner.
type telemetrySource struct{ d *Daemon }

func (s *telemetrySource) Peers() ([]telemetry.Peer, error) {
	peers, err := s.d.dp.Peers()
	if err != nil {
		return nil, err
	}
	out := make([]telemetry.Peer, 0, len(peers))
	for _, p := range peers {
		out = append(out, telemetry.Peer{
			Interface: ifName(int(p.Key.Ifindex)), VRID: p.Key.VRID, Family: p.Key.Family,
			Address: p.Addr.String(), Count: p.Count, Missed: p.Missed, Priority: p.Priority,
			Interval: p.Interval, Age: time.Since(p.LastSeen), MaxGap: p.MaxGap, Buckets: p.Hist[:],
		})
	}
	return out, nil
}

// Drops returns a counter for every drop reason on every interface the receive
// path is attached to, zero where the kernel has counted none (its map has
// entries only for drops that happened), so an alert on increase() sees the first
// drop; plus any nonzero count left on an interface no longer attached.
func (s *telemetrySource) Drops() ([]telemetry.Drop, error) {
	drops, err := s.d.dp.Drops()
	if err != nil {
		return nil, err
	}
	type key struct{ iface, reason string }
	counts := map[key]uint64{}
	for _, name := range s.d.attachedInterfaces() {
		for r := range vrrp.NumDropReasons {
			counts[key{name, r.String()}] = 0
		}
	}
	for _, d := range drops {
		counts[key{ifName(int(d.Ifindex)), d.Reason.String()}] += d.Count
	}
	out := make([]telemetry.Drop, 0, len(counts))
	for k, n := range counts {
		out = append(out, telemetry.Drop{Interface: k.iface, Reason: k.reason, Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Interface != out[j].Interface {
			return out[i].Interface < out[j].Interface
		}
		return out[i].Reason < out[j].Reason
	})
	return out, nil
}

// Tx returns our own adverts per instance, at zero for an instance that has sent
// none yet (a Backup): the kernel's map has an entry only from the first advert.
func (s *telemetrySource) Tx() ([]telemetry.Tx, error) {
	txs, err := s.d.dp.TxStats()
	if err != nil {
		return nil, err
	}
	seen := map[loader.InstanceKey]bool{}
	out := make([]telemetry.Tx, 0, len(txs))
	for _, t := range txs {
		seen[t.Key] = true
		out = append(out, telemetry.Tx{Interface: ifName(int(t.Key.Ifindex)), VRID: t.Key.VRID,
			Family: t.Key.Family, Count: t.Count, MaxGap: t.MaxGap, Buckets: t.Hist[:]})
	}
	for _, in := range s.d.runner.Snapshot() {
		k := in.Key
		if !seen[k] {
			seen[k] = true
			out = append(out, telemetry.Tx{Interface: ifName(int(k.Ifindex)), VRID: k.VRID, Family: k.Family})
		}
	}
	return out, nil
}

func (s *telemetrySource) EventsLost() (uint64, error) { return s.d.dp.EventsLost() }

func (s *telemetrySource) Instances() []telemetry.Instance {
	snap := s.d.runner.Snapshot()
	out := make([]telemetry.Instance, 0, len(snap))
	for _, in := range snap {
		ti := telemetry.Instance{
			Name: in.Name, Interface: in.Interface, VRID: in.Key.VRID, State: uint8(in.State),
			ConfiguredPriority: in.ConfiguredPriority, EffectivePriority: in.EffectivePriority,
			SplitBrain: in.SplitBrain, BothMasters: in.BothMasters, VIPConflicts: in.VIPConflicts,
			PathFailure: in.PathFailure,
		}
		// The failovers first, at zero: telemetry exports every triple it is
		// given, and those of one instance on all of them.
		for _, t := range append(slices.Clone(control.FailoverTransitions), in.Transitions...) {
			ti.Transitions = append(ti.Transitions, telemetry.Transition{From: t.From.String(),
				To: t.To.String(), Reason: t.Reason.String(), Count: t.Count})
		}
		out = append(out, ti)
	}
	return out
}
