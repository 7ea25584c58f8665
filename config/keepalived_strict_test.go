package config

import (
	"strings"
	"testing"
	"time"
)

const kaStrictGlobal = "global_defs {\n vrrp_strict\n}\n"

func kaStrictInst(lines ...string) string {
	return "vrrp_instance VI {\n interface eth0\n virtual_router_id 51\n priority 100\n" + strings.Join(lines, "\n") + "\n}\n"
}

const kaStrictVIPs = " virtual_ipaddress {\n  198.18.0.10\n }"

// kaStrictCases: files and the error ebpfvrrp gives ("" when it loads); keepalived -t
// fails exactly on those with an error (TestKeepalivedStrictReference).
var kaStrictCases = []struct {
	name, text string
	want       string
}{
	{"plain instance loads", kaStrictGlobal + kaStrictInst(kaStrictVIPs), ""},
	{"unicast_peer loads, warned", kaStrictGlobal + kaStrictInst(kaStrictVIPs, " unicast_peer {\n  198.18.0.2\n }"), ""},
	{"authentication", kaStrictGlobal + kaStrictInst(kaStrictVIPs, " authentication {\n  auth_type PASS\n  auth_pass secret\n }"), ":11:2: (VI) authentication is not allowed"},
	{"preempt_delay", kaStrictGlobal + kaStrictInst(kaStrictVIPs, " preempt_delay 10"), ":11:2: (VI) preempt_delay is not allowed"},
	{"state MASTER without 255", kaStrictGlobal + kaStrictInst(kaStrictVIPs, " state MASTER"), ":11:2: (VI) state MASTER with priority 100 is not allowed"},
	{"state BACKUP with 255", kaStrictGlobal + strings.Replace(kaStrictInst(kaStrictVIPs, " state BACKUP"), "priority 100", "priority 255", 1), "(VI) state BACKUP with priority 255 is not allowed"},
	{"state MASTER with 255 loads", kaStrictGlobal + strings.Replace(kaStrictInst(kaStrictVIPs, " state MASTER"), "priority 100", "priority 255", 1), ""},
	{"no VIP", kaStrictGlobal + kaStrictInst(), ":4:1: (VI) strict mode needs at least one virtual_ipaddress"},
	{"version 2 on IPv6", kaStrictGlobal + kaStrictInst(" version 2", " virtual_ipaddress {\n  fe80::10\n }"), ":8:2: (VI) version is not allowed"},
	{"first IPv6 VIP not link-local", kaStrictGlobal + kaStrictInst(" virtual_ipaddress {\n  2001:db8::10\n  fe80::10\n }"), ":9:3: (VI) the first IPv6 virtual_ipaddress 2001:db8::10 must be link-local"},
	{"link-local first loads", kaStrictGlobal + kaStrictInst(" virtual_ipaddress {\n  fe80::10\n  2001:db8::10\n }"), ""},
	{"accept on VRRPv2 non-owner", kaStrictGlobal + kaStrictInst(kaStrictVIPs, " version 2", " accept"), ":12:2: (VI) accept is not allowed"},
	{"accept on VRRPv3 loads", kaStrictGlobal + kaStrictInst(kaStrictVIPs, " version 3", " accept"), ""},
	{"garp_lower_prio_repeat", kaStrictGlobal + kaStrictInst(kaStrictVIPs, " garp_lower_prio_repeat 1"), ":11:2: (VI) garp_lower_prio_repeat is not allowed"},
	{"garp_lower_prio_repeat 0 loads", kaStrictGlobal + kaStrictInst(kaStrictVIPs, " garp_lower_prio_repeat 0", " garp_lower_prio_delay 0"), ""},
	{"garp_lower_prio_delay", kaStrictGlobal + kaStrictInst(kaStrictVIPs, " garp_lower_prio_delay 5"), ":11:2: (VI) garp_lower_prio_delay is not allowed"},
	{"lower_prio_no_advert off", kaStrictGlobal + kaStrictInst(kaStrictVIPs, " lower_prio_no_advert off"), ":11:2: (VI) lower_prio_no_advert is not allowed"},
	{"lower_prio_no_advert on loads", kaStrictGlobal + kaStrictInst(kaStrictVIPs, " lower_prio_no_advert"), ""},
	{"higher_prio_send_advert", kaStrictGlobal + kaStrictInst(kaStrictVIPs, " higher_prio_send_advert"), ":11:2: (VI) higher_prio_send_advert is not allowed"},
	{"vmac_xmit_base with use_vmac", kaStrictGlobal + kaStrictInst(kaStrictVIPs, " use_vmac", " vmac_xmit_base"), ":12:2: (VI) vmac_xmit_base is not allowed"},
	{"instance strict_mode without the global", kaStrictInst(kaStrictVIPs, " strict_mode", " preempt_delay 10"), ":9:2: (VI) preempt_delay is not allowed"},
	{"strict_mode on", kaStrictInst(kaStrictVIPs, " strict_mode on", " higher_prio_send_advert on"), "higher_prio_send_advert is not allowed"},
	{"strict_mode off exempts", kaStrictGlobal + kaStrictInst(kaStrictVIPs, " strict_mode off", " preempt_delay 10"), ""},
	{"without strict mode all of it loads", kaStrictInst(kaStrictVIPs, " preempt_delay 10", " garp_lower_prio_repeat 1", " unicast_peer {\n  198.18.0.2\n }"), ""},
	{"strict_mode bad value", kaStrictInst(kaStrictVIPs, " strict_mode maybe"), `:8:14: strict_mode: "maybe" is not on, off`},
}

// TestKeepalivedStrict: with vrrp_strict (or an instance's strict_mode) what
// keepalived's vrrp_complete_instance (keepalived/vrrp/vrrp.c) reports as a
// config error in strict mode — so keepalived -t fails — is refused at its line.
// strict_mode off exempts an instance from a global vrrp_strict.
//
// keyword: global_defs vrrp_strict
// keyword: vrrp_instance strict_mode
func TestKeepalivedStrict(t *testing.T) {
	for _, tt := range kaStrictCases {
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

// TestKeepalivedStrictUnicast: keepalived's man page lists unicast peers as
// forbidden in strict mode, but keepalived 2.2.7 loads (keepalived -t exits 0)
// and runs such an instance unicast; ebpfvrrp runs it and says so at the line.
func TestKeepalivedStrictUnicast(t *testing.T) {
	c, err := LoadKeepalived(kaWrite(t, kaStrictGlobal+kaStrictInst(kaStrictVIPs, " unicast_peer {\n  198.18.0.2\n }")))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 1 || c.Warnings[0].Line != 11 || !strings.Contains(c.Warnings[0].Message, "keepalived loads and runs the instance unicast") {
		t.Errorf("warnings = %+v, want one at line 11", c.Warnings)
	}
}

// TestKeepalivedStrictReference runs keepalived -t on every kaStrictCases file
// (eth0 present): it must fail exactly where ebpfvrrp refuses the file.
func TestKeepalivedStrictReference(t *testing.T) {
	var names, texts []string
	for _, tt := range kaStrictCases {
		names, texts = append(names, tt.name), append(texts, tt.text)
	}
	kaReference(t, names, texts, func(t *testing.T, i, rc int) {
		if want := kaStrictCases[i].want; (rc == 0) != (want == "") {
			t.Errorf("keepalived -t exit status %d; ebpfvrrp's error: %q", rc, want)
		}
	})
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

// TestKeepalivedMcastSrcIP: mcast_src_ip is the source address of multicast
// adverts; keepalived's vrrp_parser.c installs vrrp_srcip_handler for it, the
// handler unicast_src_ip shares, so the later line wins and no unicast_peer is
// needed.
//
// keyword: vrrp_instance mcast_src_ip
func TestKeepalivedMcastSrcIP(t *testing.T) {
	c, err := Load(kaWrite(t, kaStrictInst(kaStrictVIPs, " mcast_src_ip 198.18.0.5")))
	if err != nil {
		t.Fatal(err)
	}
	in := c.Instances[0]
	if in.UnicastSource.String() != "198.18.0.5" || len(in.UnicastPeers) != 0 {
		t.Errorf("source %v peers %v, want 198.18.0.5 and none", in.UnicastSource, in.UnicastPeers)
	}
	_, err = Load(kaWrite(t, kaStrictInst(kaStrictVIPs, " mcast_src_ip fd00::5")))
	if err == nil || !strings.Contains(err.Error(), ":8: instances[0].unicast_source: fd00::5 is IPv6 but the VIPs are IPv4") {
		t.Errorf("IPv6 source on an IPv4 instance: err %v", err)
	}
}

// TestKeepalivedStartupDelay: vrrp_startup_delay in keepalived's range
// (0.001–4294.967295 s; keepalived -t rejects 0, negative and non-numbers).
//
// keyword: global_defs vrrp_startup_delay
func TestKeepalivedStartupDelay(t *testing.T) {
	c, err := Load(kaWrite(t, "global_defs {\n vrrp_startup_delay 5.5\n}\n"+kaStrictInst(kaStrictVIPs)))
	if err != nil {
		t.Fatal(err)
	}
	if c.StartupDelay != 5500*time.Millisecond {
		t.Errorf("StartupDelay = %v, want 5.5s", c.StartupDelay)
	}
	for _, v := range []string{"0", "5000", "abc"} {
		_, err := Load(kaWrite(t, "global_defs {\n vrrp_startup_delay "+v+"\n}\n"+kaStrictInst(kaStrictVIPs)))
		if err == nil || !strings.Contains(err.Error(), ":2:21: vrrp_startup_delay: ") {
			t.Errorf("vrrp_startup_delay %s: err %v, want one at line 2", v, err)
		}
	}
}

// TestKeepalivedLowerPrioGARP: a Master hearing a lower-priority advert sends
// GARPs again unless garp_lower_prio_repeat is 0 (globally with the vrrp_
// prefix, or per instance, which wins), or strict mode leaves it unset
// (keepalived/vrrp/vrrp.c, vrrp_complete_instance). Counts and delays other than
// the master's are warned about at their line.
//
// keyword: global_defs vrrp_garp_lower_prio_repeat
// keyword: global_defs vrrp_garp_lower_prio_delay
// keyword: vrrp_instance garp_lower_prio_repeat
// keyword: vrrp_instance garp_lower_prio_delay
func TestKeepalivedLowerPrioGARP(t *testing.T) {
	off, on := false, true
	tests := []struct {
		name, global, inst string
		want               *bool
		warnLine           int
	}{
		{"default: on", "", "", nil, 0},
		{"global 0: off", "vrrp_garp_lower_prio_repeat 0", "", &off, 0},
		{"instance 0: off", "", "garp_lower_prio_repeat 0", &off, 0},
		{"instance count overrides global 0", "vrrp_garp_lower_prio_repeat 0", "garp_lower_prio_repeat 2", &on, 11},
		{"global delay: warned", "vrrp_garp_lower_prio_delay 10", "", nil, 2},
		{"instance delay: warned", "", "garp_lower_prio_delay 10", nil, 11},
		{"strict: off", "vrrp_strict", "", &off, 0},
		{"strict with 0 loads", "vrrp_strict", "garp_lower_prio_repeat 0", &off, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := "global_defs {\n " + tt.global + "\n}\n" + kaStrictInst(kaStrictVIPs, " "+tt.inst)
			c, err := Load(kaWrite(t, text))
			if err != nil {
				t.Fatal(err)
			}
			if d := kaDiff(tt.want, c.Instances[0].GARP.LowerPrio); d != "" {
				t.Errorf("LowerPrio (-want +got):\n%s", d)
			}
			var lines []int
			for _, w := range c.Warnings {
				if strings.Contains(w.Message, "not applied: a Master hearing a lower-priority advert") {
					lines = append(lines, w.Line)
				}
			}
			if (tt.warnLine == 0) != (len(lines) == 0) || (tt.warnLine != 0 && lines[0] != tt.warnLine) {
				t.Errorf("warnings at lines %v, want %d (0: none)", lines, tt.warnLine)
			}
		})
	}
}
