// Package configs_test checks the operations files shipped in configs/: the
// Prometheus alert rules and their promtool unit tests, the example scrape config,
// the Grafana dashboard and the systemd unit. The metric names they use are checked
// against what telemetry actually exports, so renaming a metric breaks this test
// rather than an operator's dashboard.
package configs_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.yaml.in/yaml/v3"

	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
	"github.com/ebpfvrrp/ebpfvrrp/telemetry"
)

const (
	rulesFile     = "prometheus/ebpfvrrp.rules.yml"
	rulesTestFile = "prometheus/ebpfvrrp.rules.test.yml"
	promConfig    = "prometheus/prometheus.yml"
	dashboardFile = "grafana/ebpfvrrp-dashboard.json"
	unitFile      = "ebpfvrrp.service"
)

// requireTool returns the path of a tool the test cannot do without. Missing, it
// fails the test in the privileged tier (where `make deps` has run) and skips it
// visibly otherwise.
func requireTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if testutil.PrivilegedEnabled() {
		t.Fatalf("%s not found (Debian package %s, installed by `make deps`): %v", name, pkg, err)
	}
	t.Skipf("%s not found (Debian package %s, `make deps`); with %s=1 this is a failure", name, pkg, testutil.EnvPrivileged)
	return ""
}

func runTool(t *testing.T, dir, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ---------------------------------------------------------------- promtool

func TestPromtoolCheck(t *testing.T) {
	promtool := requireTool(t, "promtool", "prometheus")
	for _, args := range [][]string{
		{"check", "rules", rulesFile},
		{"check", "config", promConfig}, // also loads the rules it names
		{"test", "rules", rulesTestFile},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			out, err := runTool(t, ".", promtool, args...)
			if err != nil {
				t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		})
	}
}

// TestRuleTestsCatchRegressions breaks each rule in a way a plausible edit would,
// and requires the promtool unit tests to notice: the "must not fire" cases are
// what make each of these fail.
func TestRuleTestsCatchRegressions(t *testing.T) {
	promtool := requireTool(t, "promtool", "prometheus")
	rules := string(readFile(t, rulesFile))
	tests := readFile(t, rulesTestFile)
	mutations := []struct{ name, old, new string }{
		{"split brain counts instances, not hosts",
			"count by (job, vrid, instance) (ebpfvrrp_instance_state == 2)", "ebpfvrrp_instance_state == 2"},
		{"split brain without for",
			"max by (job, vrid) (ebpfvrrp_split_brain) == 1\n        for: 10s", "max by (job, vrid) (ebpfvrrp_split_brain) == 1\n        for: 0s"},
		{"no master ignores live adverts from an unscraped Master",
			"unless on (job, vrid)\n          count by (job, vrid) (\n            ebpfvrrp_peer_last_advert_age_seconds",
			"and on (job, vrid)\n          count by (job, vrid) (\n            ebpfvrrp_peer_last_advert_age_seconds"},
		{"no instance up misses all-targets-down",
			"sum by (job) (up{job=\"ebpfvrrp\"}) == 0\n          or\n          ", ""},
		{"flapping without changes()",
			"\n          or\n          max by (job, instance, vrrp_instance, vrid) (changes(ebpfvrrp_instance_state[10m])) > 4", ""},
		{"heartbeat loss fires on a returning peer's one-off step",
			"> 0.05\n        for: 10m", "> 0.05\n        for: 2m"},
		{"heartbeat loss threshold too low",
			"> 0.05\n", "> 0.01\n"},
		{"unknown_vrid counted as forged",
			`reason=~"wrong_password|bad_auth_type|not_peer|bad_ttl"`, `reason!=""`},
		{"config mismatch misses interval_mismatch",
			`reason=~"interval_mismatch|bad_version"`, `reason=~"bad_version"`},
		{"tx gap counts a Backup's silence",
			"\n          and on (job, instance, interface, vrid)\n          min_over_time(ebpfvrrp_instance_state[15m]) == 2", ""},
		{"tx gap high-water mark fires forever",
			"\n            and\n            delta(ebpfvrrp_tx_max_gap_seconds[10m]) > 0", ""},
		{"target down without for",
			"up{job=\"ebpfvrrp\"} == 0\n        for: 1m", "up{job=\"ebpfvrrp\"} == 0\n        for: 0s"},
	}
	for _, m := range mutations {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			if strings.Count(rules, m.old) != 1 {
				t.Fatalf("mutation does not apply: %q occurs %d times in %s (update the table)", m.old, strings.Count(rules, m.old), rulesFile)
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(rulesFile)), []byte(strings.Replace(rules, m.old, m.new, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(rulesTestFile)), tests, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := runTool(t, dir, promtool, "test", "rules", filepath.Base(rulesTestFile))
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("promtool test rules on the broken rules: err %v, want a failed test run\n%s", err, out)
			}
			if !strings.Contains(out, "FAILED") {
				t.Fatalf("promtool exited %d without a failed test (a syntax error instead?):\n%s", exit.ExitCode(), out)
			}
		})
	}
}

// ------------------------------------------------------------- rule files

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

type ruleTestFile struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		Name        string `yaml:"name"`
		Interval    string `yaml:"interval"`
		InputSeries []struct {
			Series string `yaml:"series"`
			Values string `yaml:"values"`
		} `yaml:"input_series"`
		AlertRuleTest []struct {
			EvalTime  string `yaml:"eval_time"`
			Alertname string `yaml:"alertname"`
			ExpAlerts []struct {
				ExpLabels      map[string]string `yaml:"exp_labels"`
				ExpAnnotations map[string]string `yaml:"exp_annotations"`
			} `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

func loadYAML(t *testing.T, path string, v any) {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(readFile(t, path)))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestAlertRulesComplete needs no promtool: every alert is usable by an operator
// (for:, severity, summary, description) and is tested both firing and silent.
func TestAlertRulesComplete(t *testing.T) {
	var rf ruleFile
	loadYAML(t, rulesFile, &rf)
	var tf struct {
		ruleTestFile       `yaml:",inline"`
		EvaluationInterval string `yaml:"evaluation_interval"`
	}
	loadYAML(t, rulesTestFile, &tf)
	if diff := cmpStrings([]string{filepath.Base(rulesFile)}, tf.RuleFiles); diff != "" {
		t.Errorf("%s rule_files (-want +got):\n%s", rulesTestFile, diff)
	}
	firing, silent := map[string]int{}, map[string]int{}
	for _, g := range tf.Tests {
		for _, c := range g.AlertRuleTest {
			if len(c.ExpAlerts) > 0 {
				firing[c.Alertname]++
			} else {
				silent[c.Alertname]++
			}
		}
	}
	var alerts []string
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts = append(alerts, r.Alert)
			t.Run(r.Alert, func(t *testing.T) {
				if r.For == "" {
					t.Error("no for: a single bad scrape would page")
				}
				if s := r.Labels["severity"]; s != "critical" && s != "warning" {
					t.Errorf("severity %q, want critical or warning", s)
				}
				for _, a := range []string{"summary", "description"} {
					if len(strings.TrimSpace(r.Annotations[a])) < 20 {
						t.Errorf("annotation %s %q is missing or too short to tell an operator anything", a, r.Annotations[a])
					}
				}
				if firing[r.Alert] == 0 {
					t.Errorf("%s has no test case where it fires", rulesTestFile)
				}
				if silent[r.Alert] == 0 {
					t.Errorf("%s has no test case where it must stay silent", rulesTestFile)
				}
			})
		}
	}
	for name := range firing {
		if !slices.Contains(alerts, name) {
			t.Errorf("%s tests alert %s, which %s does not define", rulesTestFile, name, rulesFile)
		}
	}
	want := []string{"EbpfvrrpSplitBrain", "EbpfvrrpNoMaster", "EbpfvrrpTargetDown", "EbpfvrrpNoInstanceUp",
		"EbpfvrrpFlapping", "EbpfvrrpHeartbeatLoss", "EbpfvrrpUnauthenticatedAdverts", "EbpfvrrpTxGap"}
	for _, w := range want {
		if !slices.Contains(alerts, w) {
			t.Errorf("%s lacks alert %s", rulesFile, w)
		}
	}
}

// TestAlertRulesUseExportedMetrics: every metric a rule selects is exported by
// telemetry (or is Prometheus' own up).
func TestAlertRulesUseExportedMetrics(t *testing.T) {
	known := exportedMetrics(t)
	known["up"] = true
	var rf ruleFile
	loadYAML(t, rulesFile, &rf)
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if err := checkExpr(r.Expr, known); err != nil {
				t.Errorf("%s: %v", r.Alert, err)
			}
		}
	}
}

// ------------------------------------------------------- exported metrics

// fakeSource makes the collector emit every metric it can.
type fakeSource struct {
	state      uint8 // ebpfvrrp_instance_state: 1 backup, 2 master
	splitBrain bool
	err        error
}

func (f fakeSource) Peers() ([]telemetry.Peer, error) {
	if f.err != nil {
		return nil, f.err
	}
	return []telemetry.Peer{{Interface: "eth0", VRID: 50, Family: 4, Address: "198.18.0.6", Count: 100,
		Missed: 2, Priority: 100, Interval: time.Second, Age: 300 * time.Millisecond, MaxGap: 2 * time.Second,
		Buckets: []uint64{0, 0, 3, 90, 7}}}, nil
}

func (f fakeSource) Drops() ([]telemetry.Drop, error) {
	if f.err != nil {
		return nil, f.err
	}
	return []telemetry.Drop{{Interface: "eth0", Reason: "wrong_password", Count: 3}}, nil
}

func (f fakeSource) EventsLost() (uint64, error) {
	if f.err != nil {
		return 0, f.err
	}
	return 0, nil
}

func (f fakeSource) Tx() ([]telemetry.Tx, error) {
	if f.err != nil {
		return nil, f.err
	}
	return []telemetry.Tx{{Interface: "eth0", VRID: 50, Family: 4, Count: 100, MaxGap: time.Second,
		Buckets: []uint64{0, 1, 98, 1}}}, nil
}

func (f fakeSource) Instances() []telemetry.Instance {
	return []telemetry.Instance{{Name: "VI_1", Interface: "eth0", VRID: 50, State: f.state,
		ConfiguredPriority: 150, EffectivePriority: 150, SplitBrain: f.splitBrain,
		Transitions: []telemetry.Transition{{From: "BACKUP", To: "MASTER", Reason: "master_down_expired", Count: 1}}}}
}

// exportedMetrics returns every series name telemetry exposes, gathered from real
// registries (histograms expand to _bucket, _sum and _count), so the check follows
// telemetry/telemetry.go without parsing it.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	known := map[string]bool{}
	for _, src := range []telemetry.Source{
		fakeSource{state: 2},
		fakeSource{state: 1, err: errors.New("map gone")}, // emits ebpfvrrp_scrape_errors_total
	} {
		mfs, err := telemetry.NewRegistry(src, "test", log).Gather()
		if err != nil {
			t.Fatalf("gather telemetry: %v", err)
		}
		for _, mf := range mfs {
			known[mf.GetName()] = true
			if mf.GetType().String() == "HISTOGRAM" {
				for _, s := range []string{"_bucket", "_sum", "_count"} {
					known[mf.GetName()+s] = true
				}
			}
		}
	}
	// Guard against a fake source that stopped producing: these are the names the
	// rules and the dashboard are about.
	for _, m := range []string{"ebpfvrrp_instance_state", "ebpfvrrp_transitions_total", "ebpfvrrp_peer_advert_interarrival_seconds_bucket",
		"ebpfvrrp_drops_total", "ebpfvrrp_tx_max_gap_seconds", "ebpfvrrp_build_info", "ebpfvrrp_scrape_errors_total"} {
		if !known[m] {
			t.Fatalf("telemetry did not export %s with the fake source; exported: %v", m, sortedKeys(known))
		}
	}
	return known
}

func sortedKeys(m map[string]bool) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// ------------------------------------------------------- PromQL scanning

var promqlKeywords = map[string]bool{
	"and": true, "or": true, "unless": true, "bool": true, "offset": true, "inf": true, "nan": true, "atan2": true,
}

// aggregations may be followed by by/without before their parenthesis.
var aggregations = map[string]bool{
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
	"limitk": true, "limit_ratio": true,
}

// labelListKeywords are followed by a parenthesised list of label names.
var labelListKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

// metricNames returns the metric names selected by a PromQL expression, which may
// hold Grafana variables ($host, ${datasource}, $__rate_interval). It is a scanner,
// not a parser: label matchers, ranges, strings, numbers, function names and label
// lists are skipped; every other identifier is a metric name. promtool checks the
// syntax separately (TestDashboardPromQLParses).
func metricNames(expr string) ([]string, error) {
	var names []string
	isStart := func(c byte) bool { return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	isPart := func(c byte) bool { return isStart(c) || c >= '0' && c <= '9' }
	skipTo := func(i int, open, close byte) (int, error) {
		depth := 0
		for j := i; j < len(expr); j++ {
			switch c := expr[j]; c {
			case '"', '\'', '`':
				k := strings.IndexByte(expr[j+1:], c)
				if k < 0 {
					return 0, fmt.Errorf("unterminated string at %d in %q", j, expr)
				}
				j += k + 1
			case open:
				depth++
			case close:
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, fmt.Errorf("unbalanced %c at %d in %q", open, i, expr)
	}
	nextNonSpace := func(i int) int {
		for i < len(expr) && strings.ContainsRune(" \t\r\n", rune(expr[i])) {
			i++
		}
		return i
	}
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			k := strings.IndexByte(expr[i+1:], c)
			if k < 0 {
				return nil, fmt.Errorf("unterminated string at %d in %q", i, expr)
			}
			i += k + 2
		case c == '{':
			j, err := skipTo(i, '{', '}')
			if err != nil {
				return nil, err
			}
			i = j
		case c == '[':
			j, err := skipTo(i, '[', ']')
			if err != nil {
				return nil, err
			}
			i = j
		case c == '$': // Grafana variable: $name or ${name}
			i++
			if i < len(expr) && expr[i] == '{' {
				j, err := skipTo(i, '{', '}')
				if err != nil {
					return nil, err
				}
				i = j
				continue
			}
			for i < len(expr) && isPart(expr[i]) {
				i++
			}
		case c >= '0' && c <= '9' || c == '.':
			for i < len(expr) && (isPart(expr[i]) || expr[i] == '.' || (expr[i] == '-' || expr[i] == '+') && (expr[i-1] == 'e' || expr[i-1] == 'E')) {
				i++
			}
		case isStart(c):
			j := i
			for j < len(expr) && isPart(expr[j]) {
				j++
			}
			word, k := expr[i:j], nextNonSpace(j)
			i = j
			switch {
			case labelListKeywords[word] && k < len(expr) && expr[k] == '(':
				end, err := skipTo(k, '(', ')')
				if err != nil {
					return nil, err
				}
				i = end
			case labelListKeywords[word] || promqlKeywords[strings.ToLower(word)] || aggregations[strings.ToLower(word)]:
			case k < len(expr) && expr[k] == '(': // function or aggregation
			default:
				names = append(names, word)
			}
		default:
			i++
		}
	}
	return names, nil
}

// checkExpr fails when expr selects no metric or one that is not in known.
func checkExpr(expr string, known map[string]bool) error {
	names, err := metricNames(expr)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return fmt.Errorf("expression selects no metric: %q", expr)
	}
	var unknown []string
	for _, n := range names {
		if !known[n] {
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 {
		return fmt.Errorf("unknown metric(s) %v in %q", unknown, expr)
	}
	return nil
}

func TestMetricNames(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{`ebpfvrrp_instance_state{job="$job", instance=~"$host"}`, []string{"ebpfvrrp_instance_state"}},
		{`sum by (le) (increase(ebpfvrrp_tx_gap_seconds_bucket{vrid=~"$vrid"}[$__rate_interval]))`, []string{"ebpfvrrp_tx_gap_seconds_bucket"}},
		{`a / on (job, vrid) group_left (peer) b > bool 0.05 unless c offset 5m`, []string{"a", "b", "c"}},
		{`histogram_quantile(0.99, sum without (instance) (rate(x_bucket[5m]))) * 1e-3`, []string{"x_bucket"}},
		{"ebpfvrrp_peer_last_advert_age_seconds < 3 * ebpfvrrp_peer_advert_interval_seconds", []string{"ebpfvrrp_peer_last_advert_age_seconds", "ebpfvrrp_peer_advert_interval_seconds"}},
		{`absent(up{job="a{b}"} == 1) or vector(1)`, []string{"up"}},
		{`${datasource} ebpfvrp_typo_state`, []string{"ebpfvrp_typo_state"}},
		{`max_over_time(q[10m:1m]) AND r`, []string{"q", "r"}},
		{"count by (vrid) (\n  count without (x) (s == 2)\n) > 1 or max(t)", []string{"s", "t"}},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			got, err := metricNames(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmpStrings(tc.want, got); diff != "" {
				t.Errorf("metricNames (-want +got):\n%s", diff)
			}
		})
	}
	known := map[string]bool{"ebpfvrrp_instance_state": true}
	if err := checkExpr(`sum(ebpfvrrp_instance_state) + ebpfvrrp_no_such_metric`, known); err == nil {
		t.Error("checkExpr accepted a metric telemetry does not export")
	}
	if err := checkExpr(`vector(1)`, known); err == nil {
		t.Error("checkExpr accepted an expression that selects no metric")
	}
}

// cmpStrings returns a -want +got diff of two string lists, "" when equal.
func cmpStrings(want, got []string) string {
	if slices.Equal(want, got) {
		return ""
	}
	var b strings.Builder
	for _, w := range want {
		if !slices.Contains(got, w) {
			fmt.Fprintf(&b, "-%s\n", w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			fmt.Fprintf(&b, "+%s\n", g)
		}
	}
	if b.Len() == 0 {
		fmt.Fprintf(&b, "-%v\n+%v\n", want, got)
	}
	return b.String()
}

// ------------------------------------------------------------- dashboard

type dashboard struct {
	SchemaVersion int    `json:"schemaVersion"`
	UID           string `json:"uid"`
	Title         string `json:"title"`
	Panels        []panel
	Templating    struct {
		List []struct {
			Name  string          `json:"name"`
			Type  string          `json:"type"`
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Annotations struct {
		List []struct {
			Name string `json:"name"`
			Expr string `json:"expr"`
		} `json:"list"`
	} `json:"annotations"`
}

type panel struct {
	ID      int     `json:"id"`
	Type    string  `json:"type"`
	Title   string  `json:"title"`
	Panels  []panel `json:"panels"` // collapsed rows
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
	GridPos *struct{ X, Y, W, H int } `json:"gridPos"`
}

// dashboardExpr is one PromQL expression of the dashboard and where it is.
type dashboardExpr struct{ where, expr string }

var labelValuesRe = regexp.MustCompile(`^label_values\((.+),\s*[a-zA-Z_]\w*\)$`)

func loadDashboard(t *testing.T) (dashboard, []panel, []dashboardExpr) {
	t.Helper()
	var d dashboard
	if err := json.Unmarshal(readFile(t, dashboardFile), &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	var flat []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			flat = append(flat, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	var exprs []dashboardExpr
	for _, p := range flat {
		for _, tg := range p.Targets {
			exprs = append(exprs, dashboardExpr{fmt.Sprintf("panel %d %q target %s", p.ID, p.Title, tg.RefID), tg.Expr})
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &q); err != nil {
			var s string
			if err := json.Unmarshal(v.Query, &s); err != nil {
				t.Fatalf("variable %s: query is neither an object nor a string: %s", v.Name, v.Query)
			}
			q.Query = s
		}
		m := labelValuesRe.FindStringSubmatch(q.Query)
		if m == nil {
			t.Fatalf("variable %s: query %q is not label_values(<selector>, <label>)", v.Name, q.Query)
		}
		exprs = append(exprs, dashboardExpr{"variable " + v.Name, m[1]})
	}
	for _, a := range d.Annotations.List {
		if a.Expr != "" {
			exprs = append(exprs, dashboardExpr{"annotation " + a.Name, a.Expr})
		}
	}
	return d, flat, exprs
}

func TestDashboard(t *testing.T) {
	d, panels, exprs := loadDashboard(t)
	if d.SchemaVersion < 36 || d.UID == "" || d.Title == "" {
		t.Errorf("schemaVersion %d, uid %q, title %q: want schemaVersion >= 36 and a uid and title", d.SchemaVersion, d.UID, d.Title)
	}
	ids := map[int]bool{}
	types := map[string]bool{}
	for _, p := range panels {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		types[p.Type] = true
		if p.GridPos == nil || p.GridPos.W == 0 || p.GridPos.H == 0 {
			t.Errorf("panel %d %q has no gridPos", p.ID, p.Title)
		}
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %d %q has no query", p.ID, p.Title)
		}
	}
	for _, typ := range []string{"state-timeline", "heatmap", "timeseries", "stat"} {
		if !types[typ] {
			t.Errorf("no %s panel", typ)
		}
	}
	known := exportedMetrics(t)
	used := map[string]bool{}
	for _, e := range exprs {
		if err := checkExpr(e.expr, known); err != nil {
			t.Errorf("%s: %v", e.where, err)
		}
		names, _ := metricNames(e.expr)
		for _, n := range names {
			used[n] = true
		}
	}
	// The panels the dashboard exists for.
	for _, m := range []string{"ebpfvrrp_instance_state", "ebpfvrrp_instance_priority", "ebpfvrrp_transitions_total",
		"ebpfvrrp_peer_advert_interarrival_seconds_bucket", "ebpfvrrp_peer_missed_adverts_total",
		"ebpfvrrp_peer_last_advert_age_seconds", "ebpfvrrp_drops_total", "ebpfvrrp_tx_max_gap_seconds",
		"ebpfvrrp_tx_gap_seconds_bucket", "ebpfvrrp_split_brain", "ebpfvrrp_vip_conflicts_total"} {
		if !used[m] {
			t.Errorf("no panel shows %s", m)
		}
	}
}

// TestDashboardPromQLParses has promtool parse every dashboard query (as recording
// rules, with the Grafana variables substituted).
func TestDashboardPromQLParses(t *testing.T) {
	promtool := requireTool(t, "promtool", "prometheus")
	_, _, exprs := loadDashboard(t)
	vars := strings.NewReplacer("$__rate_interval", "1m", "$job", "ebpfvrrp", "$host", ".*", "$vrid", ".*")
	type rule struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	var rules []rule
	for i, e := range exprs {
		x := vars.Replace(e.expr)
		if strings.Contains(x, "$") {
			t.Errorf("%s: unknown Grafana variable in %q", e.where, e.expr)
			continue
		}
		rules = append(rules, rule{fmt.Sprintf("dashboard:expr_%d", i), x})
	}
	b, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "dashboard.rules.yml")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runTool(t, ".", promtool, "check", "rules", p); err != nil {
		t.Fatalf("promtool check rules on the dashboard's queries: %v\n%s\n%s", err, out, b)
	}
}

// ---------------------------------------------------------------- systemd

// unit is a parsed systemd unit: section -> key -> values in order (keys may repeat).
type unit map[string]map[string][]string

func parseUnit(t *testing.T, text string) (unit, string) {
	t.Helper()
	u := unit{}
	var section string
	var header strings.Builder // comment lines before the first section
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
			if section == "" {
				header.WriteString(line + "\n")
			}
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" || strings.HasSuffix(line, "\\") {
				t.Fatalf("%s:%d: cannot parse %q", unitFile, n+1, line)
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	return u, header.String()
}

var capRe = regexp.MustCompile(`CAP_[A-Z_]+`)

// scriptCapsMarker starts the header's list of what trackers and notify scripts need.
const scriptCapsMarker = "For trackers and notify scripts"

// headerCaps reads the unit's header comment: the capabilities the daemon needs
// (before "Not needed:"), those ruled out, and those scripts need (after
// scriptCapsMarker), each sorted.
func headerCaps(header string) (daemon, excluded, scripts []string, err error) {
	need, rest, ok := strings.Cut(header, "Not needed:")
	if !ok {
		return nil, nil, nil, errors.New("the header comment has no \"Not needed:\" list")
	}
	notNeeded, forScripts, ok := strings.Cut(rest, scriptCapsMarker)
	if !ok {
		return nil, nil, nil, fmt.Errorf("the header comment has no %q list", scriptCapsMarker)
	}
	list := func(s string) []string {
		c := capRe.FindAllString(s, -1)
		slices.Sort(c)
		return slices.Compact(c)
	}
	return list(need), list(notNeeded), list(forScripts), nil
}

func TestSystemdUnit(t *testing.T) {
	text := string(readFile(t, unitFile))
	u, header := parseUnit(t, text)
	svc := u["Service"]
	if svc == nil {
		t.Fatal("no [Service] section")
	}

	// The capabilities the header documents as needed, and those it rules out.
	daemon, excluded, scripts, err := headerCaps(header)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmpStrings([]string{"CAP_BPF", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_PERFMON"}, daemon); diff != "" {
		t.Errorf("daemon capabilities documented in the header (-want +got):\n%s", diff)
	}
	if diff := cmpStrings([]string{"CAP_KILL", "CAP_SETGID", "CAP_SETUID"}, scripts); diff != "" {
		t.Errorf("script capabilities documented in the header (-want +got):\n%s", diff)
	}
	documented := slices.Sorted(slices.Values(append(slices.Clone(daemon), scripts...)))
	for _, c := range []string{"CAP_SYS_ADMIN", "CAP_SYS_RESOURCE"} {
		if !slices.Contains(excluded, c) {
			t.Errorf("header does not say why %s is not needed", c)
		}
	}
	for _, key := range []string{"CapabilityBoundingSet", "AmbientCapabilities"} {
		t.Run(key, func(t *testing.T) {
			vals := svc[key]
			if len(vals) != 1 {
				t.Fatalf("%s set %d times, want once (repeats accumulate)", key, len(vals))
			}
			got := strings.Fields(vals[0])
			slices.Sort(got)
			if diff := cmpStrings(documented, got); diff != "" {
				t.Errorf("%s differs from the documented set (-documented +unit):\n%s", key, diff)
			}
		})
	}

	for _, tc := range []struct {
		section, key string
		want         []string
	}{
		{"Service", "ExecStart", []string{"/usr/local/sbin/ebpfvrrp run --config /etc/ebpfvrrp/ebpfvrrp.yaml"}},
		{"Service", "ExecStartPre", []string{
			"+/bin/sh -c 'mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf'",
			"/usr/local/sbin/ebpfvrrp validate --config /etc/ebpfvrrp/ebpfvrrp.yaml"}},
		{"Service", "ExecReload", []string{"/usr/local/sbin/ebpfvrrp validate --config /etc/ebpfvrrp/ebpfvrrp.yaml", "/bin/kill -HUP $MAINPID"}},
		{"Service", "Type", []string{"notify"}},
		{"Service", "NotifyAccess", []string{"main"}},
		{"Service", "WatchdogSec", []string{"10s"}},
		{"Service", "Restart", []string{"on-failure"}},
		{"Service", "NoNewPrivileges", []string{"yes"}},
		// Notify scripts write where keepalived's do (TestUnitLetsScriptsRun).
		{"Service", "ProtectSystem", nil},
		{"Service", "ProtectHome", nil},
		{"Service", "PrivateTmp", nil},
		{"Service", "RuntimeDirectory", []string{"ebpfvrrp"}},
		{"Service", "ReadWritePaths", []string{"/sys/fs/bpf /run/ebpfvrrp /proc/sys/net/ipv4/conf"}},
		{"Service", "User", nil}, // root: bpffs pins and tracker scripts keep working
		{"Install", "WantedBy", []string{"multi-user.target"}},
	} {
		t.Run(tc.section+"."+tc.key, func(t *testing.T) {
			if diff := cmpStrings(tc.want, u[tc.section][tc.key]); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.key, diff)
			}
		})
	}

	// make install puts the binary and config where the unit looks for them.
	mk := string(readFile(t, "../Makefile"))
	for _, p := range []string{"/usr/local/sbin/ebpfvrrp", "/etc/ebpfvrrp/ebpfvrrp.yaml", "configs/ebpfvrrp.service"} {
		if !strings.Contains(mk, p) {
			t.Errorf("Makefile install target does not mention %s", p)
		}
	}
}

// TestSystemdAnalyzeVerify runs systemd-analyze verify with the binary path pointed
// at a stand-in executable (verify insists that ExecStart exists). Any output is a
// failure: verify exits 0 on unknown keys and bad values, it only prints them.
func TestSystemdAnalyzeVerify(t *testing.T) {
	sa := requireTool(t, "systemd-analyze", "systemd")
	dir := t.TempDir()
	bin := filepath.Join(dir, "ebpfvrrp")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(readFile(t, unitFile)), "/usr/local/sbin/ebpfvrrp", bin)
	p := filepath.Join(dir, "ebpfvrrp.service")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runTool(t, dir, sa, "verify", "--man=no", p)
	if err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("systemd-analyze verify: err %v\n%s", err, out)
	}
	// The check itself must be able to fail.
	bad := strings.Replace(text, "Restart=on-failure", "Restart=sometimes", 1)
	if err := os.WriteFile(p, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, _ := runTool(t, dir, sa, "verify", "--man=no", p); strings.TrimSpace(out) == "" {
		t.Error("systemd-analyze verify printed nothing for Restart=sometimes; this test cannot catch errors")
	}
}

// ------------------------------------------------- Prometheus end to end

// TestPrometheusScrapesTelemetry runs a real Prometheus with the example config's
// relabelling and the alert rules against two telemetry endpoints (lb-5 and lb-6,
// both MASTER of VRID 50), all inside a fresh network namespace. It proves the
// label design: the VRRP instance arrives as vrrp_instance, the host as instance,
// every rule evaluates without error, and the split-brain alert fires.
func TestPrometheusScrapesTelemetry(t *testing.T) {
	testutil.Privileged(t)
	testutil.Require(t, "prometheus", "ip")
	ns := testutil.NewNetns(t, "prom")

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var targets []string
	for _, host := range []string{"lb-5", "lb-6"} {
		var l net.Listener
		ns.Do(t, func() error {
			var err error
			l, err = net.Listen("tcp", "127.0.0.1:0")
			return err
		})
		reg := telemetry.NewRegistry(fakeSource{state: 2}, host, log)
		srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(l)
		t.Cleanup(func() { srv.Close() })
		targets = append(targets, l.Addr().String())
	}

	// The example config, with its relabelling untouched, pointed at our targets.
	var cfg map[string]any
	if err := yaml.Unmarshal(readFile(t, promConfig), &cfg); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	abs, err := filepath.Abs(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg["global"] = map[string]any{"scrape_interval": "1s", "evaluation_interval": "1s"}
	cfg["rule_files"] = []string{abs}
	sc := cfg["scrape_configs"].([]any)[0].(map[string]any)
	if sc["job_name"] != "ebpfvrrp" || sc["metric_relabel_configs"] == nil {
		t.Fatalf("%s: first scrape config is not the ebpfvrrp job with metric_relabel_configs: %v", promConfig, sc)
	}
	sc["static_configs"] = []any{map[string]any{"targets": targets}}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, b, 0o644); err != nil {
		t.Fatal(err)
	}

	const listen = "127.0.0.1:9090" // the namespace is ours alone
	var logs bytes.Buffer
	cmd := exec.Command("ip", "netns", "exec", ns.Name, "prometheus",
		"--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+listen, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	// Dies with the test binary even if it is killed before cleanup runs.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus output:\n%s", logs.String())
		}
	})

	client := ns.HTTPClient()
	api := func(path string, q url.Values, v any) error {
		resp, err := client.Get("http://" + listen + path + "?" + q.Encode())
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s: %s", path, resp.Status, body)
		}
		return json.Unmarshal(body, v)
	}
	// poll retries f until it returns nil; generous, as Prometheus needs a few
	// scrapes and rule evaluations.
	poll := func(what string, f func() error) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			err := f()
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %v", what, err)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}

	type series struct {
		Data struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
			} `json:"result"`
		} `json:"data"`
	}
	poll("query ebpfvrrp_instance_state", func() error {
		var s series
		if err := api("/api/v1/query", url.Values{"query": {"ebpfvrrp_instance_state"}}, &s); err != nil {
			return err
		}
		if len(s.Data.Result) != 2 {
			return fmt.Errorf("%d series, want 2: %v", len(s.Data.Result), s.Data.Result)
		}
		var got []string
		for _, r := range s.Data.Result {
			m := r.Metric
			if _, ok := m["exported_instance"]; ok {
				return fmt.Errorf("exported_instance survived the relabelling: %v", m)
			}
			if m["vrrp_instance"] != "VI_1" || m["job"] != "ebpfvrrp" || m["vrid"] != "50" || m["interface"] != "eth0" {
				return fmt.Errorf("labels %v, want vrrp_instance=VI_1 job=ebpfvrrp vrid=50 interface=eth0", m)
			}
			got = append(got, m["instance"])
		}
		slices.Sort(got)
		want := slices.Clone(targets)
		slices.Sort(want)
		if diff := cmpStrings(want, got); diff != "" {
			return fmt.Errorf("instance labels (-want +got):\n%s", diff)
		}
		return nil
	})

	poll("every rule evaluated without error", func() error {
		var r struct {
			Data struct {
				Groups []struct {
					Rules []struct {
						Name      string `json:"name"`
						Health    string `json:"health"`
						LastError string `json:"lastError"`
					} `json:"rules"`
				} `json:"groups"`
			} `json:"data"`
		}
		if err := api("/api/v1/rules", nil, &r); err != nil {
			return err
		}
		n := 0
		for _, g := range r.Data.Groups {
			for _, rule := range g.Rules {
				n++
				if rule.Health != "ok" {
					return fmt.Errorf("rule %s: health %q %s", rule.Name, rule.Health, rule.LastError)
				}
			}
		}
		if n == 0 {
			return errors.New("no rules loaded")
		}
		return nil
	})

	poll("EbpfvrrpSplitBrain firing", func() error {
		var a struct {
			Data struct {
				Alerts []struct {
					Labels map[string]string `json:"labels"`
					State  string            `json:"state"`
				} `json:"alerts"`
			} `json:"data"`
		}
		if err := api("/api/v1/alerts", nil, &a); err != nil {
			return err
		}
		var seen []string
		for _, al := range a.Data.Alerts {
			seen = append(seen, al.Labels["alertname"]+"/"+al.State)
			if al.Labels["alertname"] == "EbpfvrrpSplitBrain" && al.State == "firing" && al.Labels["vrid"] == "50" {
				return nil
			}
		}
		return fmt.Errorf("alerts: %v", seen)
	})
}

// ------------------------------------------ the unit's capabilities, for real

// TestUnitCapabilitiesSuffice runs the daemon in a network namespace with exactly
// the capability bounding set of the unit file (as root, like the unit) and
// requires it to become MASTER, hold the VIP and send adverts; then drops each
// capability in turn and requires the daemon to fail, so none is superfluous.
func TestUnitCapabilitiesSuffice(t *testing.T) {
	testutil.Privileged(t)
	testutil.Require(t, "setpriv", "nsenter", "ip", "go")
	u, _ := parseUnit(t, string(readFile(t, unitFile)))
	caps := strings.Fields(strings.Join(u["Service"]["CapabilityBoundingSet"], " "))
	if len(caps) == 0 {
		t.Fatal("unit has no CapabilityBoundingSet")
	}
	bin := testutil.EbpfvrrpBinary(t)

	t.Run("unit set", func(t *testing.T) {
		d := startCapDaemon(t, bin, caps)
		d.poll(t, "VIP and 3 adverts sent", func() error {
			if d.exited() {
				return errStop
			}
			out, err := exec.Command("ip", "-n", d.ns.Name, "-br", "addr", "show", "dev", d.ifname).CombinedOutput()
			if err != nil || !strings.Contains(string(out), capVIP+"/") {
				return fmt.Errorf("VIP %s not on %s: %s %v", capVIP, d.ifname, out, err)
			}
			n, err := d.advertsSent()
			if err != nil {
				return err
			}
			if n < 3 {
				return fmt.Errorf("ebpfvrrp_adverts_sent_total %v, want >= 3", n)
			}
			return nil
		})
		if permErrRe.MatchString(d.log.String()) {
			t.Errorf("daemon hit a permission error with the unit's capabilities:\n%s", d.log.String())
		}
	})
	_, header := parseUnit(t, string(readFile(t, unitFile)))
	daemonCaps, _, _, err := headerCaps(header)
	if err != nil {
		t.Fatal(err)
	}
	// The scripts' capabilities are proven necessary by TestUnitLetsScriptsRun.
	for _, drop := range daemonCaps {
		t.Run("without "+drop, func(t *testing.T) {
			d := startCapDaemon(t, bin, slices.DeleteFunc(slices.Clone(caps), func(c string) bool { return c == drop }))
			d.poll(t, "a permission failure", func() error {
				// EPERM/EACCES, not some other failure: the config is the one that
				// works above.
				if permErrRe.MatchString(d.log.String()) {
					return nil
				}
				if d.exited() {
					return fmt.Errorf("%w without a permission error", errStop)
				}
				return errors.New("still running without a permission error")
			})
			t.Logf("without %s: %s", drop, permErrRe.FindString(d.log.String()))
		})
	}
}

const capVIP = "198.18.0.3"

// permErrRe matches the daemon's report of a missing privilege (EPERM, or EACCES
// from the verifier), with the rest of its line.
var permErrRe = regexp.MustCompile(`.*(operation not permitted|permission denied).*`)

var errStop = errors.New("daemon exited")

type capDaemon struct {
	ns     *testutil.Netns
	ifname string
	cmd    *exec.Cmd
	log    *testutil.SyncBuffer
	done   chan struct{}
	client *http.Client
}

func startCapDaemon(t *testing.T, bin string, caps []string) *capDaemon {
	t.Helper()
	a, b := testutil.NewNetns(t, "capa"), testutil.NewNetns(t, "capb")
	ifa, ifb := testutil.UniqueName("cva"), testutil.UniqueName("cvb")
	testutil.Veth(t, a, ifa, netip.MustParsePrefix("198.18.0.5/24"), b, ifb, netip.MustParsePrefix("198.18.0.6/24"))
	pin := filepath.Join("/sys/fs/bpf", testutil.UniqueName("capt"))
	t.Cleanup(func() { os.RemoveAll(pin) })
	dir := t.TempDir()
	cfg := fmt.Sprintf(`router_id: capt
instances:
  - name: VI_1
    interface: %s
    vrid: 50
    priority: 150
    version: 3
    advert_interval: 100ms
    vips: [%s]
dataplane:
  pin_path: %s
telemetry:
  listen: "127.0.0.1:9864"
`, ifa, capVIP, pin)
	cfgPath := filepath.Join(dir, "ebpfvrrp.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	// nsenter, not `ip netns exec`: the latter remounts /sys and hides bpffs, and
	// mounting it again would need CAP_SYS_ADMIN, which the unit does not grant.
	d := &capDaemon{ns: a, ifname: ifa, log: &testutil.SyncBuffer{}, done: make(chan struct{}), client: a.HTTPClient()}
	argv := append(append([]string{"--net=/run/netns/" + a.Name}, setpriv(caps)...), "--",
		bin, "run", "--config", cfgPath, "--control-socket", filepath.Join(dir, "ctl.sock"))
	d.cmd = exec.Command("nsenter", argv...)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		_ = d.cmd.Process.Signal(os.Interrupt)
		select {
		case <-d.done:
		case <-time.After(10 * time.Second):
			_ = d.cmd.Process.Kill()
			<-d.done
		}
		if t.Failed() {
			t.Logf("daemon with %v:\n%s", caps, d.log.String())
		}
	})
	return d
}

func (d *capDaemon) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

func (d *capDaemon) poll(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if errors.Is(err, errStop) || time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

var sentRe = regexp.MustCompile(`(?m)^ebpfvrrp_adverts_sent_total\{[^}]*\} (\S+)$`)

func (d *capDaemon) advertsSent() (float64, error) {
	resp, err := d.client.Get("http://127.0.0.1:9864/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	m := sentRe.FindSubmatch(body)
	if m == nil {
		return 0, errors.New("no ebpfvrrp_adverts_sent_total yet")
	}
	var n float64
	_, err = fmt.Sscan(string(m[1]), &n)
	return n, err
}

func TestMain(m *testing.M) { testutil.Main(m) }
