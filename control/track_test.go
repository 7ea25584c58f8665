package control

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

func TestContribution(t *testing.T) {
	tests := []struct {
		name      string
		st        TrackerStatus
		weight    int
		wantDelta int
		wantFault bool
	}{
		{"weight 0 up", TrackerStatus{Up: true}, 0, 0, false},
		{"weight 0 down is fault", TrackerStatus{Up: false}, 0, 0, true},
		{"positive weight added while up", TrackerStatus{Up: true}, 20, 20, false},
		{"positive weight not added while down", TrackerStatus{Up: false}, 20, 0, false},
		{"negative weight added while down", TrackerStatus{Up: false}, -20, -20, false},
		{"negative weight not added while up", TrackerStatus{Up: true}, -20, 0, false},
		{"file value times weight", TrackerStatus{Valued: true, Value: 3}, 10, 30, false},
		{"file negative product", TrackerStatus{Valued: true, Value: -2}, 10, -20, false},
		{"file weight 0 non-zero is fault", TrackerStatus{Valued: true, Value: 1}, 0, 0, true},
		{"file weight 0 zero is fine", TrackerStatus{Valued: true, Value: 0}, 0, 0, false},
		{"file product -254 is fault", TrackerStatus{Valued: true, Value: -254}, 1, -254, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, f := contribution(tt.st, tt.weight)
			if d != tt.wantDelta || f != tt.wantFault {
				t.Errorf("contribution = (%d, %v), want (%d, %v)", d, f, tt.wantDelta, tt.wantFault)
			}
		})
	}
}

func TestEffectivePriority(t *testing.T) {
	status := map[string]TrackerStatus{
		"up": {Up: true}, "down": {Up: false}, "file": {Valued: true, Value: 5},
	}
	lookup := func(n string) (TrackerStatus, bool) { s, ok := status[n]; return s, ok }
	tests := []struct {
		name      string
		prio      uint8
		refs      []TrackRef
		wantEff   uint8
		wantFault bool
	}{
		{"no trackers", 100, nil, 100, false},
		{"sum", 100, []TrackRef{{"up", 10}, {"down", -30}, {"file", 2}}, 90, false},
		{"clamped high", 250, []TrackRef{{"up", 50}}, 254, false},
		{"clamped low", 10, []TrackRef{{"down", -50}}, 1, false},
		{"fault", 100, []TrackRef{{"down", 0}}, 100, true},
		{"owner unchanged", 255, []TrackRef{{"down", -50}}, 255, false},
		{"owner can fault", 255, []TrackRef{{"down", 0}}, 255, true},
		{"unknown tracker ignored", 100, []TrackRef{{"nope", 0}}, 100, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eff, fault := EffectivePriority(tt.prio, tt.refs, lookup)
			if eff != tt.wantEff || fault != tt.wantFault {
				t.Errorf("EffectivePriority = (%d, %v), want (%d, %v)", eff, fault, tt.wantEff, tt.wantFault)
			}
		})
	}
}

func TestRiseFall(t *testing.T) {
	tests := []struct {
		name       string
		rise, fall int
		startUp    bool
		results    string // o ok, x fail
		want       string // verdict after each result: U or D
	}{
		{"defaults flip at once", 0, 0, true, "xoxo", "DUDU"},
		{"fall 3", 1, 3, true, "xxoxxx", "UUUUUD"},
		{"rise 2", 2, 1, false, "oxooo", "DDDUU"},
		{"init fail then rise", 1, 1, false, "o", "U"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rf := riseFall{rise: tt.rise, fall: tt.fall, up: tt.startUp}
			var got strings.Builder
			for _, c := range tt.results {
				rf.observe(c == 'o')
				if rf.up {
					got.WriteByte('U')
				} else {
					got.WriteByte('D')
				}
			}
			if got.String() != tt.want {
				t.Errorf("verdicts = %s, want %s", got.String(), tt.want)
			}
		})
	}
}

// scriptedCheck returns results from a list, one per call, and signals each call.
type scriptedCheck struct {
	mu      sync.Mutex
	results []bool
	calls   chan int
	n       int
}

func (s *scriptedCheck) Check(ctx context.Context) CheckResult {
	s.mu.Lock()
	ok := s.results[min(s.n, len(s.results)-1)]
	s.n++
	n := s.n
	s.mu.Unlock()
	s.calls <- n
	if !ok {
		return CheckResult{Err: errors.New("scripted failure")}
	}
	return CheckResult{OK: true}
}

func TestPollerRiseFall(t *testing.T) {
	clock := newFakeClock()
	chk := &scriptedCheck{results: []bool{true, false, false, true, true, true}, calls: make(chan int, 16)}
	var mu sync.Mutex
	var reports []string
	p := startPoller(TrackerConfig{Name: "t", Check: chk, Interval: sec, Rise: 2, Fall: 2}, clock, func(st TrackerStatus) {
		mu.Lock()
		defer mu.Unlock()
		reports = append(reports, fmt.Sprintf("%v", st.Up))
	})
	defer p.stop()
	for i := 1; i <= 6; i++ {
		if n := <-chk.calls; n != i {
			t.Fatalf("call %d, want %d", n, i)
		}
		if i < 6 {
			testutil.Eventually(t, 10*time.Second, "the poller to wait for its interval", func() bool { return clock.pending() == 1 })
			clock.Advance(sec)
		}
	}
	testutil.Eventually(t, 10*time.Second, "the last report", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(reports) == 3
	})
	mu.Lock()
	got := strings.Join(reports, " ")
	mu.Unlock()
	// First result reported, down after 2 failures, up after 2 successes.
	if got != "true false true" {
		t.Errorf("reports = %q, want %q", got, "true false true")
	}
}

// commandCheck runs a program, as the daemon's script tracker (internal/hooks) does.
type commandCheck []string

func (c commandCheck) Check(ctx context.Context) CheckResult {
	err := exec.CommandContext(ctx, c[0], c[1:]...).Run()
	return CheckResult{OK: err == nil, Err: err}
}
