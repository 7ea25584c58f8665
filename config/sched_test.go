package config

import (
	"strings"
	"testing"
)

// TestRTPriority: keepalived's vrrp_rt_priority and YAML scheduling.rt_priority
// set the advert thread's SCHED_RR priority; outside 1-99 is a problem at its
// line (keepalived.conf(5): "vrrp_rt_priority <INTEGER 1..99>").
//
// keyword: global_defs vrrp_rt_priority
func TestRTPriority(t *testing.T) {
	const kaInst = "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  198.18.0.1\n }\n}\n"
	const yamlInst = "instances:\n  - name: V\n    interface: eth0\n    vrid: 1\n    vips: [198.18.0.1]\n"
	if c := kaLoadFull(t, "global_defs {\n vrrp_rt_priority 40\n}\n"+kaInst); c.Scheduling.RTPriority != 40 {
		t.Errorf("keepalived vrrp_rt_priority 40: RTPriority %d", c.Scheduling.RTPriority)
	}
	if c := kaLoadFull(t, kaInst); c.Scheduling.RTPriority != 0 {
		t.Errorf("keepalived without vrrp_rt_priority: RTPriority %d, want 0", c.Scheduling.RTPriority)
	}
	c, err := Parse([]byte("scheduling:\n  rt_priority: 20\n"+yamlInst), "yaml", "f.yaml")
	if err != nil || c.Scheduling.RTPriority != 20 {
		t.Errorf("YAML rt_priority 20: %v, %+v", err, c)
	}
	_, err = Parse([]byte("scheduling:\n  rt_priority: 120\n"+yamlInst), "yaml", "f.yaml")
	if want := "f.yaml:2: scheduling.rt_priority: 120 is not a real-time priority"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("YAML rt_priority 120: %v, want %q", err, want)
	}
	_, err = Load(kaWrite(t, "global_defs {\n vrrp_rt_priority 100\n}\n"+kaInst))
	if want := ":2: scheduling.rt_priority: 100 is not a real-time priority"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("keepalived vrrp_rt_priority 100: %v, want %q", err, want)
	}
}
