// Package telemetry owns ebpfvrrp's Prometheus metrics. Every per-packet number
// (adverts received, inter-arrival histograms, missed heartbeats, drops, our own tx
// gaps) is read from the kernel's pinned maps at scrape time; nothing the kernel
// already counts is counted again in userspace. Controller state (instance state,
// priorities, transitions, split brain, VIP conflicts) comes from the runner's
// snapshot. The package has no kernel requirement of its own: it sees the dataplane
// only through the Source interface.
//
// Counters with a known label set are exported at zero from start, so that
// increase() and rate() see the first event (a series that appears with value 1
// has no increase): a Source returns a Drop for every reason on every attached
// interface and a Tx for every instance, zero counts included; transitions are
// exported per instance for every (from, to, reason) that any instance reports,
// and internal/daemon reports the RFC's failovers (control.FailoverTransitions)
// for every instance from start. A transition no instance has made yet and that
// is not a failover (tracker_failed, interface_down...) appears when it first
// happens. Per-peer series appear with the peer.
package telemetry

import (
	"github.com/ebpfvrrp/ebpfvrrp/vrrp"
	"log/slog"
	"math"
	"runtime"
	"sort"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Namespace prefixes every metric name.
const Namespace = "ebpfvrrp"

// Peer is the kernel's view of one advert source on one instance.
type Peer struct {
	Interface string
	VRID      uint8
	Family    vrrp.Family
	Address   string
	Count     uint64
	Missed    uint64
	Priority  uint8
	Interval  time.Duration // advertised
	Age       time.Duration // since its last accepted advert
	MaxGap    time.Duration
	// Buckets[i] counts inter-arrival gaps in [2^i, 2^(i+1)) µs; the last bucket
	// also holds everything larger.
	Buckets []uint64
}

// Drop is one per-interface, per-reason kernel drop counter (summed over CPUs).
type Drop struct {
	Interface string
	Reason    string
	Count     uint64
}

// Tx is the kernel's count of our own adverts leaving an interface (TC egress).
type Tx struct {
	Interface string
	VRID      uint8
	Family    vrrp.Family
	Count     uint64
	MaxGap    time.Duration
	Buckets   []uint64 // same layout as Peer.Buckets
}

// Transition counts one (from, to, reason) triple of an instance.
type Transition struct {
	From, To, Reason string
	Count            uint64
}

// Instance is the controller's view of one VRRP instance.
type Instance struct {
	Name      string
	Interface string
	VRID      uint8
	// State is the value of ebpfvrrp_instance_state: 0 init, 1 backup, 2 master,
	// 3 fault, as control.State and the kernel number them.
	State              uint8
	ConfiguredPriority uint8
	EffectivePriority  uint8
	SplitBrain         bool
	BothMasters        uint64 // adverts from another Master seen while we were Master
	VIPConflicts       uint64
	PathFailure        bool
	Transitions        []Transition
}

// Source gives the collector what it reports. internal/daemon implements it over the
// loader and the control runner.
type Source interface {
	Peers() ([]Peer, error)
	Drops() ([]Drop, error)
	Tx() ([]Tx, error)
	// EventsLost is how many kernel events the ring buffer had no room for.
	EventsLost() (uint64, error)
	Instances() []Instance
}

var (
	peerLabels = []string{"interface", "vrid", "family", "peer"}
	instLabels = []string{"instance", "interface", "vrid"}

	descState = prometheus.NewDesc(Namespace+"_instance_state",
		"VRRP state of the instance: 0 init, 1 backup, 2 master, 3 fault.", instLabels, nil)
	descPriority = prometheus.NewDesc(Namespace+"_instance_priority",
		"Priority of the instance; kind is configured or effective (after trackers).", append(instLabels, "kind"), nil)
	descTransitions = prometheus.NewDesc(Namespace+"_transitions_total",
		"State transitions of the instance by from, to and reason.", append(instLabels, "from", "to", "reason"), nil)
	descSplitBrain = prometheus.NewDesc(Namespace+"_split_brain",
		"1 while another Master is advertising the same VRID as this Master.", instLabels, nil)
	descBothMasters = prometheus.NewDesc(Namespace+"_both_masters_adverts_total",
		"Adverts from another Master received while this instance was Master.", instLabels, nil)
	descConflicts = prometheus.NewDesc(Namespace+"_vip_conflicts_total",
		"Answers from another MAC to this Master's ARP/NS probes of its VIPs.", instLabels, nil)
	descPathFailure = prometheus.NewDesc(Namespace+"_path_failure",
		"1 while the master is silent on the primary path but heard on a secondary one.", instLabels, nil)

	descRx = prometheus.NewDesc(Namespace+"_adverts_received_total",
		"Valid adverts accepted by the kernel from this peer.", peerLabels, nil)
	descAge = prometheus.NewDesc(Namespace+"_peer_last_advert_age_seconds",
		"Seconds since the kernel last accepted an advert from this peer.", peerLabels, nil)
	descInterarrival = prometheus.NewDesc(Namespace+"_peer_advert_interarrival_seconds",
		"Gaps between consecutive adverts from this peer, from the kernel's log2 histogram.", peerLabels, nil)
	descMissed = prometheus.NewDesc(Namespace+"_peer_missed_adverts_total",
		"Adverts this peer should have sent (by its advertised interval) that never arrived.", peerLabels, nil)
	descPeerPrio = prometheus.NewDesc(Namespace+"_peer_priority",
		"Priority carried in this peer's last advert.", peerLabels, nil)
	descPeerInterval = prometheus.NewDesc(Namespace+"_peer_advert_interval_seconds",
		"Advert interval carried in this peer's last advert.", peerLabels, nil)
	descMaxGap = prometheus.NewDesc(Namespace+"_peer_max_gap_seconds",
		"Longest gap between two adverts from this peer.", peerLabels, nil)

	descDrops = prometheus.NewDesc(Namespace+"_drops_total",
		"VRRP packets dropped by the kernel, by interface and reason.", []string{"interface", "reason"}, nil)

	txLabels = []string{"interface", "vrid", "family"}
	descTx   = prometheus.NewDesc(Namespace+"_adverts_sent_total",
		"Our own adverts seen leaving the interface (TC egress).", txLabels, nil)
	descTxGap = prometheus.NewDesc(Namespace+"_tx_gap_seconds",
		"Gaps between our own consecutive adverts: growth here means our sending is delayed.", txLabels, nil)
	descTxMaxGap = prometheus.NewDesc(Namespace+"_tx_max_gap_seconds",
		"Longest gap between two of our own adverts.", txLabels, nil)

	descEventsLost = prometheus.NewDesc(Namespace+"_kernel_events_lost_total",
		"Kernel events dropped because the ring buffer to the controller was full (the controller's own deadline still covers master down).", nil, nil)

	descScrapeErrors = prometheus.NewDesc(Namespace+"_scrape_errors_total",
		"Errors reading the kernel maps during this scrape, by map.", []string{"map"}, nil)
)

// Collector is a prometheus.Collector over a Source.
type Collector struct {
	src Source
	log *slog.Logger
}

// NewCollector returns a collector reading src at every scrape.
func NewCollector(src Source, log *slog.Logger) *Collector {
	if log == nil {
		log = slog.Default()
	}
	return &Collector{src: src, log: log}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descState, descPriority, descTransitions, descSplitBrain,
		descBothMasters, descConflicts, descPathFailure, descRx, descAge, descInterarrival, descMissed,
		descPeerPrio, descPeerInterval, descMaxGap, descDrops, descTx, descTxGap, descTxMaxGap, descEventsLost, descScrapeErrors} {
		ch <- d
	}
}

// BucketBounds returns the upper bounds (seconds) of a kernel log2-µs histogram with n buckets.
func BucketBounds(n int) []float64 {
	b := make([]float64, 0, n)
	for i := 0; i < n-1; i++ {
		b = append(b, math.Ldexp(1, i+1)/1e6)
	}
	return b
}

// histogram turns the kernel's per-bucket counts into a cumulative Prometheus
// histogram. The sum is estimated from bucket midpoints: the kernel keeps no sum.
func histogram(d *prometheus.Desc, buckets []uint64, labels ...string) prometheus.Metric {
	bounds := BucketBounds(len(buckets))
	cum := make(map[float64]uint64, len(bounds))
	var total uint64
	var sum float64
	for i, n := range buckets {
		total += n
		lo := math.Ldexp(1, i) / 1e6
		sum += float64(n) * lo * 1.5
		if i < len(bounds) {
			cum[bounds[i]] = total
		}
	}
	return prometheus.MustNewConstHistogram(d, total, sum, cum, labels...)
}

func u8(v uint8) string { return strconv.Itoa(int(v)) }

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	counter := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, l...)
	}
	b2f := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	insts := c.src.Instances()
	triples := transitionTriples(insts)
	for _, in := range insts {
		l := []string{in.Name, in.Interface, u8(in.VRID)}
		gauge(descState, float64(in.State), l...)
		gauge(descPriority, float64(in.ConfiguredPriority), append(l, "configured")...)
		gauge(descPriority, float64(in.EffectivePriority), append(l, "effective")...)
		gauge(descSplitBrain, b2f(in.SplitBrain), l...)
		gauge(descPathFailure, b2f(in.PathFailure), l...)
		counter(descBothMasters, float64(in.BothMasters), l...)
		counter(descConflicts, float64(in.VIPConflicts), l...)
		counts := make(map[triple]uint64, len(in.Transitions))
		for _, tr := range in.Transitions {
			counts[triple{tr.From, tr.To, tr.Reason}] += tr.Count
		}
		for _, tr := range triples {
			counter(descTransitions, float64(counts[tr]), append(l, tr.from, tr.to, tr.reason)...)
		}
	}
	scrapeErr := func(m string, err error) {
		c.log.Warn("metrics: reading kernel map failed", "map", m, "err", err)
		counter(descScrapeErrors, 1, m)
	}
	if peers, err := c.src.Peers(); err != nil {
		scrapeErr("peers", err)
	} else {
		for _, p := range peers {
			l := []string{p.Interface, u8(p.VRID), u8(uint8(p.Family)), p.Address}
			counter(descRx, float64(p.Count), l...)
			counter(descMissed, float64(p.Missed), l...)
			gauge(descAge, p.Age.Seconds(), l...)
			gauge(descPeerPrio, float64(p.Priority), l...)
			gauge(descPeerInterval, p.Interval.Seconds(), l...)
			gauge(descMaxGap, p.MaxGap.Seconds(), l...)
			if len(p.Buckets) > 0 {
				ch <- histogram(descInterarrival, p.Buckets, l...)
			}
		}
	}
	if drops, err := c.src.Drops(); err != nil {
		scrapeErr("drops", err)
	} else {
		for _, d := range drops {
			counter(descDrops, float64(d.Count), d.Interface, d.Reason)
		}
	}
	if n, err := c.src.EventsLost(); err != nil {
		scrapeErr("events_lost", err)
	} else {
		counter(descEventsLost, float64(n))
	}
	if txs, err := c.src.Tx(); err != nil {
		scrapeErr("tx", err)
	} else {
		for _, t := range txs {
			l := []string{t.Interface, u8(t.VRID), u8(uint8(t.Family))}
			counter(descTx, float64(t.Count), l...)
			gauge(descTxMaxGap, t.MaxGap.Seconds(), l...)
			if len(t.Buckets) > 0 {
				ch <- histogram(descTxGap, t.Buckets, l...)
			}
		}
	}
}

type triple struct{ from, to, reason string }

// transitionTriples returns every (from, to, reason) any instance reports, sorted:
// each instance exports all of them, at zero where it has not made that
// transition, so that a transition one instance has made is visible at zero on
// the others before they make it.
func transitionTriples(insts []Instance) []triple {
	set := map[triple]bool{}
	for _, in := range insts {
		for _, tr := range in.Transitions {
			set[triple{tr.From, tr.To, tr.Reason}] = true
		}
	}
	out := make([]triple, 0, len(set))
	for t := range set {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.from != b.from {
			return a.from < b.from
		}
		if a.to != b.to {
			return a.to < b.to
		}
		return a.reason < b.reason
	})
	return out
}

// NewRegistry returns a registry with the collector, build info and Go/process
// collectors registered.
func NewRegistry(src Source, version string, log *slog.Logger) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(src, log))
	bi := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "build_info",
		Help:        "Build information; the value is always 1.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()},
	})
	bi.Set(1)
	reg.MustRegister(bi)
	// go_goroutines, process_open_fds, process_resident_memory_bytes…: what a
	// soak watches for leaks.
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
