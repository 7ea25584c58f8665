package loader

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

func TestLoadVerifies(t *testing.T) {
	testutil.Privileged(t)
	d := newDataplane(t)
	v, _, err := d.RunXDP(make([]byte, 64), 1)
	if err != nil || v != XDPPass {
		t.Fatalf("RunXDP(zero frame) = %d, %v; want XDP_PASS", v, err)
	}
}

// TestLoadRemovesStaleTempDir: a first Load that died between creating its
// temporary pin directory and renaming it into place left maps pinned there
// (kernel memory nobody frees); the next Load removes them.
func TestLoadRemovesStaleTempDir(t *testing.T) {
	testutil.Privileged(t)
	base := testutil.UniqueName("evtmp")
	stale := filepath.Join("/sys/fs/bpf", base+"-tmp123456")
	if err := os.Mkdir(stale, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(stale) })
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Pin(filepath.Join(stale, "instances")); err != nil {
		t.Fatal(err)
	}
	d, err := Load(Options{PinPath: filepath.Join("/sys/fs/bpf", base)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Unpin() })
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temporary pin directory %s still there after Load (stat: %v)", stale, err)
	}
}
