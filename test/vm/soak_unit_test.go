package vm

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/lab"
)

// Unit tests of the soak's invariants and stream (no root).

const msec = time.Millisecond

var testBounds = soakBounds{NoHolder: 580 * msec, Dual: 1380 * msec, Explain: 1200 * msec, Client: 590 * msec}

func TestHolderSpansKillHidesStaleVIP(t *testing.T) {
	// lb-5 holds; killed at 1 s (its VIP stays), lb-6 adds at 1.35 s; lb-5 restarts
	// at 2 s and removes the stale VIP at 2.05 s.
	faults := []soakFault{{Kind: faultKill, Host: lab.LB5, Start: time.Second, End: 2 * time.Second}}
	events := []soakVIPEvent{{1350 * msec, lab.LB6, true}, {2050 * msec, lab.LB5, false}}
	got := holderSpans([]string{lab.LB5}, events, faults, 3*time.Second)
	want := []holderSpan{
		{0, time.Second, []string{lab.LB5}},
		{time.Second, 1350 * msec, nil},
		{1350 * msec, 2 * time.Second, []string{lab.LB6}},
		{2 * time.Second, 2050 * msec, []string{lab.LB5, lab.LB6}},
		{2050 * msec, 3 * time.Second, []string{lab.LB6}},
	}
	if !slices.EqualFunc(got, want, func(a, b holderSpan) bool {
		return a.From == b.From && a.To == b.To && slices.Equal(a.Holders, b.Holders)
	}) {
		t.Fatalf("spans:\n%s\nwant:\n%s", joinLines(got), joinLines(want))
	}
	if vs := checkHolders(got, faults, testBounds); len(vs) != 0 {
		t.Errorf("a kill with a failover in Master_Down_Interval: want no violation, got %v", vs)
	}
}

func TestCheckHoldersCatches(t *testing.T) {
	hup := soakFault{Kind: faultHup, Start: time.Second, End: time.Second}
	cut := soakFault{Kind: faultCut, Host: lab.LB5, Start: time.Second, End: 3 * time.Second}
	for _, tc := range []struct {
		name   string
		events []soakVIPEvent
		faults []soakFault
		want   []string // invariants violated
	}{
		{"gap too long", []soakVIPEvent{{1100 * msec, lab.LB5, false}, {1700 * msec, lab.LB6, true}}, []soakFault{hup}, []string{"no holder"}},
		{"dual without partition", []soakVIPEvent{{1100 * msec, lab.LB6, true}, {2600 * msec, lab.LB5, false}}, []soakFault{hup}, []string{"two holders", "unexplained transition"}},
		{"dual in a partition", []soakVIPEvent{{1400 * msec, lab.LB6, true}, {3100 * msec, lab.LB5, false}}, []soakFault{cut}, nil},
		{"unexplained", []soakVIPEvent{{5 * time.Second, lab.LB6, true}, {5050 * msec, lab.LB5, false}}, []soakFault{hup}, []string{"unexplained transition", "unexplained transition"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spans := holderSpans([]string{lab.LB5}, tc.events, tc.faults, 10*time.Second)
			var got []string
			for _, v := range checkHolders(spans, tc.faults, testBounds) {
				got = append(got, v.Invariant)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("violations %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCheckClientExcusesLossOnly(t *testing.T) {
	o := []lab.Outage{{Start: time.Second, End: 2 * time.Second, Failures: 90}}
	if vs := checkClient(o, []soakFault{{Kind: faultLoss, Host: lab.LB5, Start: 900 * msec, End: 1500 * msec}}, testBounds); len(vs) != 0 {
		t.Errorf("outage during loss: %v", vs)
	}
	if vs := checkClient(o, []soakFault{{Kind: faultLoss, Host: lab.LB5, Start: 900 * msec, End: 1200 * msec}}, testBounds); len(vs) != 1 {
		t.Errorf("outage lasting 800 ms past the loss: want a violation, got %v", vs)
	}
	if vs := checkClient(o, []soakFault{{Kind: faultHog, Start: 900 * msec, End: 1500 * msec}}, testBounds); len(vs) != 1 {
		t.Errorf("1 s outage during a hog: want a violation, got %v", vs)
	}
}

func TestCheckGrowth(t *testing.T) {
	tol := resourceTolerance{FDs: 3, Goroutines: 8, RSSKB: 4096, RSSShare: 0.25}
	steady := []resourceSample{{0, 7, 90000, 40, 30}, {6 * time.Second, 7, 20000, 20, 20}, {60 * time.Second, 7, 22000, 22, 25}}
	vs, lines := checkGrowth(lab.LB7, steady, 5*time.Second, 20*time.Second, tol)
	if len(vs) != 0 || len(lines) != 1 {
		t.Errorf("steady (warm-up ignored): violations %v, lines %v", vs, lines)
	}
	leak := append(slices.Clone(steady[:2]), resourceSample{60 * time.Second, 7, 20000, 30, 60})
	if vs, _ := checkGrowth(lab.LB7, leak, 5*time.Second, 20*time.Second, tol); len(vs) != 1 || !strings.Contains(vs[0].Detail, "fds +10") || !strings.Contains(vs[0].Detail, "goroutines +40") {
		t.Errorf("leak: %v", vs)
	}
	short := []resourceSample{{0, 8, 1, 1, 1}, {10 * time.Second, 8, 9e9, 99, 99}}
	if vs, lines := checkGrowth(lab.LB5, short, 5*time.Second, 20*time.Second, tol); len(vs) != 0 || len(lines) != 0 {
		t.Errorf("a process too short-lived to compare: %v %v", vs, lines)
	}
}

func TestPlanFaultsSeeded(t *testing.T) {
	hosts := []string{lab.LB5, lab.LB6, lab.LB7}
	a, b, c := planFaults(42, hosts), planFaults(42, hosts), planFaults(43, hosts)
	same := func(x, y []plannedFault) bool {
		return slices.EqualFunc(x, y, func(p, q plannedFault) bool {
			return p.Kind == q.Kind && p.Host == q.Host && p.Hold == q.Hold && p.Gap == q.Gap && p.LossPct == q.LossPct
		})
	}
	if !same(a, b) || same(a, c) {
		t.Fatal("the stream must be a function of the seed")
	}
	kinds := map[faultKind]int{}
	for _, f := range a {
		kinds[f.Kind]++
		if f.Kind == faultKill && f.Host == soakSentinel {
			t.Fatalf("the sentinel %s is never killed", soakSentinel)
		}
		if f.Kind == faultLoss && (f.LossPct < 10 || f.LossPct > 50) {
			t.Fatalf("loss %d%% outside 10–50 %%", f.LossPct)
		}
	}
	if len(kinds) != len(faultKinds) {
		t.Errorf("kinds drawn: %v", kinds)
	}
}

func TestWriteSoakReportKeepsTheRest(t *testing.T) {
	dir := t.TempDir()
	doc := "# Benchmarks\n\nbench part\n\n" + keptMarker + "\n## Restart\n\nkept\n"
	if err := os.WriteFile(filepath.Join(dir, "benchmarks.md"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	r := soakResult{Daemon: lab.Ebpfvrrp, Seed: 7, Duration: time.Minute, Bounds: testBounds,
		Spans:  []holderSpan{{0, time.Minute, []string{lab.LB5}}},
		Faults: []soakFault{{Kind: faultCut, Host: lab.LB5, Start: time.Second, End: 2 * time.Second}}}
	for range 2 {
		if err := writeSoakReport(dir, []soakResult{r}); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "benchmarks.md"))
	got := string(b)
	if !strings.HasPrefix(got, doc) || strings.Count(got, "## Chaos soak") != 1 || !strings.Contains(got, "seed 7") {
		t.Errorf("benchmarks.md after two writes:\n%s", got)
	}
	if _, err := os.Stat(filepath.Join(dir, soakPlot)); err != nil {
		t.Errorf("plot: %v", err)
	}
}
