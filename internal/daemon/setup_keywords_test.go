package daemon

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/vrrp"

	"github.com/ebpfvrrp/ebpfvrrp/config"
	"github.com/ebpfvrrp/ebpfvrrp/control"
	"github.com/ebpfvrrp/ebpfvrrp/internal/hooks"
)

// TestProcessCheckFromConfig: a process tracker's config becomes the hooks check
// keepalived's rules imply: arguments or param_match mean matching the command
// line, arguments without param_match mean exact, no quorum_max means none.
func TestProcessCheckFromConfig(t *testing.T) {
	two := 2
	tests := []struct {
		name string
		in   config.ProcessCheck
		want hooks.ProcessMatch
		max  int
	}{
		{"name only", config.ProcessCheck{Name: "nginx", Quorum: 1}, hooks.ProcessMatch{Name: "nginx"}, -1},
		{"args: exact", config.ProcessCheck{Name: "/usr/sbin/haproxy", Args: []string{"-f", "x"}, Quorum: 1, QuorumMax: &two},
			hooks.ProcessMatch{Name: "/usr/sbin/haproxy", Args: []string{"-f", "x"}, Params: hooks.ParamExact, FullCommand: true}, 2},
		{"param_match without args", config.ProcessCheck{Name: "/bin/a", ParamMatch: "exact", Quorum: 1},
			hooks.ProcessMatch{Name: "/bin/a", Params: hooks.ParamExact, FullCommand: true}, -1},
		{"initial", config.ProcessCheck{Name: "/bin/a", Args: []string{"x"}, ParamMatch: "initial", Quorum: 1},
			hooks.ProcessMatch{Name: "/bin/a", Args: []string{"x"}, Params: hooks.ParamInitial, FullCommand: true}, -1},
		{"full_command alone", config.ProcessCheck{Name: "/bin/a", FullCommand: true, Quorum: 1},
			hooks.ProcessMatch{Name: "/bin/a", FullCommand: true}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.ForkDelay, tt.in.TerminateDelay = time.Second, 2*time.Second
			got := processCheck(&tt.in)
			if got.Match.Name != tt.want.Name || got.Match.Params != tt.want.Params || got.Match.FullCommand != tt.want.FullCommand ||
				len(got.Match.Args) != len(tt.want.Args) {
				t.Errorf("match %+v, want %+v", got.Match, tt.want)
			}
			if got.QuorumMax != tt.max || got.Quorum != 1 || got.ForkDelay != time.Second || got.TerminateDelay != 2*time.Second {
				t.Errorf("quorum %d–%d delays %v/%v", got.Quorum, got.QuorumMax, got.ForkDelay, got.TerminateDelay)
			}
		})
	}
}

// TestMulticastSource: a source address without unicast peers (keepalived's
// mcast_src_ip) is the multicast adverts' source and tie-break address.
func TestMulticastSource(t *testing.T) {
	p := filepath.Join(t.TempDir(), "keepalived.conf")
	conf := "vrrp_instance VI {\n interface lo\n virtual_router_id 51\n priority 100\n mcast_src_ip 127.0.0.9\n virtual_ipaddress {\n  198.18.10.3\n }\n}\n"
	if err := os.WriteFile(p, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	s, err := buildSetup(cfg, func(string, uint8, vrrp.Family) (string, error) { t.Fatal("no VMAC configured"); return "", nil })
	if err != nil {
		t.Fatal(err)
	}
	in := s.Instances[0]
	if in.PrimaryAddr != netip.MustParseAddr("127.0.0.9") || len(in.Peers) != 0 {
		t.Errorf("primary %v peers %v, want 127.0.0.9 and multicast", in.PrimaryAddr, in.Peers)
	}
	if in.NoLowerPrioGARP {
		t.Error("lower-priority GARPs off without garp_lower_prio_repeat 0")
	}
	off := false
	cfg.Instances[0].GARP.LowerPrio = &off
	if s, err = buildSetup(cfg, nil); err != nil || !s.Instances[0].NoLowerPrioGARP {
		t.Errorf("garp_lower_prio_repeat 0: NoLowerPrioGARP not set (err %v)", err)
	}
}

// TestReloadKeepsProcessChecks: a reload that leaves a process tracker as it was
// hands the Runner the running check, so the Runner (which compares tracker
// configs deeply) keeps the tracker and its pending delay; a changed one is new.
func TestReloadKeepsProcessChecks(t *testing.T) {
	build := func(quorum int) []control.TrackerConfig {
		t.Helper()
		cfg := &config.Config{Trackers: map[string]config.Tracker{
			"p": {Process: &config.ProcessCheck{Name: "nginx", Quorum: quorum}, Interval: time.Second},
			"f": {File: "/run/f", Interval: time.Second},
		}}
		trs, err := buildTrackers(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return trs
	}
	running := build(1)
	running[1].Check.Check(t.Context()) // the check now holds state
	same := build(1)
	keepProcessChecks(running, same)
	if !reflect.DeepEqual(running, same) {
		t.Errorf("unchanged process tracker: the Runner would restart it")
	}
	changed := build(2)
	keepProcessChecks(running, changed)
	if changed[1].Check == running[1].Check {
		t.Errorf("changed quorum: the running check was kept")
	}
}
