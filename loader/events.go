package loader

import (
	"github.com/ebpfvrrp/ebpfvrrp/vrrp"

	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cilium/ebpf/ringbuf"
)

// HandleEvents calls fn with each ring-buffer event, in order, on the reader's
// own goroutine, until ctx is done or the Dataplane is closed; then it closes
// the returned channel. Calling fn directly (no channel hop) is what a
// takeover waits for: the kernel's MASTER_DOWN reaches the state machine as
// soon as the reader wakes. The kernel writes an event only when something
// matters to the state machine, so in steady state (a master adverting
// regularly) the reader is never woken. Only one reader per Dataplane makes
// sense: readers would split the records between them. Records the kernel
// could not write because nobody drained the ring are counted by EventsLost.
// Records written before Load (the programs kept running while no daemon read
// the pinned ring) are skipped: they describe a past the caller never saw;
// Master and Peers give the current picture instead.
func (d *Dataplane) HandleEvents(ctx context.Context, fn func(Event)) (<-chan struct{}, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, fmt.Errorf("loader: open ring buffer: %w", ErrClosed)
	}
	rd, err := ringbuf.NewReader(d.objs.Events)
	if err != nil {
		return nil, fmt.Errorf("loader: open ring buffer: %w", err)
	}
	if d.readers == nil {
		d.readers = map[*ringbuf.Reader]struct{}{}
	}
	d.readers[rd] = struct{}{}
	stopped := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			rd.Close() // interrupts ReadInto
		case <-stopped:
		}
	}()
	go func() {
		defer func() {
			d.mu.Lock()
			delete(d.readers, rd)
			d.mu.Unlock()
			rd.Close()
			close(stopped)
		}()
		var rec ringbuf.Record
		stale := 0
		for {
			if err := rd.ReadInto(&rec); err != nil {
				if !errors.Is(err, ringbuf.ErrClosed) && !errors.Is(err, os.ErrDeadlineExceeded) {
					d.log.Error("ring buffer read failed", "err", err)
				}
				return
			}
			var raw vrrpEvent
			if _, err := binary.Decode(rec.RawSample, binary.NativeEndian, &raw); err != nil {
				d.log.Error("malformed ring buffer record", "len", len(rec.RawSample), "err", err)
				continue
			}
			if raw.TsNs < d.loadedNs {
				if stale++; stale == 1 {
					d.log.Info("skipping kernel events written before this process loaded the dataplane")
				}
				continue
			}
			if ctx.Err() != nil {
				return
			}
			select {
			case <-d.done:
				return
			default:
			}
			fn(eventFromRaw(raw))
		}
	}()
	return stopped, nil
}

func eventFromRaw(r vrrpEvent) Event {
	k := InstanceKey{Ifindex: int(r.Ifindex), VRID: r.Vrid, Family: vrrp.Family(r.Family)}
	return Event{
		Time:         wallTime(r.TsNs),
		Key:          k,
		Type:         EventType(r.Type),
		Addr:         addrFrom(vrrp.Family(r.Family), r.Addr),
		Priority:     r.Priority,
		PrevPriority: r.PrevPriority,
		Interval:     time.Duration(r.IntervalCs) * centisecond,
	}
}

// EventsLost is how many events the kernel could not write because the ring
// buffer was full (the controller did not drain it fast enough), summed over
// CPUs since the maps were created; it survives restarts that reuse the pins.
// A lost MASTER_DOWN is still caught by the controller's own deadline; any
// other lost event means the controller's view may lag until the next one,
// so a rising count deserves an alert.
func (d *Dataplane) EventsLost() (uint64, error) {
	var per []uint64
	if err := d.objs.EventsLost.Lookup(uint32(0), &per); err != nil {
		return 0, fmt.Errorf("loader: read events lost: %w", err)
	}
	var sum uint64
	for _, c := range per {
		sum += c
	}
	return sum, nil
}
