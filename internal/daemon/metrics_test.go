package daemon

import (
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
	"github.com/ebpfvrrp/ebpfvrrp/vrrp"
)

const metricsConfig = `router_id: zero
instances:
  - name: VI_1
    interface: eth0
    vrid: 61
    priority: 150
    version: 3
    advert_interval: 100ms
    vips: [198.18.12.3/32]
  - name: VI_2
    interface: eth1
    vrid: 62
    priority: 100
    state: backup
    version: 3
    advert_interval: 100ms
    vips: [198.18.13.3/32]
`

// TestMetricsZeroAtStart scrapes /metrics as soon as it answers and requires the
// counters with a known label set to be there at zero: every drop reason on
// every attached interface, adverts sent and the failover transitions of every
// instance (telemetry's package doc).
func TestMetricsZeroAtStart(t *testing.T) {
	testutil.Privileged(t)
	testutil.Require(t, "ip")
	a, b := testutil.NewNetns(t, "zma"), testutil.NewNetns(t, "zmb")
	testutil.Veth(t, a, "eth0", netip.MustParsePrefix("198.18.12.5/24"), b, "eth0", netip.MustParsePrefix("198.18.12.6/24"))
	testutil.Veth(t, a, "eth1", netip.MustParsePrefix("198.18.13.5/24"), b, "eth1", netip.MustParsePrefix("198.18.13.6/24"))
	cfg := filepath.Join(t.TempDir(), "zero.yaml")
	if err := os.WriteFile(cfg, []byte(metricsConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	const listen = "127.0.0.1:9864"
	n := &node{ns: a, cfg: cfg, pin: "/sys/fs/bpf/" + testutil.UniqueName("zmt"), env: []string{envMetrics + "=" + listen}}
	startNode(t, n)

	var body string
	testutil.WaitFor(t, 20*time.Second, "/metrics to answer", func() (bool, string) {
		var err error
		body, err = nsGet(a, "http://"+listen+"/metrics")
		return err == nil, fmt.Sprint(err)
	})
	lines := map[string]bool{}
	for _, l := range strings.Split(body, "\n") {
		lines[l] = true
	}
	var want []string
	for _, ifname := range []string{"eth0", "eth1"} {
		for r := range vrrp.NumDropReasons {
			want = append(want, fmt.Sprintf(`ebpfvrrp_drops_total{interface=%q,reason=%q} 0`, ifname, r.String()))
		}
	}
	// VI_2 is a Backup: it has sent nothing, and is exported at zero.
	want = append(want,
		`ebpfvrrp_adverts_sent_total{family="4",interface="eth1",vrid="62"} 0`,
		`ebpfvrrp_transitions_total{from="BACKUP",instance="VI_2",interface="eth1",reason="master_down_expired",to="MASTER",vrid="62"} 0`,
		`ebpfvrrp_transitions_total{from="BACKUP",instance="VI_2",interface="eth1",reason="priority_zero_received",to="MASTER",vrid="62"} 0`,
		`ebpfvrrp_transitions_total{from="MASTER",instance="VI_2",interface="eth1",reason="higher_priority_seen",to="BACKUP",vrid="62"} 0`,
	)
	for _, w := range want {
		if !lines[w] {
			t.Errorf("the first scrape lacks %s", w)
		}
	}
	if t.Failed() {
		t.Logf("first scrape:\n%s", body)
	}
}

// nsGet GETs url with the connection made inside ns.
func nsGet(ns *testutil.Netns, url string) (string, error) {
	resp, err := ns.HTTPClient().Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", url, resp.Status)
	}
	return string(b), err
}
