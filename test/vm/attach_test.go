package vm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/lab"
	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

// Issue 12: each attach mode of the receive path carries a pair end to end: native
// XDP (auto on veth), generic XDP (auto on macvlan, which has no native XDP) and TC
// (dataplane.attach_mode: tc). The daemon names the mode it got (status and log);
// the kernel must agree (ip link shows xdp, xdpgeneric or no XDP program); the
// backup's dataplane counts the master's adverts; and the pair elects, fails over
// and fails back.
func TestAttachModes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		kind lab.LinkKind
		conf string // dataplane.attach_mode; "" leaves the default (auto)
		mode string // what the daemon reports
		link string // the XDP mode ip link shows on eth0 ("": no XDP program)
	}{
		{lab.Veth, "", "xdp-native", "xdp"},
		{lab.Macvlan, "", "xdp-generic", "xdpgeneric"},
		{lab.Veth, "tc", "tc", ""},
	}
	for _, c := range cases {
		t.Run(string(c.kind)+"/"+c.mode, func(t *testing.T) {
			t.Parallel()
			l := newLab(t, allEbpfvrrp, lab.Options{LinkKind: c.kind, Version: 3, AdvertInterval: fastInterval})
			for _, h := range lab.LBHosts {
				cfg := l.DefaultConfig(h)
				if c.conf != "" {
					cfg += "dataplane:\n  attach_mode: " + c.conf + "\n"
				}
				if err := l.StartLB(h, cfg); err != nil {
					t.Fatal(err)
				}
			}
			waitVIP(t, l, lab.LB5)
			settle(l)
			for _, h := range lab.LBHosts {
				if got := attachedMode(l, h); got != c.mode {
					t.Errorf("%s: daemon logs receive path attached as %q, want %q", h, got, c.mode)
				}
				ifs := waitInterfaceStatus(t, l, h)
				if got := ifs["eth0"].AttachMode; got != c.mode {
					t.Errorf("%s: status names eth0's attach mode %q, want %q (interfaces %+v)", h, got, c.mode, ifs)
				}
				out, err := l.Exec(h, "ip", "-d", "link", "show", "eth0")
				if err != nil {
					t.Fatalf("ip link on %s: %v\n%s", h, err, out)
				}
				var got string
				if m := xdpModeRE.FindStringSubmatch(string(out)); m != nil {
					got = m[1]
				}
				if got != c.link {
					t.Errorf("%s: kernel's XDP mode on eth0 %q, want %q:\n%s", h, got, c.link, out)
				}
			}
			// Polled: a liveness bound, not a timing assertion (on a loaded host
			// lb-5 may have lost the VIP to lb-6 once before settling).
			testutil.WaitFor(t, 10*time.Second, "lb-6's dataplane ("+c.mode+") to count adverts from lb-5", func() (bool, string) {
				m, err := l.Metrics(context.Background(), lab.LB6)
				if err != nil {
					return false, err.Error()
				}
				n := lab.SumMetrics(m, "ebpfvrrp_adverts_received_total", lab.Addr4(lab.LB5).String())
				return n > 0, fmt.Sprintf("%v adverts counted", n)
			})
			probe := l.StartProbe(10 * time.Millisecond)
			failover(t, l, probe)
			back := time.Since(probe.Started())
			if err := l.RestoreLink(lab.LB5); err != nil {
				t.Fatal(err)
			}
			waitVIP(t, l, lab.LB5)
			waitServed(t, probe, back)
			t.Logf("%s on %s: %v", c.mode, c.kind, probe.Stop())
		})
	}
}

// xdpModeRE finds the XDP mode ip link prints after the MTU (xdp, xdpgeneric).
var xdpModeRE = regexp.MustCompile(`mtu \d+ (xdp\w*) `)

// ifStatus is one entry of the interfaces of ebpfvrrp's status JSON.
type ifStatus struct {
	Name       string   `json:"name"`
	AttachMode string   `json:"attach_mode"`
	Groups     []string `json:"groups"`
}

// waitInterfaceStatus is interfaceStatus retried for up to 10 s: on a busy machine
// a daemon may still be starting when its peer already holds the VIP.
func waitInterfaceStatus(t *testing.T, l *lab.Lab, host string) map[string]ifStatus {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ifs, err := interfaceStatus(context.Background(), l, host)
		if err == nil {
			return ifs
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// interfaceStatus fetches the interfaces of host's daemon status, by name.
func interfaceStatus(ctx context.Context, l *lab.Lab, host string) (map[string]ifStatus, error) {
	dial, err := l.Dialer(host, 2*time.Second)
	if err != nil {
		return nil, err
	}
	c := &http.Client{Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true}, Timeout: 5 * time.Second}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+lab.MetricsListen+"/status", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("status of %s: %w", host, err)
	}
	defer resp.Body.Close()
	var st struct {
		Interfaces []ifStatus `json:"interfaces"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil, fmt.Errorf("status of %s: %w", host, err)
	}
	m := map[string]ifStatus{}
	for _, i := range st.Interfaces {
		m[i.Name] = i
	}
	return m, nil
}

var attachedRE = regexp.MustCompile(`"receive path attached".*"interface":"eth0".*"mode":"([a-z-]+)"`)

// attachedMode is the attach mode ebpfvrrp on host last logged for eth0.
func attachedMode(l *lab.Lab, host string) string {
	m := attachedRE.FindAllStringSubmatch(l.Log(host, "lb"), -1)
	if len(m) == 0 {
		return ""
	}
	return m[len(m)-1][1]
}
