package vip

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock jumps forward by exactly the requested duration on every After,
// so the schedule's timeline is observable without waiting.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

func ms(v ...int) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x) * time.Millisecond
	}
	return out
}

var errSend = errors.New("send failed")

func TestScheduleTimeline(t *testing.T) {
	tests := []struct {
		name string
		s    GARPSettings
		// stopAfter cancels the context after that many announcements
		// (0: let the schedule run out on its own).
		stopAfter int
		// failOn makes these announcements (1-based) fail.
		failOn []int
		want   []time.Duration
		// wantErr is a substring of the returned error ("" for nil).
		wantErr string
	}{
		{
			name: "keepalived defaults",
			s:    DefaultGARPSettings(),
			want: ms(0, 0, 0, 0, 0, 5000, 5000, 5000, 5000, 5000),
		},
		{
			name: "interval spaces each burst",
			s:    GARPSettings{Repeat: 3, Interval: time.Second, Delay: 10 * time.Second},
			want: ms(0, 1000, 2000, 10000, 11000, 12000),
		},
		{
			name: "zero value sends one announcement",
			s:    GARPSettings{},
			want: ms(0),
		},
		{
			name:      "refresh repeats until cancelled",
			s:         GARPSettings{Repeat: 2, Refresh: time.Minute, RefreshRepeat: 2, Interval: 100 * time.Millisecond},
			stopAfter: 6,
			want:      ms(0, 100, 60000, 60100, 120000, 120100),
		},
		{
			name:      "refresh interleaves with the delayed burst",
			s:         GARPSettings{Repeat: 1, Delay: 5 * time.Second, Refresh: 2 * time.Second},
			stopAfter: 6,
			want:      ms(0, 2000, 4000, 5000, 6000, 8000),
		},
		{
			name:      "delayed burst and refresh due together both run",
			s:         GARPSettings{Repeat: 1, Delay: 4 * time.Second, Refresh: 4 * time.Second},
			stopAfter: 4,
			want:      ms(0, 4000, 4000, 8000),
		},
		{
			name:      "cancel inside a burst stops it",
			s:         GARPSettings{Repeat: 5, Interval: time.Second, Delay: time.Minute},
			stopAfter: 2,
			want:      ms(0, 1000),
		},
		{
			name:    "failures do not stop the schedule",
			s:       GARPSettings{Repeat: 2, Delay: time.Second},
			failOn:  []int{2, 3},
			want:    ms(0, 0, 1000, 1000),
			wantErr: "2 of 4 announcements failed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &fakeClock{now: time.Unix(1000, 0)}
			start := clk.Now()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var got []time.Duration
			announce := func() error {
				got = append(got, clk.Now().Sub(start))
				if len(got) == tt.stopAfter {
					cancel()
				}
				if slices.Contains(tt.failOn, len(got)) {
					return errSend
				}
				return nil
			}
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			err := runSchedule(ctx, clk, tt.s, announce, log, false)
			if !slices.Equal(got, tt.want) {
				t.Errorf("announcement times (-want +got):\n-%v\n+%v", tt.want, got)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("runSchedule: unexpected error %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, errSend)):
				t.Errorf("runSchedule error = %v, want one containing %q and wrapping %v", err, tt.wantErr, errSend)
			}
		})
	}
}

// TestScheduleStopsWhenCancelledWhileWaiting checks the schedule returns on
// cancellation while it waits for a timer that never fires.
func TestScheduleStopsWhenCancelledWhileWaiting(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var n int
	announce := func() error {
		n++
		cancel()
		return nil
	}
	done := make(chan error, 1)
	go func() {
		done <- runSchedule(ctx, stuckClock{}, GARPSettings{Repeat: 1, Refresh: time.Hour}, announce, slog.New(slog.NewTextHandler(io.Discard, nil)), false)
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("runSchedule after cancel = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("runSchedule did not return after its context was cancelled")
	}
	if n != 1 {
		t.Errorf("announcements = %d, want 1", n)
	}
}

type stuckClock struct{}

func (stuckClock) Now() time.Time                       { return time.Unix(0, 0) }
func (stuckClock) After(time.Duration) <-chan time.Time { return nil }

func ExampleDefaultGARPSettings() {
	fmt.Printf("%+v\n", DefaultGARPSettings())
	// Output: {Delay:5s Repeat:5 Refresh:0s RefreshRepeat:1 Interval:0s}
}

// TestScheduleAfterFirst: when the caller made the first announcement itself
// (AnnounceThenSchedule), the schedule sends the rest of the master burst, spaced
// from that first one, and every later burst whole.
func TestScheduleAfterFirst(t *testing.T) {
	for _, tt := range []struct {
		s    GARPSettings
		want []time.Duration
	}{
		{GARPSettings{Repeat: 3, Interval: 100 * time.Millisecond, Delay: 5 * time.Second}, ms(100, 200, 5000, 5100, 5200)},
		{GARPSettings{Repeat: 1, Delay: 5 * time.Second}, ms(5000)},
		{GARPSettings{Repeat: 5}, ms(0, 0, 0, 0)},
		{GARPSettings{}, nil},
	} {
		clk := &fakeClock{now: time.Unix(1000, 0)}
		start := clk.Now()
		var got []time.Duration
		announce := func() error {
			got = append(got, clk.Now().Sub(start))
			return nil
		}
		err := runSchedule(context.Background(), clk, tt.s, announce, slog.New(slog.NewTextHandler(io.Discard, nil)), true)
		if err != nil {
			t.Errorf("%+v: %v", tt.s, err)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%+v: announcement times (-want +got):\n-%v\n+%v", tt.s, tt.want, got)
		}
	}
}
