package daemon

import (
	"github.com/ebpfvrrp/ebpfvrrp/vrrp"

	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ebpfvrrp/ebpfvrrp/config"
	"github.com/ebpfvrrp/ebpfvrrp/control"
	"github.com/ebpfvrrp/ebpfvrrp/loader"
)

func TestDefaultControlSocketFollowsPinPath(t *testing.T) {
	a, b := DefaultControlSocket("/sys/fs/bpf/ebpfvrrp-a"), DefaultControlSocket("/sys/fs/bpf/ebpfvrrp-b/")
	if a == b || !strings.HasSuffix(a, "ebpfvrrp-a.sock") || !strings.HasSuffix(b, "ebpfvrrp-b.sock") {
		t.Errorf("sockets %q %q", a, b)
	}
	if got := DefaultControlSocket(""); got != "/run/ebpfvrrp/ebpfvrrp.sock" {
		t.Errorf("default socket %q", got)
	}
}

func TestIfIndex(t *testing.T) {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ifIndex("lo")
	if err != nil || got != lo.Index {
		t.Errorf("ifIndex(lo) = %d, %v; want %d", got, err, lo.Index)
	}
	if _, err := ifIndex("nosuchif0"); err == nil || !strings.Contains(err.Error(), "no such network interface") {
		t.Errorf("ifIndex(nosuchif0) error = %v, want no such network interface", err)
	}
	if _, err := ifIndex("a-name-longer-than-ifnamsiz"); err == nil {
		t.Error("ifIndex with a too long name: no error")
	}
}

// TestBuildSetup builds the Runner's setup from a config on the loopback
// interface: keys, primary address, tracker order and weights.
func TestBuildSetup(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	yml := `trackers:
  zz: {file: /nonexistent, weight: -20}
  aa: {file: /nonexistent}
split_brain: {action: demote}
instances:
  - name: VI_1
    interface: lo
    vrid: 51
    priority: 150
    unicast_source: 127.0.0.1
    unicast_peers: [127.0.0.2]
    vips: [198.18.10.3/32]
    track: [{name: zz}]
`
	if err := os.WriteFile(p, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	noVMAC := func(string, uint8, vrrp.Family) (string, error) { t.Fatal("no VMAC configured"); return "", nil }
	s, err := buildSetup(cfg, noVMAC)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Trackers) != 2 || s.Trackers[0].Name != "aa" || s.Trackers[1].Name != "zz" {
		t.Errorf("trackers %+v, want aa then zz", s.Trackers)
	}
	lo, _ := net.InterfaceByName("lo")
	if len(s.Instances) != 1 {
		t.Fatalf("instances %+v", s.Instances)
	}
	in := s.Instances[0]
	want := control.InstanceKey{Ifindex: lo.Index, VRID: 51, Family: vrrp.IPv4}
	if in.Key != want || in.Priority != 150 || in.SplitBrain != control.SplitBrainDemote {
		t.Errorf("instance key %+v prio %d split brain %v", in.Key, in.Priority, in.SplitBrain)
	}
	if in.PrimaryAddr != netip.MustParseAddr("127.0.0.1") || len(in.AllowedPeers) != 1 {
		t.Errorf("primary %v allowed peers %v", in.PrimaryAddr, in.AllowedPeers)
	}
	if len(in.VIPs) != 1 || in.VIPs[0].Device != "lo" {
		t.Errorf("VIPs %+v, want one on lo", in.VIPs)
	}
	if len(in.Track) != 1 || in.Track[0].Weight != -20 {
		t.Errorf("track %+v, want zz with the tracker's weight -20", in.Track)
	}
	cfg.Instances[0].Interface = "nosuchif0"
	if _, err := buildSetup(cfg, noVMAC); err == nil || !strings.Contains(err.Error(), "instances[0] (VI_1).interface") {
		t.Errorf("missing interface: err %v", err)
	}
}

// TestStateNumbering: the dataplane adapter and the telemetry source pass
// control.State on as a number; the loader's and the metric's must be the same.
func TestStateNumbering(t *testing.T) {
	for _, tt := range []struct {
		c control.State
		l loader.State
	}{{control.Init, loader.StateInit}, {control.Backup, loader.StateBackup}, {control.Master, loader.StateMaster}, {control.Fault, loader.StateFault}} {
		if uint8(tt.c) != uint8(tt.l) {
			t.Errorf("control %v = %d, loader %v = %d", tt.c, tt.c, tt.l, tt.l)
		}
	}
}

// TestEventNumbering: translateEvent converts the loader's event type to
// control's kind by number.
func TestEventNumbering(t *testing.T) {
	for _, tt := range []struct {
		l loader.EventType
		c control.KernelEventKind
	}{
		{loader.EventMasterDown, control.EventMasterDown}, {loader.EventNewMaster, control.EventNewMaster},
		{loader.EventPrioChange, control.EventPrioChange}, {loader.EventPrioZero, control.EventPrioZero},
		{loader.EventPreempt, control.EventPreempt}, {loader.EventBothMasters, control.EventBothMasters},
	} {
		ev, ok := translateEvent(loader.Event{Type: tt.l, Key: loader.InstanceKey{Ifindex: 3, VRID: 7, Family: loader.FamilyIPv6}})
		if !ok || ev.Kind != tt.c || ev.Key != (control.InstanceKey{Ifindex: 3, VRID: 7, Family: vrrp.IPv6}) {
			t.Errorf("translateEvent(%v) = %+v, %v; want kind %d", tt.l, ev, ok, tt.c)
		}
	}
	if _, ok := translateEvent(loader.Event{Type: 0}); ok {
		t.Error("translateEvent passed EVENT_NONE on")
	}
	if _, ok := translateEvent(loader.Event{Type: loader.EventBothMasters + 1}); ok {
		t.Error("translateEvent passed an unknown type on")
	}
}

// TestDefaultPinPath: a daemon whose config names no pin path pins under
// config.DefaultPinPath (the one home of the default, which `ebpfvrrp status`
// also asks), and its control socket follows it; the loader has no default.
func TestDefaultPinPath(t *testing.T) {
	d := New(Options{Config: &config.Config{}})
	if d.opts.PinPath != config.DefaultPinPath {
		t.Errorf("pin path %q, want %q", d.opts.PinPath, config.DefaultPinPath)
	}
	if want := DefaultControlSocket(config.DefaultPinPath); d.opts.ControlSocket != want {
		t.Errorf("control socket %q, want %q", d.opts.ControlSocket, want)
	}
	if _, err := loader.Load(loader.Options{}); err == nil || !strings.Contains(err.Error(), "PinPath") {
		t.Errorf("loader.Load without a pin path: %v, want an error naming PinPath", err)
	}
}

func TestFitsMTU(t *testing.T) {
	eth := &net.Interface{Name: "eth0", MTU: 1500}
	for _, tc := range []struct {
		version int
		ipv6    bool
		n       int
		wantErr string
	}{
		{2, false, 255, ""},
		{3, false, 255, ""},
		{3, true, 90, ""},
		{3, true, 91, "91 addresses make a 1504-byte advert, more than eth0's MTU of 1500: at most 90 fit in one advert"},
	} {
		err := fitsMTU(eth, tc.version, tc.ipv6, tc.n)
		if got := fmt.Sprint(err); (tc.wantErr == "" && err != nil) || (tc.wantErr != "" && got != tc.wantErr) {
			t.Errorf("fitsMTU(v%d, ipv6=%v, %d) = %v, want %q", tc.version, tc.ipv6, tc.n, err, tc.wantErr)
		}
	}
}

func TestInitTrackFiles(t *testing.T) {
	dir := t.TempDir()
	missing, kept, over := filepath.Join(dir, "missing"), filepath.Join(dir, "kept"), filepath.Join(dir, "over")
	for _, p := range []string{kept, over} {
		if err := os.WriteFile(p, []byte("7\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := &config.Config{Trackers: map[string]config.Tracker{
		"a": {File: missing, FileInit: &config.FileInit{Value: 10}},
		"b": {File: kept, FileInit: &config.FileInit{Value: 10}},
		"c": {File: over, FileInit: &config.FileInit{Value: -3, Overwrite: true}},
		"d": {File: filepath.Join(dir, "plain")}, // no init_file: not created
	}}
	if err := initTrackFiles(cfg); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{missing: "10\n", kept: "7\n", over: "-3\n"} {
		if b, err := os.ReadFile(p); err != nil || string(b) != want {
			t.Errorf("%s = %q (%v), want %q", filepath.Base(p), b, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "plain")); err == nil {
		t.Error("a file without init_file was created")
	}
	cfg.Trackers = map[string]config.Tracker{"e": {File: dir, FileInit: &config.FileInit{}}}
	if err := initTrackFiles(cfg); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("init_file on a directory: %v, want not a regular file", err)
	}
}

// The process an upgrade starts becomes the unit's main PID: it must see the
// watchdog as its own, so WATCHDOG_PID (the old pid) is not passed on.
func TestUpgradeEnvKeepsTheWatchdog(t *testing.T) {
	got := upgradeEnv([]string{"PATH=/bin", "WATCHDOG_USEC=10000000", "WATCHDOG_PID=4242", "NOTIFY_SOCKET=/run/systemd/notify"})
	want := []string{"PATH=/bin", "WATCHDOG_USEC=10000000", "NOTIFY_SOCKET=/run/systemd/notify"}
	if !slices.Equal(got, want) {
		t.Errorf("upgradeEnv (-want +got):\n-%q\n+%q", want, got)
	}
}
