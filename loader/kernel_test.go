package loader

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

func TestCheckFeaturesNamesWhatIsMissing(t *testing.T) {
	have := func() error { return nil }
	lacks := func() error { return ebpf.ErrNotSupported }
	broken := func() error { return errors.New("operation not permitted") }
	fs := []kernelFeature{
		{"ring buffers", "5.8", lacks},
		{"bpf_timer in XDP programs", "5.15", lacks},
		{"backported helper", "5.15", have},
		{"a probe that cannot run", "5.15", broken},
		{"IFA_PROTO", "6.1", nil},
	}
	// 5.10: what it has is trusted (ring buffers), what it should not have is
	// probed (a backport passes) and named when missing.
	err := checkFeatures(fs, 5, 10)
	if !errors.Is(err, ErrKernelTooOld) {
		t.Fatalf("err = %v, want ErrKernelTooOld", err)
	}
	for _, want := range []string{"bpf_timer in XDP programs (Linux 5.15+)", "a probe that cannot run: cannot tell: operation not permitted",
		"IFA_PROTO (Linux 6.1+)", "needs Linux " + MinKernel + " or later"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	for _, not := range []string{"ring buffers", "backported"} {
		if strings.Contains(err.Error(), not) {
			t.Errorf("error %q names %q, which is there", err, not)
		}
	}
	// A release that has everything is not probed at all: a probe that fails
	// for want of a capability must not be blamed on the kernel.
	if err := checkFeatures(fs, 6, 18); err != nil {
		t.Errorf("6.18: %v", err)
	}
}

// On the kernel the project is tested on, everything is there: this fails, never
// skips, where a feature should exist.
func TestCheckKernel(t *testing.T) {
	testutil.Privileged(t)
	if err := CheckKernel(); err != nil {
		t.Fatal(err)
	}
}

func TestPrivateBPFFS(t *testing.T) {
	testutil.Privileged(t)
	// The test's own namespace, where make deps (or systemd) mounted bpffs.
	if private, why := privateBPFFS("/sys/fs/bpf", false); private {
		t.Errorf("host bpffs reported private: %s", why)
	}
	// What Load sees under `ip netns exec`: nothing mounted, so it mounts. Only
	// that tells, where init's mount namespace cannot be read (as here, where
	// init is not ours to ptrace); where it can, the namespaces decide.
	// (TestDaemonPair runs the daemon under ip netns exec and reads its warning.)
	_, initErr := os.Readlink("/proc/1/ns/mnt")
	if private, why := privateBPFFS("/sys/fs/bpf", true); private != (initErr != nil) {
		t.Errorf("a bpffs the daemon mounted itself, /proc/1/ns/mnt readable: %v: private = %v (%s)", initErr == nil, private, why)
	}
}
