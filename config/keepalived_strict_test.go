package config

import (
	"strings"
	"testing"
)

// TestKeepalivedStrict: with vrrp_strict (or an instance's strict_mode) what
// keepalived's vrrp_complete_instance (keepalived/vrrp/vrrp.c) reports as a
// config error in strict mode — so keepalived -t fails — is refused at its line.
// strict_mode off exempts an instance from a global vrrp_strict.
//
// keyword: global_defs vrrp_strict
// keyword: vrrp_instance strict_mode
func TestKeepalivedStrict(t *testing.T) {
	const global = "global_defs {\n vrrp_strict\n}\n"
	inst := func(lines ...string) string {
		return "vrrp_instance VI {\n interface eth0\n virtual_router_id 51\n priority 100\n" + strings.Join(lines, "\n") + "\n}\n"
	}
	vips := " virtual_ipaddress {\n  198.18.0.10\n }"
	tests := []struct {
		name, text string
		want       string // "" means it loads
	}{
		{"plain instance loads", global + inst(vips), ""},
		{"unicast_peer", global + inst(vips, " unicast_peer {\n  198.18.0.2\n }"), ":11:2: (VI) unicast_peer is not allowed with vrrp_strict"},
		{"authentication", global + inst(vips, " authentication {\n  auth_type PASS\n  auth_pass secret\n }"), ":11:2: (VI) authentication is not allowed"},
		{"preempt_delay", global + inst(vips, " preempt_delay 10"), ":11:2: (VI) preempt_delay is not allowed"},
		{"state MASTER without 255", global + inst(vips, " state MASTER"), ":11:2: (VI) state MASTER with priority 100 is not allowed"},
		{"state BACKUP with 255", global + strings.Replace(inst(vips, " state BACKUP"), "priority 100", "priority 255", 1), "(VI) state BACKUP with priority 255 is not allowed"},
		{"state MASTER with 255 loads", global + strings.Replace(inst(vips, " state MASTER"), "priority 100", "priority 255", 1), ""},
		{"no VIP", global + inst(), ":4:1: (VI) strict mode needs at least one virtual_ipaddress"},
		{"version 2 on IPv6", global + inst(" version 2", " virtual_ipaddress {\n  fe80::10\n }"), ":8:2: (VI) version is not allowed"},
		{"first IPv6 VIP not link-local", global + inst(" virtual_ipaddress {\n  2001:db8::10\n  fe80::10\n }"), ":9:3: (VI) the first IPv6 virtual_ipaddress 2001:db8::10 must be link-local"},
		{"link-local first loads", global + inst(" virtual_ipaddress {\n  fe80::10\n  2001:db8::10\n }"), ""},
		{"accept on VRRPv2 non-owner", global + inst(vips, " version 2", " accept"), ":12:2: (VI) accept is not allowed"},
		{"accept on VRRPv3 loads", global + inst(vips, " version 3", " accept"), ""},
		{"garp_lower_prio_repeat", global + inst(vips, " garp_lower_prio_repeat 1"), ":11:2: (VI) garp_lower_prio_repeat is not allowed"},
		{"garp_lower_prio_delay", global + inst(vips, " garp_lower_prio_delay 5"), ":11:2: (VI) garp_lower_prio_delay is not allowed"},
		{"lower_prio_no_advert off", global + inst(vips, " lower_prio_no_advert off"), ":11:2: (VI) lower_prio_no_advert is not allowed"},
		{"lower_prio_no_advert on loads", global + inst(vips, " lower_prio_no_advert"), ""},
		{"higher_prio_send_advert", global + inst(vips, " higher_prio_send_advert"), ":11:2: (VI) higher_prio_send_advert is not allowed"},
		{"vmac_xmit_base with use_vmac", global + inst(vips, " use_vmac", " vmac_xmit_base"), ":12:2: (VI) vmac_xmit_base is not allowed"},
		{"instance strict_mode without the global", inst(vips, " strict_mode", " preempt_delay 10"), ":9:2: (VI) preempt_delay is not allowed"},
		{"strict_mode on", inst(vips, " strict_mode on", " unicast_peer {\n  198.18.0.2\n }"), "unicast_peer is not allowed"},
		{"strict_mode off exempts", global + inst(vips, " strict_mode off", " preempt_delay 10"), ""},
		{"without strict mode all of it loads", inst(vips, " preempt_delay 10", " garp_lower_prio_repeat 1", " unicast_peer {\n  198.18.0.2\n }"), ""},
		{"strict_mode bad value", inst(vips, " strict_mode maybe"), `:8:14: strict_mode: "maybe" is not on, off`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadKeepalived(kaWrite(t, tt.text))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("err = %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestKeepalivedStrictNoAccept: in strict mode an instance without accept or
// no_accept gets no_accept unless it is the address owner; outside strict mode,
// or with accept written, it keeps accept (keepalived/vrrp/vrrp.c: "accept =
// (base_priority == VRRP_PRIO_OWNER) ? true : !strict_mode").
func TestKeepalivedStrictNoAccept(t *testing.T) {
	tests := []struct {
		name, global, prio, extra string
		want                      bool
	}{
		{"strict non-owner", "vrrp_strict", "100", "", true},
		{"strict owner", "vrrp_strict", "255", "", false},
		{"strict with accept", "vrrp_strict", "100", "accept", false},
		{"not strict", "", "100", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := "global_defs {\n " + tt.global + "\n}\nvrrp_instance VI {\n interface eth0\n virtual_router_id 51\n priority " + tt.prio +
				"\n version 3\n virtual_ipaddress {\n  198.18.0.10\n }\n " + tt.extra + "\n}\n"
			c, err := LoadKeepalived(kaWrite(t, text))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Instances[0].NoAccept; got != tt.want {
				t.Errorf("NoAccept = %v, want %v", got, tt.want)
			}
		})
	}
}
