package vm

import (
	"fmt"
	"image/color"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/lab"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Results of TestBenchmarks and their rendering into docs/benchmarks.md and plots.

type benchResults struct {
	Start, End time.Time
	Machine    machineInfo
	Quick      bool
	Only       []string

	Failover  []failoverSet
	Timelines []timeline

	Floods       []floodRow
	FloodWorkers int

	Scale []scaleRow

	LoaderCmd string
	Loader    []loaderRow

	Starve []starveRow

	Restart []restartRow
}

// restartRow is one replacement of the Master's daemon (restart section).
type restartRow struct {
	Config, Op string
	Daemon     lab.Daemon
	Outcome    restartOutcome
}

type machineInfo struct {
	Kernel, CPU, Keepalived, Go, Commit string
	NProc                               int
	LoadStart, LoadEnd                  string
}

// loadavg is /proc/loadavg's first three fields: other work on the machine during
// the run shows up here.
func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func machine() machineInfo {
	m := machineInfo{NProc: runtime.NumCPU(), Go: runtime.Version(), LoadStart: loadavg()}
	if out, err := exec.Command("uname", "-r").Output(); err == nil {
		m.Kernel = strings.TrimSpace(string(out))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				m.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if out, err := exec.Command("keepalived", "--version").CombinedOutput(); err == nil {
		m.Keepalived = strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	}
	if out, err := exec.Command("git", "describe", "--always", "--dirty").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
	}
	return m
}

type failoverTrial struct {
	// Outage is the client's: first failed request to the next success (probe
	// send times, so quantised to the probe interval).
	Outage time.Duration
	// CutToVIP: fault injected → VIP added on lb-6 (netlink notification).
	CutToVIP time.Duration
	// AdvertToVIP: the master's last advert (cut) or its priority-0 advert (stop), as
	// the client saw it on the wire → VIP added on lb-6: what the RFC bound is about.
	AdvertToVIP time.Duration
	// CutToServed: fault → send time of the first request that succeeded (−1: none).
	CutToServed time.Duration
	Failures    int
}

type failoverSet struct {
	Proto    string
	Version  int
	Interval time.Duration
	Kind     string // "cut" or "stop"
	Probe    time.Duration
	Ref      time.Duration
	RefName  string
	Trials   map[lab.Daemon][]failoverTrial
}

func (s failoverSet) values(d lab.Daemon, f func(failoverTrial) time.Duration) []time.Duration {
	var out []time.Duration
	for _, tr := range s.Trials[d] {
		out = append(out, f(tr))
	}
	return out
}

func outageOf(tr failoverTrial) time.Duration      { return tr.Outage }
func cutToVIPOf(tr failoverTrial) time.Duration    { return tr.CutToVIP }
func advertToVIPOf(tr failoverTrial) time.Duration { return tr.AdvertToVIP }

type timeline struct {
	Set        string
	Daemon     lab.Daemon
	Cut        time.Time
	ProbeStart time.Time
	Samples    []lab.Sample
	Adverts    []advertSeen
	VIP        []vipEvent
}

type floodRow struct {
	Kind           Forgery
	Daemon         lab.Daemon
	Rate           float64
	Sent, Errors   int
	Transitions    int
	VIPChanges     int
	CPU            map[string]float64
	SoftirqPct     float64
	Drops          float64 // NaN: not counted (keepalived)
	ClientRequests int
	ClientFailures int
	Recovered      bool
	Recovery       time.Duration
}

func (r floodRow) maxCPU() float64 { return max(r.CPU[lab.LB5], r.CPU[lab.LB6]) }

type scaleRow struct {
	Daemon    lab.Daemon
	Instances int
	Segments  int
	Window    time.Duration
	Ticks     map[string]uint64
	RSSMB     map[string]float64
	// FileMB is the file-backed part of RSSMB (the binary's pages), same reading.
	FileMB    map[string]float64
	Flaps     int
	FlapKinds map[string]int
	// The client's view of lb-5's adverts in the windows.
	Adverts        int
	WorstGap       time.Duration
	WorstVRID      int
	LateGaps       int // silences of one VRID longer than scaleLate
	SnifferDrops   int
	MasterWarnings int
	FirstWarning   string
	EndMismatch    int
	Settle         time.Duration
	// VIPMoves: the backup's transitions to Master inside the windows.
	VIPMoves int
	// TxFrames: frames lb-5 sent in the windows (kernel link counters).
	TxFrames uint64
	// The floor (ebpfvrrp rows): lb-5's adverts as pre-built frames from a
	// bare sendmmsg loop (sendFloor), after each window.
	FloorFrames int
	FloorCPU    time.Duration
}

func (r scaleRow) CPU(h string) float64 {
	if r.Window <= 0 {
		return math.NaN()
	}
	return float64(r.Ticks[h]) / clkTck / r.Window.Seconds() * 100
}

// USPerAdvert is the master's CPU (every thread, user+sys) per frame it sent
// (its adverts; the kernel's tx counters of its links).
func (r scaleRow) USPerAdvert() float64 {
	if r.TxFrames == 0 {
		return math.NaN()
	}
	return float64(r.Ticks[lab.LB5]) / clkTck * 1e6 / float64(r.TxFrames)
}

// FloorUS is the floor's CPU per frame (NaN: not measured).
func (r scaleRow) FloorUS() float64 {
	if r.FloorFrames == 0 {
		return math.NaN()
	}
	return float64(r.FloorCPU.Microseconds()) / float64(r.FloorFrames)
}

type loaderRow struct {
	Name        string
	NsOp, NsPkt float64
}

type starveRow struct {
	Daemon     lab.Daemon
	Window     time.Duration
	Hogs       int
	RTPriority int // 0: normal class
	// TxMaxGap: ebpfvrrp's longest gap between its own adverts at its TC
	// egress (since start); -1: not measured (keepalived).
	TxMaxGap    time.Duration
	Transitions int
	PerMinute   float64
	MaxGap      time.Duration
	Adverts     int
	Sched       string
	// Steal is the time the hypervisor kept this VM's vCPUs (CPUs of them)
	// from running during the window (/proc/stat steal, summed over CPUs).
	Steal time.Duration
	CPUs  int
}

// StealShare is the part of the window's CPU time the host took away.
func (s starveRow) StealShare() float64 {
	if s.Window <= 0 || s.CPUs <= 0 {
		return 0
	}
	return float64(s.Steal) / float64(s.Window) / float64(s.CPUs)
}

// starveMeasured is a starvation verdict's measurement, with the host's share
// of the CPU when it took enough to matter.
func starveMeasured(s starveRow) string {
	m := fmt.Sprintf("%d in %s (%.2f/min)", s.Transitions, s.Window.Round(time.Second), s.PerMinute)
	if s.StealShare() >= starveStealNoticed {
		m += fmt.Sprintf("; the host took %.0f %% of the VM's CPU time meanwhile (steal)", 100*s.StealShare())
	}
	return m
}

// starveStealNoticed is the share of the window's CPU time taken by the host
// above which a starvation row's silences are put down to the host.
const starveStealNoticed = 0.01

// --- targets -------------------------------------------------------------------

type verdict struct {
	Target, Measured string
	Met              bool
}

func (r *benchResults) verdicts() []verdict {
	var out []verdict
	for _, s := range r.Failover {
		if s.Kind != "cut" {
			continue
		}
		e := quantile(s.values(lab.Ebpfvrrp, outageOf), 0.5)
		k := quantile(s.values(lab.Keepalived, outageOf), 0.5)
		diff := e - s.Ref
		out = append(out, verdict{
			Target:   fmt.Sprintf("%s failover: ebpfvrrp median client outage within 5 ms of Master_Down_Interval (%s)", s.Proto, fmtDur(s.Ref)),
			Measured: fmt.Sprintf("median %s (%+.1f ms)", fmtDur(e), float64(diff)/1e6),
			Met:      diff.Abs() <= 5*time.Millisecond,
		})
		// Both medians come from outages quantized at the probe interval: with
		// equal takeovers, e <= k alone would be a coin flip. Worse means the
		// difference is more than that noise (its 95 % interval above zero).
		lo, hi := medianDiffInterval(s.values(lab.Ebpfvrrp, outageOf), s.values(lab.Keepalived, outageOf))
		fe := quantile(s.values(lab.Ebpfvrrp, cutToVIPOf), 0.5)
		fk := quantile(s.values(lab.Keepalived, cutToVIPOf), 0.5)
		out = append(out, verdict{
			Target: fmt.Sprintf("%s failover: ebpfvrrp median no worse than keepalived's (difference of medians not above zero beyond the probe's %s resolution: 95 %% bootstrap interval)", s.Proto, fmtDur(s.Probe)),
			Measured: fmt.Sprintf("ebpfvrrp %s, keepalived %s: %+.2f ms, interval %+.2f…%+.2f ms (fault→VIP %s vs %s)",
				fmtDur(e), fmtDur(k), float64(e-k)/1e6, float64(lo)/1e6, float64(hi)/1e6, fmtDur(fe), fmtDur(fk)),
			Met: e <= k || lo <= 0,
		})
	}
	// Not an issue target but the RFC's: taking over before the bound is cheating the
	// comparison (and loses jitter tolerance).
	for _, s := range r.Failover {
		a := quantile(s.values(lab.Ebpfvrrp, advertToVIPOf), 0.5)
		out = append(out, verdict{
			Target:   fmt.Sprintf("RFC conformance, %s %s: ebpfvrrp takes over no earlier than %s (%s) − 1 ms after the master's last advert", s.Proto, faultName(s.Kind), s.RefName, fmtDur(s.Ref)),
			Measured: fmt.Sprintf("advert→VIP median %s (%+.1f ms)", fmtDur(a), float64(a-s.Ref)/1e6),
			Met:      a >= s.Ref-time.Millisecond,
		})
	}
	if len(r.Floods) > 0 {
		tr, cpu := 0, 0.0
		for _, f := range r.Floods {
			if f.Daemon == lab.Ebpfvrrp {
				tr += f.Transitions
				cpu = max(cpu, f.maxCPU())
			}
		}
		out = append(out,
			verdict{"Flood: zero false transitions (ebpfvrrp, every forgery)", fmt.Sprintf("%d", tr), tr == 0},
			verdict{"Flood: controller CPU ≤ 5 % of one core (ebpfvrrp, worst host and forgery)", fmt.Sprintf("%.1f %%", cpu), cpu <= 5})
	}
	for _, s := range r.Starve {
		if s.Daemon == lab.Ebpfvrrp {
			out = append(out, verdict{fmt.Sprintf("Starvation (%d busy loops, %s): zero false transitions (ebpfvrrp)", s.Hogs, rtName(s.RTPriority)),
				starveMeasured(s), s.Transitions == 0})
		}
	}
	for _, s := range r.Scale {
		if s.Daemon != lab.Ebpfvrrp {
			continue
		}
		ka := scaleRowOf(r, lab.Keepalived, s.Instances)
		out = append(out,
			verdict{fmt.Sprintf("Scale %d × 10 ms: backup ≤ 2 %% of one core", s.Instances), fmt.Sprintf("%.2f %%", s.CPU(lab.LB6)), s.CPU(lab.LB6) <= 2},
			verdict{fmt.Sprintf("Scale %d × 10 ms: no VIP moves, no flaps", s.Instances), fmt.Sprintf("%d VIP moves, %d transitions", s.VIPMoves, s.Flaps), s.Flaps == 0 && s.EndMismatch == 0},
			verdict{fmt.Sprintf("Scale %d × 10 ms: master within 1.5× of the send floor", s.Instances),
				fmt.Sprintf("%.2f µs per advert, floor %.2f µs per frame", s.USPerAdvert(), s.FloorUS()), s.USPerAdvert() <= 1.5*s.FloorUS()})
		switch s.Instances {
		case 1000:
			out = append(out,
				verdict{"Scale 1000 × 10 ms: master ≤ 50 % of one core", fmt.Sprintf("%.2f %%", s.CPU(lab.LB5)), s.CPU(lab.LB5) <= 50},
				verdict{"Scale 1000 × 10 ms: RSS ≤ 30 MB", fmt.Sprintf("master %.1f MB, backup %.1f MB", s.RSSMB[lab.LB5], s.RSSMB[lab.LB6]), max(s.RSSMB[lab.LB5], s.RSSMB[lab.LB6]) <= 30})
		case 500:
			if ka != nil {
				out = append(out, verdict{"Scale 500 × 10 ms: master ≤ half of keepalived's",
					fmt.Sprintf("%.2f %% vs keepalived %.2f %%", s.CPU(lab.LB5), ka.CPU(lab.LB5)), s.CPU(lab.LB5) <= ka.CPU(lab.LB5)/2})
			}
		}
	}
	lr := map[string]float64{}
	for _, l := range r.Loader {
		lr[l.Name] = l.NsPkt
	}
	if e, ok := lr["XDP/empty"]; ok {
		n, v := lr["XDP/non_vrrp_tcp"], lr["XDP/valid_advert"]
		out = append(out,
			verdict{"Dataplane: non-VRRP packet ≤ 1.5 × the empty XDP program", fmt.Sprintf("%.0f ns vs %.0f ns (%.2f ×)", n, e, n/e), n <= 1.5*e},
			verdict{"Dataplane: valid advert (timer re-arm included) < 200 ns", fmt.Sprintf("%.0f ns", v), v < 200})
	}
	return out
}

// --- markdown ------------------------------------------------------------------

const (
	timelinePlot   = "bench-failover-timeline.png"
	comparisonPlot = "bench-comparison.png"
)

// keptMarker starts the part of benchmarks.md that TestBenchmarks does not
// write (measurements with their own command) and keeps when it rewrites the
// rest.
const keptMarker = "<!-- measured separately; kept by TestBenchmarks -->"

func writeReport(dir string, r *benchResults) error {
	var plotErrs []string
	if len(r.Timelines) > 0 {
		if err := plotTimelines(filepath.Join(dir, timelinePlot), r.Timelines); err != nil {
			plotErrs = append(plotErrs, err.Error())
		}
	}
	if err := plotComparison(filepath.Join(dir, comparisonPlot), r); err != nil {
		plotErrs = append(plotErrs, err.Error())
	}
	md := renderMarkdown(r)
	if len(plotErrs) > 0 {
		md += "\nPlot errors: " + strings.Join(plotErrs, "; ") + "\n"
	}
	// Sections measured by other commands follow keptMarker and are kept.
	if old, err := os.ReadFile(filepath.Join(dir, "benchmarks.md")); err == nil {
		if i := strings.Index(string(old), keptMarker); i >= 0 {
			md += "\n" + string(old[i:])
		}
	}
	return os.WriteFile(filepath.Join(dir, "benchmarks.md"), []byte(md), 0o644)
}

func fmtDur(d time.Duration) string {
	switch {
	case d < 0:
		return "—"
	case d >= 10*time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.3f s", d.Seconds())
	default:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	}
}

func check(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

func renderMarkdown(r *benchResults) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	m := r.Machine
	w("# Benchmarks: ebpfvrrp against keepalived\n\n")
	w("Written by `TestBenchmarks` (test/vm/bench_test.go) — do not edit by hand; run it again.\n\n")
	w("| | |\n|---|---|\n")
	w("| command | `make bench` (`EBPFVRRP_PRIVILEGED_TESTS=1 EBPFVRRP_BENCH=1 go test -count=1 -timeout 60m -run TestBenchmarks -v ./test/vm/`) |\n")
	w("| date | %s (ran %s) |\n", r.Start.UTC().Format("2006-01-02 15:04 MST"), r.End.Sub(r.Start).Round(time.Second))
	w("| machine | kernel %s, %s, nproc %d |\n", m.Kernel, m.CPU, m.NProc)
	w("| load average | %s at the start, %s at the end (anything above ~0 means other work shared the machine) |\n", m.LoadStart, m.LoadEnd)
	w("| software | %s, %s, ebpfvrrp at %s |\n", m.Keepalived, m.Go, m.Commit)
	if r.Quick || len(r.Only) > 0 {
		w("| partial run | quick=%v only=%v — not the published numbers |\n", r.Quick, r.Only)
	}
	w("\nThe lab (package `internal/lab`, scenarios in `test/vm`) is the keepalived tutorial's network in network namespaces: lb-5 " +
		"(priority 150, master) and lb-6 (priority 100, backup) with nginx, two web servers and a client, " +
		"joined by a bridge. Each benchmark builds one lab per daemon (both LBs run the same daemon) and " +
		"alternates the two trial by trial, so machine noise hits both.\n\n")

	w("## Targets\n\n| target | measured | |\n|---|---|---|\n")
	for _, v := range r.verdicts() {
		w("| %s | %s | %s |\n", v.Target, v.Measured, check(v.Met))
	}

	if notes := r.findings(); len(notes) > 0 {
		w("\n### Findings\n\n")
		for _, n := range notes {
			w("- %s\n", n)
		}
	}

	if len(r.Failover) > 0 {
		w("\n## 1. Failover\n\n")
		w("The master (lb-5) disappears right after one of its adverts reached the client: either its bridge " +
			"port is cut (`Lab.CutLink`: the host is gone) or the daemon gets SIGTERM (clean stop: it sends " +
			"priority 0 and removes the VIP). Aligning the fault with an advert makes the RFC bound the expected " +
			"outage: the backup heard the master just before. The client requests `http://VIP/` on a fresh " +
			"TCP connection every probe interval.\n\n")
		w("- **client outage**: first failed request to the next successful one (send times; resolution = probe interval);\n")
		w("- **fault→VIP**: fault injected → VIP added on lb-6 (netlink notification in lb-6's namespace);\n")
		w("- **advert→VIP**: the master's last advert (cut) or its priority-0 advert (stop), timestamped by the client's kernel → VIP added on lb-6. This is the interval the RFC's Master_Down_Interval (cut) or Skew_Time (stop) bounds.\n\n")
		w("| protocol | fault | reference | daemon | trials | client outage median | p90 | fault→VIP median | p90 | advert→VIP median | p90 |\n")
		w("|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, s := range r.Failover {
			for _, d := range []lab.Daemon{lab.Ebpfvrrp, lab.Keepalived} {
				o, c, a := s.values(d, outageOf), s.values(d, cutToVIPOf), s.values(d, advertToVIPOf)
				w("| %s | %s (probe %s) | %s %s | %s | %d | %s | %s | %s | %s | %s | %s |\n",
					s.Proto, faultName(s.Kind), fmtDur(s.Probe), s.RefName, fmtDur(s.Ref), d, len(o),
					fmtDur(quantile(o, .5)), fmtDur(quantile(o, .9)), fmtDur(quantile(c, .5)), fmtDur(quantile(c, .9)),
					fmtDur(quantile(a, .5)), fmtDur(quantile(a, .9)))
			}
		}
		w("\nEvery trial, in order (client outage / advert→VIP):\n\n")
		for _, s := range r.Failover {
			for _, d := range []lab.Daemon{lab.Ebpfvrrp, lab.Keepalived} {
				var parts []string
				for _, tr := range s.Trials[d] {
					parts = append(parts, fmt.Sprintf("%s/%s", fmtDur(tr.Outage), fmtDur(tr.AdvertToVIP)))
				}
				w("- %s, %s, %s: %s\n", s.Proto, faultName(s.Kind), d, strings.Join(parts, ", "))
			}
		}
		if len(r.Timelines) > 0 {
			w("\n![one failover per daemon and protocol](%s)\n\n", timelinePlot)
			w("*First link-cut trial of each daemon and protocol, time relative to the cut: client requests " +
				"(green: answered, red: failed; at their send time), adverts the client saw from lb-5 and lb-6, and " +
				"which LB held the VIP (netlink). The dashed line is Master_Down_Interval after the master's last advert.*\n")
		}
	}

	if len(r.Floods) > 0 {
		w("\n## 2. Flood resilience\n\n")
		w("The tutorial's VRRPv2 pair (PASS \"1111\", 1 s adverts; ebpfvrrp with `allowed_peers` set to the other LB) "+
			"while the client floods forged adverts for VRID 50 (51 for the foreign VRID) with `Lab.Flood`, %d "+
			"AF_PACKET sender threads (= nproc), as fast as they can, each forgery on its own. Each would beat the master (priority 200/255) "+
			"if accepted. CPU is user+sys of the daemon's process group (`/proc/<pid>/stat`; keepalived: parent and VRRP child) "+
			"over the flood, per LB; softirq is the whole machine's (where XDP and the kernel's receive path run, charged to no process). "+
			"Drops are ebpfvrrp's dataplane counters summed over both LBs (keepalived exposes none). "+
			"The client keeps requesting the VIP every 20 ms.\n\n", r.FloodWorkers)
		w("| forgery | daemon | sent/s | false transitions | VIP moves | CPU lb-5 | CPU lb-6 | softirq (machine) | drops counted | client failed | back to lb-5 |\n")
		w("|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, f := range r.Floods {
			drops := "n/a"
			if !math.IsNaN(f.Drops) {
				drops = fmt.Sprintf("%.0f (sent %d, reaching 2 LBs)", f.Drops, f.Sent)
			}
			back := "yes"
			if !f.Recovered {
				back = "**no** (30 s)"
			} else if f.Recovery > 100*time.Millisecond {
				back = "after " + fmtDur(f.Recovery)
			}
			w("| %s | %s | %.0f | %d | %d | %.1f %% | %.1f %% | %.1f %% | %s | %d of %d | %s |\n",
				f.Kind, f.Daemon, f.Rate, f.Transitions, f.VIPChanges, f.CPU[lab.LB5], f.CPU[lab.LB6], f.SoftirqPct, drops,
				f.ClientFailures, f.ClientRequests, back)
		}
	}

	if len(r.Scale) > 0 {
		w("\n## 3. Scale\n\n")
		s0 := r.Scale[0]
		w("N VRRPv3 instances at 10 ms adverts on one pair, spread evenly over %d L2 segments (bridges; VRIDs 1–N/%d on each, "+
			"one VIP each in %s), as an LB host with VLANs has them. Each daemon runs alone (the other pair is stopped) in two "+
			"rounds, alternating; CPU (every thread, user+sys, from /proc) is measured over the rounds' windows (total below) "+
			"after all VIPs settled on lb-5 plus 3 s. A flap is any state transition logged inside the windows; a VIP move is "+
			"the backup becoming Master. µs per advert is the master's CPU over the frames its links sent (kernel counters). "+
			"The floor is the same adverts as pre-built frames sent by a bare loop (one locked thread, one sendmmsg per "+
			"segment per 10 ms, packet sockets: no encoding, no Go scheduler, no IP layer), after each ebpfvrrp window.\n\n",
			s0.Segments, s0.Segments, scaleNet)
		w("What the master's CPU includes: veth delivers in the sender's context, so the bridge's flooding and every " +
			"receiver's softirq work (the backup's XDP, the client's sniffer, the web hosts dropping the multicast) are " +
			"charged to the process that sent the advert, for both daemons and the floor alike; on a NIC the receivers are " +
			"other machines. The client's sniffer reads a TPACKET_V3 ring the kernel hands over a block at a time; " +
			"the socket woken for every frame that this benchmark used before 2026-12-07 cost every sender a wake-up per " +
			"advert (16 %% of an ebpfvrrp master's perf samples at 1000 instances; keepalived and the floor paid it too), " +
			"and figures published before then include it. Worse, the softirq that runs in the sender's context drains the CPU's whole backlog queue, " +
			"so a daemon is also charged for frames other processes sent on that CPU (the other pair, other labs, anything " +
			"sending on the machine). So the same build measures very differently on a quiet and a loaded machine: on this " +
			"2-core VM with other labs running (load average 4–13) the floor alone cost 12–15 µs per frame, twice what " +
			"the whole ebpfvrrp master cost per advert (6 µs, 12 %% of a core at 200 instances) on the quiet machine, and " +
			"an outside measurement at 200 instances that gave it 30 %% of a core (15 µs per advert) was of that kind; " +
			"keepalived shows less CPU there, not more, because an overloaded keepalived sends fewer adverts (and flaps). " +
			"Both daemons' CPU here, one pair at a time on a quiet machine, is what one daemon on its own host costs " +
			"(an upper bound still: the lab's receivers share its CPUs), and the master's ratio to the floor is what " +
			"the daemon adds to the kernel's own cost. The switch does not run iptables on bridged " +
			"frames (bridge-nf-call-iptables=0), as a real switch does not; with br_netfilter on, every flooded copy would " +
			"traverse the hooks, again in the sender's context.\n\n")
		w("| instances | daemon | window | CPU master (lb-5) | µs per advert | floor µs per frame | CPU backup (lb-6) | RSS master | RSS backup | flaps | VIP moves | VIPs not all on lb-5 at a window's end | time to settle |\n")
		w("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, s := range r.Scale {
			floor := "—"
			if f := s.FloorUS(); !math.IsNaN(f) {
				floor = fmt.Sprintf("%.2f", f)
			}
			w("| %d | %s | %s | %.2f %% | %.2f | %s | %.2f %% | %.1f MB | %.1f MB | %d | %d | %d | %s |\n", s.Instances, s.Daemon, s.Window.Round(time.Second),
				s.CPU(lab.LB5), s.USPerAdvert(), floor, s.CPU(lab.LB6), s.RSSMB[lab.LB5], s.RSSMB[lab.LB6], s.Flaps, s.VIPMoves, s.EndMismatch, fmtDur(s.Settle))
		}
		w("%s", scaleMemory(r.Scale))
		w("\nThe master's adverts as the client saw them (kernel timestamps) over the same windows, and warnings the master logged:\n\n")
		w("| instances | daemon | adverts/s from lb-5 | worst gap of one VRID | gaps > %s | sniffer drops | master WARN/ERROR lines | first warning |\n|---|---|---|---|---|---|---|---|\n", fmtDur(scaleLate))
		for _, s := range r.Scale {
			first := strings.ReplaceAll(s.FirstWarning, "|", "\\|")
			if len(first) > 300 {
				first = first[:300] + "…"
			}
			if first != "" {
				first = "`" + first + "`"
			}
			w("| %d | %s | %.0f | %s (VRID %d) | %d | %d | %d | %s |\n", s.Instances, s.Daemon, float64(s.Adverts)/s.Window.Seconds(), fmtDur(s.WorstGap), s.WorstVRID, s.LateGaps, s.SnifferDrops, s.MasterWarnings, first)
		}
		for _, s := range r.Scale {
			if len(s.FlapKinds) == 0 {
				continue
			}
			keys := slices.Sorted(maps.Keys(s.FlapKinds))
			var parts []string
			for _, k := range keys {
				parts = append(parts, fmt.Sprintf("%s × %d", k, s.FlapKinds[k]))
			}
			w("\n%s's transitions inside the windows at %d instances, from its log: %s.\n", s.Daemon, s.Instances, strings.Join(parts, "; "))
		}
	}

	if len(r.Loader) > 0 {
		w("\n## 4. Dataplane cost per packet (BPF_PROG_RUN)\n\n")
		w("`%s` (loader/bench_test.go): the XDP program run by the kernel on a prebuilt frame, `Repeat` = b.N in one "+
			"syscall. ns/pkt is the kernel's own per-run time; ns/op adds the amortised syscall. The instance is a "+
			"backup following a higher-priority master, so a valid advert re-arms the master-down timer.\n\n", r.LoaderCmd)
		w("| case | ns/pkt | ns/op |\n|---|---|---|\n")
		for _, l := range r.Loader {
			w("| %s | %.0f | %.1f |\n", l.Name, l.NsPkt, l.NsOp)
		}
	}

	if len(r.Starve) > 0 {
		w("\n## 5. Starvation\n\n")
		s0 := r.Starve[0]
		w("Both pairs (VRRPv3, 10 ms adverts, Master_Down_Interval %s) run at the same time while %d busy loops "+
			"(`sh -c 'while :; do :; done'`, normal priority) keep every core busy for %s, once with both daemons in the "+
			"normal scheduling class and once with the sending path real-time: keepalived's `vrrp_rt_priority` (its whole "+
			"VRRP process in SCHED_RR) and ebpfvrrp's `scheduling.rt_priority` (the thread that sends adverts in SCHED_RR), "+
			"the same priority for both. A false transition is any state change logged meanwhile. The max gap is the "+
			"longest silence between two adverts from the master as the client's kernel timestamped them.\n\n",
			fmtDur(masterDown(10*time.Millisecond, 100)), s0.Hogs, s0.Window.Round(time.Second))
		w("The gap at TC egress is ebpfvrrp's own count (its egress program, run in the sending thread's context, since " +
			"the daemon started): when it stays under Master_Down_Interval while the client saw longer gaps, the adverts " +
			"left on time and were delayed on the way in, in softirq work the busy loops delayed.\n\n")
		w("The host's share is the steal time of the VM's vCPUs over the window (/proc/stat): a hypervisor that holds " +
			"the VM to a CPU quota stops all of it, whatever the scheduling class inside, once the busy loops use the " +
			"quota up.\n\n")
		w("| daemon | sending path | false transitions | per minute | master's longest advert gap | at its TC egress | adverts seen | host's share of the CPU time (steal) | scheduling |\n|---|---|---|---|---|---|---|---|---|\n")
		for _, s := range r.Starve {
			w("| %s | %s | %d | %.2f | %s | %s | %d | %.1f %% | %s |\n", s.Daemon, rtName(s.RTPriority), s.Transitions, s.PerMinute, fmtDur(s.MaxGap), fmtDur(s.TxMaxGap), s.Adverts, 100*s.StealShare(), s.Sched)
		}
	}
	if len(r.Restart) > 0 {
		w("\n## 6. Restarting the Master's daemon\n\n")
		w("lb-5's daemon is replaced while the client requests the VIP every 10 ms (`measureRestart`, the same code as " +
			"`TestRestartKeepsVIP`): for ebpfvrrp systemd's restart as the unit does it (`ebpfvrrp hold`, SIGTERM, start), " +
			"kill -9 and a new start, SIGUSR2 and `ebpfvrrp upgrade`; for keepalived a stop and start and kill -9 and a start. " +
			"VIP moves are the changes of holder seen by polling both LBs; the state changes are those both daemons logged; " +
			"the advert gap is the longest silence of lb-5's adverts at the client's kernel, i.e. from the old process's " +
			"last advert to the new one's first.\n\n")
		w("| protocol | operation | VIP moves | state changes lb-5 / lb-6 | VIP deleted on lb-5 | failed requests | longest outage | lb-5's advert gap |\n|---|---|---|---|---|---|---|---|\n")
		for _, x := range r.Restart {
			o := x.Outcome
			w("| %s | %s | %d | %d / %d | %d | %d of %d | %s | %s |\n", x.Config, x.Op, len(o.Moved), o.Changes5, o.Changes6,
				len(o.VIPDeleted), o.Probe.Failures, o.Probe.Requests, fmtDur(o.Probe.LongestOutage), fmtDur(o.AdvertGap))
		}
	}
	if len(r.Failover)+len(r.Floods)+len(r.Scale)+len(r.Starve) > 0 {
		w("\n## Comparison\n\n![ebpfvrrp and keepalived side by side](%s)\n", comparisonPlot)
	}
	return b.String()
}

// findings explain the misses this run shows. They name the code that, on reading it,
// produces the number; each is printed only when the measurement shows the effect.
func (r *benchResults) findings() []string {
	var out []string
	for _, s := range r.Failover {
		if s.Version != 3 {
			continue
		}
		a := quantile(s.values(lab.Ebpfvrrp, advertToVIPOf), 0.5)
		if a >= s.Ref-time.Millisecond {
			continue
		}
		out = append(out, fmt.Sprintf("%s, %s: ebpfvrrp takes over %s after the master's last advert, %.1f ms before the RFC's %s (%s); keepalived takes %s. "+
			"The kernel's master-down timer decides this: compare bpf/vrrp.c `master_down_ns`/`skew_ns` with control.SkewTime (Skew_Time at priority 100 is %s) "+
			"for this version and interval. An early takeover also makes ebpfvrrp's failover look faster than keepalived's.",
			s.Proto, faultName(s.Kind), fmtDur(a), float64(s.Ref-a)/1e6, s.RefName, fmtDur(s.Ref),
			fmtDur(quantile(s.values(lab.Keepalived, advertToVIPOf), 0.5)), fmtDur(skewTime(s.Interval, 100))))
	}
	for _, s := range r.Scale {
		if s.Daemon != lab.Ebpfvrrp || s.Window <= 0 {
			continue
		}
		want := float64(s.Instances) / 0.010
		got := float64(s.Adverts) / s.Window.Seconds()
		if got >= 0.97*want && s.Flaps == 0 {
			continue
		}
		sent := float64(s.TxFrames) / s.Window.Seconds()
		seen := ""
		if s.SnifferDrops > 0 {
			seen = fmt.Sprintf(" The client's sniffer dropped %d frames, so some of these silences are the sniffer's, not the wire's.", s.SnifferDrops)
		}
		out = append(out, fmt.Sprintf("Scale: the client saw %.0f adverts/s from the ebpfvrrp master where %d instances at 10 ms mean %.0f/s (%.0f %%); "+
			"its links sent %.0f frames/s (kernel counters). "+
			"%d silences of one VRID exceeded %s and the worst lasted %s (Master_Down_Interval %s); %d transitions (%v). keepalived's master kept %.0f/s.%s "+
			"Adverts are scheduled on a fixed grid (control/scheduler.go `slot`), so a low rate means the batch timer fired late "+
			"(a stalled controller: look for long sendmmsg calls or lock holders in `flushLocked`) rather than drift.",
			got, s.Instances, want, 100*got/want, sent, s.LateGaps, fmtDur(scaleLate), fmtDur(s.WorstGap), fmtDur(masterDown(10*time.Millisecond, 100)),
			s.Flaps, s.FlapKinds, keepalivedAdvertRate(r), seen))
	}
	for _, s := range r.Starve {
		if s.Daemon != lab.Ebpfvrrp || s.Transitions == 0 {
			continue
		}
		cure := "Running the sending path at a real-time priority (`scheduling.rt_priority`, keepalived's `vrrp_rt_priority`) is the cure this row lacks."
		if s.StealShare() >= starveStealNoticed {
			cure = fmt.Sprintf("The host took %.0f %% of this VM's CPU time during the window (steal: %v over %d vCPUs): "+
				"while the VM's vCPUs are not running, no thread in it runs, real-time or not, so the silences are the host's "+
				"(a VM held to a CPU quota stalls in whole quota periods); keepalived's row ran through the same window.",
				100*s.StealShare(), s.Steal.Round(time.Millisecond), s.CPUs)
		} else if s.RTPriority > 0 {
			cure = "The advert thread was real-time here, so what delayed the adverts is outside it: the Runner's lock held by a " +
				"normal-class goroutine (a kernel event, a tracker, a status request) the hogs preempted, or the Go runtime " +
				"(a P to run on after the timerfd read, a GC stop-the-world) waiting for a normal-class thread."
		}
		out = append(out, fmt.Sprintf("Starvation (%s): ebpfvrrp made %d transitions in %s; the master's adverts went silent for up to %s "+
			"(Master_Down_Interval %s): a sender delayed by the CPU hogs, not a receiver error (the kernel timer only fires on real silence). The daemon runs %s. %s",
			rtName(s.RTPriority), s.Transitions, s.Window.Round(time.Second), fmtDur(s.MaxGap), fmtDur(masterDown(10*time.Millisecond, 100)), s.Sched, cure))
	}
	for _, s := range r.Scale {
		if s.Daemon != lab.Ebpfvrrp || s.CPU(lab.LB6) <= 2 {
			continue
		}
		mdi := masterDown(10*time.Millisecond, 100)
		out = append(out, fmt.Sprintf("Scale: the ebpfvrrp backup uses %.2f %% of a core (target 2 %%) although the kernel follows every master "+
			"(Master_Down_Interval %s, %d instances). A backup should only wake for kernel events and its 1 s safety-net deadline; "+
			"`strace -c -f -p` and `perf record -g -p` on the backup show what wakes it instead.",
			s.CPU(lab.LB6), fmtDur(mdi), s.Instances))
		if s.Flaps > 0 {
			out[len(out)-1] += fmt.Sprintf(" In this run the backup's %d flaps (each adds and removes a VIP through netlink) add to it.", s.Flaps)
		}
	}
	return out
}

func scaleRowOf(r *benchResults, d lab.Daemon, n int) *scaleRow {
	for i := range r.Scale {
		if r.Scale[i].Daemon == d && r.Scale[i].Instances == n {
			return &r.Scale[i]
		}
	}
	return nil
}

func rtName(prio int) string {
	if prio == 0 {
		return "normal class"
	}
	return fmt.Sprintf("SCHED_RR %d", prio)
}

func keepalivedAdvertRate(r *benchResults) float64 {
	for _, s := range r.Scale {
		if s.Daemon == lab.Keepalived && s.Window > 0 {
			return float64(s.Adverts) / s.Window.Seconds()
		}
	}
	return math.NaN()
}

func faultName(kind string) string {
	if kind == "cut" {
		return "link cut"
	}
	return "clean stop"
}

// --- plots ---------------------------------------------------------------------

var (
	colEbpf = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	colKa   = color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}
	colOK   = color.RGBA{G: 0x99, A: 0xff}
	colFail = color.RGBA{R: 0xcc, A: 0xff}
	colGrey = color.RGBA{R: 0x66, G: 0x66, B: 0x66, A: 0xff}
)

func daemonColor(d lab.Daemon) color.Color {
	if d == lab.Ebpfvrrp {
		return colEbpf
	}
	return colKa
}

// Rows of the timeline plot.
const (
	rowVIP6   = 1.0
	rowVIP5   = 2.0
	rowAdv6   = 3.0
	rowAdv5   = 4.0
	rowClient = 5.0
)

func plotTimelines(path string, tls []timeline) error {
	// One column per protocol, one row per daemon.
	var sets []string
	for _, tl := range tls {
		if !slices.Contains(sets, tl.Set) {
			sets = append(sets, tl.Set)
		}
	}
	daemons := []lab.Daemon{lab.Ebpfvrrp, lab.Keepalived}
	grid := make([][]*plot.Plot, len(daemons))
	for i, d := range daemons {
		grid[i] = make([]*plot.Plot, len(sets))
		for j, s := range sets {
			p := plot.New()
			p.Title.Text = fmt.Sprintf("%s — %s, link cut", d, s)
			grid[i][j] = p
			for _, tl := range tls {
				if tl.Daemon == d && tl.Set == s {
					if err := drawTimeline(p, tl); err != nil {
						return err
					}
				}
			}
		}
	}
	return saveGrid(path, grid, vg.Length(len(sets))*9*vg.Inch, vg.Length(len(daemons))*3.6*vg.Inch)
}

func drawTimeline(p *plot.Plot, tl timeline) error {
	rel := func(t time.Time) float64 { return float64(t.Sub(tl.Cut)) / 1e6 }
	var interval time.Duration
	var last5 time.Time
	for _, a := range tl.Adverts {
		if a.Src == lab.Addr4(lab.LB5) && a.T.Before(tl.Cut) {
			last5 = a.T
		}
	}
	// The probe window decides the x range.
	var ok, fail plotter.XYs
	for _, s := range tl.Samples {
		x := rel(tl.ProbeStart.Add(s.T))
		if s.OK {
			ok = append(ok, plotter.XY{X: x, Y: rowClient})
		} else {
			fail = append(fail, plotter.XY{X: x, Y: rowClient})
		}
	}
	xmin, xmax := math.Inf(1), math.Inf(-1)
	for _, s := range tl.Samples {
		x := rel(tl.ProbeStart.Add(s.T))
		xmin, xmax = min(xmin, x), max(xmax, x)
	}
	var a5, a6 plotter.XYs
	for _, a := range tl.Adverts {
		x := rel(a.T)
		if x < xmin || x > xmax {
			continue
		}
		switch a.Src {
		case lab.Addr4(lab.LB5):
			a5 = append(a5, plotter.XY{X: x, Y: rowAdv5})
		case lab.Addr4(lab.LB6):
			a6 = append(a6, plotter.XY{X: x, Y: rowAdv6})
		}
	}
	for _, pts := range []struct {
		xy    plotter.XYs
		c     color.Color
		shape draw.GlyphDrawer
		name  string
	}{
		{ok, colOK, draw.CircleGlyph{}, "request answered"},
		{fail, colFail, draw.CrossGlyph{}, "request failed"},
		{a5, colGrey, draw.BoxGlyph{}, "advert from lb-5"},
		{a6, colGrey, draw.TriangleGlyph{}, "advert from lb-6"},
	} {
		if len(pts.xy) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(pts.xy)
		if err != nil {
			return err
		}
		sc.GlyphStyle.Color, sc.GlyphStyle.Shape, sc.GlyphStyle.Radius = pts.c, pts.shape, vg.Points(2)
		p.Add(sc)
	}
	// VIP ownership as bars: lb-5 holds it from the start until its removal event.
	owner := map[string][]plotter.XY{}
	holds := map[string]float64{lab.LB5: xmin}
	for _, e := range tl.VIP {
		x := rel(e.T)
		if e.Added {
			if _, on := holds[e.Host]; !on {
				holds[e.Host] = x
			}
		} else if s, on := holds[e.Host]; on {
			owner[e.Host] = append(owner[e.Host], plotter.XY{X: s, Y: x})
			delete(holds, e.Host)
		}
	}
	for h, s := range holds {
		owner[h] = append(owner[h], plotter.XY{X: s, Y: xmax})
	}
	for h, spans := range owner {
		y := rowVIP5
		if h == lab.LB6 {
			y = rowVIP6
		}
		for _, sp := range spans {
			ln, err := plotter.NewLine(plotter.XYs{{X: max(sp.X, xmin), Y: y}, {X: min(sp.Y, xmax), Y: y}})
			if err != nil {
				return err
			}
			ln.LineStyle.Width = vg.Points(6)
			ln.LineStyle.Color = colEbpf
			if h == lab.LB6 {
				ln.LineStyle.Color = colKa
			}
			p.Add(ln)
		}
	}
	// The RFC bound after the master's last advert.
	_ = interval
	if !last5.IsZero() {
		if mdi := rfcBoundFor(tl.Set); mdi > 0 {
			x := rel(last5.Add(mdi))
			ln, err := plotter.NewLine(plotter.XYs{{X: x, Y: 0.5}, {X: x, Y: 5.5}})
			if err != nil {
				return err
			}
			ln.LineStyle.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			ln.LineStyle.Color = colGrey
			p.Add(ln)
		}
	}
	cut, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0.5}, {X: 0, Y: 5.5}})
	if err != nil {
		return err
	}
	cut.LineStyle.Color = colFail
	p.Add(cut)
	p.X.Label.Text = "ms since the link cut (red line); dashed: last advert + Master_Down_Interval"
	p.X.Min, p.X.Max = xmin, xmax
	p.Y.Min, p.Y.Max = 0.5, 5.5
	p.Y.Tick.Marker = plot.ConstantTicks([]plot.Tick{
		{Value: rowVIP6, Label: "VIP on lb-6"}, {Value: rowVIP5, Label: "VIP on lb-5"},
		{Value: rowAdv6, Label: "adverts lb-6"}, {Value: rowAdv5, Label: "adverts lb-5"},
		{Value: rowClient, Label: "client GET"},
	})
	return nil
}

// rfcBoundFor is Master_Down_Interval of lb-6 for a failover set's protocol name.
func rfcBoundFor(set string) time.Duration {
	switch {
	case strings.Contains(set, "10 ms"):
		return masterDown(10*time.Millisecond, 100)
	case strings.Contains(set, "1 s"):
		return masterDown(time.Second, 100)
	}
	return 0
}

type barGroup struct {
	Title, Unit string
	Labels      []string
	Values      map[lab.Daemon][]float64
	Ref         float64 // a horizontal reference line (0: none)
	RefLabel    string
}

func plotComparison(path string, r *benchResults) error {
	var groups []barGroup
	for _, kind := range []string{"cut", "stop"} {
		g := barGroup{Title: "failover (" + faultName(kind) + "): median client outage", Unit: "ms", Values: map[lab.Daemon][]float64{}}
		for _, s := range r.Failover {
			if s.Kind != kind {
				continue
			}
			g.Labels = append(g.Labels, s.Proto)
			for _, d := range []lab.Daemon{lab.Ebpfvrrp, lab.Keepalived} {
				// Relative to the RFC bound, so 1 s and 10 ms fit one axis.
				g.Values[d] = append(g.Values[d], float64(quantile(s.values(d, outageOf), .5))/float64(s.Ref)*100)
			}
		}
		g.Unit = "% of " + map[string]string{"cut": "Master_Down_Interval", "stop": "Skew_Time"}[kind]
		g.Ref, g.RefLabel = 100, "RFC"
		if len(g.Labels) > 0 {
			groups = append(groups, g)
		}
	}
	if len(r.Floods) > 0 {
		g := barGroup{Title: "flood: CPU of the busier LB daemon", Unit: "% of one core", Values: map[lab.Daemon][]float64{}, Ref: 5, RefLabel: "target"}
		tr := barGroup{Title: "flood: false transitions", Unit: "transitions in 10 s", Values: map[lab.Daemon][]float64{}}
		for _, f := range r.Floods {
			if !slices.Contains(g.Labels, string(f.Kind)) {
				g.Labels = append(g.Labels, string(f.Kind))
				tr.Labels = append(tr.Labels, string(f.Kind))
			}
			g.Values[f.Daemon] = append(g.Values[f.Daemon], f.maxCPU())
			tr.Values[f.Daemon] = append(tr.Values[f.Daemon], float64(f.Transitions))
		}
		groups = append(groups, g, tr)
	}
	if len(r.Scale) > 0 {
		g := barGroup{Title: fmt.Sprintf("scale: %d instances × 10 ms", r.Scale[0].Instances), Unit: "% of one core / MB", Values: map[lab.Daemon][]float64{},
			Labels: []string{"CPU master %", "CPU backup %", "RSS master MB", "RSS backup MB"}}
		for _, s := range r.Scale {
			g.Values[s.Daemon] = []float64{s.CPU(lab.LB5), s.CPU(lab.LB6), s.RSSMB[lab.LB5], s.RSSMB[lab.LB6]}
		}
		groups = append(groups, g)
	}
	if len(r.Starve) > 0 {
		g := barGroup{Title: "starvation: false transitions", Unit: "per minute", Values: map[lab.Daemon][]float64{}, Labels: []string{"10 ms adverts, cores busy"}}
		for _, s := range r.Starve {
			g.Values[s.Daemon] = []float64{s.PerMinute}
		}
		groups = append(groups, g)
	}
	if len(groups) == 0 {
		return nil
	}
	const cols = 2
	rows := (len(groups) + cols - 1) / cols
	grid := make([][]*plot.Plot, rows)
	for i := range grid {
		grid[i] = make([]*plot.Plot, cols)
		for j := range grid[i] {
			grid[i][j] = plot.New()
		}
	}
	for i, g := range groups {
		p := grid[i/cols][i%cols]
		if err := drawBars(p, g); err != nil {
			return err
		}
	}
	return saveGrid(path, grid, 12*vg.Inch, vg.Length(rows)*3.4*vg.Inch)
}

func drawBars(p *plot.Plot, g barGroup) error {
	p.Title.Text = g.Title
	p.Y.Label.Text = g.Unit
	w := vg.Points(22)
	for i, d := range []lab.Daemon{lab.Ebpfvrrp, lab.Keepalived} {
		vals := g.Values[d]
		if len(vals) == 0 {
			continue
		}
		clean := make(plotter.Values, len(vals))
		for k, v := range vals {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				v = 0
			}
			clean[k] = v
		}
		bars, err := plotter.NewBarChart(clean, w)
		if err != nil {
			return err
		}
		bars.Color = daemonColor(d)
		bars.LineStyle.Width = 0
		bars.Offset = vg.Length(2*i-1) * w / 2
		p.Add(bars)
		p.Legend.Add(string(d), bars)
	}
	if g.Ref > 0 {
		ref := plotter.NewFunction(func(float64) float64 { return g.Ref })
		ref.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		ref.Color = colGrey
		p.Add(ref)
		p.Legend.Add(g.RefLabel, ref)
	}
	top := g.Ref
	for _, vals := range g.Values {
		for _, v := range vals {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				top = max(top, v)
			}
		}
	}
	// Headroom for the legend above the tallest bar.
	p.Legend.Top = true
	p.Y.Min, p.Y.Max = 0, max(1, top*1.4)
	p.NominalX(g.Labels...)
	return nil
}

func saveGrid(path string, grid [][]*plot.Plot, width, height vg.Length) error {
	img := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(96))
	dc := draw.New(img)
	t := draw.Tiles{Rows: len(grid), Cols: len(grid[0]), PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align(grid, t, dc)
	for i := range grid {
		for j := range grid[i] {
			if grid[i][j] != nil {
				grid[i][j].Draw(canvases[i][j])
			}
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// scaleMemory says what an instance costs in memory: the growth of each
// daemon's master RSS from the fewest to the most instances measured, and how
// much of ebpfvrrp's RSS is the binary's file pages.
func scaleMemory(rows []scaleRow) string {
	var out []string
	for _, d := range []lab.Daemon{lab.Ebpfvrrp, lab.Keepalived} {
		var lo, hi *scaleRow
		for i := range rows {
			s := &rows[i]
			if s.Daemon != d || s.RSSMB[lab.LB5] == 0 {
				continue
			}
			if lo == nil || s.Instances < lo.Instances {
				lo = s
			}
			if hi == nil || s.Instances > hi.Instances {
				hi = s
			}
		}
		if lo == nil || hi == lo {
			continue
		}
		per := (hi.RSSMB[lab.LB5] - lo.RSSMB[lab.LB5]) * 1024 / float64(hi.Instances-lo.Instances)
		line := fmt.Sprintf("%s's master RSS grows by %.1f KB per instance (%.1f MB at %d instances, %.1f MB at %d)",
			d, per, lo.RSSMB[lab.LB5], lo.Instances, hi.RSSMB[lab.LB5], hi.Instances)
		if f := hi.FileMB[lab.LB5]; f > 0 {
			line += fmt.Sprintf("; %.1f MB of it at %d are file pages (the binary's code and read-only data, shared by every process that runs it), the rest (%.1f MB) its own memory",
				f, hi.Instances, hi.RSSMB[lab.LB5]-f)
		}
		out = append(out, line)
	}
	if len(out) == 0 {
		return ""
	}
	return "\nMemory: " + strings.Join(out, ". ") + ".\n"
}
