package config

import (
	"fmt"
	"testing"
)

// TestKeepalivedAcceptMode: accept / no_accept and the default keepalived
// picks. keepalived.conf(5): accept is "the default setting unless strict mode
// is set"; under vrrp_strict, "If accept/no accept is not specified, accept is
// set if priority is 255 and cleared otherwise" (keepalived_strict.go applies
// that part).
//
// keyword: vrrp_instance accept
// keyword: vrrp_instance no_accept
func TestKeepalivedAcceptMode(t *testing.T) {
	for _, c := range []struct {
		name, global, inst string
		noAccept           bool
	}{
		{"default", "", "", false},
		{"accept", "", "accept", false},
		{"no_accept", "", "no_accept", true},
		{"strict, priority 100", "vrrp_strict", "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			text := fmt.Sprintf("global_defs {\n %s\n}\nvrrp_instance V {\n interface eth0\n virtual_router_id 1\n %s\n virtual_ipaddress {\n  198.18.0.1\n }\n}\n", c.global, c.inst)
			cfg, err := LoadKeepalived(kaWrite(t, text))
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Instances[0].NoAccept; got != c.noAccept {
				t.Errorf("NoAccept = %v, want %v", got, c.noAccept)
			}
		})
	}
}

// TestKeepalivedSkipCheckAdvAddr: the global sets every instance's default,
// an instance's own line wins (keepalived.conf(5): "Defaults to
// vrrp_skip_check_adv_addr").
//
// keyword: global_defs vrrp_skip_check_adv_addr
// keyword: vrrp_instance skip_check_adv_addr
func TestKeepalivedSkipCheckAdvAddr(t *testing.T) {
	for _, c := range []struct {
		name, global, inst string
		want               bool
	}{
		{"default", "", "", false},
		{"global", "vrrp_skip_check_adv_addr", "", true},
		{"instance", "", "skip_check_adv_addr", true},
		{"instance on", "", "skip_check_adv_addr on", true},
		{"instance off overrides the global", "vrrp_skip_check_adv_addr", "skip_check_adv_addr no", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			text := fmt.Sprintf("global_defs {\n %s\n}\nvrrp_instance V {\n interface eth0\n virtual_router_id 1\n %s\n virtual_ipaddress {\n  198.18.0.1\n }\n}\n", c.global, c.inst)
			cfg, err := LoadKeepalived(kaWrite(t, text))
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Instances[0].SkipCheckAdvAddr; got != c.want {
				t.Errorf("SkipCheckAdvAddr = %v, want %v", got, c.want)
			}
		})
	}
	if _, err := LoadKeepalived(kaWrite(t, "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n skip_check_adv_addr maybe\n}\n")); err == nil {
		t.Error("skip_check_adv_addr maybe: loaded, want an error")
	}
}
