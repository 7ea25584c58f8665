package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestGARPMasterDelayZero: an instance's garp_master_delay 0 means no delayed second
// burst, not "inherit the global 5 s". keepalived keeps an instance's own
// garp_delay whatever its value (keepalived/vrrp/vrrp_parser.c,
// vrrp_garp_delay_handler); the YAML key written as 0 means the same. Omitted, the
// instance inherits. Marshal keeps the written 0, so convert output loads back equal.
//
// keyword: vrrp_instance garp_master_delay
// keyword: global_defs vrrp_garp_master_delay
func TestGARPMasterDelayZero(t *testing.T) {
	const kaInst = "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n %s\n virtual_ipaddress {\n  198.18.0.1\n }\n}\n"
	yamlInst := func(global, garp string) string {
		return global + "instances:\n  - name: V\n    interface: eth0\n    vrid: 1\n    vips: [198.18.0.1]\n" + garp
	}
	tests := []struct {
		name   string
		load   func(t *testing.T) *Config
		want   time.Duration
		global time.Duration
	}{
		{"keepalived instance 0", func(t *testing.T) *Config {
			return kaLoadFull(t, "global_defs {\n vrrp_garp_master_delay 7\n}\n"+sprintf(kaInst, "garp_master_delay 0"))
		}, 0, 7 * time.Second},
		{"keepalived instance 0, default global", func(t *testing.T) *Config {
			return kaLoadFull(t, sprintf(kaInst, "garp_master_delay 0"))
		}, 0, DefaultGARPMasterDelay},
		{"keepalived instance omitted inherits", func(t *testing.T) *Config {
			return kaLoadFull(t, "global_defs {\n vrrp_garp_master_delay 7\n}\n"+sprintf(kaInst, ""))
		}, 7 * time.Second, 7 * time.Second},
		{"keepalived instance 3", func(t *testing.T) *Config {
			return kaLoadFull(t, sprintf(kaInst, "garp_master_delay 3"))
		}, 3 * time.Second, DefaultGARPMasterDelay},
		{"keepalived global 0, instance omitted", func(t *testing.T) *Config {
			return kaLoadFull(t, "global_defs {\n vrrp_garp_master_delay 0\n}\n"+sprintf(kaInst, ""))
		}, 0, 0},
		{"yaml instance 0", func(t *testing.T) *Config {
			return mustParseYAML(t, yamlInst("", "    garp:\n      master_delay: 0\n"))
		}, 0, DefaultGARPMasterDelay},
		{"yaml instance 0s, global 7s", func(t *testing.T) *Config {
			return mustParseYAML(t, yamlInst("garp:\n  master_delay: 7s\n", "    garp:\n      master_delay: 0s\n"))
		}, 0, 7 * time.Second},
		{"yaml instance omitted inherits", func(t *testing.T) *Config {
			return mustParseYAML(t, yamlInst("garp:\n  master_delay: 7s\n", "    garp:\n      master_repeat: 2\n"))
		}, 7 * time.Second, 7 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.load(t)
			if got := c.Instances[0].GARP.MasterDelay; got != tt.want {
				t.Errorf("instance master delay = %v, want %v", got, tt.want)
			}
			if got := c.GARP.MasterDelay; got != tt.global {
				t.Errorf("global master delay = %v, want %v", got, tt.global)
			}
			y, err := Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			back, err := Parse(y, "yaml", "m.yaml")
			if err != nil {
				t.Fatalf("Parse(Marshal): %v\n%s", err, y)
			}
			if d := schemaDiff(stripMeta(c), stripMeta(back)); d != "" {
				t.Errorf("round trip (-loaded +reparsed):\n%s\n%s", d, y)
			}
			// Normalize is idempotent on the result.
			again := *back
			again.Instances = append([]Instance(nil), back.Instances...)
			again.Normalize()
			if d := schemaDiff(stripMeta(back), stripMeta(&again)); d != "" {
				t.Errorf("second Normalize (-once +twice):\n%s", d)
			}
		})
	}
}

// kaLoadFull loads a keepalived.conf the way Load does (normalized and validated).
func kaLoadFull(t *testing.T, text string) *Config {
	t.Helper()
	c, err := Load(kaWrite(t, text))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var sprintf = fmt.Sprintf

// TestYAMLAdvertIntervalZero: advert_interval written as 0 is a problem at its line,
// as keepalived's advert_int 0 is, instead of silently becoming 1 s; left out it
// is the 1 s default.
func TestYAMLAdvertIntervalZero(t *testing.T) {
	const inst = "instances:\n  - name: V\n    interface: eth0\n    vrid: 1\n    vips: [198.18.0.1]\n"
	for _, tt := range []struct {
		name, text, want string
	}{
		{"0", inst + "    advert_interval: 0\n", "f.yaml:6: instances[0].advert_interval: 0 is not an advert interval"},
		{"0s", inst + "    advert_interval: 0s\n", "f.yaml:6: instances[0].advert_interval: 0 is not an advert interval"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.text), "yaml", "f.yaml")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
	if c := mustParseYAML(t, inst); c.Instances[0].AdvertInterval != DefaultAdvertInterval {
		t.Errorf("omitted advert_interval = %v, want %v", c.Instances[0].AdvertInterval, DefaultAdvertInterval)
	}
}
