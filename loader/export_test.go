// Test-only API: running the programs on a frame, a channel of events, a
// lease's guard counter.

package loader

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/cilium/ebpf"
)

// RunXDP runs the XDP program once per repeat (BPF_PROG_RUN) on frame, as
// received on the loopback interface of the calling thread's network
// namespace (ifindex 1), and returns the verdict (XDP_DROP 1, XDP_PASS 2)
// and the mean time per run. Maps and timers are the live ones: tests and
// benchmarks see the same effects as real traffic.
func (d *Dataplane) RunXDP(frame []byte, repeat int) (uint32, time.Duration, error) {
	if err := d.ensurePrograms(); err != nil {
		return 0, 0, err
	}
	return run(d.objs.VrrpXdp, frame, repeat)
}

// RunTC is RunXDP for the TC ingress program (TC_ACT_SHOT 2 drops,
// TC_ACT_UNSPEC, as uint32 0xffffffff, passes).
func (d *Dataplane) RunTC(frame []byte, repeat int) (uint32, time.Duration, error) {
	if err := d.ensurePrograms(); err != nil {
		return 0, 0, err
	}
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

// Events streams ring-buffer events until ctx is done or the Dataplane is
// closed, then closes the channel. It is HandleEvents with a channel between
// the reader and the caller.
func (d *Dataplane) Events(ctx context.Context) (<-chan Event, error) {
	ch := make(chan Event, 64)
	ctx, cancel := context.WithCancel(ctx)
	done, err := d.HandleEvents(ctx, func(ev Event) {
		select {
		case ch <- ev:
		case <-ctx.Done():
		case <-d.done:
		}
	})
	if err != nil {
		cancel()
		return nil, err
	}
	go func() {
		<-done
		cancel()
		close(ch)
	}()
	return ch, nil
}

// VIPGuarded is how many ARP requests / solicitations for a VIP were dropped
// because its lease had lapsed.
func (d *Dataplane) VIPGuarded(ifindex uint32, addr netip.Addr) (uint64, error) {
	var l vrrpVipLease
	if err := d.objs.VipLeases.Lookup(vipKey(ifindex, addr), &l); err != nil {
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return 0, nil
		}
		return 0, fmt.Errorf("loader: read vip lease %v: %w", addr, err)
	}
	return l.Guarded, nil
}

func (d *Dataplane) ensurePrograms() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.loadPrograms()
}
