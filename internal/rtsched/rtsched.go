// Package rtsched puts the daemon's threads in the real-time scheduling class
// (SCHED_RR) and starts child processes back in the normal one.
//
// Why the whole process and not only the advert thread: a Go thread runs Go
// code only while it holds a P, and when the advert thread's blocking read
// returns its P has often been handed to another thread. Getting one back
// then waits for a thread of the normal class to reach the scheduler, and
// busy normal-class processes delay that thread by as much as they like (the
// starvation bench measured ticks 11 ms late, none of it waiting for the
// Runner's lock). keepalived's vrrp_rt_priority also moves its whole VRRP
// process.
package rtsched

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// MaxPriority is the highest SCHED_RR priority.
const MaxPriority = 99

// attr is the scheduling of prio: SCHED_RR at prio, or the normal class for 0.
func attr(prio int) (*unix.SchedAttr, error) {
	if prio < 0 || prio > MaxPriority {
		return nil, fmt.Errorf("rtsched: real-time priority %d, want 0-%d", prio, MaxPriority)
	}
	a := &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_NORMAL}
	if prio > 0 {
		a.Policy, a.Priority = unix.SCHED_RR, uint32(prio)
	}
	return a, nil
}

// Thread puts the calling OS thread in SCHED_RR at prio (0: the normal
// class). The caller has locked its goroutine to the thread.
func Thread(prio int) error {
	a, err := attr(prio)
	if err != nil {
		return err
	}
	if err := unix.SchedSetAttr(0, a, 0); err != nil {
		return fmt.Errorf("rtsched: thread to priority %d: %w", prio, err)
	}
	return nil
}

// processPrio is what Process last set: Start forks from a normal-class
// thread while it is not 0 (the goroutine calling Start may run on any thread).
var processPrio atomic.Int32

// Process puts every thread of the process in SCHED_RR at prio (0: the
// normal class); threads created later inherit it from the thread that
// creates them. Threads already at a higher real-time priority (the advert
// thread) keep theirs.
func Process(prio int) error {
	a, err := attr(prio)
	if err != nil {
		return err
	}
	processPrio.Store(int32(prio))
	// Twice: a thread started while the first pass ran may have been
	// cloned from one not yet moved.
	for range 2 {
		ents, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return fmt.Errorf("rtsched: %w", err)
		}
		for _, e := range ents {
			tid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			cur, err := unix.SchedGetAttr(tid, 0)
			if err != nil {
				continue // exited since listed
			}
			if prio > 0 && cur.Policy == unix.SCHED_RR && cur.Priority >= a.Priority {
				continue
			}
			if err := unix.SchedSetAttr(tid, a, 0); err != nil && err != unix.ESRCH {
				return fmt.Errorf("rtsched: thread %d to priority %d: %w", tid, prio, err)
			}
		}
	}
	return nil
}

// Start starts cmd in the normal scheduling class, whatever the class of the
// daemon's threads: a script must not outrank the host's other processes.
// When the calling thread is real-time the fork is made from a thread moved
// back to the normal class for it, then discarded; so cmd must not set
// SysProcAttr.Pdeathsig, which would fire as that thread ends.
func Start(cmd *exec.Cmd) error {
	if processPrio.Load() == 0 {
		return cmd.Start()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Never unlocked: the thread ends with this goroutine rather than
		// return to the pool in a class not its own.
		if err := Thread(0); err != nil {
			errc <- err
			return
		}
		errc <- cmd.Start()
	}()
	return <-errc
}

// StatSched reads the scheduling policy (unix.SCHED_*) and real-time priority
// of the task a /proc/PID[/task/TID]/stat line describes (fields 41 and 40,
// proc(5)); ok is false for a line too short to hold them.
func StatSched(stat string) (policy, prio int, ok bool) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 39 {
		return 0, 0, false
	}
	prio, err1 := strconv.Atoi(f[37])
	policy, err2 := strconv.Atoi(f[38])
	return policy, prio, err1 == nil && err2 == nil
}
