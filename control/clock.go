package control

import "time"

// Clock is the Runner's time source. Tests inject a fake; production uses SystemClock.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine after d. It must not call f from
	// within AfterFunc itself.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a stoppable pending call of a Clock.
type Timer interface{ Stop() bool }

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// AfterFunc is time.AfterFunc.
func (SystemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// AdvertClock arms the Runner's advert timer. The Runner stops the previous arm
// before each AfterFunc, so an implementation may hold one timer that every
// AfterFunc re-arms (internal/timerfd does). Every Clock is an AdvertClock.
type AdvertClock interface {
	AfterFunc(d time.Duration, f func()) Timer
}
