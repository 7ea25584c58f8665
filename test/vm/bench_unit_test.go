package vm

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/lab"
)

// Unit tests of the benchmark instruments: no root needed.

func TestParseStat(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want procStat
	}{
		{"plain", "1234 (keepalived) S 1 1234 1234 0 -1 4194560 100 0 0 0 17 23 0 0 20 0 1 0 100 1000 200",
			procStat{pgrp: 1234, utime: 17, stime: 23}},
		{"comm with spaces and parens", "77 (a ) b (c)) R 5 70 70 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 1 1 1",
			procStat{pgrp: 70, utime: 1, stime: 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStat(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("parseStat (-want +got):\n- %+v\n+ %+v", tc.want, got)
			}
		})
	}
	if _, err := parseStat("garbage"); err == nil {
		t.Error("parseStat(garbage): no error")
	}
}

func TestParseRSS(t *testing.T) {
	if got := parseRSS("Name:\tx\nVmRSS:\t   23456 kB\nThreads: 3\n"); got != 23456 {
		t.Errorf("parseRSS = %d, want 23456", got)
	}
}

func TestQuantile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	tests := []struct {
		name string
		in   []time.Duration
		q    float64
		want time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"median odd, unsorted", ms(5, 1, 3), 0.5, 3 * time.Millisecond},
		{"median even is the lower", ms(4, 1, 3, 2), 0.5, 2 * time.Millisecond},
		{"p90 of ten", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0.9, 9 * time.Millisecond},
		{"p90 of twenty", ms(20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1), 0.9, 18 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := quantile(tc.in, tc.q); got != tc.want {
				t.Errorf("quantile(%v, %v) = %v, want %v", tc.in, tc.q, got, tc.want)
			}
		})
	}
}

func TestMasterDown(t *testing.T) {
	tests := []struct {
		interval time.Duration
		prio     int
		want     time.Duration
	}{
		{10 * time.Millisecond, 100, 36093750 * time.Nanosecond},
		{time.Second, 100, 3609375 * time.Microsecond},
		{time.Second, 255, 3003906250 * time.Nanosecond},
	}
	for _, tc := range tests {
		if got := masterDown(tc.interval, tc.prio); got != tc.want {
			t.Errorf("masterDown(%v, %d) = %v, want %v", tc.interval, tc.prio, got, tc.want)
		}
	}
}

func TestParseAdvert4(t *testing.T) {
	ip, err := ForgedAdvert(Takeover255, 2, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	frame := ethernetFrame(net.HardwareAddr{0x01, 0, 0x5e, 0, 0, 0x12}, mac, 0x0800, ip)
	got, ok := parseAdvert4(frame)
	want := advertSeen{Src: lab.Addr4(lab.LB6), VRID: lab.TutorialVRID, Prio: 255}
	if !ok || got != want {
		t.Errorf("parseAdvert4 (-want +got):\n- %+v\n+ %+v (ok=%v)", want, got, ok)
	}
	// TCP instead of VRRP, and a frame too short for any header.
	tcp := append([]byte(nil), frame...)
	tcp[14+9] = 6
	for name, f := range map[string][]byte{"tcp": tcp, "short": frame[:20]} {
		if _, ok := parseAdvert4(f); ok {
			t.Errorf("parseAdvert4(%s) accepted", name)
		}
	}
}

// TestVerdicts checks that the report calls a miss a miss.
func TestVerdicts(t *testing.T) {
	ref := masterDown(10*time.Millisecond, 100)
	set := func(e, k time.Duration) failoverSet {
		return failoverSet{Proto: "VRRPv3 10 ms", Version: 3, Interval: 10 * time.Millisecond, Kind: "cut", Ref: ref, RefName: "Master_Down_Interval",
			Trials: map[lab.Daemon][]failoverTrial{
				lab.Ebpfvrrp:   {{Outage: e, AdvertToVIP: e}},
				lab.Keepalived: {{Outage: k, AdvertToVIP: k}},
			}}
	}
	tests := []struct {
		name       string
		r          benchResults
		wantMissed []string
	}{
		{"on the bound, faster than keepalived", benchResults{Failover: []failoverSet{set(ref+2*time.Millisecond, ref+3*time.Millisecond)}}, nil},
		{"late and slower", benchResults{Failover: []failoverSet{set(ref+9*time.Millisecond, ref+3*time.Millisecond)}},
			[]string{"within 5 ms", "no worse than keepalived"}},
		{"early", benchResults{Failover: []failoverSet{set(ref-4*time.Millisecond, ref)}}, []string{"RFC conformance"}},
		{"scale over target", benchResults{Scale: []scaleRow{{Daemon: lab.Ebpfvrrp, Instances: 1000, Window: 10 * time.Second,
			Ticks: map[string]uint64{lab.LB5: 600, lab.LB6: 30}, RSSMB: map[string]float64{lab.LB5: 20, lab.LB6: 41},
			TxFrames: 1_000_000, FloorFrames: 1_000_000, FloorCPU: 5 * time.Second}}},
			[]string{"backup ≤ 2 %", "master ≤ 50 %", "RSS ≤ 30 MB"}},
		{"scale far from the floor, over half keepalived's", benchResults{Scale: []scaleRow{
			{Daemon: lab.Ebpfvrrp, Instances: 500, Window: 10 * time.Second, Ticks: map[string]uint64{lab.LB5: 400, lab.LB6: 10},
				RSSMB: map[string]float64{lab.LB5: 20, lab.LB6: 20}, TxFrames: 500_000, FloorFrames: 500_000, FloorCPU: 2 * time.Second},
			{Daemon: lab.Keepalived, Instances: 500, Window: 10 * time.Second, Ticks: map[string]uint64{lab.LB5: 600, lab.LB6: 300}}}},
			[]string{"within 1.5× of the send floor", "half of keepalived's"}},
		{"flood transition", benchResults{Floods: []floodRow{{Daemon: lab.Ebpfvrrp, Kind: ForeignVRID, Transitions: 1, CPU: map[string]float64{lab.LB5: 1}}}},
			[]string{"zero false transitions"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var missed []string
			for _, v := range tc.r.verdicts() {
				if !v.Met {
					missed = append(missed, v.Target)
				}
			}
			if len(missed) != len(tc.wantMissed) {
				t.Fatalf("missed %q, want %d matching %q", missed, len(tc.wantMissed), tc.wantMissed)
			}
			for i, w := range tc.wantMissed {
				if !strings.Contains(missed[i], w) {
					t.Errorf("missed[%d] = %q, want it to mention %q", i, missed[i], w)
				}
			}
			md := renderMarkdown(&tc.r)
			if got := strings.Count(md, "**missed**"); got != len(tc.wantMissed) {
				t.Errorf("markdown marks %d targets missed, want %d", got, len(tc.wantMissed))
			}
		})
	}
}

// TestMedianDiffInterval: a difference within the probe's quantization is not
// "worse"; a shift beyond it is.
func TestMedianDiffInterval(t *testing.T) {
	ms := func(vs ...float64) []time.Duration {
		out := make([]time.Duration, len(vs))
		for i, v := range vs {
			out[i] = time.Duration(v * float64(time.Millisecond))
		}
		return out
	}
	// Outages of equal takeovers seen through a 2 ms probe: 36 or 38 ms.
	k := ms(36, 38, 36, 36, 38, 36, 38, 36, 38, 36, 36, 38, 36, 38, 36, 38, 36, 36, 38, 38)
	e := ms(38, 36, 38, 36, 38, 36, 38, 38, 36, 38, 36, 38, 36, 36, 38, 38, 36, 38, 38, 36)
	if lo, hi := medianDiffInterval(e, k); lo > 0 || hi < 0 {
		t.Errorf("equal takeovers: interval %v…%v, want it to contain 0", lo, hi)
	}
	later := make([]time.Duration, len(k))
	for i, v := range k {
		later[i] = v + 3*time.Millisecond
	}
	if lo, _ := medianDiffInterval(later, k); lo <= 0 {
		t.Errorf("3 ms slower: interval starts at %v, want above 0", lo)
	}
	lo1, hi1 := medianDiffInterval(e, k)
	lo2, hi2 := medianDiffInterval(e, k)
	if lo1 != lo2 || hi1 != hi2 || hi1 <= lo1 {
		t.Errorf("intervals %v…%v and %v…%v: want the same, non-empty one each time", lo1, hi1, lo2, hi2)
	}
}

func TestScaleMemory(t *testing.T) {
	rows := []scaleRow{
		{Daemon: lab.Ebpfvrrp, Instances: 200, RSSMB: map[string]float64{lab.LB5: 20}, FileMB: map[string]float64{lab.LB5: 13}},
		{Daemon: lab.Keepalived, Instances: 200, RSSMB: map[string]float64{lab.LB5: 13}},
		{Daemon: lab.Ebpfvrrp, Instances: 1000, RSSMB: map[string]float64{lab.LB5: 28}, FileMB: map[string]float64{lab.LB5: 13}},
		{Daemon: lab.Keepalived, Instances: 1000, RSSMB: map[string]float64{lab.LB5: 14}},
	}
	got := scaleMemory(rows)
	for _, want := range []string{
		"ebpfvrrp's master RSS grows by 10.2 KB per instance (20.0 MB at 200 instances, 28.0 MB at 1000)",
		"13.0 MB of it at 1000 are file pages", "the rest (15.0 MB) its own memory",
		"keepalived's master RSS grows by 1.3 KB per instance",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("scaleMemory = %q, want it to contain %q", got, want)
		}
	}
	if got := scaleMemory(rows[:2]); got != "" {
		t.Errorf("scaleMemory of one size per daemon = %q, want nothing", got)
	}
}

func TestStarveSteal(t *testing.T) {
	s := starveRow{Daemon: lab.Ebpfvrrp, Window: time.Minute, Transitions: 40, PerMinute: 40, Steal: 12 * time.Second, CPUs: 2}
	if got := s.StealShare(); got != 0.1 {
		t.Errorf("StealShare = %v, want 0.1", got)
	}
	if got := starveMeasured(s); !strings.Contains(got, "the host took 10 % of the VM's CPU time") {
		t.Errorf("starveMeasured = %q, want the host's share", got)
	}
	s.Steal = 100 * time.Millisecond
	if got := starveMeasured(s); strings.Contains(got, "host") {
		t.Errorf("starveMeasured with 0.08 %% steal = %q, want no mention of the host", got)
	}
}
