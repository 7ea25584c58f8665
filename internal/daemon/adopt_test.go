package daemon

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/control"
	"github.com/ebpfvrrp/ebpfvrrp/loader"
)

// TestDecideAdoption walks the rule: the same layout, kernel state for the
// instance, the same config, and for a Master an advert of the earlier run
// recent enough that the peers' Master_Down_Interval has not run out, and no
// other router advertising since.
func TestDecideAdoption(t *testing.T) {
	c := control.InstanceConfig{Name: "VI_1", Interface: "eth0", Key: control.InstanceKey{Ifindex: 2, VRID: 50},
		Version: 3, Priority: 150, AdvertInterval: 100 * time.Millisecond, PrimaryAddr: netip.MustParseAddr("198.18.0.5"),
		VIPs: []control.VIP{{Prefix: netip.MustParsePrefix("198.18.0.3/32"), Device: "eth0"}}}
	h := configHash(c)
	master := previousState{found: true, state: loader.StateMaster, hash: h, sent: true, sinceTx: 50 * time.Millisecond}
	with := func(f func(*previousState)) previousState { p := master; f(&p); return p }
	changed := c
	changed.VIPs = append([]control.VIP{}, c.VIPs...)
	changed.VIPs = append(changed.VIPs, control.VIP{Prefix: netip.MustParsePrefix("198.18.0.4/32"), Device: "eth0"})
	tests := []struct {
		name      string
		adoptable bool
		p         previousState
		want      control.State
		ok        bool
		why       string
	}{
		{"master in time", true, master, control.Master, true, ""},
		{"other layout", false, master, 0, false, "layout"},
		{"no kernel state", true, previousState{}, 0, false, "no kernel state"},
		{"config changed", true, with(func(p *previousState) { p.hash = configHash(changed) }), 0, false, "config changed"},
		{"no hash stored", true, with(func(p *previousState) { p.hash = 0 }), 0, false, "config changed"},
		{"backup", true, with(func(p *previousState) { p.state = loader.StateBackup }), control.Backup, true, ""},
		{"init (a clean stop)", true, with(func(p *previousState) { p.state = loader.StateInit }), 0, false, "was init"},
		{"master, nothing sent", true, with(func(p *previousState) { p.sent = false }), 0, false, "no advert"},
		{"master too late", true, with(func(p *previousState) { p.sinceTx = 300 * time.Millisecond }), 0, false, "Master_Down_Interval"},
		{"master, another router took over", true, with(func(p *previousState) { p.peerLive = true }), 0, false, "another router"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := decideAdoption(c, tt.adoptable, "pinned maps have layout version 1, this binary 2", tt.p)
			if v.ok != tt.ok || (tt.ok && v.state != tt.want) || !strings.Contains(v.why, tt.why) {
				t.Errorf("decideAdoption = %+v; want ok %v state %v, reason containing %q", v, tt.ok, tt.want, tt.why)
			}
		})
	}
	if configHash(c) != configHash(c) || configHash(c) == configHash(changed) {
		t.Error("configHash is not a function of the config")
	}
	tracked := c
	tracked.Track = []control.TrackRef{{Name: "check_web", Weight: -60}}
	if configHash(tracked) != h {
		t.Error("a tracker change alters the config hash; it is applied in place and must not prevent adoption")
	}
}
