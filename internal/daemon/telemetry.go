package daemon

import (
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/telemetry"
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

func (s *telemetrySource) Drops() ([]telemetry.Drop, error) {
	drops, err := s.d.dp.Drops()
	if err != nil {
		return nil, err
	}
	out := make([]telemetry.Drop, 0, len(drops))
	for _, d := range drops {
		out = append(out, telemetry.Drop{Interface: ifName(int(d.Ifindex)), Reason: d.Reason.String(), Count: d.Count})
	}
	return out, nil
}

func (s *telemetrySource) Tx() ([]telemetry.Tx, error) {
	txs, err := s.d.dp.TxStats()
	if err != nil {
		return nil, err
	}
	out := make([]telemetry.Tx, 0, len(txs))
	for _, t := range txs {
		out = append(out, telemetry.Tx{Interface: ifName(int(t.Key.Ifindex)), VRID: t.Key.VRID,
			Family: t.Key.Family, Count: t.Count, MaxGap: t.MaxGap, Buckets: t.Hist[:]})
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
		for _, t := range in.Transitions {
			ti.Transitions = append(ti.Transitions, telemetry.Transition{From: t.From.String(),
				To: t.To.String(), Reason: t.Reason.String(), Count: t.Count})
		}
		out = append(out, ti)
	}
	return out
}
