package config

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// kaWrite writes text to a fresh keepalived.conf and returns its path.
func kaWrite(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func intp(v int) *int { return &v }

// TestKeepalivedExamples proves every example in configs/keepalived loads unchanged,
// without warnings, into what the tutorial means.
func TestKeepalivedExamples(t *testing.T) {
	dir := filepath.Join("..", "configs", "keepalived")
	files, err := filepath.Glob(filepath.Join(dir, "*.conf"))
	if err != nil || len(files) < 4 {
		t.Fatalf("want at least 4 examples in %s, got %v (%v)", dir, files, err)
	}
	type fact struct {
		router, state string
		prio          int
		tracker       string
	}
	want := map[string]fact{
		"lb-5.conf":           {"lb-5", "master", 150, ""},
		"lb-6.conf":           {"lb-6", "backup", 100, ""},
		"lb-5-check_web.conf": {"lb-5", "master", 150, "check_web"},
		"lb-6-check_vip.conf": {"lb-6", "backup", 100, "check_vip"},
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if !IsKeepalived(data) {
				t.Errorf("IsKeepalived = false")
			}
			cfg, err := LoadKeepalived(f)
			if err != nil {
				t.Fatalf("LoadKeepalived: %v", err)
			}
			for _, w := range cfg.Warnings {
				t.Errorf("unexpected warning %s:%d: %s", w.File, w.Line, w.Message)
			}
			w, ok := want[filepath.Base(f)]
			if !ok {
				return // a new example: loading cleanly is the test
			}
			if len(cfg.Instances) != 1 {
				t.Fatalf("instances = %d, want 1", len(cfg.Instances))
			}
			in := cfg.Instances[0]
			vip := netip.MustParsePrefix("10.0.0.3/32")
			if cfg.RouterID != w.router || in.Name != "VIP_1" || in.State != w.state || in.Priority != w.prio ||
				in.VRID != 50 || in.Interface != "eth0" || in.AdvertInterval != time.Second || !in.Preempt ||
				in.Auth != (Auth{Type: "pass", Password: "1111"}) || len(in.VIPs) != 1 || in.VIPs[0].Address != vip {
				t.Errorf("loaded %+v (router %q), want router %q state %s priority %d, VRID 50 on eth0, PASS 1111, VIP %s", in, cfg.RouterID, w.router, w.state, w.prio, vip)
			}
			if w.tracker == "" {
				if len(cfg.Trackers) != 0 || len(in.Track) != 0 {
					t.Errorf("unexpected trackers %v / %v", cfg.Trackers, in.Track)
				}
				return
			}
			script := "/etc/keepalived/" + w.tracker + ".sh"
			wantT := Tracker{Command: []string{script}, Interval: 5 * time.Second}
			if d := kaDiff(map[string]Tracker{w.tracker: wantT}, cfg.Trackers); d != "" {
				t.Errorf("trackers (-want +got):\n%s", d)
			}
			if d := kaDiff([]TrackRef{{Name: w.tracker}}, in.Track); d != "" {
				t.Errorf("track (-want +got):\n%s", d)
			}
			// The script the config runs ships next to it, executable.
			fi, err := os.Stat(filepath.Join(dir, filepath.Base(script)))
			if err != nil || fi.Mode()&0o111 == 0 {
				t.Errorf("%s must exist in %s and be executable (%v)", filepath.Base(script), dir, err)
			}
		})
	}
}

// TestKeepalivedAllKeywords loads testdata/keepalived/full.conf, which uses every
// supported keyword with a non-default value, and compares the whole Config.
//
// keyword: top-level global_defs
// keyword: top-level vrrp_script
// keyword: top-level vrrp_instance
// keyword: top-level vrrp_sync_group
// keyword: global_defs router_id
// keyword: global_defs vrrp_version
// keyword: global_defs vrrp_mcast_group4
// keyword: global_defs vrrp_mcast_group6
// keyword: global_defs vrrp_garp_master_repeat
// keyword: global_defs vrrp_garp_master_refresh
// keyword: global_defs vrrp_garp_master_refresh_repeat
// keyword: global_defs vrrp_garp_interval
// keyword: vrrp_script script
// keyword: vrrp_script interval
// keyword: vrrp_script timeout
// keyword: vrrp_script weight
// keyword: vrrp_script rise
// keyword: vrrp_script fall
// keyword: vrrp_instance state
// keyword: vrrp_instance interface
// keyword: vrrp_instance virtual_router_id
// keyword: vrrp_instance priority
// keyword: vrrp_instance version
// keyword: vrrp_instance authentication
// keyword: vrrp_instance virtual_ipaddress_excluded
// keyword: vrrp_instance nopreempt
// keyword: vrrp_instance preempt_delay
// keyword: vrrp_instance unicast_src_ip
// keyword: vrrp_instance unicast_peer
// keyword: vrrp_instance track_interface
// keyword: vrrp_instance track_script
// keyword: vrrp_instance garp_master_repeat
// keyword: vrrp_instance garp_master_refresh
// keyword: vrrp_instance garp_master_refresh_repeat
// keyword: vrrp_instance use_vmac
// keyword: vrrp_instance dont_track_primary
// keyword: vrrp_sync_group group
// keyword: authentication auth_type
// keyword: authentication auth_pass
// keyword: virtual_ipaddress dev
// keyword: virtual_ipaddress label
func TestKeepalivedAllKeywords(t *testing.T) {
	path := filepath.Join("testdata", "keepalived", "full.conf")
	got, err := LoadKeepalived(path)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.Source = path
	want.RouterID = "lb-full"
	want.McastGroup4 = netip.MustParseAddr("224.0.0.19")
	want.McastGroup6 = netip.MustParseAddr("ff02::13")
	want.GARP = GARP{MasterDelay: 10 * time.Second, MasterRepeat: 3, Refresh: time.Minute, RefreshRepeat: 2, Interval: time.Millisecond}
	want.ScriptUser = "keepalived_script"
	want.Trackers = map[string]Tracker{
		"chk_nginx": {Command: []string{"killall", "-0", "nginx"}, Interval: 2 * time.Second, Timeout: 3 * time.Second,
			Weight: -20, Rise: 2, Fall: 3, User: "nobody"},
		"chk_shell": {Command: []string{"/bin/sh", "-c", "curl -fs http://127.0.0.1/ >/dev/null"}},
		"tf_maint":  {File: "/run/maint", Weight: -50},
	}
	vi4 := DefaultInstance()
	vi4.Name, vi4.State, vi4.Interface, vi4.VRID, vi4.Priority = "VI_4", "master", "eth0", 51, 200
	vi4.Version = 3 // from global vrrp_version
	vi4.AdvertInterval = 500 * time.Millisecond
	vi4.VIPs = []VIP{
		{Address: netip.MustParsePrefix("198.18.0.10/32")},
		{Address: netip.MustParsePrefix("198.18.0.11/24"), Device: "eth1", Label: "eth1:vip"},
	}
	vi4.ExcludedVIPs = []VIP{{Address: netip.MustParsePrefix("198.18.1.10/32"), Device: "eth0"}}
	vi4.Preempt = false
	vi4.UnicastSource = netip.MustParseAddr("198.18.0.5")
	vi4.UnicastPeers = []netip.Addr{netip.MustParseAddr("198.18.0.6"), netip.MustParseAddr("198.18.0.7")}
	vi4.TrackInterfaces = []TrackInterface{{Name: "eth1", Weight: -10}, {Name: "eth2"}}
	vi4.Track = []TrackRef{{Name: "chk_nginx", Weight: intp(-30)}, {Name: "chk_shell"}, {Name: "tf_maint"}}
	vi4.Notify.Generic = []string{"/etc/keepalived/notify.sh"}
	vi4.Notify.Master = []string{"/etc/keepalived/to_master.sh", "--vip", "198.18.0.10"}
	vi4.Notify.Backup = []string{"/etc/keepalived/to_backup.sh"}
	vi4.Notify.Fault = []string{"/usr/bin/logger", "-t", "vrrp", "fault on VI_4"}
	vi4.Notify.Stop = []string{"/etc/keepalived/stop.sh"}
	vi4.GARP = GARP{MasterDelay: time.Second, MasterDelaySet: true, MasterRepeat: 4, Refresh: 30 * time.Second, RefreshRepeat: 3}
	vi4.UseVMAC = true
	vi4.DontTrackPrimary = true

	vi6 := DefaultInstance()
	vi6.Name, vi6.Interface, vi6.VRID, vi6.Version = "VI_6", "eth0", 52, 3
	vi6.VIPs = []VIP{{Address: netip.MustParsePrefix("fd00:198:18::10/128")}}

	vi2 := DefaultInstance()
	vi2.Name, vi2.Interface, vi2.VRID, vi2.Version = "VI_2", "eth0", 53, 2 // own version beats global 3
	vi2.Auth = Auth{Type: "pass", Password: "s3cret"}
	vi2.PreemptDelay = 30 * time.Second
	vi2.VIPs = []VIP{{Address: netip.MustParsePrefix("198.18.0.20/32")}}

	want.Instances = []Instance{vi4, vi6, vi2}
	want.SyncGroups = []SyncGroup{{
		Name:      "SG_1",
		Instances: []string{"VI_4", "VI_2"},
		Notify: Notify{
			Master:  []string{"/etc/keepalived/group.sh", "master"},
			Generic: []string{"/etc/keepalived/group-notify.sh"},
		},
	}}
	want.Positions = got.Positions // checked separately below
	want.Warnings = got.Warnings   // likewise
	if d := kaDiff(want, got); d != "" {
		t.Errorf("config (-want +got):\n%s", d)
	}
	// The only warnings are those of keywords the table classes as warned (notify
	// hooks, script users), each with the table's text.
	for _, w := range got.Warnings {
		name, msg, _ := strings.Cut(w.Message, ": ")
		found := false
		for _, k := range kaKeywords {
			found = found || (k.Name == name && k.Class == kaWarned && k.Msg == msg)
		}
		if !found {
			t.Errorf("unexpected warning %s:%d: %s", w.File, w.Line, w.Message)
		}
	}

	// Validation problems must point at the keepalived lines.
	for p, line := range map[string]int{
		"router_id":                        4,
		"garp.interval":                    12,
		"trackers.chk_nginx":               16,
		"trackers.chk_nginx.command":       17,
		"trackers.chk_nginx.weight":        20,
		"trackers.tf_maint.file":           31,
		"instances[0]":                     35,
		"instances[0].vrid":                38,
		"instances[0].version":             5,
		"instances[0].vips[1]":             43,
		"instances[0].unicast_peers[1]":    52,
		"instances[0].allowed_peers[0]":    51,
		"instances[0].track_interfaces[1]": 56,
		"instances[0].track[2]":            63,
		"instances[0].notify.fault":        68,
		"instances[0].garp.refresh":        72,
		"instances[2].version":             89,
		"instances[2].auth.password":       92,
		"instances[2].preempt_delay":       94,
		"sync_groups[0].instances[1]":      103,
	} {
		if pos, ok := got.Positions[p]; !ok || pos.Line != line || pos.File != path {
			t.Errorf("Positions[%q] = %+v (present %v), want %s:%d", p, pos, ok, path, line)
		}
	}
}

// keyword: any-line include
func TestKeepalivedInclude(t *testing.T) {
	// Load from another working directory: includes resolve against the file.
	path, err := filepath.Abs(filepath.Join("testdata", "keepalived", "include", "main.conf"))
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	cfg, err := LoadKeepalived(path)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, in := range cfg.Instances {
		names = append(names, in.Name)
	}
	if d := kaDiff([]string{"VI_1", "VI_2"}, names); d != "" {
		t.Errorf("instances from conf.d/*.conf in glob order (-want +got):\n%s", d)
	}
	if _, ok := cfg.Trackers["chk"]; !ok || cfg.RouterID != "lb-inc" {
		t.Errorf("router_id %q, trackers %v: want lb-inc and chk", cfg.RouterID, cfg.Trackers)
	}
	dir := filepath.Dir(path)
	wantWarn := []Warning{
		{File: filepath.Join(dir, "extra", "bad-keyword.inc"), Line: 1},
		{File: path, Line: 7},
	}
	if len(cfg.Warnings) != len(wantWarn) {
		t.Fatalf("warnings = %+v, want 2 (smtp_alert in the included fragment, empty glob)", cfg.Warnings)
	}
	for _, w := range wantWarn {
		found := false
		for _, g := range cfg.Warnings {
			found = found || (g.File == w.File && g.Line == w.Line)
		}
		if !found {
			t.Errorf("no warning at %s:%d in %+v", w.File, w.Line, cfg.Warnings)
		}
	}
	if p := cfg.Positions["instances[1].vrid"]; p.File != filepath.Join(dir, "conf.d", "20-vi2.conf") || p.Line != 3 {
		t.Errorf("instances[1].vrid position = %+v, want conf.d/20-vi2.conf:3", p)
	}
}

func TestKeepalivedIncludeCycle(t *testing.T) {
	_, err := LoadKeepalived(filepath.Join("testdata", "keepalived", "cycle", "a.conf"))
	if !errors.Is(err, ErrKeepalivedSyntax) || !strings.Contains(err.Error(), "include cycle") ||
		!strings.Contains(err.Error(), "b.conf:1:1") {
		t.Fatalf("err = %v, want an include cycle reported at b.conf:1:1", err)
	}
}

func TestKeepalivedMissingFile(t *testing.T) {
	_, err := LoadKeepalived(filepath.Join(t.TempDir(), "nope.conf"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want os.ErrNotExist", err)
	}
}

// TestKeepalivedWarnings: unsupported and unknown keywords are warnings with the
// keyword's line, never dropped silently, and the rest of the file still loads.
func TestKeepalivedWarnings(t *testing.T) {
	inst := func(body string) string {
		return "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n" + body + "\n virtual_ipaddress {\n  198.18.0.1\n }\n}\n"
	}
	tests := []struct {
		name string
		in   string
		line int
		want string // substring of the message
	}{
		{"virtual_server", "virtual_server 10.0.0.3 80 {\n delay_loop 6\n real_server 10.0.0.7 80 {\n  weight 1\n }\n}\n", 1,
			"virtual_server: LVS load balancing is not part of ebpfvrrp; use nginx/ipvsadm (block ignored)"},
		{"virtual_server_group", "\n\nvirtual_server_group G {\n 10.0.0.3 80\n}\n", 3, "virtual_server_group: LVS"},
		{"SMTP in global_defs", "global_defs {\n notification_email {\n  a@example.com\n }\n smtp_server 127.0.0.1\n}\n", 2,
			"notification_email: SMTP alerts are not sent"},
		{"smtp_server", "global_defs {\n router_id x\n smtp_server 127.0.0.1\n}\n", 3, "smtp_server: SMTP"},
		{"SNMP", "global_defs {\n enable_snmp_vrrp\n}\n", 2, "enable_snmp_vrrp: SNMP is not supported"},
		{"bfd_instance", "bfd_instance b1 {\n neighbor_ip 10.0.0.6\n}\n", 1, "bfd_instance: BFD is not supported"},
		{"static_ipaddress", "static_ipaddress {\n 10.0.0.9/24 dev eth0\n}\n", 1, "static_ipaddress: addresses that are always present"},
		{"unknown top-level", "frobnicate_everything {\n}\n", 1, "frobnicate_everything: unknown keyword in the top level, ignored"},
		{"unknown global", "global_defs {\n some_future_setting 1\n}\n", 2, "some_future_setting: unknown keyword in global_defs"},
		{"instance smtp_alert", inst(" smtp_alert"), 4, "smtp_alert: SMTP"},
		{"instance unknown keyword", inst(" completely_new_feature on"), 4, "completely_new_feature: unknown keyword in vrrp_instance"},
		{"VIP option", "vrrp_instance VI_1 {\n virtual_ipaddress {\n  198.18.0.1/24 brd 198.18.0.255 dev eth0 scope global\n }\n}\n", 3,
			`virtual_ipaddress: "brd 198.18.0.255" on 198.18.0.1/24 is not supported and ignored`},
		{"unicast_peer ttl", inst(" unicast_peer {\n  198.18.0.6 min_ttl 250\n }"), 5, "unicast_peer: min_ttl is not checked: unicast adverts are accepted whatever their TTL"},
		{"script words after the script", "vrrp_script s {\n script /usr/bin/pgrep nginx\n}\n", 2,
			`script: keepalived ignores "nginx" after the script; quote the whole command line`},
		{"long password", inst(" authentication {\n  auth_type PASS\n  auth_pass 123456789\n }"), 6, `only "12345678" is used`},
		{"auth_pass without auth_type", inst(" authentication {\n  auth_pass 1111\n }"), 5, "auth_pass without auth_type"},
		{"sync group tracking", "vrrp_sync_group G {\n group {\n  VI_1\n }\n track_script {\n  s\n }\n}\n", 5, "track_script: put track_* in each member"},
		{"use_vmac name", inst(" use_vmac vrrp.51"), 4, `use_vmac: interface name "vrrp.51" ignored`},
		{"enable_script_security", "global_defs {\n enable_script_security\n}\n", 2, "enable_script_security: ebpfvrrp -t checks script ownership"},
		{"auth with VRRPv3 dropped as keepalived does", inst(" version 3\n authentication {\n  auth_type PASS\n  auth_pass 1111\n }"), 5,
			"(VI_1) VRRP version 3 does not support authentication; ignored"},
		{"preempt_delay with nopreempt reset as keepalived does", inst(" nopreempt\n preempt_delay 10"), 5,
			"(VI_1) preempt_delay has no effect with nopreempt; reset to 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := kaWrite(t, tt.in)
			cfg, err := LoadKeepalived(path)
			if err != nil {
				t.Fatalf("LoadKeepalived: %v", err)
			}
			for _, w := range cfg.Warnings {
				if w.File == path && w.Line == tt.line && strings.Contains(w.Message, tt.want) {
					return
				}
			}
			t.Errorf("no warning at line %d containing %q; got %+v", tt.line, tt.want, cfg.Warnings)
		})
	}
}

// TestKeepalivedErrors: values ebpfvrrp cannot take and likely typos are errors that
// name file:line:column.
func TestKeepalivedErrors(t *testing.T) {
	inst := func(body string) string {
		return "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n" + body + "\n}\n"
	}
	tests := []struct {
		name string
		in   string
		want string // Error() with the temp path replaced by F
	}{
		{"misspelt instance keyword", inst(" priorty 100"), `config: F:4:2: unknown keyword "priorty" in vrrp_instance; did you mean "priority"?`},
		{"misspelt nopreempt", inst("\tnopremept"), `config: F:4:2: unknown keyword "nopremept" in vrrp_instance; did you mean "nopreempt"?`},
		{"misspelt unsupported keyword", inst(" smtp_alrt"), `config: F:4:2: unknown keyword "smtp_alrt" in vrrp_instance; did you mean "smtp_alert"?`},
		{"misspelt top-level block", "vrrp_instnace VI_1 {\n}\n", `config: F:1:1: unknown keyword "vrrp_instnace" in the top level; did you mean "vrrp_instance"?`},
		{"misspelt global", "global_defs {\n  router_di x\n}\n", `config: F:2:3: unknown keyword "router_di" in global_defs; did you mean "router_id"?`},
		{"misspelt script keyword", "vrrp_script s {\n script /bin/true\n intervall 2\n}\n", `config: F:3:2: unknown keyword "intervall" in vrrp_script; did you mean "interval"?`},
		{"AH", inst(" authentication {\n  auth_type AH\n  auth_pass x\n }"), `config: F:5:13: auth_type AH is not supported (RFC 3768 removed it; keepalived deprecates it); use PASS or no authentication`},
		{"bad state", inst(" state PRIMARY"), `config: F:4:8: state: "PRIMARY" is not MASTER or BACKUP`},
		{"bad number", inst(" priority high"), `config: F:4:11: priority: "high" is not an integer`},
		{"bad advert_int", inst(" advert_int 1s"), `config: F:4:13: advert_int: "1s" is not a number of seconds`},
		// keepalived/vrrp/vrrp_parser.c (vrrp_adv_handler) reads 0.01–255 s and
		// reports "(VI_1) Advert interval (0) not valid! Must be > 0"; keepalived -t
		// exits non-zero.
		// keyword: vrrp_instance advert_int
		{"advert_int 0", inst(" advert_int 0"), `config: F:4:13: advert_int: 0 is outside 0.01–255 seconds (keepalived: "Advert interval (0) not valid! Must be > 0")`},
		{"advert_int 0.0", inst("\tadvert_int 0.0"), `config: F:4:13: advert_int: 0.0 is outside 0.01–255 seconds (keepalived: "Advert interval (0.0) not valid! Must be > 0")`},
		{"advert_int below 10ms", inst(" advert_int 0.001"), `config: F:4:13: advert_int: 0.001 is outside 0.01–255 seconds (keepalived: "Advert interval (0.001) not valid! Must be > 0")`},
		{"advert_int above 255", inst(" advert_int 256"), `config: F:4:13: advert_int: 256 is outside 0.01–255 seconds (keepalived: "Advert interval (256) not valid! Must be > 0")`},
		{"missing value", inst(" priority"), `config: F:4:2: priority: missing value (priority NUMBER)`},
		{"extra value", inst(" priority 100 200"), `config: F:4:15: priority: unexpected "200" (priority NUMBER)`},
		{"bad VIP", inst(" virtual_ipaddress {\n  10.0.0.300\n }"), `config: F:5:3: virtual_ipaddress: "10.0.0.300" is not an address or address/prefix`},
		{"misspelt VIP option", inst(" virtual_ipaddress {\n  10.0.0.3 lable eth0:1\n }"), `config: F:5:12: virtual_ipaddress: unknown option "lable"; did you mean "label"?`},
		{"VIP option without value", inst(" virtual_ipaddress {\n  10.0.0.3 dev\n }"), `config: F:5:12: virtual_ipaddress: dev needs a value`},
		{"two peers on one line", inst(" unicast_peer {\n  10.0.0.6 10.0.0.7\n }"), `config: F:5:12: unicast_peer: one peer per line (keepalived reads "10.0.0.7" as an option of 10.0.0.6)`},
		{"bad peer", inst(" unicast_src_ip 10.0.0"), `config: F:4:17: unicast_src_ip: "10.0.0" is not an IP address`},
		{"reverse weight", inst(" track_script {\n  chk weight 10 reverse\n }"), `config: F:5:17: chk: "weight ... reverse" is not supported; use the opposite sign`},
		{"track weight typo", inst(" track_interface {\n  eth1 wieght 10\n }"), `config: F:5:8: eth1: unknown option "wieght"; did you mean "weight"?`},
		{"instance without name", "vrrp_instance {\n}\n", `config: F:1:1: vrrp_instance needs a name: vrrp_instance NAME {`},
		{"instance without block", "vrrp_instance VI_1\n", `config: F:1:1: vrrp_instance needs a { ... } block`},
		{"flag with a block", inst(" nopreempt {\n }"), `config: F:4:12: nopreempt does not take a { ... } block`},
		{"duplicate instance", inst("") + "vrrp_instance VI_1 {\n}\n", `config: F:6:15: vrrp_instance "VI_1" already defined at F:1:15`},
		{"duplicate tracker", "vrrp_script c {\n script /bin/true\n}\nvrrp_track_file c {\n file /x\n}\n", `config: F:4:17: vrrp_track_file "c" already defined at F:1:13`},
		{"script without script", "vrrp_script c {\n interval 2\n}\n", `config: F:1:1: vrrp_script c has no script`},
		{"script with unterminated inner quote", "vrrp_script c {\n script \"/bin/sh -c 'echo\"\n}\n", `config: F:2:9: script: missing terminating ' in "/bin/sh -c 'echo"`},
		{"mcast group family", "global_defs {\n vrrp_mcast_group4 ff02::12\n}\n", `config: F:2:20: vrrp_mcast_group4: ff02::12 is not an IPv4 address`},
		{"PASS without password", inst(" authentication {\n  auth_type PASS\n }"), `config: F:4:2: authentication: auth_type PASS needs auth_pass`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := kaWrite(t, tt.in)
			_, err := LoadKeepalived(path)
			if err == nil {
				t.Fatal("no error")
			}
			if got := strings.ReplaceAll(err.Error(), path, "F"); got != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", got, tt.want)
			}
			if !errors.Is(err, ErrKeepalivedConfig) && !errors.Is(err, ErrKeepalivedSyntax) {
				t.Errorf("error does not match a keepalived sentinel")
			}
		})
	}
}

func TestKeepalivedReportsEveryError(t *testing.T) {
	path := kaWrite(t, "vrrp_instance VI_1 {\n priorty 1\n state SLAVE\n advert_int x\n}\n")
	_, err := LoadKeepalived(path)
	if err == nil {
		t.Fatal("no error")
	}
	lines := regexp.MustCompile(`(?m)^config: F:\d+:\d+`).FindAllString(strings.ReplaceAll(err.Error(), path, "F"), -1)
	if d := kaDiff([]string{"config: F:2:2", "config: F:3:8", "config: F:4:13"}, lines); d != "" {
		t.Errorf("error positions (-want +got):\n%s\nerror: %v", d, err)
	}
}

func TestKeepalivedSemantics(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		check func(t *testing.T, c *Config)
	}{
		{"fractional v3 advert_int", "vrrp_instance V {\n version 3\n advert_int 0.01\n}\n", func(t *testing.T, c *Config) {
			if got := c.Instances[0].AdvertInterval; got != 10*time.Millisecond {
				t.Errorf("advert_int 0.01 = %v, want 10ms", got)
			}
		}},
		{"single-line blocks", "vrrp_instance V { virtual_ipaddress { 198.18.0.1 } unicast_peer { 198.18.0.2 } }\n", func(t *testing.T, c *Config) {
			in := c.Instances[0]
			if len(in.VIPs) != 1 || len(in.UnicastPeers) != 1 || in.UnicastPeers[0] != netip.MustParseAddr("198.18.0.2") {
				t.Errorf("got VIPs %v peers %v", in.VIPs, in.UnicastPeers)
			}
		}},
		{"unicast peers leave allowed_peers to the loader", "vrrp_instance V {\n unicast_peer {\n  198.18.0.2\n }\n}\n", func(t *testing.T, c *Config) {
			if c.Instances[0].AllowedPeers != nil {
				t.Errorf("AllowedPeers = %v, want empty", c.Instances[0].AllowedPeers)
			}
		}},
		{"no nopreempt means preempt", "vrrp_instance V {\n}\n", func(t *testing.T, c *Config) {
			if !c.Instances[0].Preempt {
				t.Error("Preempt = false")
			}
		}},
		{"IPv6 instance defaults to VRRPv3", "vrrp_instance V {\n virtual_ipaddress {\n  fd00:198:18::1/64\n }\n}\n", func(t *testing.T, c *Config) {
			if c.Instances[0].Version != 3 || c.Instances[0].VIPs[0].Address != netip.MustParsePrefix("fd00:198:18::1/64") {
				t.Errorf("version %d VIPs %v", c.Instances[0].Version, c.Instances[0].VIPs)
			}
		}},
		{"script weight default 0 (FAULT on failure)", "vrrp_script s {\n script \"pidof nginx\"\n}\n", func(t *testing.T, c *Config) {
			if d := kaDiff(Tracker{Command: []string{"pidof", "nginx"}}, c.Trackers["s"]); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		}},
		{"lower-case state accepted", "vrrp_instance V {\n state backup\n}\n", func(t *testing.T, c *Config) {
			if c.Instances[0].State != "backup" {
				t.Errorf("state %q", c.Instances[0].State)
			}
		}},
		{"global version applies after the instance", "vrrp_instance V {\n}\nglobal_defs {\n vrrp_version 3\n}\n", func(t *testing.T, c *Config) {
			if c.Instances[0].Version != 3 {
				t.Errorf("version %d, want 3", c.Instances[0].Version)
			}
		}},
		{"sync group members on one line", "vrrp_sync_group G {\n group { A B\n C }\n}\n", func(t *testing.T, c *Config) {
			if d := kaDiff([]string{"A", "B", "C"}, c.SyncGroups[0].Instances); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		}},
		{"track_file top-level alias", "track_file tf {\n file /run/x\n weight 3\n}\n", func(t *testing.T, c *Config) {
			if d := kaDiff(Tracker{File: "/run/x", Weight: 3}, c.Trackers["tf"]); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		}},
		{"escaped quotes in a notify script", `vrrp_instance V {` + "\n" + ` notify_master "/bin/echo \"a b\" c"` + "\n}\n", func(t *testing.T, c *Config) {
			if d := kaDiff([]string{"/bin/echo", "a b", "c"}, c.Instances[0].Notify.Master); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		}},
		{"parameters", "$VIP=198.18.0.9\nvrrp_instance V {\n virtual_ipaddress {\n  $VIP/24\n }\n}\n", func(t *testing.T, c *Config) {
			if c.Instances[0].VIPs[0].Address != netip.MustParsePrefix("198.18.0.9/24") {
				t.Errorf("VIPs %v", c.Instances[0].VIPs)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadKeepalived(kaWrite(t, tt.in))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestIsKeepalived(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"tutorial lb-5", "global_defs {\n    router_id lb-5 # 路由器ID\n}\n", true},
		{"comments first", "! Configuration File for keepalived\n# x\n\nvrrp_instance VI_1 {\n}\n", true},
		{"brace on next line", "vrrp_script chk\n{\n}\n", true},
		{"virtual_server only", "virtual_server 10.0.0.1 80 {\n}\n", true},
		{"include only", "include /etc/keepalived/conf.d/*.conf\n", true},
		{"definition first", "$IF=eth0\nvrrp_instance V {\n}\n", true},
		{"yaml", "router_id: lb-5\ninstances:\n  - name: VI_1\n", false},
		{"yaml with keepalived-ish key", "global_defs:\n  router_id: x\n", false},
		{"json", `{"router_id": "lb-5"}`, false},
		{"toml", "router_id = \"lb-5\"\n[[instances]]\nname = \"VI_1\"\n", false},
		{"keyword without block", "vrrp_instance VI_1\nstate MASTER\n", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsKeepalived([]byte(tt.in)); got != tt.want {
				t.Errorf("IsKeepalived = %v, want %v", got, tt.want)
			}
		})
	}
}
