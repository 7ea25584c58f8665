package daemon

import (
	"errors"
	"net/netip"
	"os/user"
	"testing"

	"github.com/ebpfvrrp/ebpfvrrp/config"
	"github.com/ebpfvrrp/ebpfvrrp/internal/hooks"
)

// TestScriptUsers: a tracker's or notify block's own user wins, then script_user;
// a keepalived.conf without script_user runs scripts as keepalived_script when
// that user exists, else as root, as keepalived does (lib/notify.c,
// set_default_script_user); a YAML config then runs them as the daemon's user.
func TestScriptUsers(t *testing.T) {
	kaDefault := ""
	if _, err := user.Lookup(config.KeepalivedScriptUser); err == nil {
		kaDefault = config.KeepalivedScriptUser
	}
	for _, tc := range []struct {
		name      string
		cfg       config.Config
		own, want string
	}{
		{name: "own user", cfg: config.Config{ScriptUser: "nobody"}, own: "www-data:www-data", want: "www-data:www-data"},
		{name: "script_user", cfg: config.Config{ScriptUser: "nobody:nogroup"}, want: "nobody:nogroup"},
		{name: "yaml without", cfg: config.Config{}, want: ""},
		{name: "keepalived.conf without", cfg: config.Config{Keepalived: true}, want: kaDefault},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := notifyConfig(&tc.cfg, config.Notify{Master: []string{"/m.sh"}, User: tc.own}).User; got != tc.want {
				t.Errorf("notify runs as %q, want %q", got, tc.want)
			}
			cfg := tc.cfg
			cfg.Trackers = map[string]config.Tracker{"chk": {Command: []string{"/bin/true"}, User: tc.own}}
			trs, err := buildTrackers(&cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := trs[0].Check.(hooks.ExecCheck).User; got != tc.want {
				t.Errorf("tracker runs as %q, want %q", got, tc.want)
			}
		})
	}
}

// TestNoInstancesRefused: a config without instances validates (as keepalived -t
// accepts one) but the daemon neither starts on it nor reloads to it.
func TestNoInstancesRefused(t *testing.T) {
	cfg := config.DefaultConfig()
	cfg.Source = "lvs-only.conf"
	if _, err := buildSetup(cfg, nil); !errors.Is(err, ErrNoInstances) {
		t.Errorf("buildSetup without instances: %v, want ErrNoInstances", err)
	}
	if err := New(Options{Config: cfg}).Run(t.Context()); !errors.Is(err, ErrNoInstances) {
		t.Errorf("Run without instances: %v, want ErrNoInstances", err)
	}
}

// TestSplitBrainNotifyWiring: split_brain.notify reaches every instance's notify
// config (the generic script then gets SPLIT_BRAIN / SPLIT_BRAIN_END); off by
// default, as keepalived never sends those states.
func TestSplitBrainNotifyWiring(t *testing.T) {
	for _, on := range []bool{false, true} {
		cfg := config.DefaultConfig()
		cfg.SplitBrain.Notify = on
		cfg.Instances = []config.Instance{config.DefaultInstance()}
		cfg.Instances[0].Name, cfg.Instances[0].Interface, cfg.Instances[0].VRID = "VI_1", "lo", 51
		cfg.Instances[0].VIPs = []config.VIP{{Address: netip.MustParsePrefix("198.18.10.3/32")}}
		cfg.Instances[0].UnicastSource = netip.MustParseAddr("127.0.0.1")
		ic, err := buildInstance(cfg, 0, cfg.Instances[0], nil, newLinkCache())
		if err != nil {
			t.Fatal(err)
		}
		if ic.Notify.SplitBrainNotify != on {
			t.Errorf("split_brain.notify %v: instance SplitBrainNotify %v", on, ic.Notify.SplitBrainNotify)
		}
	}
}
