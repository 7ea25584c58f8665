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
	err := checkFeatures([]kernelFeature{
		{"ring buffers", "5.8", have},
		{"bpf_timer in XDP programs", "5.15", lacks},
		{"IFA_PROTO", "6.1", broken},
	})
	if !errors.Is(err, ErrKernelTooOld) {
		t.Fatalf("err = %v, want ErrKernelTooOld", err)
	}
	for _, want := range []string{"bpf_timer in XDP programs (Linux 5.15+)", "IFA_PROTO: cannot tell: operation not permitted", "needs Linux " + MinKernel + " or later"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "ring buffers") {
		t.Errorf("error %q names a feature that is there", err)
	}
	if err := checkFeatures([]kernelFeature{{"x", "1.0", have}}); err != nil {
		t.Errorf("all present: %v", err)
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
