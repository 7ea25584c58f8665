package vm

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/lab"
)

// withTrackProcess adds to a host's keepalived.conf a vrrp_track_process on that
// host's own nginx and tracks it in VIP_1. The lab's hosts share one /proc, so the
// process is matched by its command line (nginx -c HOST's nginx.conf), not by
// its name, which every LB's nginx has.
func withTrackProcess(l *lab.Lab, h string) string {
	conf := l.LBConfig(h).Keepalived()
	track := fmt.Sprintf("vrrp_track_process nginx_%s {\n    process nginx -c %s\n    param_match partial\n}\n\nvrrp_instance",
		h, filepath.Join(l.Dir, h, "nginx", "nginx.conf"))
	conf = strings.Replace(conf, "vrrp_instance", track, 1)
	end := strings.LastIndex(conf, "}")
	return conf[:end] + fmt.Sprintf("    track_process {\n        nginx_%s\n    }\n}\n", h)
}

// Scenario: keepalived.conf with vrrp_track_process (weight 0: the instance is
// in FAULT without its process). nginx on the Master is killed and not restarted:
// the Master goes to FAULT and lb-6 takes the VIP. ebpfvrrp only: keepalived run
// in a network namespace gets no proc connector events ("Failed to set/clear
// process event listen - errno 111" in its log; the kernel serves the connector
// in the initial network namespace only), so its track_process never sees the
// kill there.
func TestTrackProcessFailover(t *testing.T) {
	t.Parallel()
	l := newLab(t, allEbpfvrrp, lab.Options{Version: 3, AdvertInterval: fastInterval})
	for _, h := range lab.LBHosts {
		if err := l.StartLB(h, withTrackProcess(l, h)); err != nil {
			t.Fatalf("StartLB(%s): %v", h, err)
		}
	}
	waitVIP(t, l, lab.LB5)
	settle(l)
	probe := l.StartProbe(10 * time.Millisecond)
	time.Sleep(200 * time.Millisecond)
	killed := time.Since(probe.Started())
	if err := l.KillWeb(lab.LB5, false); err != nil {
		t.Fatal(err)
	}
	waitVIP(t, l, lab.LB6)
	waitServed(t, probe, killed)
	r := probe.Stop()
	t.Logf("nginx killed on the master, track_process moved the VIP: %v", r)
	if !strings.Contains(l.Log(lab.LB5, "lb"), "FAULT") {
		t.Errorf("lb-5 did not log FAULT:\n%s", tail(l.Log(lab.LB5, "lb"), 30))
	}
}
