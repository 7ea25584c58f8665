package config

import (
	"fmt"
	"strings"
	"testing"
)

// TestKeepalivedScriptUsers: "USER [GROUP]" after script_user, a vrrp_script's
// user and a notify script becomes the config's "USER[:GROUP]", which the daemon
// runs the script as (keepalived lib/notify.c set_privileges: setgid, setgroups to
// that one group, setuid). keepalived reads the words after a notify script as
// its user and group (lib/notify.c, notify_script_init and set_script_uid_gid).
//
// keyword: global_defs script_user
// keyword: vrrp_script user
// keyword: vrrp_instance notify_master
// keyword: vrrp_instance notify_backup
// keyword: vrrp_instance notify_fault
// keyword: vrrp_instance notify_stop
// keyword: vrrp_instance notify
// keyword: vrrp_sync_group notify_master
// keyword: vrrp_sync_group notify_backup
// keyword: vrrp_sync_group notify_fault
// keyword: vrrp_sync_group notify
// keyword: vrrp_sync_group notify_stop
func TestKeepalivedScriptUsers(t *testing.T) {
	const inst = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  198.18.0.1\n }\n"
	tests := []struct {
		name       string
		in         string
		scriptUser string
		tracker    string
		notify     Notify
		group      Notify
		wantErr    string
	}{
		{name: "script_user alone", in: "global_defs {\n script_user nobody\n}\n", scriptUser: "nobody"},
		{name: "script_user with group", in: "global_defs {\n script_user nobody nogroup\n}\n", scriptUser: "nobody:nogroup"},
		{name: "vrrp_script user and group", in: "vrrp_script s {\n script /bin/true\n user nobody nogroup\n}\n", tracker: "nobody:nogroup"},
		{name: "vrrp_script user", in: "vrrp_script s {\n script /bin/true\n user www-data\n}\n", tracker: "www-data"},
		{name: "notify scripts of an instance, one user", in: inst +
			" notify_master /etc/keepalived/m.sh nobody\n notify_backup \"/etc/keepalived/b.sh x\" nobody\n notify_fault /etc/keepalived/f.sh\n notify_stop /etc/keepalived/s.sh\n notify /etc/keepalived/n.sh nobody\n}\n",
			notify: Notify{Master: []string{"/etc/keepalived/m.sh"}, Backup: []string{"/etc/keepalived/b.sh", "x"}, Fault: []string{"/etc/keepalived/f.sh"},
				Stop: []string{"/etc/keepalived/s.sh"}, Generic: []string{"/etc/keepalived/n.sh"}, User: "nobody"}},
		{name: "notify script with user and group", in: inst + " notify_master /etc/keepalived/m.sh nobody nogroup\n}\n",
			notify: Notify{Master: []string{"/etc/keepalived/m.sh"}, User: "nobody:nogroup"}},
		{name: "sync group notify", in: inst + "}\nvrrp_sync_group G {\n group {\n  VI_1\n }\n notify_master /m.sh nobody\n notify_backup /b.sh\n notify_fault /f.sh nobody\n notify_stop /s.sh\n notify /n.sh\n}\n",
			group: Notify{Master: []string{"/m.sh"}, Backup: []string{"/b.sh"}, Fault: []string{"/f.sh"}, Stop: []string{"/s.sh"}, Generic: []string{"/n.sh"}, User: "nobody"}},
		{name: "two users in one block", in: inst + " notify_master /m.sh nobody\n notify_backup /b.sh www-data\n}\n",
			wantErr: `notify_backup: runs as "www-data", but another notify script of this block runs as "nobody"`},
		{name: "words after the group", in: inst + " notify_master /m.sh nobody nogroup extra\n}\n",
			wantErr: `notify_master: unexpected "extra" after SCRIPT USER GROUP`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadKeepalived(kaWrite(t, tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range c.Warnings {
				if strings.Contains(w.Message, "user") || strings.Contains(w.Message, "notify") {
					t.Errorf("warning %s:%d: %s", w.File, w.Line, w.Message)
				}
			}
			if c.ScriptUser != tt.scriptUser {
				t.Errorf("script_user %q, want %q", c.ScriptUser, tt.scriptUser)
			}
			if got := c.Trackers["s"].User; got != tt.tracker {
				t.Errorf("tracker user %q, want %q", got, tt.tracker)
			}
			var nt, gt Notify
			if len(c.Instances) > 0 {
				nt = c.Instances[0].Notify
			}
			if len(c.SyncGroups) > 0 {
				gt = c.SyncGroups[0].Notify
			}
			if d := kaDiff(tt.notify, nt); d != "" {
				t.Errorf("instance notify (-want +got):\n%s", d)
			}
			if d := kaDiff(tt.group, gt); d != "" {
				t.Errorf("group notify (-want +got):\n%s", d)
			}
		})
	}
}

// TestKeepalivedNotifyFIFO: notify_fifo / vrrp_notify_fifo PATH and their
// _script SCRIPT [USER [GROUP]] (keepalived's global_parser.c handlers; the
// script gets the FIFO's path as an argument, lib/notify.c fifo_open).
//
// keyword: global_defs notify_fifo
// keyword: global_defs notify_fifo_script
// keyword: global_defs vrrp_notify_fifo
// keyword: global_defs vrrp_notify_fifo_script
func TestKeepalivedNotifyFIFO(t *testing.T) {
	c, err := LoadKeepalived(kaWrite(t, `global_defs {
 notify_fifo /run/keepalived.fifo
 notify_fifo_script "/usr/local/bin/read-fifo --verbose" nobody nogroup
 vrrp_notify_fifo /run/vrrp.fifo root
 vrrp_notify_fifo_script /usr/local/bin/vrrp-fifo.sh
}
`))
	if err != nil {
		t.Fatal(err)
	}
	if d := kaDiff(NotifyFIFO{Path: "/run/keepalived.fifo", Script: []string{"/usr/local/bin/read-fifo", "--verbose"}, User: "nobody:nogroup"}, c.NotifyFIFO); d != "" {
		t.Errorf("notify_fifo (-want +got):\n%s", d)
	}
	if d := kaDiff(NotifyFIFO{Path: "/run/vrrp.fifo", Script: []string{"/usr/local/bin/vrrp-fifo.sh"}}, c.VRRPNotifyFIFO); d != "" {
		t.Errorf("vrrp_notify_fifo (-want +got):\n%s", d)
	}
	var owner bool
	for _, w := range c.Warnings {
		owner = owner || w.Line == 4 && strings.Contains(w.Message, `vrrp_notify_fifo: the FIFO is not given to "root"`)
	}
	if !owner {
		t.Errorf("no warning at line 4 for the FIFO's owner; got %v", c.Warnings)
	}
}

// TestKeepalivedSyncGroupWeights: in a sync group keepalived 2.2 ignores its
// members' tracker weights (keepalived/vrrp/vrrp.c, vrrp_complete_init): a
// tracked interface and a tracked file get weight 0, so failure / a non-zero
// value is FAULT (the lab showed keepalived faulting on a file holding 10:
// "ignoring weight from tracked file tf due to SYNC group"), and a vrrp_script
// with a weight is dropped ("ignoring tracked script with weights due to SYNC
// group"). sync_group_tracking_weight (old name global_tracking) keeps them.
//
// keyword: vrrp_sync_group sync_group_tracking_weight
// keyword: vrrp_sync_group global_tracking
func TestKeepalivedSyncGroupWeights(t *testing.T) {
	const conf = `vrrp_script chk {
 script /bin/true
 weight -20
}
vrrp_script must {
 script /bin/true
}
track_file tf {
 file /run/tf
}
vrrp_instance VI_1 {
 interface eth0
 virtual_router_id 1
 virtual_ipaddress {
  198.18.0.1
 }
 track_script {
  chk
  must
 }
 track_file {
  tf
 }
 track_interface {
  eth1 weight -10
 }
}
vrrp_sync_group G {
 group {
  VI_1
 }
 %s
}
`
	zero := 0
	for _, tc := range []struct {
		name, option string
		track        []TrackRef
		ifaces       []TrackInterface
		warnings     int
	}{
		{"weights ignored", "", []TrackRef{{Name: "must"}, {Name: "tf", Weight: &zero}}, []TrackInterface{{Name: "eth1"}}, 3},
		{"sync_group_tracking_weight", "sync_group_tracking_weight", []TrackRef{{Name: "chk"}, {Name: "must"}, {Name: "tf"}}, []TrackInterface{{Name: "eth1", Weight: -10}}, 0},
		{"global_tracking", "global_tracking", []TrackRef{{Name: "chk"}, {Name: "must"}, {Name: "tf"}}, []TrackInterface{{Name: "eth1", Weight: -10}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := LoadKeepalived(kaWrite(t, fmt.Sprintf(conf, tc.option)))
			if err != nil {
				t.Fatal(err)
			}
			in := c.Instances[0]
			if d := kaDiff(tc.track, in.Track); d != "" {
				t.Errorf("track (-want +got):\n%s", d)
			}
			if d := kaDiff(tc.ifaces, in.TrackInterfaces); d != "" {
				t.Errorf("track_interfaces (-want +got):\n%s", d)
			}
			n := 0
			for _, w := range c.Warnings {
				if strings.Contains(w.Message, "because of sync group G") {
					n++
				}
			}
			if n != tc.warnings {
				t.Errorf("%d sync-group warnings, want %d: %+v", n, tc.warnings, c.Warnings)
			}
		})
	}
}
