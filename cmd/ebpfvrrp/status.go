package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/control"
	"github.com/ebpfvrrp/ebpfvrrp/loader"
	"github.com/ebpfvrrp/ebpfvrrp/telemetry"
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

func (d *daemon) status() (Status, error) {
	d.mu.Lock()
	cfgPath := d.flags.config
	d.mu.Unlock()
	st := Status{Version: version, Config: cfgPath, PinPath: d.dp.PinPath()}
	peers, err := d.dp.Peers()
	if err != nil {
		return st, err
	}
	txs, err := d.dp.TxStats()
	if err != nil {
		return st, err
	}
	for _, in := range d.runner.Snapshot() {
		lk := loaderKey(in.Key)
		is := InstanceStatus{
			Name: in.Name, Interface: in.Interface, VRID: in.Key.VRID, Family: family(in.Key.IPv6),
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

func (d *daemon) interfaceStatus() []InterfaceStatus {
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

func (d *daemon) handleStatus(w http.ResponseWriter, r *http.Request) {
	st, err := d.status()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(st)
}

// telemetrySource implements telemetry.Source over the daemon's dataplane and runner.
type telemetrySource struct{ d *daemon }

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
			Name: in.Name, Interface: in.Interface, VRID: in.Key.VRID, State: in.State.String(),
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

// errNoDaemon is returned by status when nothing answers on the control socket.
var errNoDaemon = errors.New("no ebpfvrrp daemon is running")

func cmdStatus(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet("status", "status [--json] [--pin-path DIR | --control-socket PATH]", env)
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	pin := fs.String("pin-path", loader.DefaultPinPath, "pin path of the daemon to ask")
	sock := fs.String("control-socket", "", "control socket of the daemon (default: derived from --pin-path)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *sock == "" {
		*sock = defaultControlSocket(*pin)
	}
	st, err := fetchStatus(ctx, *sock)
	if err != nil {
		if errors.Is(err, errNoDaemon) {
			fmt.Fprintf(env.Stderr, "ebpfvrrp status: no daemon is running (nothing answers on %s)\n", *sock)
			if _, serr := os.Stat(*pin); serr == nil {
				fmt.Fprintf(env.Stderr, "pinned maps from an earlier run remain at %s; inspect them with: bpftool map dump pinned %s/peers\n", *pin, *pin)
			}
			return errQuiet
		}
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	printStatus(env.Stdout, st)
	return nil
}

func fetchStatus(ctx context.Context, sock string) (Status, error) {
	var st Status
	if _, err := os.Stat(sock); err != nil {
		return st, errNoDaemon
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://ebpfvrrp/status", nil)
	if err != nil {
		return st, err
	}
	resp, err := client.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return st, errNoDaemon
		}
		return st, fmt.Errorf("status: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return st, fmt.Errorf("status: daemon answered %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("status: decode: %w", err)
	}
	return st, nil
}

func printStatus(w io.Writer, st Status) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "INSTANCE\tIFACE\tVRID\tSTATE\tPRIO(cfg/eff)\tMASTER\tLAST ADVERT\tRX\tLOSS\tTX\tSPLIT BRAIN\n")
	for _, in := range st.Instances {
		master, age := "-", "-"
		if in.Master != "" {
			master = fmt.Sprintf("%s (%d)", in.Master, in.MasterPriority)
		}
		if in.LastAdvertAge > 0 {
			age = (time.Duration(in.LastAdvertAge * float64(time.Second))).Round(time.Millisecond).String() + " ago"
		}
		sb := "no"
		if in.SplitBrain {
			sb = fmt.Sprintf("YES (%d adverts)", in.BothMasters)
		}
		if in.PathFailure {
			sb += ", path_failure"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d/%d\t%s\t%s\t%d\t%.1f%%\t%d\t%s\n", in.Name, in.Interface, in.VRID,
			in.State, in.ConfiguredPriority, in.EffectivePriority, master, age, in.AdvertsReceived,
			100*in.HeartbeatLoss, in.AdvertsSent, sb)
	}
	tw.Flush()
	if len(st.Interfaces) > 0 {
		fmt.Fprintln(w, "\nInterfaces:")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "INTERFACE\tRECEIVE PATH\tGROUPS JOINED\n")
		for _, in := range st.Interfaces {
			mode, groups := in.AttachMode, strings.Join(in.Groups, " ")
			if mode == "" {
				mode = "-"
			}
			if groups == "" {
				groups = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", in.Name, mode, groups)
		}
		tw.Flush()
	}
	if len(st.Drops) > 0 {
		fmt.Fprintln(w, "\nKernel drops:")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "INTERFACE\tREASON\tCOUNT\n")
		for _, d := range st.Drops {
			fmt.Fprintf(tw, "%s\t%s\t%d\n", d.Interface, d.Reason, d.Count)
		}
		tw.Flush()
	}
}
