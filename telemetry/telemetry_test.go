package telemetry

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

type fakeSource struct {
	peers   []Peer
	drops   []Drop
	tx      []Tx
	inst    []Instance
	dropErr error
	lost    uint64
}

func (f fakeSource) Peers() ([]Peer, error)      { return f.peers, nil }
func (f fakeSource) Drops() ([]Drop, error)      { return f.drops, f.dropErr }
func (f fakeSource) Tx() ([]Tx, error)           { return f.tx, nil }
func (f fakeSource) EventsLost() (uint64, error) { return f.lost, nil }
func (f fakeSource) Instances() []Instance       { return f.inst }

func TestCollector(t *testing.T) {
	src := fakeSource{
		peers: []Peer{{Interface: "eth0", VRID: 50, Family: 4, Address: "198.18.0.5", Count: 10, Missed: 2,
			Priority: 150, Interval: time.Second, Age: 500 * time.Millisecond, MaxGap: 3 * time.Second,
			Buckets: []uint64{0, 1, 0, 3}}},
		drops: []Drop{{Interface: "eth0", Reason: "wrong_password", Count: 7}},
		lost:  3,
		tx:    []Tx{{Interface: "eth0", VRID: 50, Family: 4, Count: 42}},
		inst: []Instance{{Name: "VI_1", Interface: "eth0", VRID: 50, State: 2, ConfiguredPriority: 150,
			EffectivePriority: 140, Transitions: []Transition{{From: "BACKUP", To: "MASTER", Reason: "master_down_expired", Count: 1}}}},
	}
	want := `
# HELP ebpfvrrp_adverts_received_total Valid adverts accepted by the kernel from this peer.
# TYPE ebpfvrrp_adverts_received_total counter
ebpfvrrp_adverts_received_total{family="4",interface="eth0",peer="198.18.0.5",vrid="50"} 10
# HELP ebpfvrrp_drops_total VRRP packets dropped by the kernel, by interface and reason.
# TYPE ebpfvrrp_drops_total counter
ebpfvrrp_drops_total{interface="eth0",reason="wrong_password"} 7
# HELP ebpfvrrp_kernel_events_lost_total Kernel events dropped because the ring buffer to the controller was full (the controller's own deadline still covers master down).
# TYPE ebpfvrrp_kernel_events_lost_total counter
ebpfvrrp_kernel_events_lost_total 3
# HELP ebpfvrrp_instance_state VRRP state of the instance: 0 init, 1 backup, 2 master, 3 fault.
# TYPE ebpfvrrp_instance_state gauge
ebpfvrrp_instance_state{instance="VI_1",interface="eth0",vrid="50"} 2
# HELP ebpfvrrp_instance_priority Priority of the instance; kind is configured or effective (after trackers).
# TYPE ebpfvrrp_instance_priority gauge
ebpfvrrp_instance_priority{instance="VI_1",interface="eth0",kind="configured",vrid="50"} 150
ebpfvrrp_instance_priority{instance="VI_1",interface="eth0",kind="effective",vrid="50"} 140
# HELP ebpfvrrp_peer_advert_interarrival_seconds Gaps between consecutive adverts from this peer, from the kernel's log2 histogram.
# TYPE ebpfvrrp_peer_advert_interarrival_seconds histogram
ebpfvrrp_peer_advert_interarrival_seconds_bucket{family="4",interface="eth0",peer="198.18.0.5",vrid="50",le="2e-06"} 0
ebpfvrrp_peer_advert_interarrival_seconds_bucket{family="4",interface="eth0",peer="198.18.0.5",vrid="50",le="4e-06"} 1
ebpfvrrp_peer_advert_interarrival_seconds_bucket{family="4",interface="eth0",peer="198.18.0.5",vrid="50",le="8e-06"} 1
ebpfvrrp_peer_advert_interarrival_seconds_bucket{family="4",interface="eth0",peer="198.18.0.5",vrid="50",le="+Inf"} 4
ebpfvrrp_peer_advert_interarrival_seconds_sum{family="4",interface="eth0",peer="198.18.0.5",vrid="50"} 3.9e-05
ebpfvrrp_peer_advert_interarrival_seconds_count{family="4",interface="eth0",peer="198.18.0.5",vrid="50"} 4
# HELP ebpfvrrp_peer_missed_adverts_total Adverts this peer should have sent (by its advertised interval) that never arrived.
# TYPE ebpfvrrp_peer_missed_adverts_total counter
ebpfvrrp_peer_missed_adverts_total{family="4",interface="eth0",peer="198.18.0.5",vrid="50"} 2
# HELP ebpfvrrp_transitions_total State transitions of the instance by from, to and reason.
# TYPE ebpfvrrp_transitions_total counter
ebpfvrrp_transitions_total{from="BACKUP",instance="VI_1",interface="eth0",reason="master_down_expired",to="MASTER",vrid="50"} 1
`
	names := []string{"ebpfvrrp_adverts_received_total", "ebpfvrrp_drops_total", "ebpfvrrp_instance_state",
		"ebpfvrrp_instance_priority", "ebpfvrrp_peer_advert_interarrival_seconds",
		"ebpfvrrp_peer_missed_adverts_total", "ebpfvrrp_transitions_total", "ebpfvrrp_kernel_events_lost_total"}
	if err := testutil.CollectAndCompare(NewCollector(src, nil), strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
}

func TestCollectorReportsMapErrors(t *testing.T) {
	src := fakeSource{dropErr: errors.New("map gone")}
	want := `
# HELP ebpfvrrp_scrape_errors_total Errors reading the kernel maps during this scrape, by map.
# TYPE ebpfvrrp_scrape_errors_total counter
ebpfvrrp_scrape_errors_total{map="drops"} 1
`
	if err := testutil.CollectAndCompare(NewCollector(src, nil), strings.NewReader(want), "ebpfvrrp_scrape_errors_total"); err != nil {
		t.Fatal(err)
	}
}

func TestRegistryLints(t *testing.T) {
	reg := NewRegistry(fakeSource{}, "test", nil)
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint %s: %s", p.Metric, p.Text)
	}
}
