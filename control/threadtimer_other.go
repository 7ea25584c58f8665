//go:build !linux

package control

import "time"

// threadTimer exists only on Linux (timerfd); elsewhere the Runner's advert
// timer is its Clock's AfterFunc.
type threadTimer struct{}

func newThreadTimer() *threadTimer { return nil }

func (t *threadTimer) AfterFunc(time.Duration, func()) Timer { panic("unreachable") }

func (t *threadTimer) Close() {}
