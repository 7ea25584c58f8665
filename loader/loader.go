package loader

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"
)

// Options configures Load.
type Options struct {
	// PinPath is the bpffs directory for pinned maps and links (required; the
	// default is the config's, config.DefaultPinPath). bpffs is mounted on its
	// parent if nothing is. Two daemons (e.g. in two network namespaces) need
	// two pin paths.
	PinPath string
	// Logger for the rare lifecycle messages (incompatible pin replaced...);
	// default slog.Default().
	Logger *slog.Logger
	// NoTCX attaches TC programs through a clsact qdisc even where the kernel
	// has TCX, as on a kernel without it (before 6.6).
	NoTCX bool
	// RequireCompatible makes Load fail with ErrIncompatibleLayout, touching
	// nothing, when the pin path holds pins of another layout version (an
	// upgrade, which must leave the running daemon as it is). Without it such
	// pins are replaced: a clean start.
	RequireCompatible bool
	// LoadPrograms loads and verifies the programs even when the pinned
	// links run the same object (which Load otherwise keeps).
	LoadPrograms bool
	// LayoutVersion overrides LayoutVersion: tests pretend to be a binary
	// with another layout. 0 means LayoutVersion.
	LayoutVersion uint32
}

// Errors callers can branch on.
var (
	// ErrXDPInUse: another XDP program is attached to the interface; we never
	// replace it.
	ErrXDPInUse = errors.New("another XDP program is attached")
	// ErrNotAttached: Detach of an interface we did not attach to.
	ErrNotAttached = errors.New("not attached")
	// ErrNoInstance: the instance has no kernel config.
	ErrNoInstance = errors.New("no such instance")
	// ErrInvalidConfig: an InstanceConfig the kernel cannot represent.
	ErrInvalidConfig = errors.New("invalid instance config")
	// ErrClosed: the Dataplane was closed.
	ErrClosed = errors.New("dataplane closed")
)

// Dataplane is the loaded kernel program and its maps. Methods are safe for
// concurrent use.
type Dataplane struct {
	pinPath string
	log     *slog.Logger
	objs    vrrpObjects

	mu       sync.Mutex
	attached map[string]*attachment // by interface name
	readers  map[*ringbuf.Reader]struct{}
	closed   bool
	done     chan struct{} // closed by Close: Events goroutines stop sending
	// loadedNs (CLOCK_MONOTONIC) separates events of this process's
	// lifetime from ones left in the pinned ring while no daemon read it.
	loadedNs uint64
	epochs   sync.Mutex // serialises read-modify-write of instances
	// noAccept: per instance, the VIPs dropped while it is Master (under epochs).
	noAccept map[InstanceKey][]netip.Addr
	noTCX    bool // Options.NoTCX
	// mountedBPFFS: Load found no bpffs and mounted one (see PrivateBPFFS).
	mountedBPFFS bool

	// meta and adopt are the user-space bookkeeping maps (restart.go).
	meta, adopt *ebpf.Map
	owner       uint64 // ours in meta while we own the pins
	// adoptable: the pins were there, of our layout (see Adoptable).
	adoptable bool
	adoptWhy  string
	// progsLoaded: objs holds the programs. Not so after a Load that kept
	// the pinned links' programs (same object); loadPrograms loads them.
	progsLoaded bool
	spec        *ebpf.CollectionSpec
}

// Load loads and verifies the programs and pins their maps under the pin path,
// reusing maps already pinned there when they are compatible (so counters and
// peer history survive a restart). A pinned map whose layout changed (an
// upgrade) is replaced, with a warning. A first load creates the pins in a
// temporary directory and renames it into place, so a concurrent reader never
// sees half a set; a lock on the parent directory serialises loaders.
func Load(opts Options) (*Dataplane, error) {
	if opts.PinPath == "" {
		return nil, errors.New("loader: Options.PinPath is required")
	}
	pin := filepath.Clean(opts.PinPath)
	if err := CheckKernel(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	parent := filepath.Dir(pin)
	mounted, err := ensureBPFFS(parent)
	if err != nil {
		return nil, err
	}
	unlock, err := lockDir(parent)
	if err != nil {
		return nil, err
	}
	defer unlock()

	removeStaleTemps(parent, filepath.Base(pin), log)

	spec, err := loadVrrp()
	if err != nil {
		return nil, fmt.Errorf("loader: %w", err)
	}
	d := &Dataplane{pinPath: pin, log: log, attached: map[string]*attachment{}, done: make(chan struct{}),
		noTCX: opts.NoTCX, mountedBPFFS: mounted, spec: spec}

	layout := opts.LayoutVersion
	if layout == 0 {
		layout = LayoutVersion
	}
	if _, err := os.Stat(pin); err == nil {
		got, ok, err := pinnedLayout(pin)
		if err != nil {
			return nil, err
		}
		sameObject := false
		switch {
		case ok && got.Layout == layout:
			d.adoptable = true
			sameObject = got.Object == objectID && !opts.LoadPrograms
		case opts.RequireCompatible && ok:
			return nil, fmt.Errorf("loader: %w: pins %d, this binary %d", ErrIncompatibleLayout, got.Layout, layout)
		case opts.RequireCompatible:
			return nil, fmt.Errorf("loader: %w: pins without a version, this binary %d", ErrIncompatibleLayout, layout)
		default:
			d.adoptWhy = fmt.Sprintf("pinned maps have layout version %d, this binary %d", got.Layout, layout)
			if !ok {
				d.adoptWhy = fmt.Sprintf("pinned maps have no layout version, this binary %d", layout)
			}
			log.Warn("replacing pinned maps of another layout: a clean start", "pin_path", pin, "why", d.adoptWhy)
			if err := dropAllMapPins(spec, pin); err != nil {
				return nil, err
			}
		}
		if err := dropIncompatiblePins(spec, pin, log); err != nil {
			return nil, err
		}
		if sameObject {
			// The links run this very object: open the maps only, and
			// leave the verifier (most of a start) to loadPrograms,
			// should a new interface need the programs.
			if err := loadObjects(spec, &d.objs.vrrpMaps, pin); err != nil {
				return nil, err
			}
		} else {
			if err := loadObjects(spec, &d.objs, pin); err != nil {
				return nil, err
			}
			d.progsLoaded = true
		}
	} else if errors.Is(err, fs.ErrNotExist) {
		d.adoptWhy = "no pinned maps: a first start"
		tmp, err := os.MkdirTemp(parent, filepath.Base(pin)+tmpSuffix)
		if err != nil {
			return nil, fmt.Errorf("loader: create pin directory: %w", err)
		}
		if err := loadObjects(spec, &d.objs, tmp); err != nil {
			_ = os.RemoveAll(tmp)
			return nil, err
		}
		d.progsLoaded = true
		if err := os.Rename(tmp, pin); err != nil {
			d.objs.Close()
			_ = os.RemoveAll(tmp)
			return nil, fmt.Errorf("loader: commit pin directory: %w", err)
		}
	} else {
		return nil, fmt.Errorf("loader: pin path: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(pin, linkDir), 0o700); err != nil {
		d.objs.Close()
		return nil, fmt.Errorf("loader: create link pin directory: %w", err)
	}
	if err := d.openBookkeeping(pin, layout); err != nil {
		d.closeBookkeeping()
		d.objs.Close()
		return nil, err
	}
	d.loadedNs = monotonic()
	return d, nil
}

// removeStaleTemps removes temporary pin directories a first Load left behind
// when it died before its rename: maps pinned there would hold kernel memory
// forever. The caller holds the parent's lock, so none of them is in use.
func removeStaleTemps(parent, base string, log *slog.Logger) {
	ents, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range ents {
		suffix, ok := strings.CutPrefix(e.Name(), base+tmpSuffix)
		if !ok || !e.IsDir() || suffix == "" || strings.Trim(suffix, "0123456789") != "" {
			continue
		}
		p := filepath.Join(parent, e.Name())
		if err := os.RemoveAll(p); err != nil {
			log.Warn("cannot remove stale temporary pin directory", "dir", p, "err", err)
			continue
		}
		log.Info("removed stale temporary pin directory", "dir", p)
	}
}

// tmpSuffix names a first Load's temporary pin directory (os.MkdirTemp adds
// digits); bpffs refuses names with a dot.
const tmpSuffix = "-tmp"

func loadObjects(spec *ebpf.CollectionSpec, objs any, pin string) error {
	err := spec.LoadAndAssign(objs, &ebpf.CollectionOptions{Maps: ebpf.MapOptions{PinPath: pin}})
	if err == nil {
		return nil
	}
	var ve *ebpf.VerifierError
	if errors.As(err, &ve) {
		// The tail of the verifier log says why; the whole log is huge.
		return fmt.Errorf("loader: load programs: %w\n%s", err, tail(fmt.Sprintf("%+v", ve), 40))
	}
	return fmt.Errorf("loader: load programs: %w", err)
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// dropIncompatiblePins removes pinned maps whose type, key, value or size no
// longer match the program (after an upgrade): keeping them would fail the
// load, and their old layout cannot be read by the new code anyway.
func dropIncompatiblePins(spec *ebpf.CollectionSpec, pin string, log *slog.Logger) error {
	for name, ms := range spec.Maps {
		if ms.Pinning != ebpf.PinByName {
			continue
		}
		p := filepath.Join(pin, name)
		m, err := ebpf.LoadPinnedMap(p, nil)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("loader: open pinned map %s: %w", p, err)
		}
		cerr := ms.Compatible(m)
		m.Close()
		if cerr == nil {
			continue
		}
		log.Warn("replacing incompatible pinned map", "map", p, "reason", cerr)
		if err := os.Remove(p); err != nil {
			return fmt.Errorf("loader: remove incompatible pin %s: %w", p, err)
		}
	}
	return nil
}

// ensureBPFFS mounts bpffs on dir unless dir already is on a bpffs, and says
// whether it did.
func ensureBPFFS(dir string) (mounted bool, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("loader: create %s: %w", dir, err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false, fmt.Errorf("loader: statfs %s: %w", dir, err)
	}
	if st.Type == unix.BPF_FS_MAGIC {
		return false, nil
	}
	if err := unix.Mount("bpf", dir, "bpf", 0, "mode=0700"); err != nil {
		return false, fmt.Errorf("loader: mount bpffs on %s: %w", dir, err)
	}
	return true, nil
}

// lockDir takes an exclusive flock on a directory (bpffs holds no regular
// files, but flock works on any inode).
func lockDir(dir string) (func(), error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("loader: open %s for locking: %w", dir, err)
	}
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("loader: lock %s: %w", dir, err)
	}
	return func() {
		_ = unix.Flock(fd, unix.LOCK_UN)
		unix.Close(fd)
	}, nil
}

// PinPath is the bpffs directory holding this dataplane's pins.
func (d *Dataplane) PinPath() string { return d.pinPath }

// Close releases file descriptors and keeps every pin: attached programs keep
// running (the ghost-VIP guard relies on that) and the next Load reuses the
// maps. Channels returned by Events are closed.
func (d *Dataplane) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.closed {
		close(d.done)
	}
	d.closed = true
	var errs []error
	for rd := range d.readers {
		errs = append(errs, rd.Close())
	}
	d.readers = nil
	for _, a := range d.attached {
		errs = append(errs, a.close())
	}
	d.attached = map[string]*attachment{}
	errs = append(errs, d.objs.Close())
	d.closeBookkeeping()
	return errors.Join(errs...)
}

func (d *Dataplane) closeBookkeeping() {
	for _, m := range []*ebpf.Map{d.meta, d.adopt} {
		if m != nil {
			m.Close()
		}
	}
}

// ErrSuccessor: Unpin found that a later Load took the pins over; it left them
// (and the hooks) to that process and only closed this Dataplane.
var ErrSuccessor = errors.New("pins taken over by a successor")

// Unpin is the clean shutdown: it detaches every interface this pin path has
// links for (also ones attached by an earlier process), removes all pins and
// closes the dataplane. If a successor's Load has taken the pins over since,
// it only closes, and returns ErrSuccessor.
func (d *Dataplane) Unpin() error {
	unlock, err := lockDir(filepath.Dir(d.pinPath))
	if err != nil {
		return errors.Join(err, d.Close())
	}
	if !d.Owned() {
		unlock()
		return errors.Join(ErrSuccessor, d.Close())
	}
	// Held to the end: a successor's Load waits until the pins are gone
	// rather than taking over a half-removed directory.
	defer unlock()
	d.mu.Lock()
	var errs []error
	for name, a := range d.attached {
		errs = append(errs, a.detach())
		delete(d.attached, name)
	}
	// clsact filters are not pinned: an earlier process's markers say
	// where they are (interfaces of the current network namespace).
	if ents, err := os.ReadDir(filepath.Join(d.pinPath, linkDir)); err == nil {
		for _, e := range ents {
			if name, ok := strings.CutSuffix(e.Name(), "@"+kindClsact); ok && e.IsDir() {
				errs = append(errs, d.removeClsact(strings.ReplaceAll(name, "%", ".")))
			}
		}
	}
	d.mu.Unlock()
	// Removing a link pin releases the link: this also detaches hooks an
	// earlier process pinned and this one never took over.
	if err := os.RemoveAll(d.pinPath); err != nil {
		errs = append(errs, fmt.Errorf("loader: remove pins: %w", err))
	}
	errs = append(errs, d.Close())
	return errors.Join(errs...)
}
