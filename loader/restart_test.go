package loader

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

// loadAt loads at pin and closes (keeping the pins) at cleanup.
func loadAt(t *testing.T, pin string, opts Options) *Dataplane {
	t.Helper()
	opts.PinPath = pin
	d, err := Load(opts)
	if err != nil {
		t.Fatalf("Load(%+v): %v", opts, err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// TestRestartAdoption walks the successor cases: the same layout adopts what
// the earlier run left (state, priority, config hash), an upgrade to another
// layout refuses to touch the pins, a start over them replaces them, and the
// first run, on its way out, leaves a successor's pins alone.
func TestRestartAdoption(t *testing.T) {
	testutil.Privileged(t)
	pin := filepath.Join("/sys/fs/bpf", testutil.UniqueName("evadopt"))
	t.Cleanup(func() { _ = os.RemoveAll(pin) })
	k := InstanceKey{Ifindex: 1, VRID: 51, Family: FamilyIPv4}

	first := loadAt(t, pin, Options{})
	if ok, why := first.Adoptable(); ok || why == "" {
		t.Errorf("first Load: Adoptable() = %v, %q; want false with a reason", ok, why)
	}
	if err := first.SetInstance(k, InstanceConfig{State: StateMaster, Priority: 150, Version: 2, Interval: time.Second, Primary: ipSelf, Addresses: []netip.Addr{vip4}}); err != nil {
		t.Fatal(err)
	}
	if err := first.SetConfigHash(k, 0xfeed); err != nil {
		t.Fatal(err)
	}
	first.Close() // kill -9: the pins stay

	second := loadAt(t, pin, Options{})
	if ok, why := second.Adoptable(); !ok {
		t.Fatalf("same layout: Adoptable() = false (%s)", why)
	}
	p, ok, err := second.Previous(k)
	if err != nil || !ok {
		t.Fatalf("Previous = %+v, %v, %v; want the first run's entry", p, ok, err)
	}
	if p.State != StateMaster || p.Priority != 150 || p.ConfigHash != 0xfeed || p.Sent {
		t.Errorf("Previous = %+v; want MASTER, priority 150, hash 0xfeed, no advert sent", p)
	}
	if !second.Owned() {
		t.Error("second.Owned() = false right after its Load")
	}
	// The same object: the verifier is skipped until a program is needed.
	if second.ProgramsLoaded() {
		t.Error("a Load over pins of the same object verified the programs again")
	}
	if v, _, err := second.RunXDP(make([]byte, 64), 1); err != nil || v != XDPPass {
		t.Errorf("RunXDP after a maps-only Load = %d, %v; want XDP_PASS", v, err)
	}

	if ok, why, err := CompatiblePins(pin); !ok || err != nil {
		t.Errorf("CompatiblePins after a Load of this layout = false, %q, %v", why, err)
	}

	// A binary of another layout, as an upgrade: refused, nothing touched.
	if d, err := Load(Options{PinPath: pin, LayoutVersion: LayoutVersion + 1, RequireCompatible: true}); !errors.Is(err, ErrIncompatibleLayout) {
		if d != nil {
			d.Close()
		}
		t.Fatalf("Load(other layout, RequireCompatible) err = %v; want ErrIncompatibleLayout", err)
	}
	if !second.Owned() {
		t.Error("a refused Load took the pins over")
	}

	// The same binary as a plain start: a clean start over new maps.
	third := loadAt(t, pin, Options{LayoutVersion: LayoutVersion + 1})
	if ok, _ := third.Adoptable(); ok {
		t.Error("other layout: Adoptable() = true")
	}
	if _, ok, _ := third.Previous(k); ok {
		t.Error("other layout: Previous found the old entry")
	}
	if ok, why, _ := CompatiblePins(pin); ok || !strings.Contains(why, "layout version") {
		t.Errorf("CompatiblePins over another layout's pins = %v, %q; want false, saying why", ok, why)
	}

	// second's way out: the pins are third's now.
	if err := second.Unpin(); !errors.Is(err, ErrSuccessor) {
		t.Errorf("second.Unpin() = %v; want ErrSuccessor", err)
	}
	if _, err := os.Stat(filepath.Join(pin, "instances")); err != nil {
		t.Errorf("the predecessor's Unpin removed the successor's pins: %v", err)
	}
	if err := third.Unpin(); err != nil {
		t.Errorf("third.Unpin() = %v", err)
	}
	if _, err := os.Stat(pin); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pin path still there after the owner's Unpin (stat: %v)", err)
	}
}
