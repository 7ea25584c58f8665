package lab

import (
	"strings"
	"testing"
	"time"
)

func TestSummarise(t *testing.T) {
	ms := time.Millisecond
	ok := func(at time.Duration, body string) Sample { return Sample{T: at, OK: true, Body: body, Latency: ms} }
	fail := func(at time.Duration) Sample { return Sample{T: at, Latency: 300 * ms, Err: "timeout"} }
	tests := []struct {
		name     string
		samples  []Sample
		failures int
		outages  []Outage
		longest  time.Duration
	}{
		{"all ok", []Sample{ok(0, "web-7"), ok(10*ms, "web-8")}, 0, nil, 0},
		{
			"one outage, samples out of order",
			[]Sample{ok(0, "web-7"), fail(20 * ms), ok(50*ms, "web-8"), fail(10 * ms), ok(60*ms, "web-7")},
			2, []Outage{{Start: 10 * ms, End: 50 * ms, Failures: 2}}, 40 * ms,
		},
		{
			"two outages, the last open",
			[]Sample{fail(0), ok(100*ms, "web-7"), fail(200 * ms), fail(210 * ms)},
			3, []Outage{{Start: 0, End: 100 * ms, Failures: 1}, {Start: 200 * ms, End: 510 * ms, Failures: 2, Open: true}}, 310 * ms,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Summarise(time.Now(), time.Second, tt.samples)
			if r.Failures != tt.failures || r.Requests != len(tt.samples) {
				t.Errorf("requests/failures: want %d/%d, got %d/%d", len(tt.samples), tt.failures, r.Requests, r.Failures)
			}
			if len(r.Outages) != len(tt.outages) {
				t.Fatalf("outages (-want +got):\n-%+v\n+%+v", tt.outages, r.Outages)
			}
			for i := range tt.outages {
				if r.Outages[i] != tt.outages[i] {
					t.Errorf("outage %d (-want +got):\n-%+v\n+%+v", i, tt.outages[i], r.Outages[i])
				}
			}
			if r.LongestOutage != tt.longest {
				t.Errorf("longest: want %v, got %v", tt.longest, r.LongestOutage)
			}
		})
	}
}

func TestParseMetrics(t *testing.T) {
	text := `# HELP ebpfvrrp_drops_total VRRP packets dropped.
# TYPE ebpfvrrp_drops_total counter
ebpfvrrp_drops_total{interface="eth0",reason="unknown_vrid"} 12
ebpfvrrp_drops_total{interface="eth0",reason="wrong_password"} 3
ebpfvrrp_drops_total{interface="eth0",reason="label with } brace"} 1
ebpfvrrp_transitions_total{instance="VIP_1",from="backup",to="master",reason="master_down_expired"} 1 1700000000000
ebpfvrrp_up 1
`
	m, err := ParseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		prefix   string
		contains []string
		want     float64
	}{
		{"ebpfvrrp_drops_total", nil, 16},
		{"ebpfvrrp_drops_total", []string{`reason="wrong_password"`}, 3},
		{"ebpfvrrp_transitions_total", nil, 1},
		{"ebpfvrrp_up", nil, 1},
		{"ebpfvrrp_missing", nil, 0},
	} {
		if got := SumMetrics(m, tt.prefix, tt.contains...); got != tt.want {
			t.Errorf("SumMetrics(%s, %v): want %v, got %v", tt.prefix, tt.contains, tt.want, got)
		}
	}
}

// Each forgery must break exactly the rule it is named after, as the dataplane and
// keepalived will see it.
func TestLBConfigRender(t *testing.T) {
	l := &Lab{Name: "x", Dir: "/tmp/x", opts: Options{TrackNginx: true}}
	l.opts.setDefaults()
	c5 := l.LBConfig(LB5)
	ka := c5.Keepalived()
	for _, want := range []string{
		"router_id lb-5", "state MASTER", "interface eth0", "virtual_router_id 50", "priority 150",
		"advert_int 1\n", "auth_type PASS", "auth_pass 1111", "198.18.0.3", `script "/tmp/x/lb-5/check_web.sh"`, "track_script",
	} {
		if !strings.Contains(ka, want) {
			t.Errorf("keepalived.conf lacks %q:\n%s", want, ka)
		}
	}
	y := l.LBConfig(LB6).YAML()
	for _, want := range []string{
		"router_id: lb-6", "vrid: 50", "priority: 100", "advert_interval: 1s", "state: backup", "preempt: true",
		"type: pass", `password: "1111"`, "address: 198.18.0.3/32", "check_web:", "weight: 0",
	} {
		if !strings.Contains(y, want) {
			t.Errorf("YAML lacks %q:\n%s", want, y)
		}
	}
	l.opts.Nopreempt, l.opts.Version, l.opts.AdvertInterval = true, 3, 10*time.Millisecond
	ka = l.LBConfig(LB5).Keepalived()
	for _, want := range []string{"state BACKUP", "nopreempt", "version 3", "advert_int 0.01\n"} {
		if !strings.Contains(ka, want) {
			t.Errorf("v3 nopreempt keepalived.conf lacks %q:\n%s", want, ka)
		}
	}
	if strings.Contains(ka, "authentication") {
		t.Errorf("v3 config carries v2 authentication:\n%s", ka)
	}
}
