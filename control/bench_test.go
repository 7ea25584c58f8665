package control

import (
	"fmt"
	"log/slog"
	"runtime"
	"testing"
	"time"
)

type nopSender struct{ batches, adverts int }

func (s *nopSender) Send(m []OutAdvert) error { s.batches++; s.adverts += len(m); return nil }

// startMasters starts a Runner of n owner instances (priority 255: Master at
// once) at 10 ms on clock, sending to s.
func startMasters(b *testing.B, clock Clock, s Sender, n int) {
	b.Helper()
	var cfgs []InstanceConfig
	for i := range n {
		c := inst(fmt.Sprintf("VI_%04d", i), uint8(i%255+1), 255, fmt.Sprintf("198.18.%d.%d/32", 2+i/250, i%250+1))
		c.Key = InstanceKey{Ifindex: 2 + i/255, VRID: uint8(i%255 + 1)}
		c.AdvertInterval = 10 * time.Millisecond
		cfgs = append(cfgs, c)
	}
	r, err := NewRunner(Deps{Clock: clock, Dataplane: newFakeDataplane(), Addresses: newFakeAddresses(),
		Sender: s, Logger: slog.New(slog.DiscardHandler)}, Setup{Instances: cfgs})
	if err != nil {
		b.Fatal(err)
	}
	if err := r.Start(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkAdvertTick: one 10 ms tick of N Master instances (one batch per tick).
func BenchmarkAdvertTick(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			clock := newFakeClock()
			s := &nopSender{}
			startMasters(b, clock, s, n)
			s.batches, s.adverts = 0, 0
			b.ResetTimer()
			for range b.N {
				clock.Advance(10 * time.Millisecond)
			}
			b.StopTimer()
			if s.batches != b.N || s.adverts != b.N*n {
				b.Fatalf("%d batches / %d adverts for %d ticks of %d instances", s.batches, s.adverts, b.N, n)
			}
			b.ReportMetric(float64(s.adverts)/float64(b.N), "adverts/tick")
		})
	}
}

// manualClock is an AdvertClock that only records the armed function, and a
// Clock whose time moves only when told, neither allocating: the tick's own
// allocations are what BenchmarkAdvertTickAllocs counts.
type manualClock struct {
	now time.Time
	f   func()
}

type nopTimer struct{}

func (nopTimer) Stop() bool { return true }

func (c *manualClock) Now() time.Time                            { return c.now }
func (c *manualClock) AfterFunc(_ time.Duration, f func()) Timer { c.f = f; return nopTimer{} }

// BenchmarkAdvertTickAllocs: the steady-state advert tick of 1000 Masters
// (machine, schedule, batch) allocates nothing.
func BenchmarkAdvertTickAllocs(b *testing.B) {
	const n = 1000
	clock := &manualClock{now: t0}
	s := &nopSender{}
	startMasters(b, clock, s, n)
	tick := func() {
		clock.now = clock.now.Add(10 * time.Millisecond)
		clock.f()
	}
	tick()
	s.batches, s.adverts = 0, 0
	b.ReportAllocs()
	for b.Loop() {
		tick()
	}
	if s.adverts != s.batches*n || s.batches == 0 {
		b.Fatalf("%d batches / %d adverts for ticks of %d instances", s.batches, s.adverts, n)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(s.adverts), "ns/advert")
}

// BenchmarkInstanceMemory reports the heap a running Master instance costs
// the Runner (machine, config, timers, schedule), measured over 1000 of them.
func BenchmarkInstanceMemory(b *testing.B) {
	const n = 1000
	var before, after runtime.MemStats
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&before)
		clock := &manualClock{now: t0}
		startMasters(b, clock, &nopSender{}, n)
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(clock)
	}
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/instance")
}
