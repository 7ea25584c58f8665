package config

import (
	"strings"
	"testing"
)

// TestKeepalivedTrackFile: a track_file's weight defaults to 1, as keepalived's
// track_file_handler sets it (keepalived/trackers/track_file.c), so a file holding 10
// raises the priority by 10 instead of faulting the instance; an instance's
// "track_file { NAME weight N }" overrides it. init_file takes [VALUE] [overwrite] in
// either order, the value defaulting to 0 (track_file_init_handler, same file).
//
// keyword: top-level vrrp_track_file
// keyword: top-level track_file
// keyword: track_file file
// keyword: track_file weight
// keyword: vrrp_instance track_file
func TestKeepalivedTrackFile(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		want      Tracker
		wantTrack []TrackRef
	}{
		{"vrrp_track_file without weight", "vrrp_track_file tf {\n file /run/tf\n}\n",
			Tracker{File: "/run/tf", Weight: 1}, nil},
		{"track_file without weight", "track_file tf {\n file /run/tf\n}\n",
			Tracker{File: "/run/tf", Weight: 1}, nil},
		{"explicit weight 0 keeps FAULT semantics", "track_file tf {\n file /run/tf\n weight 0\n}\n",
			Tracker{File: "/run/tf", Weight: 0}, nil},
		{"negative weight", "track_file tf {\n file /run/tf\n weight -5\n}\n",
			Tracker{File: "/run/tf", Weight: -5}, nil},
		{"instance reference inherits weight 1", "track_file tf {\n file /run/tf\n}\nvrrp_instance V {\n track_file {\n  tf\n }\n}\n",
			Tracker{File: "/run/tf", Weight: 1}, []TrackRef{{Name: "tf"}}},
		{"instance reference overrides", "track_file tf {\n file /run/tf\n}\nvrrp_instance V {\n track_file {\n  tf weight 7\n }\n}\n",
			Tracker{File: "/run/tf", Weight: 1}, []TrackRef{{Name: "tf", Weight: intp(7)}}},
		{"init_file alone creates with 0", "track_file tf {\n file /run/tf\n init_file\n}\n",
			Tracker{File: "/run/tf", Weight: 1, FileInit: &FileInit{}}, nil},
		{"init_file value", "track_file tf {\n file /run/tf\n init_file 10\n}\n",
			Tracker{File: "/run/tf", Weight: 1, FileInit: &FileInit{Value: 10}}, nil},
		{"init_file overwrite then value", "track_file tf {\n file /run/tf\n init_file overwrite -3\n}\n",
			Tracker{File: "/run/tf", Weight: 1, FileInit: &FileInit{Value: -3, Overwrite: true}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadKeepalived(kaWrite(t, tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if d := kaDiff(tt.want, c.Trackers["tf"]); d != "" {
				t.Errorf("tracker (-want +got):\n%s", d)
			}
			var got []TrackRef
			if len(c.Instances) > 0 {
				got = c.Instances[0].Track
			}
			if d := kaDiff(tt.wantTrack, got); d != "" {
				t.Errorf("track (-want +got):\n%s", d)
			}
		})
	}
}

// TestKeepalivedInitFileErrors: init_file's arguments are checked, file:line:col.
//
// keyword: track_file init_file
func TestKeepalivedInitFileErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"unknown option", "track_file tf {\n file /run/tf\n init_file create\n}\n",
			`config: F:3:12: init_file: unknown option "create" (init_file [VALUE] [overwrite])`},
		{"bad number", "track_file tf {\n file /run/tf\n init_file 1x\n}\n",
			`config: F:3:12: init_file: "1x" is not an integer`},
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
		})
	}
}

// TestFileInitNeedsFile: file_init only makes sense on a file tracker.
func TestFileInitNeedsFile(t *testing.T) {
	_, err := Parse([]byte(minimal+"  t:\n    command: [/bin/true]\n    file_init: {value: 1}\n"), "yaml", "f.yaml")
	if err == nil || !strings.Contains(err.Error(), "trackers.t.file_init") {
		t.Fatalf("err = %v, want a problem at trackers.t.file_init", err)
	}
}

// TestKeepalivedInitFail: a vrrp_script with init_fail starts failed, as
// keepalived's vrrp_script_init_fail_handler does (keepalived/vrrp/vrrp_parser.c);
// the daemon hands it to the tracker (control.TrackerConfig.InitFail).
//
// keyword: vrrp_script init_fail
func TestKeepalivedInitFail(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"vrrp_script s {\n script /bin/true\n init_fail\n}\n", true},
		{"vrrp_script s {\n script /bin/true\n}\n", false},
	} {
		c, err := LoadKeepalived(kaWrite(t, tc.in))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Trackers["s"].InitFail; got != tc.want {
			t.Errorf("%q: InitFail = %v, want %v", tc.in, got, tc.want)
		}
		if len(c.Warnings) != 0 {
			t.Errorf("%q: warnings %v, want none", tc.in, c.Warnings)
		}
	}
}

// TestYAMLFileTrackerWeight: in YAML too a file tracker without weight gets
// keepalived's weight 1, so the keepalived import and a hand-written YAML agree;
// a written weight 0 stays 0 (FAULT on non-zero) and survives Marshal.
func TestYAMLFileTrackerWeight(t *testing.T) {
	for _, tc := range []struct {
		name, tracker string
		want          int
	}{
		{"omitted", "file: /run/tf", 1},
		{"zero", "file: /run/tf\n    weight: 0", 0},
		{"negative", "file: /run/tf\n    weight: -5", -5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(minimal+"  tf:\n    "+tc.tracker+"\n"), "yaml", "t.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Trackers["tf"].Weight; got != tc.want {
				t.Fatalf("weight %d, want %d", got, tc.want)
			}
			out, err := Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			back, err := Parse(out, "yaml", "back.yaml")
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if got := back.Trackers["tf"].Weight; got != tc.want {
				t.Errorf("after Marshal: weight %d, want %d\n%s", got, tc.want, out)
			}
		})
	}
}
