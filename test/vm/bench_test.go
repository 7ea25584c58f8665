package vm

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/lab"
	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

// TestBenchmarks measures ebpfvrrp against Debian's keepalived on the same lab in the
// same run, alternating the two trial by trial so machine noise hits both, and writes
// docs/benchmarks.md with its plots. It runs only with EBPFVRRP_BENCH=1 (and
// privileged): `make bench`.
//
//	EBPFVRRP_PRIVILEGED_TESTS=1 EBPFVRRP_BENCH=1 go test -count=1 -timeout 60m -run TestBenchmarks -v ./test/vm/
//
// EBPFVRRP_BENCH_ONLY=loader,failover,flood,scale,starvation,restart runs a subset and
// EBPFVRRP_BENCH_QUICK=1 shortens every section; either writes the report to
// EBPFVRRP_BENCH_OUT (default a temp dir) instead of docs/, so a partial run never
// replaces the published numbers.
func TestBenchmarks(t *testing.T) {
	if os.Getenv("EBPFVRRP_BENCH") != "1" {
		t.Skip("benchmarks run with EBPFVRRP_BENCH=1 (make bench)")
	}
	testutil.Privileged(t)
	testutil.Require(t, "keepalived", "nginx", "go")
	b := newBench(t)
	res := &benchResults{Start: time.Now(), Machine: machine(), Quick: b.quick, Only: b.only}
	testutil.EbpfvrrpBinary(t)

	if b.want("loader") {
		t.Run("loader", func(t *testing.T) { benchLoader(t, res) })
	}
	if b.want("failover") {
		for _, p := range []failoverProto{
			{Name: "VRRPv3 10 ms", Opts: lab.Options{Version: 3, AdvertInterval: 10 * time.Millisecond},
				Probe: 2 * time.Millisecond, Lead: 100 * time.Millisecond, Tail: 100 * time.Millisecond, Settle: 300 * time.Millisecond, Trials: b.trials(20)},
			{Name: "VRRPv2 1 s (tutorial)", Opts: lab.Options{},
				Probe: 10 * time.Millisecond, Lead: 200 * time.Millisecond, Tail: 200 * time.Millisecond, Settle: 1500 * time.Millisecond, Trials: b.trials(10)},
		} {
			t.Run("failover/"+p.Name, func(t *testing.T) { benchFailover(t, res, p) })
		}
	}
	if b.want("flood") {
		t.Run("flood", func(t *testing.T) { benchFlood(t, res, b.dur(10*time.Second)) })
	}
	if b.want("scale") {
		window := b.envDur(t, "EBPFVRRP_BENCH_SCALE_WINDOW", 60*time.Second)
		for _, n := range b.envInts(t, "EBPFVRRP_BENCH_SCALE", []int{200, 500, 1000}) {
			t.Run(fmt.Sprintf("scale/%d", n), func(t *testing.T) { benchScale(t, res, n, window) })
		}
	}
	if b.want("starvation") {
		window := b.envDur(t, "EBPFVRRP_BENCH_STARVE_WINDOW", 60*time.Second)
		hogs := b.envInts(t, "EBPFVRRP_BENCH_HOGS", []int{64})[0]
		for _, rt := range b.envInts(t, "EBPFVRRP_BENCH_RT_PRIORITY", []int{0, starveRTPriority}) {
			t.Run(fmt.Sprintf("starvation/rt=%d", rt), func(t *testing.T) { benchStarvation(t, res, window, hogs, rt) })
		}
	}
	if b.want("restart") {
		for _, cfg := range restartConfigs {
			for _, op := range restartOps {
				t.Run("restart/"+cfg.name+"/"+op.name, func(t *testing.T) {
					o := measureRestart(t, cfg, op)
					res.Restart = append(res.Restart, restartRow{Config: cfg.name, Op: op.name, Daemon: op.daemon, Outcome: o})
				})
			}
		}
	}
	res.End = time.Now()
	res.Machine.LoadEnd = loadavg()

	out := b.outDir(t)
	if err := writeReport(out, res); err != nil {
		t.Fatalf("write report: %v", err)
	}
	t.Logf("report written to %s (%v)", filepath.Join(out, "benchmarks.md"), res.End.Sub(res.Start).Round(time.Second))
}

type benchConfig struct {
	quick bool
	only  []string
}

func newBench(t *testing.T) benchConfig {
	var b benchConfig
	b.quick = os.Getenv("EBPFVRRP_BENCH_QUICK") == "1"
	if o := os.Getenv("EBPFVRRP_BENCH_ONLY"); o != "" {
		b.only = strings.Split(o, ",")
	}
	return b
}

func (b benchConfig) want(section string) bool {
	return len(b.only) == 0 || slices.Contains(b.only, section)
}

func (b benchConfig) trials(n int) int {
	if b.quick {
		return 3
	}
	return n
}

func (b benchConfig) dur(d time.Duration) time.Duration {
	if b.quick {
		return d / 5
	}
	return d
}

// envDur is the duration in the environment variable name (a Go duration), or
// def shortened by quick.
func (b benchConfig) envDur(t *testing.T, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return b.dur(def)
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a positive duration such as 20s", name, v)
	}
	return d
}

// envInts is the comma-separated list of integers in name, or def.
func (b benchConfig) envInts(t *testing.T, name string, def []int) []int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	var out []int
	for f := range strings.SplitSeq(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 {
			t.Fatalf("%s=%q: want a comma-separated list of numbers", name, v)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		t.Fatalf("%s is empty", name)
	}
	return out
}

// outDir is docs/ for a full run, else EBPFVRRP_BENCH_OUT or a temp dir.
func (b benchConfig) outDir(t *testing.T) string {
	if o := os.Getenv("EBPFVRRP_BENCH_OUT"); o != "" {
		if err := os.MkdirAll(o, 0o755); err != nil {
			t.Fatal(err)
		}
		return o
	}
	if b.quick || len(b.only) > 0 {
		d, err := os.MkdirTemp("", "ebpfvrrp-bench-")
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	return filepath.Join(moduleRoot(t), "docs")
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// daemons in the order of trial i: alternating who goes first, so neither always
// runs on a machine the other just warmed up (or loaded).
func daemonsFor(i int) []lab.Daemon {
	if i%2 == 0 {
		return []lab.Daemon{lab.Ebpfvrrp, lab.Keepalived}
	}
	return []lab.Daemon{lab.Keepalived, lab.Ebpfvrrp}
}

func pairOf(d lab.Daemon) pair {
	if d == lab.Ebpfvrrp {
		return allEbpfvrrp
	}
	return allKeepalived
}

// benchLab is one lab of a section with its instruments.
type benchLab struct {
	l *lab.Lab
	s *sniffer
	w *vipWatch
}

func newBenchLab(t *testing.T, d lab.Daemon, opts lab.Options) *benchLab {
	t.Helper()
	l := newLab(t, pairOf(d), opts)
	// The lab's progress lines (every cut and restart) would drown the results.
	l.SetLogf(nil)
	return &benchLab{l: l, s: startSniffer(t, l, lab.Client), w: watchVIP(t, l)}
}

// waitOnly waits up to 30 s until exactly want hold the VIP.
func waitOnly(t *testing.T, l *lab.Lab, want ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := l.WaitVIP(ctx, want...); err != nil {
		t.Fatalf("%s: %v", l.Daemon(lab.LB5), err)
	}
}

// --- 1. failover ---------------------------------------------------------------

type failoverProto struct {
	Name                      string
	Opts                      lab.Options
	Probe, Lead, Tail, Settle time.Duration
	Trials                    int
}

func benchFailover(t *testing.T, res *benchResults, p failoverProto) {
	labs := map[lab.Daemon]*benchLab{}
	for _, d := range []lab.Daemon{lab.Ebpfvrrp, lab.Keepalived} {
		bl := newBenchLab(t, d, p.Opts)
		startPair(t, bl.l)
		labs[d] = bl
	}
	opts := labs[lab.Ebpfvrrp].l.Options()
	backupPrio := 100
	for _, kind := range []string{"cut", "stop"} {
		set := failoverSet{Proto: p.Name, Version: opts.Version, Interval: opts.AdvertInterval, Kind: kind,
			Probe: p.Probe, Trials: map[lab.Daemon][]failoverTrial{}}
		if kind == "cut" {
			set.Ref, set.RefName = masterDown(opts.AdvertInterval, backupPrio), "Master_Down_Interval"
		} else {
			set.Ref, set.RefName = skewTime(opts.AdvertInterval, backupPrio), "Skew_Time"
		}
		for i := range p.Trials {
			for _, d := range daemonsFor(i) {
				tr, tl := failoverTrialRun(t, labs[d], p, kind)
				t.Logf("%s %s %s trial %d: outage %v, cut→VIP %v, advert→VIP %v, cut→served %v",
					p.Name, kind, d, i, ms(tr.Outage), ms(tr.CutToVIP), ms(tr.AdvertToVIP), ms(tr.CutToServed))
				set.Trials[d] = append(set.Trials[d], tr)
				if i == 0 && kind == "cut" {
					tl.Set, tl.Daemon = p.Name, d
					res.Timelines = append(res.Timelines, tl)
				}
			}
		}
		res.Failover = append(res.Failover, set)
	}
}

// failoverTrialRun makes lb-5 (the master) go away, right after one of its adverts,
// either by cutting its bridge port or by a clean stop (SIGTERM: priority-0 advert),
// and measures the takeover; then it brings lb-5 back and waits for it to be master
// again.
func failoverTrialRun(t *testing.T, bl *benchLab, p failoverProto, kind string) (failoverTrial, timeline) {
	t.Helper()
	l := bl.l
	waitOnly(t, l, lab.LB5)
	time.Sleep(p.Settle)
	probe := l.StartProbe(p.Probe)
	time.Sleep(p.Lead)
	// Aligning the fault with an advert makes the RFC's bound the expected outage:
	// the backup last heard the master just now.
	aligned, ok := bl.s.next(lab.Addr4(lab.LB5), 3*l.Options().AdvertInterval+time.Second)
	if !ok {
		probe.Stop()
		t.Fatalf("%s: no advert from lb-5 seen by the client", l.Daemon(lab.LB5))
	}
	cut := time.Now()
	stopped := make(chan error, 1)
	if kind == "cut" {
		if err := l.CutLink(lab.LB5); err != nil {
			t.Fatal(err)
		}
	} else {
		go func() { stopped <- l.StopLB(lab.LB5, syscall.SIGTERM) }()
	}
	vipAt, ok := bl.w.added(lab.LB6, cut, 20*time.Second)
	if !ok {
		probe.Stop()
		t.Fatalf("%s %s: VIP never added on lb-6", l.Daemon(lab.LB5), kind)
	}
	cutT := cut.Sub(probe.Started())
	servedBy := time.Now().Add(10 * time.Second)
	for !servedAfter(probe.Snapshot(), cutT) && time.Now().Before(servedBy) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(p.Tail)
	r := probe.Stop()
	end := time.Now()

	tr := failoverTrial{CutToVIP: vipAt.Sub(cut)}
	// The last word from the master: its last advert before the cut, or its
	// priority-0 advert after the stop.
	for _, a := range bl.s.between(cut.Add(-5*time.Second), vipAt) {
		if a.Src != lab.Addr4(lab.LB5) {
			continue
		}
		if kind == "cut" && a.T.Before(cut) {
			tr.AdvertToVIP = vipAt.Sub(a.T)
		}
		if kind == "stop" && a.Prio == 0 && a.T.After(aligned.T) && tr.AdvertToVIP == 0 {
			tr.AdvertToVIP = vipAt.Sub(a.T)
		}
	}
	if kind == "stop" && tr.AdvertToVIP > 2*skewTime(l.Options().AdvertInterval, 100)+time.Millisecond {
		// Not the Skew_Time takeover a priority-0 advert asks for: show what
		// the client saw on the wire and what lb-6 logged, to tell a lost or
		// reordered advert from a backup that ignored it.
		var seen []string
		for _, a := range bl.s.between(aligned.T.Add(-3*l.Options().AdvertInterval), vipAt.Add(time.Millisecond)) {
			seen = append(seen, fmt.Sprintf("%s %v prio %d", a.T.Sub(aligned.T), a.Src, a.Prio))
		}
		t.Logf("%s stop: takeover %v after the priority-0 advert (Skew_Time %v). Adverts the client saw, relative to the aligned one:\n%s\nlb-6 log:\n%s",
			l.Daemon(lab.LB6), tr.AdvertToVIP, skewTime(l.Options().AdvertInterval, 100), strings.Join(seen, "\n"), tail(l.Log(lab.LB6, "lb"), 15))
	}
	for _, o := range r.Outages {
		if o.End >= cutT-time.Second && o.Start <= cutT+15*time.Second {
			tr.Outage = max(tr.Outage, o.Duration())
			tr.Failures += o.Failures
		}
	}
	tr.CutToServed = -1
	for _, s := range r.Timeline {
		if s.OK && s.T >= cutT {
			tr.CutToServed = s.T - cutT
			break
		}
	}
	tl := timeline{Cut: cut, ProbeStart: r.Start, Samples: r.Timeline,
		Adverts: bl.s.between(r.Start, end), VIP: bl.w.between(r.Start, end)}

	// Back to the start: lb-5 master, lb-6 backup.
	if kind == "cut" {
		if err := l.RestoreLink(lab.LB5); err != nil {
			t.Fatal(err)
		}
	} else {
		if err := <-stopped; err != nil {
			t.Fatalf("stop lb-5: %v", err)
		}
		if err := l.StartLB(lab.LB5, l.DefaultConfig(lab.LB5)); err != nil {
			t.Fatal(err)
		}
	}
	waitOnly(t, l, lab.LB5)
	return tr, tl
}

func servedAfter(r lab.ProbeResult, t time.Duration) bool {
	for i := len(r.Timeline) - 1; i >= 0 && r.Timeline[i].T >= t; i-- {
		if r.Timeline[i].OK {
			return true
		}
	}
	return false
}

// --- 2. flood ------------------------------------------------------------------

func benchFlood(t *testing.T, res *benchResults, d time.Duration) {
	labs := map[lab.Daemon]*benchLab{}
	for _, dm := range []lab.Daemon{lab.Ebpfvrrp, lab.Keepalived} {
		bl := &benchLab{l: newLab(t, pairOf(dm), lab.Options{AllowedPeers: true})}
		bl.l.SetLogf(nil)
		startPair(t, bl.l)
		labs[dm] = bl
	}
	workers := runtime.NumCPU()
	res.FloodWorkers = workers
	for i, kind := range AllForgeries {
		for _, dm := range daemonsFor(i) {
			row := floodRun(t, labs[dm].l, kind, d, workers)
			t.Logf("flood %s on %s: %.0f pkt/s, %d transitions, VIP changes %d, CPU %v, drops %.0f, client %d/%d failed",
				kind, dm, row.Rate, row.Transitions, row.VIPChanges, row.CPU, row.Drops, row.ClientFailures, row.ClientRequests)
			res.Floods = append(res.Floods, row)
		}
	}
}

func floodRun(t *testing.T, l *lab.Lab, kind Forgery, d time.Duration, workers int) floodRow {
	t.Helper()
	ctx := context.Background()
	waitOnly(t, l, lab.LB5)
	time.Sleep(1500 * time.Millisecond)
	dm := l.Daemon(lab.LB5)
	row := floodRow{Kind: kind, Daemon: dm, CPU: map[string]float64{}, Drops: math.NaN()}
	var dropsBefore float64
	if dm == lab.Ebpfvrrp {
		for _, h := range lab.LBHosts {
			m, err := l.Metrics(ctx, h)
			if err != nil {
				t.Fatal(err)
			}
			dropsBefore += lab.SumMetrics(m, "ebpfvrrp_drops_total")
		}
	}
	trBefore := pairTransitions(l)

	stop := make(chan struct{})
	changes := make(chan int, 1)
	go func() {
		n, last := 0, []string{lab.LB5}
		for {
			select {
			case <-stop:
				changes <- n
				return
			case <-time.After(5 * time.Millisecond):
			}
			if got := l.VIPHolder(); !slices.Equal(got, last) {
				n++
				last = got
			}
		}
	}()
	probe := l.StartProbe(20 * time.Millisecond)
	before := map[string]procUsage{}
	for _, h := range lab.LBHosts {
		u, err := groupUsage(l.LBPid(h))
		if err != nil {
			t.Fatal(err)
		}
		before[h] = u
	}
	sirqBefore, t0 := softirqTicks(), time.Now()
	fr, err := flood(ctx, l, d, workers, kind)
	elapsed := time.Since(t0)
	sirqAfter := softirqTicks()
	for _, h := range lab.LBHosts {
		u, uerr := groupUsage(l.LBPid(h))
		if uerr != nil {
			t.Fatal(uerr)
		}
		row.CPU[h] = cpuPercent(before[h], u, elapsed)
	}
	pr := probe.Stop()
	close(stop)
	row.VIPChanges = <-changes
	if err != nil {
		t.Fatal(err)
	}
	row.Rate, row.Sent, row.Errors = fr.Rate(), fr.Total, fr.Errors
	row.SoftirqPct = float64(sirqAfter-sirqBefore) / clkTck / elapsed.Seconds() * 100
	row.ClientRequests, row.ClientFailures = pr.Requests, pr.Failures
	row.Transitions = pairTransitions(l) - trBefore
	if dm == lab.Ebpfvrrp {
		var after float64
		for _, h := range lab.LBHosts {
			m, err := l.Metrics(ctx, h)
			if err != nil {
				t.Fatal(err)
			}
			after += lab.SumMetrics(m, "ebpfvrrp_drops_total")
		}
		row.Drops = after - dropsBefore
	}
	// keepalived accepts some forgeries; give the pair time to fall back to lb-5.
	ctx2, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	start := time.Now()
	_, werr := l.WaitVIP(ctx2, lab.LB5)
	row.Recovered = werr == nil
	row.Recovery = time.Since(start)
	return row
}

// --- 3. scale ------------------------------------------------------------------

// scaleNet holds the scale benchmark's VIPs, one per instance.
var scaleNet = netip.MustParsePrefix("198.19.0.0/16")

// scaleSegments is how many L2 segments the scale benchmark spreads its VRIDs
// over (a VRID is unique per segment only: 255 at most on each).
const scaleSegments = 4

// scaleInstance places instance i (0-based) of n: its segment and VRID, the
// instances spread evenly over the segments.
func scaleInstance(i, n int) (seg, vrid int) {
	per := (n + scaleSegments - 1) / scaleSegments
	return i / per, i%per + 1
}

func scaleConfig(host string, n int) lab.LBConfig {
	c := lab.LBConfig{RouterID: host, MetricsListen: lab.MetricsListen}
	prio, state := 100, "BACKUP"
	if host == lab.LB5 {
		prio, state = 150, "MASTER"
	}
	for i := range n {
		seg, vrid := scaleInstance(i, n)
		c.Instances = append(c.Instances, lab.Instance{
			Name: fmt.Sprintf("VI_%d", i+1), Interface: lab.SegmentLink(seg), VRID: vrid, Priority: prio, State: state,
			Version: 3, AdvertInterval: 10 * time.Millisecond,
			VIPs: []netip.Addr{scaleVIP(i)},
		})
	}
	return c
}

func scaleVIP(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{198, 19, byte(i / 250), byte(i%250 + 1)})
}

// txFrames is how many frames host sent on all its segments' links (its
// adverts, and the odd ARP), counted by the kernel: unlike the client's
// sniffer it does not miss frames when the machine is overloaded.
func txFrames(t *testing.T, l *lab.Lab, host string) uint64 {
	t.Helper()
	var n uint64
	for seg := range l.Options().Segments {
		st, err := l.LinkStats(host, lab.SegmentLink(seg))
		if err != nil {
			t.Fatal(err)
		}
		n += st.TxPackets
	}
	return n
}

func benchScale(t *testing.T, res *benchResults, n int, window time.Duration) {
	if n > scaleSegments*255 {
		t.Fatalf("%d instances do not fit %d segments of 255 VRIDs", n, scaleSegments)
	}
	labs := map[lab.Daemon]*lab.Lab{}
	sniffers := map[lab.Daemon]*sniffer{}
	rows := map[lab.Daemon]*scaleRow{}
	for _, d := range []lab.Daemon{lab.Ebpfvrrp, lab.Keepalived} {
		l := newLab(t, pairOf(d), lab.Options{Version: 3, AdvertInterval: 10 * time.Millisecond, Segments: scaleSegments})
		l.SetLogf(nil)
		labs[d] = l
		sniffers[d] = startSniffer(t, l, lab.Client)
		rows[d] = &scaleRow{Daemon: d, Instances: n, Segments: scaleSegments}
	}
	// Two rounds each, one pair running at a time: both pairs at once would
	// measure each against the other's load.
	for round := range 2 {
		for _, d := range daemonsFor(round) {
			scaleRound(t, labs[d], sniffers[d], rows[d], n, window)
		}
	}
	for _, d := range []lab.Daemon{lab.Ebpfvrrp, lab.Keepalived} {
		r := rows[d]
		t.Logf("scale %d %s: master %.2f%% (%.2f µs/advert) backup %.2f%% CPU, RSS %.1f/%.1f MB, flaps %d, VIP moves %d, worst gap %v, floor %.2f µs/frame, settle %v",
			n, d, r.CPU(lab.LB5), r.USPerAdvert(), r.CPU(lab.LB6), r.RSSMB[lab.LB5], r.RSSMB[lab.LB6], r.Flaps, r.VIPMoves, r.WorstGap, r.FloorUS(), r.Settle)
		res.Scale = append(res.Scale, *r)
	}
}

// scaleLate is a silence of one VRID that counts as a late advert at 10 ms: half
// an interval past due.
const scaleLate = 15 * time.Millisecond

func scaleRound(t *testing.T, l *lab.Lab, sn *sniffer, row *scaleRow, n int, window time.Duration) {
	t.Helper()
	start := time.Now()
	for _, h := range lab.LBHosts {
		cfg := scaleConfig(h, n)
		text := cfg.Keepalived()
		if l.Daemon(h) == lab.Ebpfvrrp {
			text = cfg.YAML()
		}
		if err := l.StartLB(h, text); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		m, _ := benchCountAddrs(l, lab.LB5, scaleNet)
		b, _ := benchCountAddrs(l, lab.LB6, scaleNet)
		if m == n && b == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d instances not settled in 60 s: lb-5 holds %d VIPs, lb-6 %d\n%s",
				l.Daemon(lab.LB5), n, m, b, tail(l.Log(lab.LB6, "lb"), 30))
		}
		time.Sleep(20 * time.Millisecond)
	}
	row.Settle = max(row.Settle, time.Since(start))
	// Let startup work (map setup, VIP announcements) finish before measuring.
	time.Sleep(3 * time.Second)
	before := map[string]procUsage{}
	for _, h := range lab.LBHosts {
		u, err := groupUsage(l.LBPid(h))
		if err != nil {
			t.Fatal(err)
		}
		before[h] = u
	}
	logOff := map[string]int{}
	for _, h := range lab.LBHosts {
		logOff[h] = len(l.Log(h, "lb"))
	}
	sn.dropped()
	tx0 := txFrames(t, l, lab.LB5)
	tr0, t0 := pairTransitions(l), time.Now()
	time.Sleep(window)
	elapsed := time.Since(t0)
	row.TxFrames += txFrames(t, l, lab.LB5) - tx0
	// The client's view of the master's adverts tells a sender problem (late or
	// missing adverts) from a receiver one (a backup that times out anyway).
	var srcs []netip.Addr
	for seg := range scaleSegments {
		srcs = append(srcs, lab.SegmentAddr4(lab.LB5, seg))
	}
	gap, vrid, ads, late := sn.worstVRIDGap(srcs, t0, t0.Add(elapsed), scaleLate)
	row.SnifferDrops += int(sn.dropped())
	row.Adverts += ads
	row.LateGaps += late
	if gap > row.WorstGap {
		row.WorstGap, row.WorstVRID = gap, int(vrid)
	}
	for off := logOff[lab.LB5]; ; {
		log := l.Log(lab.LB5, "lb")
		if off > len(log) {
			break
		}
		for line := range strings.Lines(log[off:]) {
			if strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, `"level":"ERROR"`) {
				row.MasterWarnings++
				if row.FirstWarning == "" {
					row.FirstWarning = strings.TrimSpace(line)
				}
			}
		}
		break
	}
	if row.Ticks == nil {
		row.Ticks, row.RSSMB, row.FileMB = map[string]uint64{}, map[string]float64{}, map[string]float64{}
	}
	for _, h := range lab.LBHosts {
		u, err := groupUsage(l.LBPid(h))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("scale %s %s: %v → %v over %v", l.Daemon(h), h, before[h].Detail, u.Detail, elapsed.Round(time.Millisecond))
		row.Ticks[h] += u.Ticks - before[h].Ticks
		if rss := float64(u.RSSKB) / 1024; rss >= row.RSSMB[h] {
			row.RSSMB[h], row.FileMB[h] = rss, float64(u.FileKB)/1024
		}
	}
	row.Window += elapsed
	if n := pairTransitions(l) - tr0; n > 0 {
		row.Flaps += n
		if row.FlapKinds == nil {
			row.FlapKinds = map[string]int{}
		}
		for _, h := range lab.LBHosts {
			for k, c := range transitionKinds(l, h, logOff[h]) {
				row.FlapKinds[k] += c
				if h == lab.LB6 && (strings.Contains(k, "→MASTER") || strings.Contains(k, "entering MASTER")) {
					row.VIPMoves += c
				}
			}
		}
		t.Logf("scale %s: %d transitions in the window: %v", l.Daemon(lab.LB5), n, row.FlapKinds)
	}
	// The window's end state, before the floor: while the floor sends in the
	// stopped daemon's place, a VRID it cannot keep up with moves, and that
	// move is the floor's, not the daemon's.
	m, _ := benchCountAddrs(l, lab.LB5, scaleNet)
	b, _ := benchCountAddrs(l, lab.LB6, scaleNet)
	if m != n || b != 0 {
		row.EndMismatch++
	}
	if l.Daemon(lab.LB5) == lab.Ebpfvrrp {
		measureFloor(t, l, row, n, window)
	}
	for _, h := range []string{lab.LB6, lab.LB5} {
		if err := l.StopLB(h, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}
}

// measureFloor runs sendFloor for lb-5's n adverts over window and adds it to
// row.
func measureFloor(t *testing.T, l *lab.Lab, row *scaleRow, n int, window time.Duration) {
	t.Helper()
	// The floor: pre-built copies of the same adverts from lb-5 at the same
	// rate, by a bare sendmmsg loop on packet sockets (see sendFloor).
	// lb-5's daemon is stopped (SIGSTOP) meanwhile: the softirq work in
	// a sender's context drains the CPU's whole backlog, so two senders
	// at once would each pay for part of the other's frames. The floor's
	// adverts keep the backup a backup.
	var f floorResult
	var ferr error
	done := make(chan struct{})
	go func() { defer close(done); f, ferr = sendFloor(l, n, window) }()
	time.Sleep(50 * time.Millisecond)
	pid := l.LBPid(lab.LB5)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	<-done
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if ferr != nil {
		t.Fatal(ferr)
	}
	t.Logf("scale floor: %d frames in %v, %.2f µs of CPU per frame", f.Frames, f.Elapsed.Round(time.Millisecond), f.USPerFrame())
	row.FloorFrames += f.Frames
	row.FloorCPU += f.CPU
}

// --- 4. dataplane (issue 3) ----------------------------------------------------

var benchLine = regexp.MustCompile(`^Benchmark(\S+?)-\d+\s+(\d+)\s+([\d.]+) ns/op(?:\s+([\d.]+) ns/pkt)?`)

func benchLoader(t *testing.T, res *benchResults) {
	args := []string{"test", "-run", "^$", "-bench", ".", "-count=1", "./loader/"}
	res.LoaderCmd = "EBPFVRRP_PRIVILEGED_TESTS=1 go " + strings.Join(args, " ")
	cmd := exec.Command("go", args...)
	cmd.Dir = moduleRoot(t)
	cmd.Env = append(os.Environ(), "EBPFVRRP_PRIVILEGED_TESTS=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", res.LoaderCmd, err, out)
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		row := loaderRow{Name: m[1]}
		row.NsOp, _ = strconv.ParseFloat(m[3], 64)
		row.NsPkt = math.NaN()
		if m[4] != "" {
			row.NsPkt, _ = strconv.ParseFloat(m[4], 64)
		}
		res.Loader = append(res.Loader, row)
		t.Logf("%s: %.1f ns/op, %.0f ns/pkt", row.Name, row.NsOp, row.NsPkt)
	}
	if len(res.Loader) == 0 {
		t.Fatalf("no benchmark lines in:\n%s", out)
	}
}

// --- 5. starvation -------------------------------------------------------------

// starveRTPriority is the real-time priority both daemons get in the
// starvation rows that set one (keepalived's vrrp_rt_priority, ebpfvrrp's
// scheduling.rt_priority).
const starveRTPriority = 50

func benchStarvation(t *testing.T, res *benchResults, window time.Duration, hogs, rtPrio int) {
	labs := map[lab.Daemon]*benchLab{}
	for _, d := range []lab.Daemon{lab.Ebpfvrrp, lab.Keepalived} {
		bl := newBenchLab(t, d, lab.Options{Version: 3, AdvertInterval: 10 * time.Millisecond})
		for _, h := range lab.LBHosts {
			c := bl.l.LBConfig(h)
			c.RTPriority = rtPrio
			text := c.Keepalived()
			if d == lab.Ebpfvrrp {
				text = c.YAML()
			}
			if err := bl.l.StartLB(h, text); err != nil {
				t.Fatalf("StartLB(%s): %v", h, err)
			}
		}
		labs[d] = bl
	}
	for _, bl := range labs {
		waitOnly(t, bl.l, lab.LB5)
	}
	time.Sleep(2 * time.Second)
	sched := map[lab.Daemon]string{}
	for d, bl := range labs {
		sched[d] = schedInfo(bl.l.LBPid(lab.LB5))
	}
	// Both pairs run under the same hog at the same time: the fairest alternation.
	pids := startHogs(t, hogs)
	t.Logf("starvation: %d busy loops running, real-time priority %d", len(pids), rtPrio)
	tr0 := map[lab.Daemon]int{}
	for d, bl := range labs {
		tr0[d] = pairTransitions(bl.l)
	}
	steal0 := stealTicks(t)
	from := time.Now()
	time.Sleep(window)
	to := time.Now()
	steal := time.Duration(stealTicks(t)-steal0) * time.Second / clkTck
	t.Logf("starvation: the host ran other work on this VM's vCPUs for %v of the %v (steal, all CPUs)", steal, to.Sub(from).Round(time.Millisecond))
	for _, d := range []lab.Daemon{lab.Ebpfvrrp, lab.Keepalived} {
		bl := labs[d]
		n := pairTransitions(bl.l) - tr0[d]
		gap, ads := bl.s.maxGap(lab.Addr4(lab.LB5), from, to)
		row := starveRow{Daemon: d, Window: to.Sub(from), Transitions: n, Hogs: len(pids), RTPriority: rtPrio,
			PerMinute: float64(n) / to.Sub(from).Minutes(), MaxGap: gap, Adverts: ads, Sched: sched[d], TxMaxGap: -1,
			Steal: steal, CPUs: runtime.NumCPU()}
		if d == lab.Ebpfvrrp {
			// The master's own view at TC egress (in its sending thread's
			// context): whether its adverts left on time, whatever the
			// receivers' softirq work made of them.
			row.TxMaxGap = txMaxGap(t, bl.l, lab.LB5)
			t.Logf("starvation ebpfvrrp rt=%d: %s", rtPrio, lateTicks(bl.l.Log(lab.LB5, "lb"), from, to))
		}
		t.Logf("starvation %s rt=%d: %d transitions in %v (%.2f/min), master advert max gap %v over %d adverts (at its TC egress %v), %s",
			d, rtPrio, n, row.Window.Round(time.Second), row.PerMinute, ms(gap), ads, ms(row.TxMaxGap), row.Sched)
		res.Starve = append(res.Starve, row)
	}
}

// stealTicks is the steal time of every CPU (/proc/stat, clock ticks): time
// the hypervisor ran something else while this VM's vCPU wanted to run. No
// scheduling class inside the VM is served then.
func stealTicks(t *testing.T) uint64 {
	t.Helper()
	n, err := procStatCPU(procStatSteal)
	if err != nil {
		t.Fatalf("steal time: %v", err)
	}
	return n
}

// txMaxGap is the longest gap between two of host's own adverts its TC egress
// program saw since it started (ebpfvrrp_tx_max_gap_seconds, worst VRID).
func txMaxGap(t *testing.T, l *lab.Lab, host string) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := l.Metrics(ctx, host)
	if err != nil {
		t.Fatalf("%s metrics: %v", host, err)
	}
	var worst float64
	for k, v := range m {
		if strings.HasPrefix(k, "ebpfvrrp_tx_max_gap_seconds") {
			worst = max(worst, v)
		}
	}
	return time.Duration(worst * float64(time.Second))
}

// lateTicks summarises the master's "late advert tick" debug lines logged
// between from and to: how many, and the stages of the latest ones.
func lateTicks(log string, from, to time.Time) string {
	type tick struct {
		Time                       time.Time
		Late, Wake, LockWait, Send time.Duration
		GC                         uint64
	}
	var ticks []tick
	for line := range strings.Lines(log) {
		if !strings.Contains(line, `"late advert tick"`) {
			continue
		}
		var k struct {
			Time     time.Time `json:"time"`
			Late     int64     `json:"late"`
			Wake     int64     `json:"wake"`
			LockWait int64     `json:"lock_wait"`
			Send     int64     `json:"send"`
			GC       uint64    `json:"gc_cycles"`
		}
		if json.Unmarshal([]byte(line), &k) != nil || k.Time.Before(from) || k.Time.After(to) {
			continue
		}
		ticks = append(ticks, tick{k.Time, time.Duration(k.Late), time.Duration(k.Wake), time.Duration(k.LockWait), time.Duration(k.Send), k.GC})
	}
	slices.SortFunc(ticks, func(a, b tick) int { return cmp.Compare(b.Late, a.Late) })
	parts := []string{fmt.Sprintf("%d late ticks (> interval/2)", len(ticks))}
	for _, k := range ticks[:min(len(ticks), 5)] {
		parts = append(parts, fmt.Sprintf("late %v = wake %v + lock %v + send %v (gc %d)", ms(k.Late), ms(k.Wake), ms(k.LockWait), ms(k.Send), k.GC))
	}
	return strings.Join(parts, "; ")
}

// startHogs starts n busy loops at normal priority, killed at cleanup.
func startHogs(t *testing.T, n int) []int {
	t.Helper()
	var pids []int
	for range n {
		cmd := exec.Command("sh", "-c", "while :; do :; done")
		cmd.SysProcAttr = lab.ProcAttr()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, cmd.Process.Pid)
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
	}
	return pids
}

// schedInfo describes the scheduling class of every process in a daemon's
// group, and of each of its threads whose class differs from the process's
// (ebpfvrrp's real-time advert thread).
func schedInfo(pgid int) string {
	var parts []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		name, pg, policy, ok := taskSched(filepath.Join("/proc", e.Name(), "stat"))
		if !ok || pg != pgid {
			continue
		}
		parts = append(parts, name+": "+policy)
		tasks, _ := os.ReadDir(filepath.Join("/proc", e.Name(), "task"))
		for _, task := range tasks {
			if tn, _, tp, ok := taskSched(filepath.Join("/proc", e.Name(), "task", task.Name(), "stat")); ok && tp != policy {
				parts = append(parts, fmt.Sprintf("%s thread %s: %s", tn, task.Name(), tp))
			}
		}
	}
	return strings.Join(parts, "; ")
}

// taskSched reads a /proc stat file: the task's name, process group and
// scheduling class.
func taskSched(path string) (name string, pgid int, policy string, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", 0, "", false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", 0, "", false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 39 {
		return "", 0, "", false
	}
	pgid, _ = strconv.Atoi(f[2])
	name = s[strings.IndexByte(s, '(')+1 : i]
	policy = map[string]string{"0": "SCHED_OTHER", "1": "SCHED_FIFO", "2": "SCHED_RR", "3": "SCHED_BATCH", "5": "SCHED_IDLE"}[f[38]]
	if policy == "" {
		policy = "policy " + f[38]
	}
	policy += " nice " + f[16]
	if f[37] != "0" {
		policy += " rtprio " + f[37]
	}
	return name, pgid, policy, true
}

func ms(d time.Duration) string {
	if d < 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}
