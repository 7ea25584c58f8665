package config

import (
	"net/netip"
	"strings"
	"testing"
)

// TestParseRoute: keepalived's virtual_routes syntax (keepalived.conf(5),
// static_routes; the lines of its samples keepalived.conf.vrrp.routes).
func TestParseRoute(t *testing.T) {
	p := netip.MustParsePrefix
	a := netip.MustParseAddr
	for _, c := range []struct {
		line    string
		want    Route
		ignored int
		err     string
	}{
		{line: "192.168.110.0/24 via 192.168.200.254 dev eth1", want: Route{Dst: p("192.168.110.0/24"), Via: a("192.168.200.254"), Dev: "eth1"}},
		{line: "src 192.168.100.1 192.168.109.0/24 via 192.168.200.254 dev eth1", want: Route{Dst: p("192.168.109.0/24"), Src: a("192.168.100.1"), Via: a("192.168.200.254"), Dev: "eth1"}},
		{line: "src 192.168.100.1 to 192.168.109.0/24 via 192.168.200.254 dev eth1", want: Route{Dst: p("192.168.109.0/24"), Src: a("192.168.100.1"), Via: a("192.168.200.254"), Dev: "eth1"}},
		{line: "192.168.111.0/24 dev eth2 no_track", want: Route{Dst: p("192.168.111.0/24"), Dev: "eth2"}},
		{line: "192.168.113.0/24 via 192.168.100.252 or 192.168.100.253", want: Route{Dst: p("192.168.113.0/24"), Via: a("192.168.100.252")}, ignored: 1},
		{line: "blackhole 192.168.113.1/32", want: Route{Type: "blackhole", Dst: p("192.168.113.1/32")}},
		{line: "unreachable 198.18.7.0/24 table 7", want: Route{Type: "unreachable", Dst: p("198.18.7.0/24"), Table: 7}},
		{line: "0.0.0.0/0 gw 192.168.0.1 table 100", want: Route{Dst: p("0.0.0.0/0"), Via: a("192.168.0.1"), Table: 100}},
		{line: "192.168.212.0/24 dev eth3 scope site metric 5 proto static", want: Route{Dst: p("192.168.212.0/24"), Dev: "eth3", Scope: "site", Metric: 5, Proto: 4}},
		{line: "198.18.9.7 dev eth0", want: Route{Dst: p("198.18.9.7/32"), Dev: "eth0"}},
		{line: "2001:db8::/64 via fe80::1 dev eth0", want: Route{Dst: p("2001:db8::/64"), Via: a("fe80::1"), Dev: "eth0"}},
		{line: "198.18.9.0/24 dev eth0 mtu 1400", want: Route{Dst: p("198.18.9.0/24"), Dev: "eth0"}, ignored: 2},
		{line: "via 198.18.0.1", err: "no destination"},
		{line: "198.18.9.0/24 via", err: "via needs a value"},
		{line: "198.18.9.0/24 table x", err: "table"},
		{line: "198.18.9.0/24 via 2001:db8::1", err: "different families"},
		{line: "blackhole 198.18.9.0/24 via 198.18.0.1", err: "no gateway"},
		{line: "198.18.9.0/24 scope far", err: "scope"},
		{line: "192.168.200./24 dev eth0", err: "not a destination"},
	} {
		r, ignored, err := ParseRoute(c.line)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: err %v, want one containing %q", c.line, err, c.err)
			}
			continue
		}
		if err != nil || r != c.want || len(ignored) != c.ignored {
			t.Errorf("%q: %+v ignored %q err %v; want %+v with %d ignored", c.line, r, ignored, err, c.want, c.ignored)
		}
	}
}

// TestParseRule: keepalived's virtual_rules syntax (keepalived.conf(5),
// static_rules).
//
// keyword: vrrp_instance virtual_rules
func TestParseRule(t *testing.T) {
	p := netip.MustParsePrefix
	for _, c := range []struct {
		line    string
		want    Rule
		ignored int
		err     string
	}{
		{line: "from 192.168.2.0/24 table 1", want: Rule{From: p("192.168.2.0/24"), Table: 1, Priority: -1}},
		{line: "to 192.168.2.0/24 table 1 no_track", want: Rule{To: p("192.168.2.0/24"), Table: 1, Priority: -1}},
		{line: "from 198.18.9.0/24 to 198.18.10.0/26 iif eth0 oif eth1 fwmark 24/12 preference 39 table 100",
			want: Rule{From: p("198.18.9.0/24"), To: p("198.18.10.0/26"), IIf: "eth0", OIf: "eth1", Mark: 24, Mask: 12, HasMark: true, Priority: 39, Table: 100}},
		{line: "fwmark 0x10 table 5 priority 100", want: Rule{Mark: 16, Mask: 0xffffffff, HasMark: true, Table: 5, Priority: 100}},
		{line: "from 198.18.9.0/24 table 1 tos 22", want: Rule{From: p("198.18.9.0/24"), Table: 1, Priority: -1}, ignored: 1},
		{line: "from 198.18.9.0/24", err: "no table"},
		{line: "to 192.168.200./24 table 2", err: "not a prefix"},
		{line: "fwmark x table 2", err: "fwmark"},
		{line: "from 198.18.9.0/24 to 2001:db8::/64 table 2", err: "different families"},
	} {
		r, ignored, err := ParseRule(c.line)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: err %v, want one containing %q", c.line, err, c.err)
			}
			continue
		}
		if err != nil || r != c.want || len(ignored) != c.ignored {
			t.Errorf("%q: %+v ignored %q err %v; want %+v with %d ignored", c.line, r, ignored, err, c.want, c.ignored)
		}
	}
}

// TestKeepalivedVirtualRoutes: the blocks are read line by line, a bad line is
// an error at its line, an option not applied a warning at its line; the YAML
// equivalent is validated the same way.
//
// keyword: vrrp_instance virtual_routes
func TestKeepalivedVirtualRoutes(t *testing.T) {
	text := "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  198.18.0.1\n }\n virtual_routes {\n  198.18.9.0/24 via 198.18.0.254 table 100\n  198.18.10.0/24 dev eth0 mtu 1400\n }\n virtual_rules {\n  from 198.18.9.0/24 table 100\n }\n}\n"
	path := kaWrite(t, text)
	cfg, err := LoadKeepalived(path)
	if err != nil {
		t.Fatal(err)
	}
	in := cfg.Instances[0]
	if len(in.VirtualRoutes) != 2 || len(in.VirtualRules) != 1 || in.VirtualRules[0] != "from 198.18.9.0/24 table 100" {
		t.Fatalf("routes %q rules %q", in.VirtualRoutes, in.VirtualRules)
	}
	warned := false
	for _, w := range cfg.Warnings {
		warned = warned || (w.Line == 9 && strings.Contains(w.Message, "mtu not applied"))
	}
	if !warned {
		t.Errorf("no warning at line 9 for mtu: %+v", cfg.Warnings)
	}
	bad := strings.Replace(text, "table 100\n  198.18.10", "table x\n  198.18.10", 1)
	if _, err := LoadKeepalived(kaWrite(t, bad)); err == nil || !strings.Contains(err.Error(), ":8:") {
		t.Errorf("bad table: err %v, want one at line 8", err)
	}
	in.VirtualRules = append(in.VirtualRules, "from 198.18.9.0/24")
	cfg.Instances[0] = in
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "virtual_rules[1]") {
		t.Errorf("Validate with a rule without table: %v, want an error naming virtual_rules[1]", err)
	}
}
