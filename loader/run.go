package loader

import (
	"fmt"
	"time"

	"github.com/cilium/ebpf"
)

// RunXDP runs the XDP program once per repeat (BPF_PROG_RUN) on frame, as
// received on the loopback interface of the calling thread's network
// namespace (ifindex 1), and returns the verdict (XDP_DROP 1, XDP_PASS 2)
// and the mean time per run. Maps and timers are the live ones: tests and
// benchmarks see the same effects as real traffic.
func (d *Dataplane) RunXDP(frame []byte, repeat int) (uint32, time.Duration, error) {
	return run(d.objs.VrrpXdp, frame, repeat)
}

// RunTC is RunXDP for the TC ingress program (TC_ACT_SHOT 2 drops,
// TC_ACT_UNSPEC, as uint32 0xffffffff, passes).
func (d *Dataplane) RunTC(frame []byte, repeat int) (uint32, time.Duration, error) {
	return run(d.objs.VrrpTcIngress, frame, repeat)
}

func run(p *ebpf.Program, frame []byte, repeat int) (uint32, time.Duration, error) {
	if repeat < 1 {
		repeat = 1
	}
	ret, dur, err := p.Benchmark(frame, repeat, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("loader: run %s: %w", p, err)
	}
	return ret, dur, nil
}

// Verdicts returned by RunXDP and RunTC.
const (
	XDPDrop  uint32 = 1
	XDPPass  uint32 = 2
	TCShot   uint32 = 2
	TCUnspec uint32 = 0xffffffff
)
