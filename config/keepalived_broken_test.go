package config

import (
	"fmt"
	"strings"
	"testing"
)

// kaBrokenInst is a vrrp_instance that loads, with extra lines before its '}'
// (line 8 on).
func kaBrokenInst(extra string) string {
	return "vrrp_instance VI {\n interface eth0\n virtual_router_id 51\n priority 100\n virtual_ipaddress {\n  198.18.0.10\n }\n" + extra + "\n}\n"
}

// kaBrokenCases are files keepalived -t rejects (exit status non-zero with eth0
// present, TestKeepalivedBrokenReference), with where and why ebpfvrrp rejects
// them: "LINE: TEXT", LINE being the line of the file.
var kaBrokenCases = []struct {
	name, text, want string
}{
	{"virtual_router_id 256", kaBrokenInst(" virtual_router_id 256"), "8: instances[0].vrid: 256 is outside 1–255"},
	{"virtual_router_id abc", kaBrokenInst(" virtual_router_id abc"), `8:20: virtual_router_id: "abc" is not an integer`},
	{"priority 0", kaBrokenInst(" priority 0"), "8: instances[0].priority: 0 is outside 1–255"},
	{"priority 256", kaBrokenInst(" priority 256"), "8: instances[0].priority: 256 is outside 1–255"},
	{"advert_int 300", kaBrokenInst(" advert_int 300"), "8:13: advert_int: 300 is outside 0.01–255 seconds"},
	{"version 4", kaBrokenInst(" version 4"), "8: instances[0].version: 4 is not a VRRP version"},
	{"state FOO", kaBrokenInst(" state FOO"), `8:8: state: "FOO" is not MASTER or BACKUP`},
	{"auth_type MD5", kaBrokenInst(" authentication {\n  auth_type MD5\n  auth_pass x\n }"), `9:13: auth_type: "MD5" is not PASS`},
	{"bad VIP", kaBrokenInst(" virtual_ipaddress {\n  198.18.0.300\n }"), `9:3: virtual_ipaddress: "198.18.0.300" is not an address`},
	{"bad unicast peer", kaBrokenInst(" unicast_peer {\n  198.18.0.999\n }"), `9:3: unicast_peer: "198.18.0.999" is not an IP address`},
	{"garp_master_delay abc", kaBrokenInst(" garp_master_delay abc"), `8:20: garp_master_delay: "abc" is not an integer`},
	{"track_script not defined", kaBrokenInst(" track_script {\n  nosuch\n }"), `9: instances[0].track[0]: "nosuch" is not a tracker`},
	{"vrrp_script without script", "vrrp_script s {\n interval 2\n}\n" + kaBrokenInst(" track_script {\n  s\n }"), "1:1: vrrp_script s has no script"},
	{"vrrp_script weight 300", "vrrp_script s {\n script /bin/true\n weight 300\n}\n" + kaBrokenInst(""), "3: trackers.s.weight: 300 is outside -253–253"},
	{"instance defined twice", kaBrokenInst("") + kaBrokenInst(""), `10:15: vrrp_instance "VI" already defined at`},
	{"same VRID twice on eth0", kaBrokenInst("") + strings.Replace(kaBrokenInst(""), "VI {", "VI2 {", 1), "12: instances[1].vrid: 51 on eth0 (IPv4) is already used by instances[0] (VI)"},
	{"sync group names an unknown instance", "vrrp_sync_group G {\n group {\n  VI\n  NOPE\n }\n}\n" + kaBrokenInst(""), `4: sync_groups[0].instances[1]: "NOPE" is not an instance name`},
	{"missing '}'", strings.TrimSuffix(kaBrokenInst(""), "}\n"), `1:18: block of "vrrp_instance" opened here is never closed`},
	{"track_process without process", "vrrp_track_process tp {\n weight 2\n}\n" + kaBrokenInst(" track_process {\n  tp\n }"), "1:1: vrrp_track_process tp has no process"},
	{"track_process param_match fuzzy", "vrrp_track_process tp {\n process a b\n param_match fuzzy\n}\n" + kaBrokenInst(""), `3:14: param_match: "fuzzy" is not exact, partial or initial`},
	{"track_process quorum 0", "vrrp_track_process tp {\n process a\n quorum 0\n}\n" + kaBrokenInst(""), "3:9: quorum: 0 is outside 1–65535"},
	{"track_process quorum_max below quorum", "vrrp_track_process tp {\n process a\n quorum 3\n quorum_max 2\n}\n" + kaBrokenInst(""), "4: trackers.tp.process.quorum_max: 2 is outside 3–65535"},
	{"track_process delay 3601", "vrrp_track_process tp {\n process a\n delay 3601\n}\n" + kaBrokenInst(""), "3:8: delay: 3601 is outside 0.000001–3600 seconds"},
	{"track_process delay 0", "vrrp_track_process tp {\n process a\n delay 0\n}\n" + kaBrokenInst(""), "3:8: delay: 0 is outside 0.000001–3600 seconds"},
}

// TestKeepalivedBrokenConfigs: every file keepalived -t rejects is rejected
// here too, naming the file and line.
func TestKeepalivedBrokenConfigs(t *testing.T) {
	for _, tt := range kaBrokenCases {
		t.Run(tt.name, func(t *testing.T) {
			path := kaWrite(t, tt.text)
			_, err := Load(path)
			if want := fmt.Sprintf("%s:%s", path, tt.want); err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v, want it to contain %q", err, want)
			}
		})
	}
}

// TestKeepalivedBrokenReference: keepalived -t rejects every kaBrokenCases file.
func TestKeepalivedBrokenReference(t *testing.T) {
	var names, texts []string
	for _, tt := range kaBrokenCases {
		names, texts = append(names, tt.name), append(texts, tt.text)
	}
	kaReference(t, names, texts, func(t *testing.T, i, rc int) {
		if rc == 0 {
			t.Errorf("keepalived -t accepts it (exit status 0); ebpfvrrp says %q", kaBrokenCases[i].want)
		}
	})
}
