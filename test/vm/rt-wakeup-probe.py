#!/usr/bin/env python3
"""How late a thread wakes for a 10 ms period, and the VM's steal time meanwhile.

Run it real-time beside busy loops to tell the guest's scheduling from the host's:

    for i in 1 2; do timeout 22 sh -c 'while :; do :; done' & done
    chrt -r 50 python3 test/vm/rt-wakeup-probe.py

A SCHED_RR thread preempts every normal-class busy loop inside the VM at once, so
wake-ups late by tens of milliseconds while steal grows are the hypervisor
holding the whole VM (a CPU quota), which no scheduling class inside can beat.
"""
import sys
import time

DURATION = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0
PERIOD = 0.010


def steal_ticks():
    with open("/proc/stat") as f:
        return int(f.readline().split()[8])


steal0 = steal_ticks()
late = []
start = time.monotonic()
due = start
while time.monotonic() - start < DURATION:
    due += PERIOD
    wait = due - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    late.append(time.monotonic() - due)
steal = (steal_ticks() - steal0) / 100  # USER_HZ
late.sort()
print(f"{len(late)} wake-ups in {DURATION:.0f} s: median late {1000 * late[len(late) // 2]:.2f} ms, "
      f"max {1000 * late[-1]:.1f} ms, {sum(1 for x in late if x > 0.005)} over 5 ms; "
      f"steal {steal:.2f} s of CPU time")
