package config

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// exampleFiles globs every config the repository ships, so that an example that
// stops loading fails the build.
func exampleFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pat := range []string{"*.yaml", "*.yml", "*.toml", "*.json", "keepalived/*.conf"} {
		m, err := filepath.Glob(filepath.Join("..", "configs", pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	return files
}

func TestExamplesLoad(t *testing.T) {
	files := exampleFiles(t)
	for _, want := range []string{"lb-5.yaml", "lb-6.yaml", "lb-5-v3.yaml", "lb-5-ipv6.yaml"} {
		if !slices.Contains(files, filepath.Join("..", "configs", want)) {
			t.Errorf("configs/%s is missing", want)
		}
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, err := Load(f)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if err := c.Validate(); err != nil {
				t.Errorf("Validate after Load: %v", err)
			}
		})
	}
}

// lb5Want is the tutorial's lb-5 as the schema holds it after defaults.
func lb5Want() *Config {
	c := DefaultConfig()
	c.RouterID = "lb-5"
	in := DefaultInstance()
	in.Name, in.Interface, in.VRID, in.Priority, in.State = "VI_1", "eth0", 50, 150, "master"
	in.Auth = Auth{Type: "pass", Password: "1111"}
	in.VIPs = []VIP{{Address: netip.MustParsePrefix("10.0.0.3/32")}}
	in.GARP = c.GARP
	c.Instances = []Instance{in}
	return c
}

func TestTutorialPair(t *testing.T) {
	lb5 := lb5Want()
	lb6 := lb5Want()
	lb6.RouterID = "lb-6"
	lb6.Instances[0].Priority, lb6.Instances[0].State = 100, "backup"
	for file, want := range map[string]*Config{"lb-5.yaml": lb5, "lb-6.yaml": lb6} {
		t.Run(file, func(t *testing.T) {
			got, err := Load(filepath.Join("..", "configs", file))
			if err != nil {
				t.Fatal(err)
			}
			if d := schemaDiff(want, stripMeta(got)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// TestFormats: the same config in TOML and JSON loads to the same Config as YAML.
func TestFormats(t *testing.T) {
	want := lb5Want()
	for _, f := range []string{"testdata/lb-5.toml", "testdata/lb-5.json", "../configs/lb-5.yaml"} {
		t.Run(filepath.Ext(f), func(t *testing.T) {
			got, err := Load(f)
			if err != nil {
				t.Fatal(err)
			}
			if d := schemaDiff(want, stripMeta(got)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// TestFormatProblems: TOML carries no line numbers through viper; JSON gets them
// from the YAML node tree (JSON is YAML).
func TestFormatProblems(t *testing.T) {
	tests := []struct {
		format, text string
		want         []string
	}{
		{"toml", "[[instances]]\nname = \"VI_1\"\ninterface = \"eth0\"\nvrid = 300\nvips = [\"198.18.0.3\"]\n",
			[]string{"t.toml: instances[0].vrid: 300 is outside 1–255"}},
		{"toml", "[[instances]]\nname = \"VI_1\"\nvrid = = 3\n",
			[]string{"t.toml:3: toml: incomplete number"}},
		{"json", "{\"instances\": [{\n  \"name\": \"VI_1\",\n  \"interface\": \"eth0\",\n  \"vrid\": 300,\n  \"vips\": [\"198.18.0.3\"]}]}\n",
			[]string{"t.json:4: instances[0].vrid: 300 is outside 1–255"}},
		{"json", "{\"instances\": [\n{\"name\": \"VI_1\",,}]}\n",
			[]string{"t.json:2: json: invalid character ',' looking for beginning of object key string"}},
	}
	for _, tt := range tests {
		t.Run(tt.format+" "+tt.want[0], func(t *testing.T) {
			_, err := Parse([]byte(tt.text), tt.format, "t."+tt.format)
			if d := lineDiff(strings.Join(tt.want, "\n"), strings.Join(problemStrings(t, err), "\n")); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
		})
	}
	if _, err := Parse(nil, "ini", "x.ini"); !errors.Is(err, ErrUnsupportedFormat) {
		t.Errorf("Parse(ini) = %v, want ErrUnsupportedFormat", err)
	}
}

const minimal = `
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    vips: [198.18.0.3, 198.18.0.4/24]
  - name: VI_6
    interface: eth0
    vrid: 50
    version: 3
    vips: ["fd00:198:18::3"]
trackers:
  chk:
    command: [/usr/bin/true]
`

// TestDefaults: everything left out gets keepalived's default.
func TestDefaults(t *testing.T) {
	got := stripMeta(mustParseYAML(t, minimal))
	want := DefaultConfig()
	garp := GARP{MasterDelay: 5 * time.Second, MasterRepeat: 5, Refresh: 0, RefreshRepeat: 1, Interval: 0}
	want.GARP = garp
	v4 := Instance{
		Name: "VI_1", Interface: "eth0", VRID: 50,
		Priority: 100, Version: 2, AdvertInterval: time.Second, State: "backup", Preempt: true,
		Auth: Auth{Type: "none"},
		GARP: garp,
		VIPs: []VIP{
			{Address: netip.MustParsePrefix("198.18.0.3/32")},
			{Address: netip.MustParsePrefix("198.18.0.4/24")},
		},
	}
	v6 := v4
	v6.Name, v6.Version = "VI_6", 3
	v6.VIPs = []VIP{{Address: netip.MustParsePrefix("fd00:198:18::3/128")}}
	want.Instances = []Instance{v4, v6}
	want.Trackers = map[string]Tracker{"chk": {
		Command: []string{"/usr/bin/true"}, Interval: time.Second, Timeout: time.Second, Rise: 1, Fall: 1,
	}}
	if want.McastGroup4 != netip.MustParseAddr("224.0.0.18") || want.McastGroup6 != netip.MustParseAddr("ff02::12") ||
		want.Dataplane != (Dataplane{AttachMode: "auto", PinPath: "/sys/fs/bpf/ebpfvrrp"}) ||
		want.Telemetry.Listen != "127.0.0.1:9864" || want.SplitBrain.Action != "alert" {
		t.Fatalf("DefaultConfig drifted from the documented defaults: %+v", want)
	}
	if d := schemaDiff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}

	// Normalize is idempotent.
	again := *got
	again.Normalize()
	if d := schemaDiff(got, &again); d != "" {
		t.Errorf("second Normalize changed the config (-once +twice):\n%s", d)
	}
}

// TestExplicitZeroKept: zero values that mean something are not replaced by defaults.
func TestExplicitZeroKept(t *testing.T) {
	c := mustParseYAML(t, minimal+`
garp: {master_delay: 0}
telemetry: {listen: ""}
`)
	if c.GARP.MasterDelay != 0 {
		t.Errorf("garp.master_delay = %v, want 0 as written", c.GARP.MasterDelay)
	}
	if c.Telemetry.Listen != "" {
		t.Errorf("telemetry.listen = %q, want \"\" (disabled) as written", c.Telemetry.Listen)
	}
	c = mustParseYAML(t, strings.Replace(minimal, "    vrid: 50\n", "    vrid: 50\n    preempt: false\n", 1))
	if c.Instances[0].Preempt || !c.Instances[1].Preempt {
		t.Errorf("preempt = %v, %v; want false as written, true by default", c.Instances[0].Preempt, c.Instances[1].Preempt)
	}
}

// TestEnvOverrides: EBPFVRRP_* variables override the file, for YAML and for
// keepalived.conf alike, and a bad value is reported against the variable.
func TestEnvOverrides(t *testing.T) {
	t.Setenv("EBPFVRRP_TELEMETRY_LISTEN", "0.0.0.0:19864")
	t.Setenv("EBPFVRRP_DATAPLANE_PIN_PATH", "/sys/fs/bpf/other")
	t.Setenv("EBPFVRRP_GARP_MASTER_DELAY", "2")
	t.Setenv("EBPFVRRP_GARP_MASTER_REPEAT", "3")
	t.Setenv("EBPFVRRP_SPLIT_BRAIN_ACTION", "demote")
	t.Setenv("EBPFVRRP_ROUTER_ID", "from-env")

	check := func(t *testing.T, c *Config) {
		t.Helper()
		got := []any{c.Telemetry.Listen, c.Dataplane.PinPath, c.GARP.MasterDelay, c.GARP.MasterRepeat,
			c.Instances[0].GARP.MasterRepeat, c.SplitBrain.Action, c.RouterID}
		want := []any{"0.0.0.0:19864", "/sys/fs/bpf/other", 2 * time.Second, 3, 3, "demote", "from-env"}
		if d := schemaDiff(want, got); d != "" {
			t.Errorf("(-want +got):\n%s", d)
		}
	}
	t.Run("yaml", func(t *testing.T) {
		c := mustParseYAML(t, minimal+"telemetry: {listen: \"127.0.0.1:1\"}\ndataplane: {pin_path: /x}\n")
		check(t, c)
	})
	t.Run("keepalived", func(t *testing.T) {
		if loadKeepalived == nil {
			t.Fatal("keepalived importer not linked in")
		}
		c, err := Load(filepath.Join("..", "configs", "keepalived", "lb-5.conf"))
		if err != nil {
			t.Fatal(err)
		}
		check(t, c)
	})
	t.Run("bad value", func(t *testing.T) {
		t.Setenv("EBPFVRRP_DATAPLANE_ATTACH_MODE", "bpf")
		t.Setenv("EBPFVRRP_MCAST_GROUP4", "not-an-ip")
		_, err := Parse([]byte(minimal), "yaml", "t.yaml")
		want := []string{
			`$EBPFVRRP_DATAPLANE_ATTACH_MODE: dataplane.attach_mode: "bpf" is not an attach mode; allowed: auto, xdp-native, xdp-generic, tc`,
			`$EBPFVRRP_MCAST_GROUP4: mcast_group4: "not-an-ip" is not an IP address`,
		}
		if d := lineDiff(strings.Join(want, "\n"), strings.Join(problemStrings(t, err), "\n")); d != "" {
			t.Errorf("problems (-want +got):\n%s", d)
		}
	})
}

// TestRoundTrip: Marshal output parses back to an equal Config, for every example
// and for a config that sets every field.
func TestRoundTrip(t *testing.T) {
	files := append(exampleFiles(t), "testdata/full.yaml", "testdata/lb-5.toml", "testdata/lb-5.json")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			orig, err := Load(f)
			if err != nil {
				t.Fatal(err)
			}
			y, err := Marshal(orig)
			if err != nil {
				t.Fatal(err)
			}
			back, err := Parse(y, "yaml", "marshaled.yaml")
			if err != nil {
				t.Fatalf("Parse(Marshal): %v\n%s", err, y)
			}
			if d := schemaDiff(stripMeta(orig), stripMeta(back)); d != "" {
				t.Errorf("round trip (-loaded +reparsed):\n%s\nYAML:\n%s", d, y)
			}
			y2, err := Marshal(back)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(y, y2) {
				t.Errorf("Marshal is not stable:\n%s", lineDiff(string(y), string(y2)))
			}
		})
	}
}

// TestFullConfig pins the decoding of every loose form in testdata/full.yaml.
func TestFullConfig(t *testing.T) {
	c, err := Load("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	in := c.Instances[0]
	checks := []struct {
		name      string
		got, want any
	}{
		{"YAML octal-looking password kept as written", in.Auth.Password, "0111"},
		{"VIP string form", in.VIPs[0], VIP{Address: netip.MustParsePrefix("198.18.0.3/24"), Device: "veth0", Label: "veth0:1"}},
		{"VIP struct form, default prefix", in.VIPs[1], VIP{Address: netip.MustParsePrefix("198.18.0.4/32"), Device: "veth1"}},
		{"number of seconds", in.AdvertInterval, 2 * time.Second},
		{"allowed_peers as written", in.AllowedPeers, []netip.Addr{netip.MustParseAddr("198.18.0.6")}},
		{"track string and struct", in.Track, []TrackRef{{Name: "CheckWeb"}, {Name: "port", Weight: intPtr(-20)}}},
		{"track_interfaces", in.TrackInterfaces, []TrackInterface{{Name: "veth1"}, {Name: "veth2", Weight: -30}}},
		{"notify string split", in.Notify.Master, []string{"/usr/local/bin/notify", "master"}},
		{"secondary paths", in.SecondaryPaths, []SecondaryPath{{Interface: "veth3"}, {Peer: netip.MustParseAddr("198.18.2.6")}}},
		{"instance GARP inherits unset fields", in.GARP, GARP{MasterDelay: 2 * time.Second, MasterRepeat: 4, Refresh: time.Minute, RefreshRepeat: 2, Interval: 10 * time.Millisecond}},
		{"shell command kept whole", c.Trackers["script"].Command, []string{"pidof nginx | grep -q ."}},
		{"shell notify kept whole", c.Instances[1].Notify.Generic, []string{"/bin/echo $1 && logger"}},
		{"tracker name case kept", slices.Sorted(func(yield func(string) bool) {
			for k := range c.Trackers {
				if !yield(k) {
					return
				}
			}
		}), []string{"CheckWeb", "port", "prio", "script"}},
		{"tracker timeout defaults to interval", c.Trackers["script"].Timeout, 500 * time.Millisecond},
		{"http expect_status", c.Trackers["CheckWeb"].HTTP.ExpectStatus, 204},
		{"v6 allowed_peers empty without unicast", c.Instances[1].AllowedPeers, []netip.Addr(nil)},
		{"telemetry disabled", c.Telemetry.Listen, ""},
		{"global master_delay 0 kept", c.GARP.MasterDelay, time.Duration(0)},
	}
	for _, ck := range checks {
		if d := schemaDiff(ck.want, ck.got); d != "" {
			t.Errorf("%s (-want +got):\n%s", ck.name, d)
		}
	}
}

// TestLooseForms covers the accepted spellings of durations, commands and VIPs.
func TestLooseForms(t *testing.T) {
	durations := []struct {
		in   string
		want time.Duration
	}{
		{"1", time.Second}, {"0.01", 10 * time.Millisecond}, {"1s", time.Second},
		{"10ms", 10 * time.Millisecond}, {`"2"`, 2 * time.Second}, {"1m", time.Minute}, {"0.5", 500 * time.Millisecond},
	}
	for _, d := range durations {
		c := mustParseYAML(t, "trackers: {c: {command: [/x], interval: "+d.in+"}}\n"+minimal[strings.Index(minimal, "instances:"):strings.Index(minimal, "trackers:")])
		if got := c.Trackers["c"].Interval; got != d.want {
			t.Errorf("interval %s = %v, want %v", d.in, got, d.want)
		}
	}

	commands := []struct {
		in   string
		want []string
	}{
		{"/usr/bin/pidof nginx", []string{"/usr/bin/pidof", "nginx"}},
		{"[/usr/bin/pidof, nginx]", []string{"/usr/bin/pidof", "nginx"}},
		{`"  /bin/true  "`, []string{"/bin/true"}},
	}
	for _, cm := range commands {
		c := mustParseYAML(t, "trackers: {c: {command: "+cm.in+"}}\n"+minimal[strings.Index(minimal, "instances:"):strings.Index(minimal, "trackers:")])
		if d := schemaDiff(cm.want, c.Trackers["c"].Command); d != "" {
			t.Errorf("command %s (-want +got):\n%s", cm.in, d)
		}
	}

	vips := []struct {
		in   string
		want VIP
	}{
		{"198.18.0.3", VIP{Address: netip.MustParsePrefix("198.18.0.3/32")}},
		{"198.18.0.3/24 dev eth0 label eth0:1", VIP{Address: netip.MustParsePrefix("198.18.0.3/24"), Device: "eth0", Label: "eth0:1"}},
		{"fd00:198:18::3 dev eth1", VIP{Address: netip.MustParsePrefix("fd00:198:18::3/128"), Device: "eth1"}},
	}
	for _, v := range vips {
		got, err := ParseVIP(v.in)
		if err != nil {
			t.Errorf("ParseVIP(%q): %v", v.in, err)
			continue
		}
		if got != v.want {
			t.Errorf("ParseVIP(%q) = %+v, want %+v", v.in, got, v.want)
		}
		if back, _ := ParseVIP(got.String()); back != got {
			t.Errorf("ParseVIP(%q.String()) = %+v", got.String(), back)
		}
	}
	for _, bad := range []string{"", "198.18.0.3 dev", "fe80::1%eth0", "198.18.0.3/33"} {
		if _, err := ParseVIP(bad); err == nil {
			t.Errorf("ParseVIP(%q) accepted", bad)
		}
	}
}

// TestYAMLMergeKeys: anchors under x- keys and merge keys work, and problems in
// merged values point at the anchor's lines.
func TestYAMLMergeKeys(t *testing.T) {
	text := `
x-common: &common
  interface: eth0
  priority: 300
  vips: [198.18.0.3]
instances:
  - <<: *common
    name: VI_1
    vrid: 50
  - <<: *common
    name: VI_2
    vrid: 51
    priority: 100
x-typo: 1
extra: 1
`
	_, err := Parse([]byte(text), "yaml", "t.yaml")
	got := problemStrings(t, err)
	want := []string{
		"t.yaml:4: instances[0].priority: 300 is outside 1–255 (255 means address owner)",
		"t.yaml:5: instances[1].vips[0]: 198.18.0.3 is also a VIP of instance \"VI_1\"; two virtual routers would fight over it",
		`t.yaml:15: extra: unknown key "extra"; allowed: dataplane, garp, instances, mcast_group4, mcast_group6, notify_fifo, router_id, script_user, split_brain, startup_delay, sync_groups, telemetry, trackers, vrrp_notify_fifo`,
	}
	if d := lineDiff(strings.Join(want, "\n"), strings.Join(got, "\n")); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want os.ErrNotExist", err)
	}

	// A keepalived.conf without the importer linked in is an explicit error.
	saved := loadKeepalived
	loadKeepalived = nil
	t.Cleanup(func() { loadKeepalived = saved })
	_, err := Load(filepath.Join("..", "configs", "keepalived", "lb-5.conf"))
	if !errors.Is(err, ErrNoKeepalivedImport) {
		t.Errorf("Load(keepalived.conf) without importer = %v, want ErrNoKeepalivedImport", err)
	}

	// Unknown extensions are read as YAML.
	p := filepath.Join(t.TempDir(), "lb.conf.local")
	if err := os.WriteFile(p, []byte(minimal), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err != nil {
		t.Errorf("Load(%s) as YAML: %v", p, err)
	}
}

// TestNoInstancesIsValid: a config without instances validates with a warning,
// as keepalived -t accepts keepalived's LVS-only samples (doc/samples
// keepalived.conf.IPv6); the daemon refuses to run it (internal/daemon).
func TestNoInstancesIsValid(t *testing.T) {
	c, err := Parse([]byte("router_id: lb-5\n"), "yaml", "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 1 || c.Warnings[0].Message != NoInstancesWarning || c.Warnings[0].File != "t.yaml" {
		t.Errorf("warnings %+v, want one %q for t.yaml", c.Warnings, NoInstancesWarning)
	}
	k, err := Load("testdata/keepalived/samples/keepalived.conf.IPv6")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(k.Warnings, func(w Warning) bool { return w.Message == NoInstancesWarning }) {
		t.Errorf("keepalived.conf.IPv6: no %q warning in %+v", NoInstancesWarning, k.Warnings)
	}
}
