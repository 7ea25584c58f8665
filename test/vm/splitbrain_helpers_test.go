package vm

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/lab"
	"github.com/ebpfvrrp/ebpfvrrp/vip"
)

// nft loads an nftables script into host's namespace (Switch: the bridge). Tables go
// away with the namespace, so the lab's Close cleans them up.
func nft(t *testing.T, l *lab.Lab, host, script string) {
	t.Helper()
	f, err := os.CreateTemp(l.Dir, "nft-*.conf")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(script); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if out, err := l.Exec(host, "nft", "-f", f.Name()); err != nil {
		t.Fatalf("nft on %s: %v\n%s\nscript:\n%s", host, err, out, script)
	}
}

// cutOnWire loads rules (lines of one filter chain, named table) where the frames
// senders send cross the wire: with Veth in the bridge's forward chain, each line
// prefixed with vethMatch; with Macvlan, where hosts reach each other inside the
// macvlan and never through the bridge, in the egress hook of each sender's eth0
// (nftables netdev family, the last hook before the wire: no receiver's XDP sees what
// it drops). It returns the rules' packet counters by comment (summed over senders)
// and a func that removes the rules.
func cutOnWire(t *testing.T, l *lab.Lab, table string, senders []string, vethMatch, rules string) (counters func() map[string]uint64, heal func()) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(rules), "\n")
	if l.Options().LinkKind != lab.Macvlan {
		for i, r := range lines {
			lines[i] = vethMatch + strings.TrimSpace(r)
		}
		nft(t, l, lab.Switch, fmt.Sprintf("table bridge %s {\n\tchain forward {\n\t\ttype filter hook forward priority 0; policy accept;\n\t\t%s\n\t}\n}\n",
			table, strings.Join(lines, "\n\t\t")))
		return func() map[string]uint64 { return nftCounters(t, l, lab.Switch, "bridge", table) },
			func() {
				t.Helper()
				if out, err := l.Exec(lab.Switch, "nft", "delete", "table", "bridge", table); err != nil {
					t.Fatalf("nft delete: %v\n%s", err, out)
				}
			}
	}
	for _, h := range senders {
		nft(t, l, h, fmt.Sprintf("table netdev %s {\n\tchain egress {\n\t\ttype filter hook egress device \"eth0\" priority 0; policy accept;\n\t\t%s\n\t}\n}\n",
			table, strings.Join(lines, "\n\t\t")))
	}
	return func() map[string]uint64 {
			sum := map[string]uint64{}
			for _, h := range senders {
				for k, v := range nftCounters(t, l, h, "netdev", table) {
					sum[k] += v
				}
			}
			return sum
		}, func() {
			t.Helper()
			for _, h := range senders {
				if out, err := l.Exec(h, "nft", "delete", "table", "netdev", table); err != nil {
					t.Fatalf("nft delete on %s: %v\n%s", h, err, out)
				}
			}
		}
}

var nftCounterRE = regexp.MustCompile(`counter packets (\d+) bytes \d+[^\n]*comment "([a-z_]+)"`)

// nftCounters returns the packet counters of the rules of a table, by the rule's
// comment.
func nftCounters(t *testing.T, l *lab.Lab, host, family, table string) map[string]uint64 {
	t.Helper()
	out, err := l.Exec(host, "nft", "list", "table", family, table)
	if err != nil {
		t.Fatalf("nft list on %s: %v\n%s", host, err, out)
	}
	got := map[string]uint64{}
	for _, m := range nftCounterRE.FindAllStringSubmatch(string(out), -1) {
		n, _ := strconv.ParseUint(m[1], 10, 64)
		got[m[2]] = n
	}
	return got
}

// instStatus is the part of ebpfvrrp's status JSON (`ebpfvrrp status --json`, served
// on /status) these tests look at.
type instStatus struct {
	Name           string `json:"name"`
	State          string `json:"state"`
	LastReason     string `json:"last_reason"`
	LastTransition string `json:"last_transition"`
	SplitBrain     bool   `json:"split_brain"`
	PathFailure    bool   `json:"path_failure"`
	VIPConflicts   uint64 `json:"vip_conflicts"`
	Master         string `json:"master"`
}

// status fetches the status of host's only instance from its daemon.
func status(ctx context.Context, l *lab.Lab, host string) (instStatus, error) {
	dial, err := l.Dialer(host, 2*time.Second)
	if err != nil {
		return instStatus{}, err
	}
	c := &http.Client{Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true}, Timeout: 5 * time.Second}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+lab.MetricsListen+"/status", nil)
	if err != nil {
		return instStatus{}, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return instStatus{}, fmt.Errorf("status of %s: %w", host, err)
	}
	defer resp.Body.Close()
	var st struct {
		Instances []instStatus `json:"instances"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return instStatus{}, fmt.Errorf("status of %s: %w", host, err)
	}
	if len(st.Instances) != 1 {
		return instStatus{}, fmt.Errorf("status of %s: %d instances, want 1", host, len(st.Instances))
	}
	return st.Instances[0], nil
}

func mustStatus(t *testing.T, l *lab.Lab, host string) instStatus {
	t.Helper()
	st, err := status(context.Background(), l, host)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// waitStatus polls host's status for up to 15 s until cond holds, and returns it.
func waitStatus(t *testing.T, l *lab.Lab, host, what string, cond func(instStatus) bool) instStatus {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var last instStatus
	var err error
	for time.Now().Before(deadline) {
		if last, err = status(context.Background(), l, host); err == nil && cond(last) {
			return last
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: %s not reached within 15 s; last status %+v (err %v)", host, what, last, err)
	return last
}

// splitBrainMetric is ebpfvrrp_split_brain of host's instance.
func splitBrainMetric(ctx context.Context, l *lab.Lab, host string) (float64, error) {
	m, err := l.Metrics(ctx, host)
	if err != nil {
		return 0, err
	}
	return lab.SumMetrics(m, "ebpfvrrp_split_brain"), nil
}

// withSplitBrain appends a split_brain section to an ebpfvrrp YAML config.
func withSplitBrain(yaml, action string) string {
	return yaml + fmt.Sprintf("split_brain:\n  action: %s\n", action)
}

// reloadLB rewrites host's ebpfvrrp config and sends SIGHUP (the daemon keeps its
// state and VIPs and picks up the new settings).
func reloadLB(t *testing.T, l *lab.Lab, host, cfg string) {
	t.Helper()
	if err := l.ReloadLB(host, cfg); err != nil {
		t.Fatal(err)
	}
}

// arpAnswers asks from the client who answers for the VIP (vip.Probe: ARP probes for
// IPv4, NS for IPv6) and returns the answering MACs, sorted.
func arpAnswers(t *testing.T, l *lab.Lab, timeout time.Duration) []string {
	t.Helper()
	var macs []string
	err := l.Do(lab.Client, func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		cs, err := vip.Probe(context.Background(), ifi.Index, []netip.Addr{l.VIP()}, timeout)
		for _, c := range cs {
			if s := c.MAC.String(); !slices.Contains(macs, s) {
				macs = append(macs, s)
			}
		}
		return err
	})
	if err != nil {
		t.Fatalf("probe from the client: %v", err)
	}
	slices.Sort(macs)
	return macs
}

func macOf(t *testing.T, l *lab.Lab, host string) string {
	t.Helper()
	hw, err := l.HardwareAddr(host)
	if err != nil {
		t.Fatal(err)
	}
	return hw.String()
}

// joinVRRPGroup joins 224.0.0.18 on host's eth0 for the rest of the test, so the
// kernel delivers VRRP adverts to the local input path (netfilter INPUT, raw sockets).
func joinVRRPGroup(t *testing.T, l *lab.Lab, host string) {
	t.Helper()
	err := l.Do(host, func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		c, err := net.ListenMulticastUDP("udp4", ifi, &net.UDPAddr{IP: net.IPv4(224, 0, 0, 18), Port: 0})
		if err != nil {
			return err
		}
		t.Cleanup(func() { c.Close() })
		return nil
	})
	if err != nil {
		t.Fatalf("join 224.0.0.18 on %s: %v", host, err)
	}
}
