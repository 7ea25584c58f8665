package config

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

// kaSamples are keepalived's shipped VRRP samples (testdata/keepalived/samples) with
// what keepalived -t says about each when eth0–eth3 exist, and what ebpfvrrp says.
// keepalived -t also rejects files for reasons ebpfvrrp does not share (a route
// it cannot track, scripts run as root without enable_script_security); why is
// noted per file, and TestKeepalivedSamplesReference checks the keepalived column.
var kaSamples = []struct {
	file     string
	configID string // keepalived -i; "" is the host name
	// kaAccepts: keepalived -t exits 0 with eth0, eth1, eth2 and eth3 present.
	kaAccepts bool
	why       string // why keepalived -t and ebpfvrrp differ, if they do
	// importErr / loadErr: substring of the error LoadKeepalived / Load return, ""
	// for none.
	importErr, loadErr string
	// warnLines: lines that must carry a warning (a subset of all warnings).
	warnLines []int
}{
	{file: "keepalived.conf.vrrp", kaAccepts: true, warnLines: []int{4, 17, 32}},
	{file: "keepalived.conf.vrrp.sync", kaAccepts: true},
	{file: "keepalived.conf.vrrp.scripts", kaAccepts: true, warnLines: []int{19}},
	// LVS only, no vrrp_instance: valid with a warning, as keepalived -t accepts
	// it; ebpfvrrp run refuses it (nothing to run).
	{file: "keepalived.conf.IPv6", kaAccepts: true, warnLines: []int{7, 13}},
	{file: "keepalived.conf.conditional_conf", configID: "high", kaAccepts: true, warnLines: []int{3}},
	{file: "keepalived.conf.conditional_conf", configID: "low", kaAccepts: true, warnLines: []int{4}},
	{file: "keepalived.conf.conditional_conf", kaAccepts: false,
		why:       "neither @high nor @low applies, so vrrp_script check_VI_0 has no script: keepalived reports it and -t fails",
		importErr: "vrrp_script check_VI_0 has no script"},
	{file: "keepalived.conf.vrrp.localcheck", kaAccepts: false,
		why: "keepalived -t exits 6: scripts run as root without enable_script_security (a security warning, the file loads)"},
	{file: "keepalived.conf.vrrp.routes", kaAccepts: false, warnLines: []int{7, 30},
		why: "keepalived cannot track routes without an interface; ebpfvrrp adds such a route where the kernel routes its gateway, and warns that with \"or\" it uses the first gateway"},
	{file: "keepalived.conf.vrrp.rules", kaAccepts: false, warnLines: []int{9},
		why:       "the rules name invalid addresses (192.168.200./24): keepalived -t reports them and so does ebpfvrrp",
		importErr: `"192.168.200./24": not a prefix`},
	{file: "keepalived.conf.vrrp.static_ipaddress", kaAccepts: false, warnLines: []int{7},
		why: "a static route without an interface cannot be tracked; ebpfvrrp manages neither and warns"},
	{file: "keepalived.conf.track_interface", kaAccepts: false, warnLines: []int{7},
		why: "the instance runs on eth0.1, absent here; ebpfvrrp checks interfaces when the daemon starts, not in validate"},
}

func kaSampleName(file, id string) string {
	if id == "" {
		return file
	}
	return file + " -i " + id
}

// TestKeepalivedSamples: keepalived's own VRRP samples import (parse, convert) and
// validate as recorded in kaSamples; keepalived.conf.vrrp lists 192.168.200.18
// twice, which keepalived loads, and ebpfvrrp loads with a warning at the second.
//
// keyword: vrrp_instance virtual_ipaddress
func TestKeepalivedSamples(t *testing.T) {
	for _, s := range kaSamples {
		t.Run(kaSampleName(s.file, s.configID), func(t *testing.T) {
			path := filepath.Join("testdata", "keepalived", "samples", s.file)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !IsKeepalived(data) {
				t.Errorf("IsKeepalived = false")
			}
			c, err := loadKeepalivedAs(path, s.configID)
			if s.importErr != "" {
				if err == nil || !strings.Contains(err.Error(), s.importErr) {
					t.Fatalf("import error = %v, want one containing %q", err, s.importErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("import: %v", err)
			}
			for _, line := range s.warnLines {
				found := false
				for _, w := range c.Warnings {
					found = found || (w.File == path && w.Line == line)
				}
				if !found {
					t.Errorf("no warning at line %d; warnings: %+v", line, c.Warnings)
				}
			}
			c.Normalize()
			err = c.Validate()
			switch {
			case s.loadErr == "" && err != nil:
				t.Errorf("validate: %v", err)
			case s.loadErr != "" && (err == nil || !strings.Contains(err.Error(), s.loadErr)):
				t.Errorf("validate error = %v, want one containing %q", err, s.loadErr)
			}
		})
	}
}

// TestKeepalivedSampleDuplicateVIP: the second 192.168.200.18 of
// keepalived.conf.vrrp (line 32, with a label) is dropped with a warning that names
// the first (line 28); the instance keeps three VIPs.
func TestKeepalivedSampleDuplicateVIP(t *testing.T) {
	path := filepath.Join("testdata", "keepalived", "samples", "keepalived.conf.vrrp")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range c.Instances[0].VIPs {
		got = append(got, v.String())
	}
	if d := kaDiff([]string{"192.168.200.16/32", "192.168.200.17/32", "192.168.200.18/32"}, got); d != "" {
		t.Errorf("VI_1 VIPs (-want +got):\n%s", d)
	}
	want := fmt.Sprintf("virtual_ipaddress: 192.168.200.18 is already listed at %s:28:9; this line is ignored", path)
	for _, w := range c.Warnings {
		if w.Line == 32 && strings.HasPrefix(w.Message, want) {
			return
		}
	}
	t.Errorf("no warning at line 32 starting %q; got %+v", want, c.Warnings)
}

// TestKeepalivedDuplicateVIPs: an address listed again, in virtual_ipaddress or
// virtual_ipaddress_excluded, is kept once (the first) with a warning at the repeat.
func TestKeepalivedDuplicateVIPs(t *testing.T) {
	tests := []struct {
		name           string
		vips, excluded string
		wantVIPs       []string
		wantExcl       []string
		warnLine       int
	}{
		{"same line twice", "  198.18.0.1\n  198.18.0.1\n", "", []string{"198.18.0.1/32"}, nil, 6},
		{"different prefix length", "  198.18.0.1/24\n  198.18.0.1/32 dev eth1\n", "", []string{"198.18.0.1/24"}, nil, 6},
		{"vip repeated as excluded", "  198.18.0.1\n", "  198.18.0.1\n  198.18.0.2\n", []string{"198.18.0.1/32"}, []string{"198.18.0.2/32"}, 8},
		{"IPv6", "  fd00::1\n  fd00::1/64\n", "", []string{"fd00::1/128"}, nil, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n" + tt.vips + " }\n"
			if tt.excluded != "" {
				text += " virtual_ipaddress_excluded {\n" + tt.excluded + " }\n"
			}
			path := kaWrite(t, text+"}\n")
			c, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			str := func(vs []VIP) []string {
				var out []string
				for _, v := range vs {
					out = append(out, v.String())
				}
				return out
			}
			if d := kaDiff(tt.wantVIPs, str(c.Instances[0].VIPs)); d != "" {
				t.Errorf("VIPs (-want +got):\n%s", d)
			}
			if d := kaDiff(tt.wantExcl, str(c.Instances[0].ExcludedVIPs)); d != "" {
				t.Errorf("excluded VIPs (-want +got):\n%s", d)
			}
			if len(c.Warnings) != 1 || c.Warnings[0].Line != tt.warnLine || !strings.Contains(c.Warnings[0].Message, "is already listed at "+path+":5:") {
				t.Errorf("warnings = %+v, want one at line %d naming line 5", c.Warnings, tt.warnLine)
			}
		})
	}
}

// kaRun is one keepalived -t run: a file and its -i config id ("" for none).
type kaRun struct{ path, configID string }

// keepalivedT runs keepalived -t on each file, in a network namespace of its own
// holding eth0–eth3 (veth pairs), and returns the exit statuses in order. A
// privileged test helper: it needs root and EBPFVRRP_PRIVILEGED_TESTS=1.
func keepalivedT(t *testing.T, runs []kaRun) []int {
	t.Helper()
	testutil.Privileged(t)
	testutil.Require(t, "keepalived", "unshare", "ip")
	ka, _ := exec.LookPath("keepalived")
	unshare, _ := exec.LookPath("unshare")
	var script strings.Builder
	script.WriteString("set -u\nip link set lo up\nfor i in eth0 eth1 eth2 eth3; do ip link add $i type veth peer name p$i || exit 100; ip link set $i up; ip link set p$i up; done\n")
	for i, r := range runs {
		abs, err := filepath.Abs(r.path)
		if err != nil {
			t.Fatal(err)
		}
		id := ""
		if r.configID != "" {
			id = "-i " + r.configID
		}
		fmt.Fprintf(&script, "timeout 20 %s -t %s -f %s -l -D >/dev/null 2>&1; echo \"%d $?\"\n", ka, id, abs, i)
	}
	out, err := exec.Command(unshare, "-n", "sh", "-c", script.String()).CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 100 {
		t.Fatalf("cannot create veth interfaces in a new namespace: %s", out)
	}
	if err != nil {
		t.Fatalf("unshare: %v\n%s", err, out)
	}
	rc := make([]int, len(runs))
	seen := map[int]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var i, code int
		if _, err := fmt.Sscanf(line, "%d %d", &i, &code); err == nil && i >= 0 && i < len(runs) {
			rc[i], seen[i] = code, true
		}
	}
	if len(seen) != len(runs) {
		t.Fatalf("exit statuses for %d of %d runs in:\n%s", len(seen), len(runs), out)
	}
	return rc
}

// kaReference runs keepalived -t on each of texts (written to files) and checks
// each exit status with check, in a subtest named names[i].
func kaReference(t *testing.T, names, texts []string, check func(t *testing.T, i, rc int)) {
	t.Helper()
	runs := make([]kaRun, len(texts))
	for i, text := range texts {
		runs[i] = kaRun{path: kaWrite(t, text)}
	}
	rc := keepalivedT(t, runs)
	for i, name := range names {
		t.Run(name, func(t *testing.T) { check(t, i, rc[i]) })
	}
}

// TestKeepalivedSamplesReference runs keepalived -t on every sample with eth0–eth3
// present and checks the kaAccepts column.
func TestKeepalivedSamplesReference(t *testing.T) {
	var runs []kaRun
	for _, s := range kaSamples {
		runs = append(runs, kaRun{filepath.Join("testdata", "keepalived", "samples", s.file), s.configID})
	}
	rc := keepalivedT(t, runs)
	for i, s := range kaSamples {
		t.Run(kaSampleName(s.file, s.configID), func(t *testing.T) {
			if (rc[i] == 0) != s.kaAccepts {
				t.Errorf("keepalived -t exit status %d, recorded kaAccepts=%v (%s)", rc[i], s.kaAccepts, s.why)
			}
		})
	}
}
