package config

import (
	"strings"
	"testing"
	"time"
)

// TestKeepalivedTrackProcess: vrrp_track_process as keepalived's vrrp_parser.c reads
// it (vrrp_tprocess_*_handler): arguments after the process name imply
// full_command and exact parameter matching, param_match implies full_command,
// quorum_max 0 sets quorum 0, delay sets both delays, weight 0 unless written
// (alloc_vrrp_process, keepalived/vrrp/vrrp_data.c), and the instance's
// track_process lines reference it like track_script.
//
// keyword: top-level vrrp_track_process
// keyword: vrrp_track_process process
// keyword: vrrp_track_process param_match
// keyword: vrrp_track_process weight
// keyword: vrrp_track_process quorum
// keyword: vrrp_track_process quorum_max
// keyword: vrrp_track_process fork_delay
// keyword: vrrp_track_process terminate_delay
// keyword: vrrp_track_process delay
// keyword: vrrp_track_process full_command
// keyword: vrrp_instance track_process
func TestKeepalivedTrackProcess(t *testing.T) {
	zero, three := 0, 3
	tests := []struct {
		name string
		body string
		want Tracker
	}{
		{"name only", "process nginx", Tracker{Process: &ProcessCheck{Name: "nginx", Quorum: 1}}},
		{"arguments: exact full command", "process /usr/sbin/haproxy -f \"/etc/a b.cfg\"\n weight -20",
			Tracker{Weight: -20, Process: &ProcessCheck{Name: "/usr/sbin/haproxy", Args: []string{"-f", "/etc/a b.cfg"}, FullCommand: true, Quorum: 1}}},
		{"param_match initial", "process /usr/bin/python3 /srv/app\n param_match initial",
			Tracker{Process: &ProcessCheck{Name: "/usr/bin/python3", Args: []string{"/srv/app"}, ParamMatch: "initial", FullCommand: true, Quorum: 1}}},
		{"quorum and quorum_max", "process nginx\n quorum 2\n quorum_max 3\n weight 10",
			Tracker{Weight: 10, Process: &ProcessCheck{Name: "nginx", Quorum: 2, QuorumMax: &three}}},
		{"quorum_max 0: none may run", "process nginx\n quorum_max 0",
			Tracker{Process: &ProcessCheck{Name: "nginx", QuorumMax: &zero}}},
		{"delay sets both", "process nginx\n delay 0.5", Tracker{Process: &ProcessCheck{Name: "nginx", Quorum: 1,
			ForkDelay: 500 * time.Millisecond, TerminateDelay: 500 * time.Millisecond}}},
		{"separate delays", "process nginx\n fork_delay 1\n terminate_delay 2.25", Tracker{Process: &ProcessCheck{Name: "nginx", Quorum: 1,
			ForkDelay: time.Second, TerminateDelay: 2250 * time.Millisecond}}},
		{"full_command", "process /usr/sbin/nginx\n full_command", Tracker{Process: &ProcessCheck{Name: "/usr/sbin/nginx", FullCommand: true, Quorum: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := "vrrp_track_process tp {\n " + tt.body + "\n}\n" + kaMinimalInstance("track_process {\n  tp weight 5\n }")
			c, err := Load(kaWrite(t, text))
			if err != nil {
				t.Fatal(err)
			}
			got := c.Trackers["tp"]
			tt.want.Interval, tt.want.Timeout, tt.want.Rise, tt.want.Fall = time.Second, time.Second, 1, 1
			if d := kaDiff(tt.want, got); d != "" {
				t.Errorf("tracker (-want +got):\n%s", d)
			}
			if d := kaDiff([]TrackRef{{Name: "tp", Weight: intp(5)}}, c.Instances[0].Track); d != "" {
				t.Errorf("track (-want +got):\n%s", d)
			}
		})
	}
}

// kaMinimalInstance is a vrrp_instance that validates, with extra lines inside.
func kaMinimalInstance(extra string) string {
	return "vrrp_instance VI {\n interface lo\n virtual_router_id 51\n priority 100\n virtual_ipaddress {\n  198.18.0.10\n }\n " + extra + "\n}\n"
}

// TestKeepalivedTrackProcessErrors: what keepalived reports as a config error
// (keepalived -t fails) is an error at its line here.
func TestKeepalivedTrackProcessErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"no process", "weight 2", "vrrp_track_process tp has no process"},
		{"bad param_match", "process a b\n param_match fuzzy", `:3:14: param_match: "fuzzy" is not exact, partial or initial`},
		{"weight reverse", "process a\n weight 2 reverse", `:3:11: weight: "reverse" is not supported`},
		{"weight out of range", "process a\n weight 300", "weight"},
		{"quorum_max below quorum", "process a\n quorum 3\n quorum_max 2", "quorum_max"},
		{"quorum 0", "process a\n quorum 0\n quorum_max 2", ":3:9: quorum: 0 is outside 1–65535"},
		{"delay too long", "process a\n delay 3601", ":3:8: delay: 3601 is outside"},
		{"typo", "process a\n quorom 2", `did you mean "quorum"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := "vrrp_track_process tp {\n " + tt.body + "\n}\n" + kaMinimalInstance("track_process {\n  tp\n }")
			_, err := Load(kaWrite(t, text))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	c, err := LoadKeepalived(kaWrite(t, "vrrp_track_process tp {\n process a_name_of_sixteen\n}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0].Message, "no process ever matches") || c.Warnings[0].Line != 2 {
		t.Errorf("warnings %+v, want one at line 2 about the 15-byte name", c.Warnings)
	}
}
