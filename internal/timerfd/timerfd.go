// Package timerfd is the daemon's advert clock: one re-armable timer served by an
// OS thread blocked on a timerfd (Linux 2.6.25). It implements control.AdvertClock.
package timerfd

import (
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/control"
	"github.com/ebpfvrrp/ebpfvrrp/internal/rtsched"
	"golang.org/x/sys/unix"
)

// Thread is a single re-armable timer served by one OS thread that blocks
// in read(2) on a timerfd and calls the armed function on that thread. The
// control.Runner sends every advert from it (Deps.AdvertClock).
//
// Why not time.AfterFunc: at 200 instances × 10 ms the process wakes 100 times
// a second, and each time.AfterFunc wake-up went through the Go scheduler: the
// netpoller's thread returns from epoll, a new goroutine is started, an idle M
// is woken to spin, and sysmon polls every 20 µs while the batch runs. That
// scheduling cost as much CPU as building and sending the batch. A thread
// sleeping in a blocking read keeps its P (sysmon leaves a syscall shorter than
// 10 ms alone while another P is idle) and wakes straight into the send.
type Thread struct {
	fd int

	mu       sync.Mutex
	f        func()
	deadline time.Time
	token    uint64 // bumped by every arm and stop: stale Timers cannot stop a newer arm
	closed   bool
	// handles are the Timers AfterFunc hands out, reused round-robin so an arm
	// allocates nothing. A handle is valid (its Stop stops only its own arm)
	// for the next len(handles)-1 arms; the Runner only ever stops its latest.
	handles [8]handle
	next    int
}

// New starts the timer's thread. With rtPriority 1-99 the thread runs in
// SCHED_RR at that priority (CAP_SYS_NICE or RLIMIT_RTPRIO >= rtPriority), so
// busy normal-class processes cannot delay what it calls; if the kernel
// refuses, New returns the error and no thread. 0: the normal class.
func New(rtPriority int) (*Thread, error) {
	if rtPriority < 0 || rtPriority > 99 {
		return nil, fmt.Errorf("timerfd: real-time priority %d, want 0-99", rtPriority)
	}
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("timerfd: %w", err)
	}
	t := &Thread{fd: fd}
	started := make(chan error, 1)
	go t.loop(rtPriority, started)
	if err := <-started; err != nil {
		unix.Close(fd)
		return nil, err
	}
	return t, nil
}

// AfterFunc arms the timer to call f after d, replacing whatever was armed (a
// Runner has one advert timer). The returned Timer disarms it unless re-armed since.
func (t *Thread) AfterFunc(d time.Duration, f func()) control.Timer {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.token++
	h := &t.handles[t.next]
	t.next = (t.next + 1) % len(t.handles)
	*h = handle{t, t.token}
	if t.closed {
		return h
	}
	t.f, t.deadline = f, time.Now().Add(d)
	t.set(d)
	return h
}

// set programs the timerfd (relative; 0 would disarm it, so at least 1 ns).
func (t *Thread) set(d time.Duration) {
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(max(d, 1).Nanoseconds())}
	// Cannot fail for a valid fd and spec; if it ever did, the Runner's
	// master-down safety nets still run on their own timers.
	_ = unix.TimerfdSettime(t.fd, 0, &spec, nil)
}

type handle struct {
	t     *Thread
	token uint64
}

func (h *handle) Stop() bool {
	h.t.mu.Lock()
	defer h.t.mu.Unlock()
	if h.token != h.t.token || h.t.f == nil {
		return false
	}
	h.t.f = nil
	h.t.token++
	var zero unix.ItimerSpec
	_ = unix.TimerfdSettime(h.t.fd, 0, &zero, nil)
	return true
}

// Close stops the thread. It does not wait for it: the thread may be about to
// call into the Runner, whose lock the caller may hold.
func (t *Thread) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	t.closed, t.f = true, nil
	t.token++
	t.set(0) // wake the thread
}

func (t *Thread) loop(rtPriority int, started chan<- error) {
	runtime.LockOSThread()
	if rtPriority > 0 {
		if err := rtsched.Thread(rtPriority); err != nil {
			// The thread may have changed class halfway: it dies with
			// the goroutine (no UnlockOSThread) rather than return to
			// the pool.
			started <- err
			return
		}
		// Never unlocked: a real-time thread must not go back to the pool.
	} else {
		defer runtime.UnlockOSThread()
	}
	started <- nil
	var buf [8]byte
	for {
		_, err := unix.Read(t.fd, buf[:])
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			unix.Close(t.fd)
			return
		}
		if err != nil {
			// EINTR; nothing else is possible on a valid timerfd.
			t.mu.Unlock()
			continue
		}
		f := t.f
		if f != nil {
			// An expiry read just before a re-arm belongs to the old arm:
			// wait for the rest of the new one.
			if rest := time.Until(t.deadline); rest > 0 {
				t.set(rest)
				t.mu.Unlock()
				continue
			}
			t.f = nil
		}
		t.mu.Unlock()
		if f != nil {
			f()
		}
	}
}
