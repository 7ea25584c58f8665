package loader

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/features"
	"golang.org/x/sys/unix"
)

// MinKernel is the oldest Linux ebpfvrrp runs on: bpf_timer in XDP programs
// (5.15) and the IFA_PROTO address marker that tells our VIPs from the
// operator's after a crash (6.1). TCX (6.6) is used where present; older
// kernels get a clsact qdisc instead.
const MinKernel = "6.1"

// ErrKernelTooOld wraps every missing kernel feature CheckKernel reports.
var ErrKernelTooOld = errors.New("kernel lacks what ebpfvrrp needs")

// kernelFeature is one thing the dataplane cannot run without.
type kernelFeature struct {
	name  string // as an operator would search for it
	since string // first Linux release that has it, "major.minor"
	// probe asks the kernel itself; nil: only the release tells.
	probe func() error
}

var requiredFeatures = []kernelFeature{
	{"eBPF v3 instruction set (the program is built with -mcpu=v3)", "5.1", features.HaveV3ISA},
	{"bounded loops in BPF programs", "5.3", features.HaveBoundedLoops},
	{"XDP programs", "4.8", func() error { return features.HaveProgramType(ebpf.XDP) }},
	{"BPF ring buffer maps", "5.8", func() error { return features.HaveMapType(ebpf.RingBuf) }},
	{"bpf_timer in XDP programs (the kernel's master-down timer)", "5.15",
		func() error { return features.HaveProgramHelper(ebpf.XDP, asm.FnTimerInit) }},
	{"bpf_loop in BPF programs (the check of an advert's address list)", "5.17",
		func() error { return features.HaveProgramHelper(ebpf.XDP, asm.FnLoop) }},
	{"IFA_PROTO on addresses (recognising our VIPs after a crash)", "6.1", nil},
}

// CheckKernel reports, in one error naming each, every feature the running
// kernel lacks; nil when all are there. Load calls it before loading, so an old
// kernel gets this message instead of a verifier log.
func CheckKernel() error {
	major, minor, err := kernelVersion()
	if err != nil {
		return nil // cannot tell: let the load say what it says
	}
	return checkFeatures(requiredFeatures, major, minor)
}

// checkFeatures trusts the release where it is new enough: the probes load
// programs, and what they may load depends on the caller's capabilities (without
// CAP_PERFMON the bounded-loop probe fails on any kernel), so a probe that fails
// on a kernel that has the feature would blame the kernel for a missing
// capability, which Load then reports truthfully. Older releases are probed,
// since distributions backport.
func checkFeatures(fs []kernelFeature, major, minor uint32) error {
	var missing []string
	for _, f := range fs {
		var fmaj, fmin uint32
		fmt.Sscanf(f.since, "%d.%d", &fmaj, &fmin)
		if major > fmaj || (major == fmaj && minor >= fmin) {
			continue
		}
		if f.probe == nil {
			missing = append(missing, fmt.Sprintf("%s (Linux %s+)", f.name, f.since))
			continue
		}
		err := f.probe()
		switch {
		case err == nil:
		case errors.Is(err, ebpf.ErrNotSupported):
			missing = append(missing, fmt.Sprintf("%s (Linux %s+)", f.name, f.since))
		default:
			// The probe itself failed (no CAP_BPF, a seccomp filter...): say so
			// rather than guess what the kernel has.
			missing = append(missing, fmt.Sprintf("%s: cannot tell: %v", f.name, err))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("loader: %w: %s; ebpfvrrp needs Linux %s or later (running %s)",
		ErrKernelTooOld, strings.Join(missing, "; "), MinKernel, kernelRelease())
}

func kernelVersion() (major, minor uint32, err error) {
	code, err := features.LinuxVersionCode()
	if err != nil {
		return 0, 0, err
	}
	return code >> 16, (code >> 8) & 0xff, nil
}

func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(u.Release[:])
}

// PrivateBPFFS tells whether the bpffs holding the pins is not the one the host
// sees: a daemon started with `ip netns exec` (which remounts /sys) or in a
// container without the host's /sys/fs/bpf. There, the pins and the programs only
// they hold end with the process, and with them the ghost-VIP guard a crashed
// Master relies on. why says how it was told. It is for a warning, not a
// refusal: a test or a deliberately sandboxed daemon may want exactly that.
func (d *Dataplane) PrivateBPFFS() (private bool, why string) {
	return privateBPFFS(bpffsMount(d.pinPath), d.mountedBPFFS)
}

func privateBPFFS(mount string, mountedByUs bool) (bool, string) {
	self, err1 := os.Readlink("/proc/self/ns/mnt")
	init, err2 := os.Readlink("/proc/1/ns/mnt")
	if err1 == nil && err2 == nil {
		if self == init {
			return false, "the host's mount namespace"
		}
		// Another mount namespace may still share the host's bpffs (a bind
		// mount, a container given /sys/fs/bpf): then both see one superblock.
		var mine, host unix.Stat_t
		var hostFS unix.Statfs_t
		if unix.Stat(mount, &mine) != nil || unix.Stat("/proc/1/root"+mount, &host) != nil ||
			unix.Statfs("/proc/1/root"+mount, &hostFS) != nil || hostFS.Type != unix.BPF_FS_MAGIC {
			return true, "a mount namespace of its own, and the host has no bpffs at " + mount
		}
		if mine.Dev != host.Dev {
			return true, "a mount namespace of its own with a bpffs other than the host's at " + mount
		}
		return false, "the host's bpffs, in another mount namespace"
	}
	// init's namespace is out of reach (reading it needs CAP_SYS_PTRACE over
	// init): the one sign left is that nothing was mounted there, which is what
	// `ip netns exec` and a container without the host's bpffs look like.
	if mountedByUs {
		return true, "no bpffs was mounted at " + mount + " in this mount namespace, so the daemon mounted one of its own"
	}
	return false, "a bpffs was already mounted at " + mount
}

// bpffsMount is the directory bpffs is (or was) mounted on for pinPath: its
// parent, as Load mounts it.
func bpffsMount(pinPath string) string {
	return filepath.Dir(filepath.Clean(pinPath))
}
