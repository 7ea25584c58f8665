package daemon

import (
	"sort"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/control"
)

// Status is what `ebpfvrrp status --json` prints and the control socket serves.
type Status struct {
	Version    string            `json:"version"`
	Config     string            `json:"config"`
	PinPath    string            `json:"pin_path"`
	Instances  []InstanceStatus  `json:"instances"`
	Interfaces []InterfaceStatus `json:"interfaces"`
	Drops      []DropStatus      `json:"drops"`
}

// InterfaceStatus is one interface the daemon receives or sends on: how the
// receive path is attached and which VRRP multicast groups the host joined there.
type InterfaceStatus struct {
	Name       string   `json:"name"`
	AttachMode string   `json:"attach_mode,omitempty"` // xdp-native, xdp-generic, tc; empty: sends only (a VMAC)
	Groups     []string `json:"groups"`
}

// InstanceStatus is one instance in Status.
type InstanceStatus struct {
	Name               string  `json:"name"`
	Interface          string  `json:"interface"`
	VRID               uint8   `json:"vrid"`
	Family             string  `json:"family"`
	State              string  `json:"state"`
	ConfiguredPriority uint8   `json:"configured_priority"`
	EffectivePriority  uint8   `json:"effective_priority"`
	Master             string  `json:"master,omitempty"`
	MasterPriority     uint8   `json:"master_priority,omitempty"`
	LastAdvertAge      float64 `json:"last_advert_age_seconds,omitempty"` // of the master, seconds; 0 when none heard
	LastReason         string  `json:"last_reason"`
	LastTransition     string  `json:"last_transition,omitempty"`
	AdvertsReceived    uint64  `json:"adverts_received"`
	AdvertsMissed      uint64  `json:"adverts_missed"`
	HeartbeatLoss      float64 `json:"heartbeat_loss"` // missed / (received + missed)
	AdvertsSent        uint64  `json:"adverts_sent"`
	SplitBrain         bool    `json:"split_brain"`
	BothMasters        uint64  `json:"both_masters_adverts"`
	VIPConflicts       uint64  `json:"vip_conflicts"`
	PathFailure        bool    `json:"path_failure"`
}

// DropStatus is one kernel drop counter.
type DropStatus struct {
	Interface string `json:"interface"`
	Reason    string `json:"reason"`
	Count     uint64 `json:"count"`
}

func family(ipv6 bool) string {
	if ipv6 {
		return "ipv6"
	}
	return "ipv4"
}

func (d *Daemon) status() (Status, error) {
	d.mu.Lock()
	cfgPath := d.opts.ConfigPath
	d.mu.Unlock()
	st := Status{Version: d.opts.Version, Config: cfgPath, PinPath: d.dp.PinPath()}
	peers, err := d.dp.Peers()
	if err != nil {
		return st, err
	}
	txs, err := d.dp.TxStats()
	if err != nil {
		return st, err
	}
	for _, in := range d.runner.Snapshot() {
		lk := in.Key
		is := InstanceStatus{
			Name: in.Name, Interface: in.Interface, VRID: in.Key.VRID, Family: family(in.Key.IsIPv6()),
			State: in.State.String(), ConfiguredPriority: in.ConfiguredPriority,
			EffectivePriority: in.EffectivePriority, LastReason: in.LastReason.String(),
			SplitBrain: in.SplitBrain, BothMasters: in.BothMasters, VIPConflicts: in.VIPConflicts,
			PathFailure: in.PathFailure,
		}
		if !in.LastTransition.IsZero() {
			is.LastTransition = in.LastTransition.Format(time.RFC3339Nano)
		}
		if in.Master.IsValid() {
			is.Master, is.MasterPriority = in.Master.String(), in.MasterPriority
		}
		// The kernel follows other routers' adverts; while we are Master the
		// master is us and there is no advert age to report.
		if in.State != control.Master {
			if m, ok, err := d.dp.Master(lk); err == nil && ok && m.Age < 24*time.Hour {
				is.Master, is.MasterPriority, is.LastAdvertAge = m.Addr.String(), m.Priority, m.Age.Seconds()
			}
		}
		for _, p := range peers {
			if p.Key == lk {
				is.AdvertsReceived += p.Count
				is.AdvertsMissed += p.Missed
			}
		}
		if tot := is.AdvertsReceived + is.AdvertsMissed; tot > 0 {
			is.HeartbeatLoss = float64(is.AdvertsMissed) / float64(tot)
		}
		for _, t := range txs {
			if t.Key == lk {
				is.AdvertsSent += t.Count
			}
		}
		st.Instances = append(st.Instances, is)
	}
	st.Interfaces = d.interfaceStatus()
	drops, err := d.dp.Drops()
	if err != nil {
		return st, err
	}
	for _, dr := range drops {
		st.Drops = append(st.Drops, DropStatus{Interface: ifName(int(dr.Ifindex)), Reason: dr.Reason.String(), Count: dr.Count})
	}
	sort.Slice(st.Drops, func(i, j int) bool {
		if st.Drops[i].Interface != st.Drops[j].Interface {
			return st.Drops[i].Interface < st.Drops[j].Interface
		}
		return st.Drops[i].Reason < st.Drops[j].Reason
	})
	return st, nil
}

// attachedInterfaces returns the interfaces the receive path is attached to, sorted.
func (d *Daemon) attachedInterfaces() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]string, 0, len(d.ifaces))
	for name := range d.ifaces {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

func (d *Daemon) interfaceStatus() []InterfaceStatus {
	byName := map[string]*InterfaceStatus{}
	get := func(name string) *InterfaceStatus {
		if byName[name] == nil {
			byName[name] = &InterfaceStatus{Name: name, Groups: []string{}}
		}
		return byName[name]
	}
	d.mu.Lock()
	for name := range d.ifaces {
		if m, ok := d.dp.Mode(name); ok {
			get(name).AttachMode = m.String()
		}
	}
	d.mu.Unlock()
	for _, g := range d.groups.Groups() {
		is := get(ifName(g.Ifindex))
		is.Groups = append(is.Groups, g.Addr.String())
	}
	out := make([]InterfaceStatus, 0, len(byName))
	for _, is := range byName {
		out = append(out, *is)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
