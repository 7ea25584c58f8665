package lab

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// Sample is one client request to the VIP.
type Sample struct {
	// T is when the request was sent, relative to the probe's start.
	T       time.Duration
	Latency time.Duration
	OK      bool
	// Body names the backend that answered ("web-7", "web-8"), or holds the raw body
	// when it is not one of the lab's pages.
	Body string
	Err  string
}

// Outage is a run of failed requests: from the first failure's send time to the send
// time of the next success (Open when the probe stopped before one).
type Outage struct {
	Start, End time.Duration
	Failures   int
	Open       bool
}

// Duration is End − Start.
func (o Outage) Duration() time.Duration { return o.End - o.Start }

// ProbeResult summarises a probe run.
type ProbeResult struct {
	Requests, Failures int
	LongestOutage      time.Duration
	Outages            []Outage
	// Backends counts successful answers per backend.
	Backends map[string]int
	Timeline []Sample
	Duration time.Duration
	// Start is the wall-clock time of T=0, to line samples up with other events.
	Start time.Time
}

// String is a one-line summary for logs.
func (r ProbeResult) String() string {
	return fmt.Sprintf("%d requests over %v, %d failed, %d outages, longest %v, backends %v",
		r.Requests, r.Duration.Round(time.Millisecond), r.Failures, len(r.Outages), r.LongestOutage.Round(time.Millisecond), r.Backends)
}

// Probe requests the VIP from the client host at a fixed rate.
type Probe struct {
	start   time.Time
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	samples []Sample
	stopped time.Duration
	once    sync.Once
}

// ProbeTimeout bounds each probe request (connect plus answer): a request to a VIP
// whose owner vanished fails after this long. It stays below TCP's initial SYN
// retransmission timeout (1 s): a request whose SYN was lost in an outage must fail,
// not succeed late on the retransmission and hide the outage.
const ProbeTimeout = 800 * time.Millisecond

// maxInFlight caps concurrent requests; a tick that finds the cap reached is recorded
// as a failure, so a stuck VIP can never hide behind missing samples.
const maxInFlight = 256

// StartProbe sends GET http://VIP/ from the client namespace every interval until Stop.
// Requests run concurrently (a slow one does not delay the next) on fresh connections
// (no keep-alive), so each one goes through ARP/ND and a new TCP handshake.
func (l *Lab) StartProbe(interval time.Duration) *Probe {
	ctx, cancel := context.WithCancel(context.Background())
	p := &Probe{start: time.Now(), cancel: cancel}
	dial, err := l.Dialer(Client, ProbeTimeout)
	if err != nil {
		p.add(Sample{Err: err.Error()})
		cancel()
		return p
	}
	client := &http.Client{
		Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true, MaxConnsPerHost: 0},
		Timeout:   ProbeTimeout,
	}
	url := "http://" + netip.AddrPortFrom(l.VIP(), 80).String() + "/"
	sem := make(chan struct{}, maxInFlight)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			sent := time.Now()
			select {
			case sem <- struct{}{}:
				p.wg.Add(1)
				go func() {
					defer p.wg.Done()
					defer func() { <-sem }()
					// Not ctx: Stop lets requests in flight finish (they end within
					// ProbeTimeout), or the failures at the end of an outage would be lost.
					p.add(p.request(context.Background(), client, url, sent))
				}()
			default:
				p.add(Sample{T: sent.Sub(p.start), Err: "probe: too many requests in flight"})
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return p
}

func (p *Probe) request(ctx context.Context, c *http.Client, url string, sent time.Time) Sample {
	s := Sample{T: sent.Sub(p.start)}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err == nil {
		var resp *http.Response
		resp, err = c.Do(req)
		if err == nil {
			var b []byte
			b, err = io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if err == nil && resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("status %s", resp.Status)
			}
			s.Body = backendOf(string(b))
		}
	}
	s.Latency = time.Since(sent)
	if err != nil {
		s.Err = err.Error()
	} else {
		s.OK = true
	}
	return s
}

func backendOf(body string) string {
	b := strings.TrimSpace(body)
	if name, ok := strings.CutPrefix(b, "I am "); ok {
		return name
	}
	return b
}

func (p *Probe) add(s Sample) {
	p.mu.Lock()
	p.samples = append(p.samples, s)
	p.mu.Unlock()
}

// Snapshot summarises the samples so far without stopping the probe.
func (p *Probe) Snapshot() ProbeResult {
	p.mu.Lock()
	samples := slices.Clone(p.samples)
	d := p.stopped
	p.mu.Unlock()
	if d == 0 {
		d = time.Since(p.start)
	}
	return Summarise(p.start, d, samples)
}

// Stop stops sending, waits for requests in flight (at most ProbeTimeout), and
// returns the result. Calling
// it again returns the same result.
func (p *Probe) Stop() ProbeResult {
	p.once.Do(func() {
		d := time.Since(p.start)
		p.cancel()
		p.wg.Wait()
		p.mu.Lock()
		p.stopped = d
		p.mu.Unlock()
	})
	return p.Snapshot()
}

// Summarise computes a ProbeResult from samples (in any order).
func Summarise(start time.Time, d time.Duration, samples []Sample) ProbeResult {
	slices.SortStableFunc(samples, func(a, b Sample) int { return int(a.T - b.T) })
	r := ProbeResult{Start: start, Duration: d, Timeline: samples, Backends: map[string]int{}, Requests: len(samples)}
	var cur *Outage
	for _, s := range samples {
		if s.OK {
			r.Backends[s.Body]++
			if cur != nil {
				cur.End = s.T
				r.Outages = append(r.Outages, *cur)
				cur = nil
			}
			continue
		}
		r.Failures++
		if cur == nil {
			cur = &Outage{Start: s.T}
		}
		cur.Failures++
		cur.End = s.T + s.Latency
	}
	if cur != nil {
		cur.Open = true
		r.Outages = append(r.Outages, *cur)
	}
	for _, o := range r.Outages {
		r.LongestOutage = max(r.LongestOutage, o.Duration())
	}
	return r
}

// Started returns when the probe sent its first request; Sample times count from it.
func (p *Probe) Started() time.Time { return p.start }
