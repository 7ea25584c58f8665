package vm

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/config"
	"github.com/ebpfvrrp/ebpfvrrp/internal/lab"
)

// The chaos soak: three LBs (lb-5, lb-6, lb-7) in one VRRPv3 group at 100 ms
// adverts, a client requesting the VIP every 10 ms, and a seeded stream of faults
// (soakFault) one after another. TestSoak runs it for 60 s per daemon inside
// `make test`; `make soak` runs it for 10 minutes and publishes the result.
//
//	EBPFVRRP_SOAK_DURATION  run length per daemon (default 60s)
//	EBPFVRRP_SOAK_SEED      the fault stream's seed (default: the clock; logged)
//	EBPFVRRP_SOAK_DAEMONS   comma-separated, default "ebpfvrrp,keepalived"
//	EBPFVRRP_SOAK_OUT       a directory: write the soak section of benchmarks.md
//	                        and soak-timeline.png there (make soak: docs/)
//
// 100 ms adverts make Master_Down_Interval 341–380 ms (priorities 150/100/50), so
// a fault's effect and its recovery take well under a second and ten minutes hold
// a couple of hundred faults; at 10 ms the loaded 2-core machine's scheduling
// jitter alone would reach the bound (see fastInterval), which would test the
// machine, not the daemon.

const (
	soakInterval = 100 * time.Millisecond
	// soakEpsilon is what a no-holder stretch may exceed Master_Down_Interval by:
	// the Backup's timer starts at the last advert it heard, so the RFC's bound holds
	// from that advert; ε covers the netlink event reaching the test (the address is
	// timed when the test reads it), the new Master's timer wakeup and address add on
	// a 2-core machine that the soak's own hogs and floods keep busy, under -race.
	soakEpsilon = 200 * time.Millisecond
	// soakExplain: a change of holders must follow a fault within this long of its
	// end. The slowest legitimate reaction is a restored or restarted top-priority
	// host preempting: a start (keepalived's takes about 100–300 ms here), then
	// Master_Down_Interval as Backup, then the address add.
	soakExplain = 1200 * time.Millisecond
	// soakTail is the quiet time after the last fault: the group must end with the
	// top-priority host as the one holder.
	soakTail = 3 * time.Second
	// soakSentinel is never killed, so its daemon lives the whole run and is the
	// witness for growth of RSS, fds and goroutines.
	soakSentinel = lab.LB7
	soakSample   = 2 * time.Second
	soakWarm     = 5 * time.Second
)

var soakPriorities = []int{150, 100, 50}

// soakTolerance: a Go daemon's RSS follows its heap, which GOGC=100 lets reach twice
// the live heap before a collection, so RSS moves by a share of itself without any
// leak; 25 % (at least 4 MiB) over the run is far above that noise and far below what
// a per-fault leak of a few hundred faults would add. Each sample scrapes ebpfvrrp's
// metrics, whose own connection and handler add up to 2 fds and a few goroutines
// at the moment of the scrape.
var soakTolerance = resourceTolerance{FDs: 3, Goroutines: 8, RSSKB: 4096, RSSShare: 0.25}

func soakBoundsFor(interval time.Duration) soakBounds {
	mdi := masterDown(interval, slices.Min(soakPriorities))
	return soakBounds{
		NoHolder: mdi + soakEpsilon,
		Dual:     mdi + config.DefaultSplitBrainProbeInterval,
		Explain:  soakExplain,
		// A request sent just before the Master vanished fails like those sent while
		// nobody held the VIP; one probe interval more.
		Client: mdi + soakEpsilon + 10*time.Millisecond,
	}
}

type soakSettings struct {
	duration time.Duration
	seed     uint64
	daemons  []lab.Daemon
	out      string
}

func soakSettingsFromEnv(t *testing.T) soakSettings {
	s := soakSettings{duration: time.Minute, seed: uint64(time.Now().UnixNano()), daemons: []lab.Daemon{lab.Ebpfvrrp, lab.Keepalived}, out: os.Getenv("EBPFVRRP_SOAK_OUT")}
	if v := os.Getenv("EBPFVRRP_SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 10*time.Second {
			t.Fatalf("EBPFVRRP_SOAK_DURATION=%q: want a duration of at least 10s (%v)", v, err)
		}
		s.duration = d
	}
	if v := os.Getenv("EBPFVRRP_SOAK_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("EBPFVRRP_SOAK_SEED=%q: %v", v, err)
		}
		s.seed = n
	}
	if v := os.Getenv("EBPFVRRP_SOAK_DAEMONS"); v != "" {
		s.daemons = nil
		for _, d := range strings.Split(v, ",") {
			switch dd := lab.Daemon(strings.TrimSpace(d)); dd {
			case lab.Ebpfvrrp, lab.Keepalived:
				s.daemons = append(s.daemons, dd)
			default:
				t.Fatalf("EBPFVRRP_SOAK_DAEMONS: unknown daemon %q", d)
			}
		}
	}
	return s
}

func TestSoak(t *testing.T) {
	s := soakSettingsFromEnv(t)
	t.Logf("soak: seed %d, %v per daemon, daemons %v (rerun: EBPFVRRP_SOAK_SEED=%d)", s.seed, s.duration, s.daemons, s.seed)
	var results []soakResult
	for _, d := range s.daemons {
		t.Run(string(d), func(t *testing.T) {
			results = append(results, runSoak(t, d, s))
		})
	}
	if s.out != "" && len(results) > 0 {
		if err := writeSoakReport(s.out, results); err != nil {
			t.Fatalf("write soak report: %v", err)
		}
		t.Logf("soak: report written to %s", s.out)
	}
}

// soakRun is one daemon's soak in progress.
type soakRun struct {
	t     *testing.T
	l     *lab.Lab
	start time.Time

	mu       sync.Mutex
	prio     map[string]int  // current priority per host
	down     map[string]bool // daemons we stopped on purpose
	crashes  []violation
	samples  map[string][]resourceSample
	scrapeEr []string
}

func (s *soakRun) since() time.Duration { return time.Since(s.start) }

func (s *soakRun) config(h string) string {
	s.mu.Lock()
	p := s.prio[h]
	s.mu.Unlock()
	c := s.l.LBConfig(h)
	c.Instances[0].Priority = p
	c.Instances[0].State = "BACKUP"
	if s.l.Daemon(h) == lab.Ebpfvrrp {
		return c.YAML()
	}
	return c.Keepalived()
}

// top is the host with the highest priority now.
func (s *soakRun) top() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	best := ""
	for h, p := range s.prio {
		if best == "" || p > s.prio[best] {
			best = h
		}
	}
	return best
}

func runSoak(t *testing.T, d lab.Daemon, set soakSettings) soakResult {
	l := newLab(t, pair{string(d), d, d}, lab.Options{LBDaemon: d, Version: 3, AdvertInterval: soakInterval, ThirdLB: true, PrivatePinDir: true})
	s := &soakRun{t: t, l: l, down: map[string]bool{},
		prio: map[string]int{lab.LB5: 150, lab.LB6: 100, lab.LB7: 50}, samples: map[string][]resourceSample{}}
	for _, h := range l.LBs() {
		if err := l.StartLB(h, s.config(h)); err != nil {
			t.Fatalf("StartLB(%s): %v", h, err)
		}
	}
	// A first start loads and verifies the programs under a machine-wide lock on
	// the bpffs (loader.lockDir): other labs on the machine can make it wait.
	wctx, wcancel := context.WithTimeout(context.Background(), 3*time.Minute)
	_, err := l.WaitVIP(wctx, lab.LB5)
	wcancel()
	if err != nil {
		t.Fatalf("soak %s: group did not settle: %v", d, err)
	}
	time.Sleep(time.Second)
	watch := watchVIP(t, l)
	s.start = time.Now()
	initial := l.VIPHolder()
	probe := l.StartProbe(10 * time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	var bg sync.WaitGroup
	bg.Add(2)
	go func() { defer bg.Done(); s.watchCrashes(ctx) }()
	go func() { defer bg.Done(); s.sampleResources(ctx) }()
	stopBG := func() { cancel(); bg.Wait() }
	t.Cleanup(stopBG)
	l.SetLogf(nil) // the fault log below is the timeline; the lab's own lines drown it

	var faults []soakFault
	plan := planFaults(set.seed, l.LBs())
	for _, pf := range plan {
		if s.since()+pf.Hold+soakTail > set.duration {
			break
		}
		f := s.inject(ctx, pf)
		faults = append(faults, f)
		t.Logf("soak %s", f)
		time.Sleep(pf.Gap)
	}
	time.Sleep(soakTail)
	end := s.since()
	pr := probe.Stop()
	stopBG()
	r := s.evaluate(d, set, faults, initial, watch, pr, end)
	// keepalived is the baseline: its violations are published next to ours and
	// logged in full, but only ebpfvrrp's fail the test.
	report := t.Errorf
	if d != lab.Ebpfvrrp {
		report = t.Logf
	}
	if len(r.Violations) > 0 {
		report("soak %s: %d invariant violations (seed %d; rerun with EBPFVRRP_SOAK_SEED=%d EBPFVRRP_SOAK_DAEMONS=%s)\n%s\nfault timeline:\n%s\nholders:\n%s",
			d, len(r.Violations), set.seed, set.seed, d, joinLines(r.Violations), joinLines(faults), joinLines(r.Spans))
	}
	t.Logf("soak %s: %s", d, r.summary())
	return r
}

func joinLines[T fmt.Stringer](xs []T) string {
	var b strings.Builder
	for _, x := range xs {
		b.WriteString("  " + x.String() + "\n")
	}
	return b.String()
}

func (s holderSpan) String() string {
	return fmt.Sprintf("%8.3fs–%8.3fs %v", s.From.Seconds(), s.To.Seconds(), s.Holders)
}

// evaluate runs every invariant on what the run recorded.
func (s *soakRun) evaluate(d lab.Daemon, set soakSettings, faults []soakFault, initial []string, w *vipWatch, pr lab.ProbeResult, end time.Duration) soakResult {
	b := soakBoundsFor(soakInterval)
	var events []soakVIPEvent
	for _, e := range w.between(s.start, s.start.Add(end)) {
		events = append(events, soakVIPEvent{T: e.T.Sub(s.start), Host: e.Host, Added: e.Added})
	}
	spans := holderSpans(initial, events, faults, end)
	vs := checkHolders(spans, faults, b)
	shift := pr.Start.Sub(s.start)
	outages := slices.Clone(pr.Outages)
	for i := range outages {
		outages[i].Start += shift
		outages[i].End += shift
	}
	// The client's long outages are published, not enforced: besides load on the
	// shared machine they show a known gap (a second short-lived Master within the
	// kernel's one-per-second BOTH_MASTERS limit leaves the client on its MAC until
	// the Master's next GARP burst, garp_master_delay later). The holder
	// invariants above are what fails the test.
	clientFindings := checkClient(outages, faults, b)
	for _, v := range clientFindings {
		s.t.Logf("soak: %s", v)
	}
	if last := spans[len(spans)-1]; !slices.Equal(last.Holders, []string{s.top()}) {
		vs = append(vs, violation{"not converged", last.From, last.To, fmt.Sprintf("holders %v after %v without faults, want the top priority %s", last.Holders, soakTail, s.top())})
	}
	s.mu.Lock()
	vs = append(vs, s.crashes...)
	samples := s.samples
	s.mu.Unlock()
	vs = append(vs, s.logCrashes()...)
	var growth []string
	for _, h := range s.l.LBs() {
		gv, lines := checkGrowth(h, samples[h], soakWarm, max(set.duration/3, 20*time.Second), soakTolerance)
		vs = append(vs, gv...)
		growth = append(growth, lines...)
		if h == soakSentinel && len(lines) == 0 {
			vs = append(vs, violation{"growth", 0, end, fmt.Sprintf("%s (never killed) has no samples to compare: %d samples, scrape errors %v", h, len(samples[h]), s.scrapeEr)})
		}
	}
	pr.Outages = outages
	return soakResult{Daemon: d, Seed: set.seed, Duration: end, Faults: faults, Spans: spans, Violations: vs,
		Probe: pr, Growth: growth, Bounds: b, Client: clientFindings}
}

// logCrashes looks for a crash the process exit did not show (a panic recovered
// into a restart, a race report) in every daemon's log.
func (s *soakRun) logCrashes() []violation {
	var vs []violation
	for _, h := range s.l.LBs() {
		for line := range strings.Lines(s.l.Log(h, "lb")) {
			for _, bad := range []string{"panic:", "fatal error:", "DATA RACE", "SIGSEGV", "exited due to signal 11"} {
				if strings.Contains(line, bad) {
					vs = append(vs, violation{"crash in log", 0, 0, h + ": " + strings.TrimSpace(line)})
				}
			}
		}
	}
	return vs
}

// watchCrashes checks every 50 ms that each daemon runs unless we stopped it.
func (s *soakRun) watchCrashes(ctx context.Context) {
	reported := map[string]bool{}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, h := range s.l.LBs() {
			s.mu.Lock()
			down := s.down[h]
			s.mu.Unlock()
			running := s.l.LBRunning(h)
			if !running && !down && !reported[h] {
				at := s.since()
				s.mu.Lock()
				s.crashes = append(s.crashes, violation{"daemon exited", at, at, h + ": exited without being killed; log tail:\n" + tail(s.l.Log(h, "lb"), 20)})
				s.mu.Unlock()
			}
			reported[h] = !running && !down
		}
	}
}

// sampleResources reads RSS and fds of each daemon's process group (and
// ebpfvrrp's goroutines from its metrics) every soakSample.
func (s *soakRun) sampleResources(ctx context.Context) {
	tick := time.NewTicker(soakSample)
	defer tick.Stop()
	for {
		for _, h := range s.l.LBs() {
			pid := s.l.LBPid(h)
			if pid == 0 {
				continue
			}
			u, err := groupUsage(pid)
			if err != nil {
				continue
			}
			smp := resourceSample{T: s.since(), Pid: pid, RSSKB: u.RSSKB, FDs: u.FDs, Goroutines: -1}
			if s.l.Daemon(h) == lab.Ebpfvrrp {
				mctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				m, err := s.l.Metrics(mctx, h)
				cancel()
				g, ok := m["go_goroutines"]
				if err != nil || !ok {
					s.mu.Lock()
					s.scrapeEr = append(s.scrapeEr, fmt.Sprintf("%s at %v: %v (go_goroutines present: %v)", h, s.since().Round(time.Millisecond), err, ok))
					s.mu.Unlock()
					continue
				}
				smp.Goroutines = int(g)
			}
			s.mu.Lock()
			s.samples[h] = append(s.samples[h], smp)
			s.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
