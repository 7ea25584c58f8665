package control

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
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

func TestExecCheck(t *testing.T) {
	tests := []struct {
		name   string
		check  ExecCheck
		wantOK bool
	}{
		{"true", ExecCheck{Argv: []string{"true"}}, true},
		{"false", ExecCheck{Argv: []string{"false"}}, false},
		{"argv is not split by a shell", ExecCheck{Argv: []string{"test", "a b", "=", "a b"}}, true},
		{"shell when asked", ExecCheck{Argv: []string{"exit", "3"}, Shell: true}, false},
		{"shell pipe", ExecCheck{Argv: []string{"echo", "ok", "|", "grep", "-q", "ok"}, Shell: true}, true},
		{"missing binary", ExecCheck{Argv: []string{"/nonexistent/check"}}, false},
		{"empty argv", ExecCheck{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.check.Check(t.Context())
			if res.OK != tt.wantOK {
				t.Errorf("OK = %v (err %v), want %v", res.OK, res.Err, tt.wantOK)
			}
			if !res.OK && res.Err == nil {
				t.Errorf("failure without an error")
			}
		})
	}
}

// TestExecCheckTimeoutKillsProcessGroup: a script that leaves a child behind is
// killed with its child when the check times out.
func TestExecCheckTimeoutKillsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	check := ExecCheck{Argv: []string{"sh", "-c", "sleep 300 & echo $! > " + pidFile + "; wait"}}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan CheckResult, 1)
	go func() { done <- check.Check(ctx) }()
	var pid int
	eventually(t, "the child's pid file", func() bool {
		b, err := os.ReadFile(pidFile)
		if err != nil || !strings.HasSuffix(string(b), "\n") {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	cancel() // what the tracker's timeout does
	res := <-done
	if res.OK || !errors.Is(res.Err, context.Canceled) {
		t.Errorf("result = %+v, want a cancelled failure", res)
	}
	eventually(t, fmt.Sprintf("child %d to be killed", pid), func() bool {
		// Reaped by init or a zombie: either way no longer running.
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		return err != nil || strings.Contains(string(b), ") Z ")
	})
	_ = syscall.Kill(pid, syscall.SIGKILL) // belt and braces if the test failed
}

func TestHTTPCheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			fmt.Fprintln(w, "ok")
		case "/nocontent":
			w.WriteHeader(http.StatusNoContent)
		case "/redirect":
			http.Redirect(w, r, "/ok", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	tests := []struct {
		name   string
		check  HTTPCheck
		wantOK bool
	}{
		{"200 default", HTTPCheck{URL: srv.URL + "/ok"}, true},
		{"404", HTTPCheck{URL: srv.URL + "/missing"}, false},
		{"expected 204", HTTPCheck{URL: srv.URL + "/nocontent", ExpectStatus: 204}, true},
		{"redirect not followed", HTTPCheck{URL: srv.URL + "/redirect"}, false},
		{"redirect expected", HTTPCheck{URL: srv.URL + "/redirect", ExpectStatus: 302}, true},
		{"connection refused", HTTPCheck{URL: closedURL + "/ok"}, false},
		{"bad url", HTTPCheck{URL: "::"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.check.Check(t.Context())
			if res.OK != tt.wantOK {
				t.Errorf("OK = %v (err %v), want %v", res.OK, res.Err, tt.wantOK)
			}
		})
	}
}

func TestTCPCheck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := ln2.Addr().String()
	ln2.Close()
	if res := (TCPCheck{Address: ln.Addr().String()}).Check(t.Context()); !res.OK {
		t.Errorf("listening port: %v", res.Err)
	}
	if res := (TCPCheck{Address: closedAddr}).Check(t.Context()); res.OK {
		t.Errorf("closed port reported OK")
	}
}

func TestFileCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name      string
		path      string
		wantValue int
		wantErr   bool
	}{
		{"number", write("a", "5\n"), 5, false},
		{"negative", write("b", " -3 "), -3, false},
		{"empty", write("c", ""), 0, false},
		{"not a number", write("d", "abc"), 0, true},
		{"missing", filepath.Join(dir, "missing"), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := FileCheck{Path: tt.path}.Check(t.Context())
			if res.Value != tt.wantValue || (res.Err != nil) != tt.wantErr {
				t.Errorf("Check = %+v, want value %d err %v", res, tt.wantValue, tt.wantErr)
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
			eventually(t, "the poller to wait for its interval", func() bool { return clock.pending() == 1 })
			clock.Advance(sec)
		}
	}
	eventually(t, "the last report", func() bool {
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
