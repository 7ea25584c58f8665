package vm

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/lab"
)

// Scenario 1: election and steady state. The tutorial's config (VRRPv2, PASS, 1 s):
// the priority-150 host holds the VIP and the client sees both web pages alternate.
func TestElection(t *testing.T) {
	t.Parallel()
	forEachLinkKind(t, func(t *testing.T, kind lab.LinkKind) {
		for _, p := range daemonPairs {
			t.Run(p.name, func(t *testing.T) {
				t.Parallel()
				l := newLab(t, p, lab.Options{LinkKind: kind})
				startPair(t, l)
				waitVIP(t, l, lab.LB5)
				settle(l)
				probe := l.StartProbe(20 * time.Millisecond)
				time.Sleep(2 * time.Second)
				r := probe.Stop()
				t.Logf("probe: %v", r)
				if r.Failures != 0 {
					t.Errorf("%d of %d requests failed in steady state", r.Failures, r.Requests)
					for _, s := range r.Timeline {
						if !s.OK {
							t.Logf("failed at %v after %v: %s", s.T, s.Latency, s.Err)
						}
					}
				}
				ok := r.Requests - r.Failures
				for _, w := range lab.WebHosts {
					// nginx round-robins, so each backend answers about half.
					if n := r.Backends[w]; n < ok/4 {
						t.Errorf("backend %s answered %d of %d requests; want both pages alternating: %v", w, n, ok, r.Backends)
					}
				}
				if len(r.Backends) != len(lab.WebHosts) {
					t.Errorf("unexpected backends: %v", r.Backends)
				}
				if got := l.VIPHolder(); !slices.Equal(got, []string{lab.LB5}) {
					t.Errorf("VIP holders after steady state: want [lb-5], got %v", got)
				}
			})
		}
	})
}

// failover cuts the master's bridge port and returns the probe's view of it.
func failover(t *testing.T, l *lab.Lab, probe *lab.Probe) {
	t.Helper()
	cut := time.Since(probe.Started())
	if err := l.CutLink(lab.LB5); err != nil {
		t.Fatal(err)
	}
	waitVIPOn(t, l, lab.LB6)
	waitServed(t, probe, cut)
}

// Scenario 2: the master's bridge port goes down ("the master dies"): the backup
// takes over and the client's outage is reported.
func TestFailover(t *testing.T) {
	t.Parallel()
	forEachLinkKind(t, func(t *testing.T, kind lab.LinkKind) {
		for _, p := range daemonPairs {
			t.Run(p.name, func(t *testing.T) {
				t.Parallel()
				l := newLab(t, p, lab.Options{LinkKind: kind, Version: 3, AdvertInterval: fastInterval})
				startPair(t, l)
				waitVIP(t, l, lab.LB5)
				settle(l)
				probe := l.StartProbe(10 * time.Millisecond)
				time.Sleep(300 * time.Millisecond)
				failover(t, l, probe)
				time.Sleep(300 * time.Millisecond)
				r := probe.Stop()
				t.Logf("failover (v3, %v adverts): %v", fastInterval, r)
				if r.LongestOutage > 10*time.Second {
					t.Errorf("outage %v, want under 10 s", r.LongestOutage)
				}
				if n := len(r.Outages); n == 0 || r.Outages[n-1].Open {
					t.Errorf("want one closed outage, got %+v", r.Outages)
				}
			})
		}
	})
}

// Scenario 3: the master comes back. With preempt it takes the VIP back; with
// nopreempt the VIP stays on lb-6.
func TestFailback(t *testing.T) {
	t.Parallel()
	forEachLinkKind(t, func(t *testing.T, kind lab.LinkKind) {
		for _, p := range daemonPairs {
			for _, nopreempt := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/nopreempt=%v", p.name, nopreempt), func(t *testing.T) {
					t.Parallel()
					l := newLab(t, p, lab.Options{LinkKind: kind, Version: 3, AdvertInterval: fastInterval, Nopreempt: nopreempt})
					if nopreempt {
						// With nopreempt both start BACKUP and whoever times out
						// first keeps the VIP: started together, the priority skew
						// (39 ms here) decides only if both daemons finish loading
						// within it. Start lb-5 alone so it is the master the
						// scenario cuts, as an operator brings up the pair.
						if err := l.StartLB(lab.LB5, l.DefaultConfig(lab.LB5)); err != nil {
							t.Fatal(err)
						}
						waitVIP(t, l, lab.LB5)
						if err := l.StartLB(lab.LB6, l.DefaultConfig(lab.LB6)); err != nil {
							t.Fatal(err)
						}
					} else {
						startPair(t, l)
					}
					waitVIP(t, l, lab.LB5)
					settle(l)
					holdVIP(t, l, 200*time.Millisecond, lab.LB5)
					probe := l.StartProbe(10 * time.Millisecond)
					time.Sleep(100 * time.Millisecond)
					failover(t, l, probe)
					back := time.Since(probe.Started())
					if err := l.RestoreLink(lab.LB5); err != nil {
						t.Fatal(err)
					}
					if nopreempt {
						// lb-5 must come back as backup and leave the VIP where it is.
						holdVIP(t, l, 3*time.Second, lab.LB6)
					} else {
						waitVIP(t, l, lab.LB5)
						settle(l)
						holdVIP(t, l, time.Second, lab.LB5)
					}
					waitServed(t, probe, back)
					r := probe.Stop()
					t.Logf("failover and failback (nopreempt=%v): %v; outages %+v", nopreempt, r, r.Outages)
					if len(r.Outages) == 0 {
						t.Errorf("cutting the master caused no outage at all: was it the master?")
					}
					if r.LongestOutage > 10*time.Second {
						t.Errorf("outage %v, want under 10 s", r.LongestOutage)
					}
				})
			}
		}
	})
}

// Scenario 4: the tutorial's check_web.sh. nginx on the master killed but
// restartable: the check restarts it and the VIP stays. Killed with a broken config
// (the tutorial's junk line): the check fails and the master is demoted.
func TestTrackerDemotes(t *testing.T) {
	t.Parallel()
	forEachLinkKind(t, func(t *testing.T, kind lab.LinkKind) {
		for _, p := range daemonPairs {
			t.Run(p.name, func(t *testing.T) {
				t.Parallel()
				l := newLab(t, p, lab.Options{LinkKind: kind, Version: 3, AdvertInterval: fastInterval, TrackNginx: true})
				if p.uses(lab.Ebpfvrrp) {
					// The tutorial's keepalived.conf with vrrp_script, unchanged.
					for _, h := range lab.LBHosts {
						if err := l.StartLB(h, l.LBConfig(h).Keepalived()); err != nil {
							t.Fatal(err)
						}
					}
				} else {
					startPair(t, l)
				}
				waitVIP(t, l, lab.LB5)
				settle(l)

				// Restartable: the check brings nginx back, nobody moves.
				if err := l.KillWeb(lab.LB5, false); err != nil {
					t.Fatal(err)
				}
				waitNginxBack(t, l, lab.LB5)
				holdVIP(t, l, 500*time.Millisecond, lab.LB5)

				probe := l.StartProbe(10 * time.Millisecond)
				time.Sleep(200 * time.Millisecond)
				killed := time.Since(probe.Started())
				if err := l.KillWeb(lab.LB5, true); err != nil {
					t.Fatal(err)
				}
				waitVIP(t, l, lab.LB6)
				waitServed(t, probe, killed)
				r := probe.Stop()
				t.Logf("nginx killed on master, tracker demoted it: %v", r)
				if r.LongestOutage > 10*time.Second {
					t.Errorf("outage %v, want under 10 s", r.LongestOutage)
				}
			})
		}
	})
}

// waitNginxBack waits until h's nginx pid file names a live process again.
func waitNginxBack(t *testing.T, l *lab.Lab, h string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if out, err := l.Exec(h, "sh", "-c", "kill -0 $(cat "+l.Dir+"/"+h+"/nginx/nginx.pid)"); err == nil {
			_ = out
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nginx on %s not restarted by check_web within 10 s", h)
}

// Scenario 5: mixed pairs, keepalived in both roles opposite ebpfvrrp: election,
// failover and failback must give exactly what the all-keepalived pair gives.
func TestMixedPairs(t *testing.T) {
	t.Parallel()
	forEachLinkKind(t, func(t *testing.T, kind lab.LinkKind) {
		protos := []struct {
			name string
			opts lab.Options
		}{
			{"v2-pass-1s", lab.Options{Version: 2, AdvertInterval: time.Second}},
			{"v3-10ms", lab.Options{Version: 3, AdvertInterval: 10 * time.Millisecond}},
			{"v3-ipv6-10ms", lab.Options{Version: 3, AdvertInterval: 10 * time.Millisecond, IPv6: true}},
		}
		for _, proto := range protos {
			for _, p := range append([]pair{allKeepalived}, mixedPairs...) {
				t.Run(proto.name+"/"+p.name, func(t *testing.T) {
					t.Parallel()
					l := newLab(t, p, withLinkKind(proto.opts, kind))
					var got [][]string
					startPair(t, l)
					waitVIP(t, l, lab.LB5)
					settle(l)
					got = append(got, l.VIPHolder())
					probe := l.StartProbe(10 * time.Millisecond)
					failover(t, l, probe)
					settle(l)
					got = append(got, l.VIPHolder())
					if err := l.RestoreLink(lab.LB5); err != nil {
						t.Fatal(err)
					}
					waitVIP(t, l, lab.LB5)
					settle(l)
					got = append(got, l.VIPHolder())
					r := probe.Stop()
					t.Logf("%s %s: %v", proto.name, p.name, r)
					// What the all-keepalived pair does (and this test checks for it too).
					want := [][]string{{lab.LB5}, {lab.LB6}, {lab.LB5}}
					// After the cut lb-5 is isolated; whether it still lists the VIP does
					// not matter to anyone, so compare only the reachable side.
					if slices.Contains(got[1], lab.LB6) {
						got[1] = []string{lab.LB6}
					}
					if !slices.EqualFunc(want, got, slices.Equal[[]string]) {
						t.Errorf("VIP holders after election, failover, failback: want %v, got %v", want, got)
					}
				})
			}
		}
	})
}

// Scenario 6: forged adverts from the client at the highest rate it can send, 10 s:
// foreign VRID, wrong password, non-peer source, priority-255 takeover with the
// wrong password. ebpfvrrp makes no transition and its drop counters account for the
// flood; keepalived (the baseline) is measured, and must recover afterwards.
func TestForgedFlood(t *testing.T) {
	// One flood at a time: each sends as fast as a core allows.
	for _, kind := range lab.LinkKinds {
		t.Run(string(kind), func(t *testing.T) {
			for _, p := range daemonPairs {
				t.Run(p.name, func(t *testing.T) {
					l := newLab(t, p, lab.Options{LinkKind: kind, AllowedPeers: true})
					startPair(t, l)
					waitVIP(t, l, lab.LB5)
					settle(l)
					ctx := context.Background()
					before := map[string]map[string]float64{}
					if p.uses(lab.Ebpfvrrp) {
						for _, h := range lab.LBHosts {
							m, err := l.Metrics(ctx, h)
							if err != nil {
								t.Fatal(err)
							}
							before[h] = m
						}
					}

					// Watch the VIP during the flood.
					stop := make(chan struct{})
					changes := make(chan []string, 1024)
					done := make(chan struct{})
					go func() {
						defer close(done)
						last := []string{lab.LB5}
						for {
							select {
							case <-stop:
								return
							case <-time.After(5 * time.Millisecond):
							}
							if got := l.VIPHolder(); !slices.Equal(got, last) {
								last = got
								select {
								case changes <- got:
								default:
								}
							}
						}
					}()
					probe := l.StartProbe(20 * time.Millisecond)
					fr, err := flood(ctx, l, 10*time.Second, 1)
					pr := probe.Stop()
					close(stop)
					<-done
					close(changes)
					if err != nil {
						t.Fatal(err)
					}
					var seen [][]string
					for c := range changes {
						seen = append(seen, c)
					}
					t.Logf("%s: flood sent %d packets in %v (%.0f/s, %d send errors): %v", p.name, fr.Total, fr.Duration.Round(time.Millisecond), fr.Rate(), fr.Errors, fr.Sent)
					t.Logf("%s: VIP holder changes during the flood: %v; client: %v", p.name, seen, pr)
					if fr.Total == 0 {
						t.Fatal("flood sent nothing")
					}

					if !p.uses(lab.Ebpfvrrp) {
						// The baseline only has to come back to the tutorial's steady state.
						waitVIP(t, l, lab.LB5)
						return
					}
					if len(seen) != 0 {
						t.Errorf("VIP moved under the flood: %v", seen)
					}
					for _, h := range lab.LBHosts {
						after, err := l.Metrics(ctx, h)
						if err != nil {
							t.Fatal(err)
						}
						tr := lab.SumMetrics(after, "ebpfvrrp_transitions_total") - lab.SumMetrics(before[h], "ebpfvrrp_transitions_total")
						if tr != 0 {
							t.Errorf("%s: %v transitions during the flood", h, tr)
						}
						var total float64
						for _, k := range AllForgeries {
							reason := `reason="` + k.Reason().String() + `"`
							d := lab.SumMetrics(after, "ebpfvrrp_drops_total", reason) - lab.SumMetrics(before[h], "ebpfvrrp_drops_total", reason)
							if d == 0 {
								t.Errorf("%s: no %s drops counted for %d %s forgeries", h, k.Reason(), fr.Sent[k], k)
							}
						}
						total = lab.SumMetrics(after, "ebpfvrrp_drops_total") - lab.SumMetrics(before[h], "ebpfvrrp_drops_total")
						lost := linkDrops(t, l, h)
						t.Logf("%s: %.0f drops counted by the dataplane, %d lost on the path, %d sent", h, total, lost, fr.Total)
						// Every forged frame reaches both LBs through the bridge: it is either
						// counted by the dataplane or was lost before it (veth/backlog drops).
						if got := int(total) + lost; got < fr.Total*9/10 || int(total) > fr.Total {
							t.Errorf("%s: drops %.0f + lost %d do not account for %d forged packets", h, total, lost, fr.Total)
						}
					}
					if got := l.VIPHolder(); !slices.Equal(got, []string{lab.LB5}) {
						t.Errorf("VIP holders after the flood: want [lb-5], got %v", got)
					}
				})
			}
		})
	}
}

// linkDrops sums the drop counters on the path from the bridge to host's eth0 (on
// macvlan, where the client reaches the host inside the macvlan, eth0 alone).
func linkDrops(t *testing.T, l *lab.Lab, h string) int {
	t.Helper()
	var n int
	sides := []struct{ host, link string }{{lab.Switch, h}, {h, "eth0"}}
	if l.Options().LinkKind == lab.Macvlan {
		sides = sides[1:]
	}
	for _, side := range sides {
		st, err := l.LinkStats(side.host, side.link)
		if err != nil {
			t.Logf("stats of %s/%s: %v", side.host, side.link, err)
			continue
		}
		n += int(st.RxDropped + st.TxDropped)
	}
	return n
}
