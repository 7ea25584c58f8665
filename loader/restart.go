package loader

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/cilium/ebpf"
)

// LayoutVersion names the layout of every pinned map (keys, values, their
// meaning) and of the pin directory. A daemon adopts the kernel state an
// earlier run left only when the pins carry the same version: a binary whose
// maps mean something else must not resume from them. Bump it with any change
// to bpf/include/vrrp_types.h or vrrp_maps.h, or to the maps below.
const LayoutVersion = 2

// The two maps below are user-space bookkeeping: no program reads them, so
// they are created from Go rather than declared in bpf/ (a declaration there
// would cost nothing but a regenerated object and a name in bpftool).
const (
	// metaMap: key 0 -> metaValue, the pin directory's layout version and
	// owner.
	metaMap = "meta"
	// adoptMap: instance_key -> the config hash of the run that wrote the
	// instance (see SetConfigHash).
	adoptMap = "adopt_cfg"
)

// metaValue is the value of metaMap's only entry.
type metaValue struct {
	Layout uint32
	_      uint32
	// Owner is a random number the last Load wrote: the process whose
	// Dataplane holds it owns the pins; one that finds another number there
	// on its way out has a successor and leaves the pins to it.
	Owner uint64
	// Object identifies the BPF object (a hash of the ELF) whose programs
	// the pinned links run: a successor with the same object keeps them and
	// skips the verifier, the slow part of a start.
	Object uint64
}

// objectID is Object for this binary's programs.
var objectID = func() uint64 {
	sum := sha256.Sum256(_VrrpBytes)
	return binary.LittleEndian.Uint64(sum[:8]) | 1
}()

// ErrIncompatibleLayout: the pin path holds pins of another LayoutVersion
// (Options.RequireCompatible).
var ErrIncompatibleLayout = errors.New("pinned maps have another layout version")

// Previous is what an earlier run left in the kernel for one instance.
type Previous struct {
	State    State
	Priority uint8
	// ConfigHash is what that run stored with SetConfigHash; 0 if nothing.
	ConfigHash uint64
	// SinceTx is the time since our last advert for the instance left (TC
	// egress); ok is false when none was seen.
	SinceTx time.Duration
	Sent    bool
}

// Adoptable reports whether the pins this Dataplane loaded were left by a run
// of the same layout version, so that their instance state can be resumed, and
// if not, why.
func (d *Dataplane) Adoptable() (bool, string) { return d.adoptable, d.adoptWhy }

// Previous returns what an earlier run left for an instance; ok is false if
// the pins are not adoptable or hold no entry for k. Call it before the
// instance is written (SetInstance).
func (d *Dataplane) Previous(k InstanceKey) (p Previous, ok bool, err error) {
	if !d.adoptable {
		return p, false, nil
	}
	var c vrrpInstanceCfg
	if err := d.objs.Instances.Lookup(rawKey(k), &c); err != nil {
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return p, false, nil
		}
		return p, false, fmt.Errorf("loader: previous %v: %w", k, err)
	}
	p.State, p.Priority = State(c.State), c.Priority
	if err := d.adopt.Lookup(rawKey(k), &p.ConfigHash); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return p, false, fmt.Errorf("loader: previous %v: config hash: %w", k, err)
	}
	var tx vrrpTxStats
	if err := d.objs.TxAdverts.Lookup(rawKey(k), &tx); err == nil && tx.LastNs != 0 {
		p.SinceTx, p.Sent = time.Duration(monotonic()-tx.LastNs), true
	} else if err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return p, false, fmt.Errorf("loader: previous %v: tx stats: %w", k, err)
	}
	return p, true, nil
}

// SetConfigHash stores the hash of the config an instance runs with, for a
// successor to compare with its own (Previous).
func (d *Dataplane) SetConfigHash(k InstanceKey, h uint64) error {
	if err := d.adopt.Update(rawKey(k), h, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("loader: set config hash %v: %w", k, err)
	}
	return nil
}

// DeleteConfigHash forgets an instance's config hash (the instance is gone).
func (d *Dataplane) DeleteConfigHash(k InstanceKey) error {
	if err := d.adopt.Delete(rawKey(k)); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("loader: delete config hash %v: %w", k, err)
	}
	return nil
}

// Owned reports whether the pins are still this Dataplane's: false once a
// successor's Load took them over (an upgrade, or a new daemon started before
// this one finished stopping).
// It reads the pinned map, not ours: a successor of another layout pins a new
// one.
func (d *Dataplane) Owned() bool {
	m, err := ebpf.LoadPinnedMap(filepath.Join(d.pinPath, metaMap), nil)
	if err != nil {
		return false
	}
	defer m.Close()
	var v metaValue
	if err := m.Lookup(uint32(0), &v); err != nil {
		return false
	}
	return v.Owner == d.owner
}

// pinnedLayout reads the meta value of the pins under pin; ok is false when
// there is no meta map (pins of a binary from before layout versions) or it
// has another size.
func pinnedLayout(pin string) (v metaValue, ok bool, err error) {
	m, err := ebpf.LoadPinnedMap(filepath.Join(pin, metaMap), nil)
	var mv metaValue
	if errors.Is(err, fs.ErrNotExist) {
		return mv, false, nil
	}
	if err != nil {
		return mv, false, fmt.Errorf("loader: open pinned %s: %w", metaMap, err)
	}
	defer m.Close()
	if m.ValueSize() != uint32(binary.Size(mv)) {
		return mv, false, nil
	}
	if err := m.Lookup(uint32(0), &mv); err != nil {
		return mv, false, fmt.Errorf("loader: read pinned %s: %w", metaMap, err)
	}
	return mv, true, nil
}

// dropAllMapPins removes every map pin under pin (links stay: Attach swaps
// the new program in behind them), for a clean start over another layout.
func dropAllMapPins(spec *ebpf.CollectionSpec, pin string) error {
	names := []string{metaMap, adoptMap}
	for name, ms := range spec.Maps {
		if ms.Pinning == ebpf.PinByName {
			names = append(names, name)
		}
	}
	for _, n := range names {
		if err := os.Remove(filepath.Join(pin, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("loader: remove pin %s: %w", n, err)
		}
	}
	return nil
}

// openBookkeeping opens (or creates and pins) the meta and adopt maps under
// pin and records this Dataplane as the pins' owner.
func (d *Dataplane) openBookkeeping(pin string, layout uint32) error {
	var err error
	d.meta, err = openOrCreate(pin, &ebpf.MapSpec{
		Name: metaMap, Type: ebpf.Array, KeySize: 4,
		ValueSize: uint32(binary.Size(metaValue{})), MaxEntries: 1,
	})
	if err != nil {
		return err
	}
	d.adopt, err = openOrCreate(pin, &ebpf.MapSpec{
		Name: adoptMap, Type: ebpf.Hash, KeySize: uint32(binary.Size(vrrpInstanceKey{})),
		ValueSize: 8, MaxEntries: 1024,
	})
	if err != nil {
		return err
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Errorf("loader: owner: %w", err)
	}
	d.owner = binary.LittleEndian.Uint64(b[:]) | 1
	if err := d.meta.Update(uint32(0), metaValue{Layout: layout, Owner: d.owner, Object: objectID}, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("loader: write %s: %w", metaMap, err)
	}
	return nil
}

func openOrCreate(pin string, spec *ebpf.MapSpec) (*ebpf.Map, error) {
	p := filepath.Join(pin, spec.Name)
	if m, err := ebpf.LoadPinnedMap(p, nil); err == nil {
		if cerr := spec.Compatible(m); cerr == nil {
			return m, nil
		}
		m.Close()
		if err := os.Remove(p); err != nil {
			return nil, fmt.Errorf("loader: remove incompatible pin %s: %w", p, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("loader: open pinned %s: %w", p, err)
	}
	m, err := ebpf.NewMap(spec)
	if err != nil {
		return nil, fmt.Errorf("loader: create %s: %w", spec.Name, err)
	}
	if err := m.Pin(p); err != nil {
		m.Close()
		return nil, fmt.Errorf("loader: pin %s: %w", p, err)
	}
	return m, nil
}

// ProgramsLoaded reports whether the programs were loaded and verified
// (false: Load kept the pinned links' programs of the same object, and no
// attach needed them since).
func (d *Dataplane) ProgramsLoaded() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.progsLoaded
}

// loadPrograms loads and verifies the programs when Load kept the pinned
// links' programs instead (the same object): a new interface to attach, or a
// test running them, needs them. d.mu is held or the Dataplane not yet shared.
func (d *Dataplane) loadPrograms() error {
	if d.progsLoaded {
		return nil
	}
	var progs vrrpPrograms
	if err := loadObjects(d.spec, &progs, d.pinPath); err != nil {
		return err
	}
	d.objs.vrrpPrograms = progs
	d.progsLoaded = true
	return nil
}

// Reclaim makes this Dataplane the pins' owner again (a successor's Load took
// them, then the successor failed before it took over), so that this
// process's clean stop removes them as usual.
func (d *Dataplane) Reclaim() error {
	unlock, err := lockDir(filepath.Dir(d.pinPath))
	if err != nil {
		return err
	}
	defer unlock()
	m, err := ebpf.LoadPinnedMap(filepath.Join(d.pinPath, metaMap), nil)
	if err != nil {
		return fmt.Errorf("loader: reclaim: %w", err)
	}
	defer m.Close()
	layout := uint32(LayoutVersion)
	var v metaValue
	if err := m.Lookup(uint32(0), &v); err == nil {
		layout = v.Layout
	}
	// Object unknown: the successor may have swapped its programs in behind
	// the links, so the next Load verifies and swaps in its own.
	if err := m.Update(uint32(0), metaValue{Layout: layout, Owner: d.owner}, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("loader: reclaim: %w", err)
	}
	return nil
}

// SameObject reports whether the pinned links under pin run this binary's
// programs, so that a start over them skips the verifier (see Load).
func SameObject(pin string) bool {
	mv, ok, err := pinnedLayout(filepath.Clean(pin))
	return err == nil && ok && mv.Layout == LayoutVersion && mv.Object == objectID
}

// CompatiblePins reports whether the pins under pin are of this binary's layout, so that a daemon of this binary started over
// them adopts their state; if not, why. No pins at all is not compatible.
func CompatiblePins(pin string) (bool, string, error) {
	if _, err := os.Stat(pin); errors.Is(err, fs.ErrNotExist) {
		return false, "no pinned maps", nil
	}
	mv, ok, err := pinnedLayout(filepath.Clean(pin))
	switch {
	case err != nil:
		return false, "", err
	case !ok:
		return false, fmt.Sprintf("pinned maps have no layout version, this binary %d", LayoutVersion), nil
	case mv.Layout != LayoutVersion:
		return false, fmt.Sprintf("pinned maps have layout version %d, this binary %d", mv.Layout, LayoutVersion), nil
	}
	return true, "", nil
}
