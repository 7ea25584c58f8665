package vm

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/ebpfvrrp/ebpfvrrp/internal/lab"
)

// soakResult is one daemon's soak, as checked and as published.
type soakResult struct {
	Daemon     lab.Daemon
	Seed       uint64
	Duration   time.Duration
	Faults     []soakFault
	Spans      []holderSpan
	Violations []violation
	Probe      lab.ProbeResult // Outages in run time
	Growth     []string
	Bounds     soakBounds
	// Client are the client's outages over Bounds.Client not excused by loss:
	// published, not enforced (see evaluate).
	Client []violation
}

// soakFigures are the numbers a soak is summed up by.
type soakFigures struct {
	Transitions                    int
	LongestNone, LongestNoneKill   time.Duration
	LongestDual, LongestDualOutage time.Duration // outside / during partitions
	ByKind                         map[faultKind]int
}

func (r soakResult) figures() soakFigures {
	f := soakFigures{Transitions: len(r.Spans) - 1, ByKind: map[faultKind]int{}}
	for _, x := range r.Faults {
		f.ByKind[x.Kind]++
	}
	for i, s := range r.Spans {
		if i == 0 {
			continue
		}
		switch {
		case len(s.Holders) == 0:
			f.LongestNone = max(f.LongestNone, s.Duration())
			if len(covering(r.Faults, s.From, s.From, 0, func(x soakFault) bool { return x.Kind == faultKill })) > 0 {
				f.LongestNoneKill = max(f.LongestNoneKill, s.Duration())
			}
		case len(s.Holders) >= 2:
			if len(covering(r.Faults, s.From, s.To, r.Bounds.Explain, func(x soakFault) bool { return x.Kind.partition() })) > 0 {
				f.LongestDualOutage = max(f.LongestDualOutage, s.Duration())
			} else {
				f.LongestDual = max(f.LongestDual, s.Duration())
			}
		}
	}
	return f
}

func (r soakResult) summary() string {
	f := r.figures()
	return fmt.Sprintf("%d faults %v over %v; %d changes of holder; longest no holder %v (after a kill %v), two holders %v outside partitions, %v in them; client %s; %d client outages over the bound; %d violations; growth: %s",
		len(r.Faults), f.ByKind, r.Duration.Round(time.Millisecond), f.Transitions, f.LongestNone.Round(time.Millisecond), f.LongestNoneKill.Round(time.Millisecond),
		f.LongestDual.Round(time.Millisecond), f.LongestDualOutage.Round(time.Millisecond), r.Probe, len(r.Client), len(r.Violations), strings.Join(r.Growth, "; "))
}

const (
	soakPlot  = "soak-timeline.png"
	soakBegin = "<!-- soak: begin; written by make soak (TestSoak) -->"
	soakEnd   = "<!-- soak: end -->"
)

// writeSoakReport writes soak-timeline.png and replaces the soak section of
// benchmarks.md in dir (appending it the first time). The section lies after
// keptMarker, so `make bench` keeps it.
func writeSoakReport(dir string, rs []soakResult) error {
	md := renderSoak(rs)
	if err := plotSoak(filepath.Join(dir, soakPlot), rs); err != nil {
		md += "\nPlot error: " + err.Error() + "\n"
	}
	path := filepath.Join(dir, "benchmarks.md")
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	doc := string(old)
	if !strings.Contains(doc, keptMarker) {
		return fmt.Errorf("%s has no %q: the soak section must follow it to survive make bench", path, keptMarker)
	}
	section := soakBegin + "\n" + md + soakEnd + "\n"
	if i, j := strings.Index(doc, soakBegin), strings.Index(doc, soakEnd); i >= 0 && j > i {
		doc = doc[:i] + section + doc[j+len(soakEnd):]
		doc = strings.Replace(doc, soakEnd+"\n\n", soakEnd+"\n", 1)
	} else {
		doc = strings.TrimRight(doc, "\n") + "\n\n" + section
	}
	return os.WriteFile(path, []byte(doc), 0o644)
}

func renderSoak(rs []soakResult) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	r0 := rs[0]
	m := machine()
	w("## Chaos soak\n\n")
	w("Measured by `make soak` (`TestSoak`, test/vm/soak_test.go; `make test` runs it for 60 s and only checks): "+
		"%s, seed %d, %v per daemon, kernel %s, %d vCPUs, load average before: %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), r0.Seed,
		r0.Duration.Round(time.Second), m.Kernel, m.NProc, loadavg())
	w("Three LBs (lb-5, lb-6, lb-7) in one VRRPv3 group at %v adverts, priorities a permutation of 150/100/50 (preempt), "+
		"the client requesting the VIP every 10 ms; one fault at a time from the seeded stream, then a quiet gap of %v–%v: "+
		"link cut, %s, kill -9 and a new start, new priorities and SIGHUP, busy loops, forged adverts for another VRID at full speed, "+
		"an INPUT-chain firewall dropping VRRP. Both daemons get the same stream. Holders are hosts whose daemon runs and whose "+
		"eth0 has the VIP, from netlink address events in each LB's namespace.\n\n",
		soakInterval, faultGap[0], faultGap[1], "loss of 10–50 % on one bridge port (nft numgen)")
	b0 := r0.Bounds
	w("Invariants: no holder for at most %s (Master_Down_Interval of the lowest priority + ε %v); two holders for at most %s "+
		"(Master_Down_Interval + split-brain probe interval) unless a partition (cut, loss, firewall) is active or ended less than %s before; "+
		"every change of holder within %s of a fault; no daemon exit we did not cause; "+
		"lb-7 (never killed) and every process that lived long enough grows by at most %d fds, %d goroutines and max(%d KiB, %.0f %%) of RSS; "+
		"at the end the top-priority host is the one holder. Published, not enforced: client outages longer than %s "+
		"(the same bound, one probe interval more) that a loss fault does not explain (the client served again within that bound of the loss's end).\n\n",
		fmtDur(b0.NoHolder), soakEpsilon, fmtDur(b0.Dual), fmtDur(b0.Explain), fmtDur(b0.Explain), soakTolerance.FDs, soakTolerance.Goroutines, soakTolerance.RSSKB, soakTolerance.RSSShare*100, fmtDur(b0.Client))
	w("| daemon | faults | changes of holder | longest no holder | … after a kill | two holders outside partitions | two holders in partitions | client requests failed | longest client outage | client outages over the bound | violations |\n")
	w("|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		f := r.figures()
		w("| %s | %d | %d | %s | %s | %s | %s | %d of %d | %s | %d | %d |\n", r.Daemon, len(r.Faults), f.Transitions, fmtDur(f.LongestNone), fmtDur(f.LongestNoneKill),
			fmtDur(f.LongestDual), fmtDur(f.LongestDualOutage), r.Probe.Failures, r.Probe.Requests, fmtDur(r.Probe.LongestOutage), len(r.Client), len(r.Violations))
	}
	w("\nFaults per kind:")
	for _, k := range faultKinds {
		w(" %s %d;", k, r0.figures().ByKind[k])
	}
	w("\n\n")
	for _, r := range rs {
		w("%s — growth: %s.\n", r.Daemon, strings.Join(r.Growth, "; "))
		for _, set := range []struct {
			title string
			vs    []violation
		}{{"Violations", r.Violations}, {"Client outages over the bound", r.Client}} {
			if len(set.vs) > 0 {
				w("\n%s:\n\n", set.title)
				for _, v := range set.vs {
					w("    %s\n", strings.ReplaceAll(v.String(), "\n", " "))
				}
			}
		}
		w("\n")
	}
	w("![holders over time with the faults marked](%s)\n\n", soakPlot)
	return b.String()
}

var faultColor = map[faultKind]color.Color{
	faultCut:      color.RGBA{R: 0xcc, A: 0xff},
	faultLoss:     color.RGBA{R: 0xee, G: 0x88, A: 0xff},
	faultKill:     color.RGBA{A: 0xff},
	faultHup:      color.RGBA{R: 0x99, B: 0x99, A: 0xff},
	faultHog:      color.RGBA{R: 0x88, G: 0x66, B: 0x22, A: 0xff},
	faultFlood:    color.RGBA{G: 0x99, B: 0x99, A: 0xff},
	faultFirewall: color.RGBA{G: 0x77, A: 0xff},
}

// plotSoak draws, per daemon, which hosts held the VIP over the run (one row per
// LB) and the faults as spans on a row per kind.
func plotSoak(path string, rs []soakResult) error {
	grid := make([][]*plot.Plot, len(rs))
	for i, r := range rs {
		p := plot.New()
		p.Title.Text = fmt.Sprintf("%s — chaos soak, seed %d", r.Daemon, r.Seed)
		if err := drawSoak(p, r); err != nil {
			return err
		}
		grid[i] = []*plot.Plot{p}
	}
	return saveGrid(path, grid, 14*vg.Inch, vg.Length(len(rs))*4*vg.Inch)
}

func drawSoak(p *plot.Plot, r soakResult) error {
	hosts := []string{lab.LB5, lab.LB6, lab.LB7}
	var ticks []plot.Tick
	bar := func(y, from, to float64, c color.Color, width vg.Length) error {
		ln, err := plotter.NewLine(plotter.XYs{{X: from, Y: y}, {X: max(to, from+0.02), Y: y}})
		if err != nil {
			return err
		}
		ln.LineStyle.Width, ln.LineStyle.Color = width, c
		p.Add(ln)
		return nil
	}
	for i, h := range hosts {
		y := float64(i + 1)
		ticks = append(ticks, plot.Tick{Value: y, Label: "VIP on " + h})
		for _, s := range r.Spans {
			for _, x := range s.Holders {
				if x == h {
					c := daemonColor(r.Daemon)
					if len(s.Holders) > 1 {
						c = colFail
					}
					if err := bar(y, s.From.Seconds(), s.To.Seconds(), c, vg.Points(5)); err != nil {
						return err
					}
				}
			}
		}
	}
	for i, k := range faultKinds {
		y := float64(len(hosts) + 1 + i)
		ticks = append(ticks, plot.Tick{Value: y, Label: string(k)})
		for _, f := range r.Faults {
			if f.Kind == k {
				if err := bar(y, f.Start.Seconds(), f.End.Seconds(), faultColor[k], vg.Points(4)); err != nil {
					return err
				}
			}
		}
	}
	p.X.Label.Text = "s since the soak started (red on a VIP row: two holders at once)"
	p.X.Min, p.X.Max = 0, r.Duration.Seconds()
	p.Y.Min, p.Y.Max = 0.5, float64(len(hosts)+len(faultKinds))+0.5
	p.Y.Tick.Marker = plot.ConstantTicks(ticks)
	return nil
}
