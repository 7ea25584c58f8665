package vm

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/lab"
)

// The invariants of the chaos soak, checked on what the run recorded: the faults
// injected, the VIP address events of every LB's namespace, the client's outages
// and the daemons' liveness. Pure functions, so they are unit-tested without root.

// faultKind is one kind of fault the soak injects.
type faultKind string

// The fault kinds. Partitions (cut, loss, firewall) may legitimately make two
// Masters while they last; the others may not.
const (
	faultCut      faultKind = "cut"      // the host's bridge port down, then up
	faultLoss     faultKind = "loss"     // nft numgen drops a share of the host's port's frames, both ways
	faultKill     faultKind = "kill"     // kill -9 of the host's daemon, then a new start
	faultHup      faultKind = "hup"      // every host's priority rewritten (a new permutation), SIGHUP
	faultHog      faultKind = "hog"      // busy loops, one per CPU and one more, at normal priority
	faultFlood    faultKind = "flood"    // forged adverts (a VRID nobody runs) from the client at full speed
	faultFirewall faultKind = "firewall" // nft drops VRRP on the host's INPUT hook
)

var faultKinds = []faultKind{faultCut, faultLoss, faultKill, faultHup, faultHog, faultFlood, faultFirewall}

func (k faultKind) partition() bool {
	return k == faultCut || k == faultLoss || k == faultFirewall
}

// soakFault is one injected fault; Start and End count from the run's start (End is
// the restore: link up, rules removed, the daemon started again).
type soakFault struct {
	Kind       faultKind
	Host       string // "" when it hits no one host (hog, hup)
	Detail     string
	Start, End time.Duration
}

func (f soakFault) String() string {
	h := f.Host
	if h == "" {
		h = "-"
	}
	return fmt.Sprintf("%8.3fs–%8.3fs %-8s %-5s %s", f.Start.Seconds(), f.End.Seconds(), f.Kind, h, f.Detail)
}

// soakBounds are the limits the invariants use.
type soakBounds struct {
	// NoHolder: the longest time with no holder (Master_Down_Interval + ε).
	NoHolder time.Duration
	// Dual: the longest time with two holders outside partitions
	// (Master_Down_Interval + the split-brain probe interval).
	Dual time.Duration
	// Explain: how long after a fault's end a change of holder is still its doing.
	Explain time.Duration
	// Client: the longest run of failed client requests outside loss faults.
	Client time.Duration
}

// holderSpan is a stretch of time with one set of holders: hosts whose daemon is
// running and that have the VIP on eth0. A killed daemon's VIP stays on the
// interface until the next start removes it; that host is not a holder meanwhile.
type holderSpan struct {
	From, To time.Duration
	Holders  []string
}

func (s holderSpan) Duration() time.Duration { return s.To - s.From }

// soakVIPEvent is a VIP address event of one LB (T since the run's start).
type soakVIPEvent struct {
	T     time.Duration
	Host  string
	Added bool
}

// holderSpans folds the address events and the kills' dead times (Start to End of
// every kill fault) into spans of constant holders, from 0 to end. initial is who
// had the VIP at 0.
func holderSpans(initial []string, events []soakVIPEvent, faults []soakFault, end time.Duration) []holderSpan {
	type change struct {
		t     time.Duration
		host  string
		addr  bool // an address event (else liveness)
		value bool
	}
	var cs []change
	for _, e := range events {
		cs = append(cs, change{max(e.T, 0), e.Host, true, e.Added})
	}
	for _, f := range faults {
		if f.Kind == faultKill {
			cs = append(cs, change{f.Start, f.Host, false, false}, change{f.End, f.Host, false, true})
		}
	}
	slices.SortStableFunc(cs, func(a, b change) int { return int(a.t - b.t) })
	has := map[string]bool{}
	dead := map[string]bool{}
	for _, h := range initial {
		has[h] = true
	}
	holders := func() []string {
		var hs []string
		for h, on := range has {
			if on && !dead[h] {
				hs = append(hs, h)
			}
		}
		slices.Sort(hs)
		return hs
	}
	cur := holderSpan{From: 0, Holders: holders()}
	var spans []holderSpan
	for _, c := range cs {
		if c.t > end {
			break
		}
		if c.addr {
			has[c.host] = c.value
		} else {
			dead[c.host] = !c.value
		}
		if hs := holders(); !slices.Equal(hs, cur.Holders) {
			cur.To = c.t
			spans = append(spans, cur)
			cur = holderSpan{From: c.t, Holders: hs}
		}
	}
	cur.To = end
	return append(spans, cur)
}

// violation is one breach of an invariant.
type violation struct {
	Invariant string
	From, To  time.Duration
	Detail    string
}

func (v violation) String() string {
	return fmt.Sprintf("%s: %.3fs–%.3fs (%v): %s", v.Invariant, v.From.Seconds(), v.To.Seconds(), (v.To - v.From).Round(time.Millisecond), v.Detail)
}

// covering returns the faults whose window [Start, End+slack] overlaps [from, to]
// and that match keep.
func covering(faults []soakFault, from, to, slack time.Duration, keep func(soakFault) bool) []soakFault {
	var out []soakFault
	for _, f := range faults {
		if f.Start <= to && from <= f.End+slack && keep(f) {
			out = append(out, f)
		}
	}
	return out
}

func anyFault(soakFault) bool { return true }

// checkHolders checks the holder spans: no holder for at most b.NoHolder; two or
// more holders for at most b.Dual unless a partition is active (or just ended:
// b.Explain); every change of holders within b.Explain of a fault's window.
func checkHolders(spans []holderSpan, faults []soakFault, b soakBounds) []violation {
	var vs []violation
	for i, s := range spans {
		switch {
		case len(s.Holders) == 0 && s.Duration() > b.NoHolder && i > 0:
			vs = append(vs, violation{"no holder", s.From, s.To, fmt.Sprintf("longer than %v; faults %v", b.NoHolder, covering(faults, s.From, s.To, 0, anyFault))})
		case len(s.Holders) >= 2 && s.Duration() > b.Dual:
			parts := covering(faults, s.From, s.To, b.Explain, func(f soakFault) bool { return f.Kind.partition() })
			if len(parts) == 0 {
				vs = append(vs, violation{"two holders", s.From, s.To, fmt.Sprintf("%v longer than %v with no partition; faults %v", s.Holders, b.Dual, covering(faults, s.From, s.To, 0, anyFault))})
			}
		}
		if i == 0 {
			continue
		}
		if len(covering(faults, s.From, s.From, b.Explain, anyFault)) == 0 {
			vs = append(vs, violation{"unexplained transition", s.From, s.From,
				fmt.Sprintf("holders %v → %v with no fault within %v before", spans[i-1].Holders, s.Holders, b.Explain)})
		}
	}
	return vs
}

// checkClient checks the client's outages: none longer than b.Client, unless a
// loss fault (which drops the client's packets too) overlaps it and the client is
// served again within b.Client of the loss's end.
func checkClient(outages []lab.Outage, faults []soakFault, b soakBounds) []violation {
	var vs []violation
	for _, o := range outages {
		if o.Duration() <= b.Client {
			continue
		}
		if len(covering(faults, o.Start, o.End, 0, func(f soakFault) bool { return f.Kind == faultLoss && o.End <= f.End+b.Client })) > 0 {
			continue
		}
		vs = append(vs, violation{"client outage", o.Start, o.End,
			fmt.Sprintf("%d failed requests, longer than %v; faults %v", o.Failures, b.Client, covering(faults, o.Start, o.End, 0, anyFault))})
	}
	return vs
}

// resourceSample is one reading of a daemon's process group.
type resourceSample struct {
	T          time.Duration
	Pid        int
	RSSKB      uint64
	FDs        int
	Goroutines int // -1: not known (keepalived)
}

// resourceTolerance is how much a daemon may grow from its first to its last
// sample (same process) before it counts as a leak.
type resourceTolerance struct {
	FDs, Goroutines int
	RSSKB           uint64
	RSSShare        float64
}

// checkGrowth compares the first sample at least warm after a process's first and
// its last sample (by pid), for processes that lived at least minLife between them; it returns the violations and a line per
// process compared (none: nothing was compared, which the caller must not take
// for a pass).
func checkGrowth(host string, samples []resourceSample, warm, minLife time.Duration, tol resourceTolerance) ([]violation, []string) {
	byPid := map[int][]resourceSample{}
	var pids []int
	for _, s := range samples {
		if _, ok := byPid[s.Pid]; !ok {
			pids = append(pids, s.Pid)
		}
		byPid[s.Pid] = append(byPid[s.Pid], s)
	}
	var vs []violation
	var lines []string
	for _, pid := range pids {
		ss := byPid[pid]
		// The first samples of a process that just started show it still
		// growing into its steady state; compare from warm after the first.
		i := slices.IndexFunc(ss, func(x resourceSample) bool { return x.T >= ss[0].T+warm })
		if i < 0 {
			continue
		}
		a, z := ss[i], ss[len(ss)-1]
		if z.T-a.T < minLife {
			continue
		}
		line := fmt.Sprintf("%s pid %d over %v: RSS %d → %d KiB, fds %d → %d, goroutines %d → %d",
			host, pid, (z.T - a.T).Round(time.Second), a.RSSKB, z.RSSKB, a.FDs, z.FDs, a.Goroutines, z.Goroutines)
		lines = append(lines, line)
		rssLimit := a.RSSKB + max(tol.RSSKB, uint64(float64(a.RSSKB)*tol.RSSShare))
		var bad []string
		if z.FDs > a.FDs+tol.FDs {
			bad = append(bad, fmt.Sprintf("fds +%d > +%d", z.FDs-a.FDs, tol.FDs))
		}
		if a.Goroutines >= 0 && z.Goroutines > a.Goroutines+tol.Goroutines {
			bad = append(bad, fmt.Sprintf("goroutines +%d > +%d", z.Goroutines-a.Goroutines, tol.Goroutines))
		}
		if z.RSSKB > rssLimit {
			bad = append(bad, fmt.Sprintf("RSS %d KiB > %d KiB", z.RSSKB, rssLimit))
		}
		if len(bad) > 0 {
			vs = append(vs, violation{"growth", a.T, z.T, line + ": " + strings.Join(bad, ", ")})
		}
	}
	return vs, lines
}
