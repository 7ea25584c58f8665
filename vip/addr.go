package vip

import (
	"cmp"
	"errors"
	"fmt"
	"hash/fnv"
	"net/netip"
	"slices"
	"sync"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

var (
	// ErrNotOurs is returned when an address exists on the interface but was
	// not added by this owner; it is left untouched.
	ErrNotOurs = errors.New("address exists and was not added by us")
	// ErrMismatch is returned when an address of ours exists with a different
	// prefix length or label than requested.
	ErrMismatch = errors.New("address exists with a different prefix length or label")
	// ErrMarkerUnsupported is returned when the kernel does not keep IFA_PROTO
	// (Linux < 6.1), so a crashed run's addresses could not be recognised.
	ErrMarkerUnsupported = errors.New("kernel does not keep the IFA_PROTO ownership marker (need Linux 6.1+)")
	// ErrInvalidAddress is returned for an Address that cannot be a VIP.
	ErrInvalidAddress = errors.New("invalid address")
)

// Address is one virtual IP as configured.
type Address struct {
	// Prefix is the address with its prefix length (a /32 or /128 adds no
	// connected route; a shorter prefix does, as with `ip addr add`).
	Prefix netip.Prefix
	// Label is the IPv4 address label ("eth0:vip"); empty means the kernel's
	// default (the device name). IPv6 has no labels: a label there is an error.
	Label string
	// Ifindex is the device the address goes on.
	Ifindex int
}

func (a Address) String() string {
	s := fmt.Sprintf("%s dev#%d", a.Prefix, a.Ifindex)
	if a.Label != "" {
		s += " label " + a.Label
	}
	return s
}

func (a Address) validate() error {
	switch {
	case !a.Prefix.IsValid():
		return fmt.Errorf("vip: %w: prefix %v", ErrInvalidAddress, a.Prefix)
	case a.Prefix.Addr().Is4In6():
		return fmt.Errorf("vip: %w: %s is IPv4-mapped; use the IPv4 form", ErrInvalidAddress, a.Prefix)
	case a.Prefix.Addr().Zone() != "":
		return fmt.Errorf("vip: %w: %s has a zone", ErrInvalidAddress, a.Prefix)
	case a.Prefix.Addr().IsUnspecified() || a.Prefix.Addr().IsMulticast():
		return fmt.Errorf("vip: %w: %s cannot be a VIP", ErrInvalidAddress, a.Prefix)
	case a.Ifindex <= 0:
		return fmt.Errorf("vip: %w: %s: no interface index", ErrInvalidAddress, a.Prefix)
	case a.Label != "" && a.Prefix.Addr().Is6():
		return fmt.Errorf("vip: %w: %s: IPv6 addresses have no label", ErrInvalidAddress, a.Prefix)
	case len(a.Label) >= unix.IFNAMSIZ:
		return fmt.Errorf("vip: %w: label %q longer than %d bytes", ErrInvalidAddress, a.Label, unix.IFNAMSIZ-1)
	}
	return nil
}

// key identifies an address on a device the way the kernel does for our
// purposes: one IP per device.
type key struct {
	ifindex int
	ip      netip.Addr
}

func (a Address) key() key { return key{a.Ifindex, a.Prefix.Addr()} }

// Proto returns the IFA_PROTO value marking addresses added by owner. It is
// stable across versions (FNV-1a of the owner folded into 0x80–0xff, clear of
// the kernel's own 0–3), so a new binary recognises an old run's addresses.
// `ip -d address` (iproute2 ≥ 6.3) shows it as "proto 0xNN".
func Proto(owner string) uint8 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(owner))
	return 0x80 | uint8(h.Sum32()&0x7f)
}

// Option configures a Manager.
type Option func(*Manager)

// WithNetns makes the Manager act in network namespace ns instead of the
// calling thread's. The caller keeps ownership of ns and must keep it open.
func WithNetns(ns netns.NsHandle) Option {
	return func(m *Manager) { m.nl = rtnlAt(ns) }
}

// Manager adds and removes the VIPs of one owner. It is safe for concurrent use.
type Manager struct {
	owner string
	proto uint8
	nl    rtnl

	mu    sync.Mutex
	owned map[key]Address
	// markerKept is set once an added address was read back carrying our
	// marker: the kernel keeps IFA_PROTO, so later adds neither look first nor
	// read back (becoming Master is on the failover path).
	markerKept bool
}

// NewManager returns a Manager whose addresses are marked with Proto(owner).
func NewManager(owner string, opts ...Option) *Manager {
	m := &Manager{owner: owner, proto: Proto(owner), owned: map[key]Address{}}
	for _, o := range opts {
		o(m)
	}
	return m
}

// find looks k up on its interface. With the same address there more than
// once (different prefix lengths: only someone else can have done that), the
// one whose prefix length is bits wins, so Remove takes exactly ours away.
func (m *Manager) find(k key, bits int) (kernelAddr, bool, error) {
	addrs, err := m.nl.list(family(k.ip), k.ifindex)
	if err != nil {
		return kernelAddr{}, false, err
	}
	var first kernelAddr
	found := false
	for _, ka := range addrs {
		if ka.Prefix.Addr() != k.ip {
			continue
		}
		if ka.Prefix.Bits() == bits {
			return ka, true, nil
		}
		if !found {
			first, found = ka, true
		}
	}
	return first, found, nil
}

// Add puts a on its interface marked as ours. It is idempotent: an address
// that is already there with our marker (ours from this run or from a crashed
// one) is adopted. An existing address without our marker is not touched and
// ErrNotOurs is returned. Once the first add has shown that the kernel keeps
// our marker, an add skips the look at the interface unless the address
// exists already; the same IP with another prefix length (someone else's) is
// then left beside ours, and Remove still takes only ours away.
func (m *Manager) Add(a Address) error {
	if err := a.validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := a.key()
	if m.markerKept {
		// The kernel is known to keep our marker: add straight away
		// (NLM_F_EXCL), without the look at the interface, which is a dump of
		// all its addresses per VIP (a start or takeover of 1000 VIPs on four
		// links parsed 250 addresses for each, 385 MB of garbage). Only an
		// address that exists already is looked at, as below: ours from a
		// crashed run is adopted, anyone else's is refused. The same IP with
		// another prefix length, which the kernel does not call a duplicate,
		// is left beside ours, and Remove takes only ours away.
		err := m.nl.add(a.Ifindex, a.Prefix, a.Label, m.proto)
		if err == nil {
			m.owned[k] = a
			return nil
		}
		if !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("vip: add %s: %w", a, err)
		}
	}
	for attempt := 0; ; attempt++ {
		ka, found, err := m.find(k, a.Prefix.Bits())
		if err != nil {
			return fmt.Errorf("vip: add %s: %w", a, err)
		}
		if found {
			if ka.Proto != m.proto {
				delete(m.owned, k)
				return fmt.Errorf("vip: add %s: %w (proto %d)", a, ErrNotOurs, ka.Proto)
			}
			if ka.Prefix.Bits() != a.Prefix.Bits() || (a.Label != "" && ka.Label != a.Label) {
				return fmt.Errorf("vip: add %s: %w: have %s label %q", a, ErrMismatch, ka.Prefix, ka.Label)
			}
			m.owned[k] = a
			return nil
		}
		err = m.nl.add(a.Ifindex, a.Prefix, a.Label, m.proto)
		if errors.Is(err, unix.EEXIST) && attempt == 0 {
			// Someone added it between our look and our add: decide again.
			continue
		}
		if err != nil {
			return fmt.Errorf("vip: add %s: %w", a, err)
		}
		break
	}
	if m.markerKept {
		m.owned[k] = a
		return nil
	}
	ka, found, err := m.find(k, a.Prefix.Bits())
	if err != nil {
		return fmt.Errorf("vip: add %s: verify: %w", a, err)
	}
	if !found {
		return fmt.Errorf("vip: add %s: address vanished right after adding it", a)
	}
	if ka.Proto != m.proto {
		if ka.Proto == 0 {
			// Without the marker a crash would orphan it; take it back out.
			if err := m.nl.del(a.Ifindex, a.Prefix); err != nil {
				return fmt.Errorf("vip: add %s: %w; removing it again failed: %w", a, ErrMarkerUnsupported, err)
			}
			return fmt.Errorf("vip: add %s: %w", a, ErrMarkerUnsupported)
		}
		return fmt.Errorf("vip: add %s: %w (proto %d appeared concurrently)", a, ErrNotOurs, ka.Proto)
	}
	m.markerKept = true
	m.owned[k] = a
	return nil
}

// Remove takes a off its interface if it carries our marker. An absent
// address is not an error; an address without our marker is left in place and
// ErrNotOurs is returned.
func (m *Manager) Remove(a Address) error {
	if err := a.validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := a.key()
	ka, found, err := m.find(k, a.Prefix.Bits())
	if err != nil {
		return fmt.Errorf("vip: remove %s: %w", a, err)
	}
	if !found {
		delete(m.owned, k)
		return nil
	}
	if ka.Proto != m.proto {
		delete(m.owned, k)
		return fmt.Errorf("vip: remove %s: %w (proto %d)", a, ErrNotOurs, ka.Proto)
	}
	if err := m.nl.del(ka.Ifindex, ka.Prefix); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
		return fmt.Errorf("vip: remove %s: %w", a, err)
	}
	delete(m.owned, k)
	return nil
}

// CleanupStale removes every address in the namespace that carries our marker
// but was not added (or adopted) by this Manager: the VIPs a crashed run left
// behind. Call it at startup, before the first Add. It returns what it removed.
func (m *Manager) CleanupStale() ([]Address, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	addrs, err := m.nl.list(unix.AF_UNSPEC, 0)
	if err != nil {
		return nil, fmt.Errorf("vip: cleanup: %w", err)
	}
	var removed []Address
	var errs []error
	for _, ka := range addrs {
		if ka.Proto != m.proto {
			continue
		}
		a := Address{Prefix: ka.Prefix, Ifindex: ka.Ifindex}
		if ka.Prefix.Addr().Is4() {
			a.Label = ka.Label
		}
		if _, ours := m.owned[a.key()]; ours {
			continue
		}
		if err := m.nl.del(ka.Ifindex, ka.Prefix); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			errs = append(errs, fmt.Errorf("vip: cleanup %s: %w", a, err))
			continue
		}
		removed = append(removed, a)
	}
	sortAddresses(removed)
	return removed, errors.Join(errs...)
}

// Owned returns the addresses this Manager added or adopted, sorted.
func (m *Manager) Owned() []Address {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Address, 0, len(m.owned))
	for _, a := range m.owned {
		out = append(out, a)
	}
	sortAddresses(out)
	return out
}

func sortAddresses(as []Address) {
	slices.SortFunc(as, func(a, b Address) int {
		if c := cmp.Compare(a.Ifindex, b.Ifindex); c != 0 {
			return c
		}
		return a.Prefix.Addr().Compare(b.Prefix.Addr())
	})
}
