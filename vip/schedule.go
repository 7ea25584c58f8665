package vip

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"time"
)

// GARPSettings is keepalived's garp_master_* schedule.
type GARPSettings struct {
	// Delay is garp_master_delay: a second burst of Repeat announcements this
	// long after becoming Master. 0 disables the second burst.
	Delay time.Duration
	// Repeat is garp_master_repeat: announcements per burst (at least 1).
	Repeat int
	// Refresh is garp_master_refresh: while Master, a burst of RefreshRepeat
	// announcements this often, counted from becoming Master. 0 disables it.
	Refresh time.Duration
	// RefreshRepeat is garp_master_refresh_repeat (at least 1).
	RefreshRepeat int
	// Interval spaces the announcements of one burst (keepalived's
	// garp_interval / gna_interval, applied per round of all addresses).
	Interval time.Duration
}

// DefaultGARPSettings returns keepalived's defaults: 5 announcements at once,
// 5 more after 5 s, no periodic refresh.
func DefaultGARPSettings() GARPSettings {
	return GARPSettings{Delay: 5 * time.Second, Repeat: 5, RefreshRepeat: 1}
}

// clock is the part of time the schedule needs, injectable for tests.
type clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// AnnounceThenSchedule announces addrs on a according to s from the moment it
// is called (becoming Master) until the schedule is exhausted or ctx is
// cancelled (leaving Master; cancellation is the normal way to stop and is not
// an error). The first announcement is sent on the caller's goroutine before
// returning, and its error is returned: a new Master's clients keep sending to
// the old Master's MAC until it arrives, so it must not wait for a goroutine to
// be scheduled behind the rest of the takeover. The rest runs in a goroutine,
// which calls done (if not nil) with its result: a failed announcement does not
// stop the schedule (a later one may get through); each failed burst is logged
// and the result summarises the failures.
func AnnounceThenSchedule(ctx context.Context, a *Announcer, addrs []netip.Addr, s GARPSettings, done func(error)) error {
	err := a.Announce(addrs, nil)
	announce := func() error { return a.Announce(addrs, nil) }
	go func() {
		rerr := runSchedule(ctx, realClock{}, s, announce, slog.Default().With("ifindex", a.Ifindex()), true)
		if done != nil {
			done(rerr)
		}
	}()
	return err
}

// runSchedule runs the schedule; with firstSent the caller already made the
// first announcement of the master burst.
func runSchedule(ctx context.Context, clk clock, s GARPSettings, announce func() error, log *slog.Logger, firstSent bool) error {
	repeat, refreshRepeat := max(s.Repeat, 1), max(s.RefreshRepeat, 1)
	var sent, failed int
	var firstErr error

	sleepUntil := func(t time.Time) bool {
		d := t.Sub(clk.Now())
		if d <= 0 {
			return ctx.Err() == nil
		}
		select {
		case <-ctx.Done():
			return false
		case <-clk.After(d):
			return true
		}
	}
	burst := func(n int, why string) bool {
		var burstErr error
		first := 0
		if firstSent {
			first, firstSent = 1, false
		}
		for i := first; i < n; i++ {
			if i > 0 && s.Interval > 0 && !sleepUntil(clk.Now().Add(s.Interval)) {
				return false
			}
			if ctx.Err() != nil {
				return false
			}
			sent++
			if err := announce(); err != nil {
				failed++
				burstErr = err
				if firstErr == nil {
					firstErr = err
				}
			}
		}
		if burstErr != nil {
			log.Warn("vip: announcements failed", "burst", why, "err", burstErr)
		}
		return true
	}
	result := func() error {
		if failed == 0 {
			return nil
		}
		return fmt.Errorf("vip: %d of %d announcements failed, first: %w", failed, sent, firstErr)
	}

	start := clk.Now()
	if !burst(repeat, "master") {
		return result()
	}
	var delayAt, refreshAt time.Time
	if s.Delay > 0 {
		delayAt = start.Add(s.Delay)
	}
	if s.Refresh > 0 {
		refreshAt = start.Add(s.Refresh)
	}
	for !delayAt.IsZero() || !refreshAt.IsZero() {
		delayed := !delayAt.IsZero() && (refreshAt.IsZero() || !refreshAt.Before(delayAt))
		next, n, why := refreshAt, refreshRepeat, "refresh"
		if delayed {
			next, n, why = delayAt, repeat, "delay"
		}
		if !sleepUntil(next) || !burst(n, why) {
			return result()
		}
		if delayed {
			delayAt = time.Time{}
			continue
		}
		// Keep the refresh cadence, but never try to catch up on missed ticks.
		refreshAt = refreshAt.Add(s.Refresh)
		if now := clk.Now(); refreshAt.Before(now) {
			refreshAt = now.Add(s.Refresh)
		}
	}
	return result()
}
