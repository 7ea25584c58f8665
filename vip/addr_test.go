package vip

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

func TestManagerAddRemove(t *testing.T) {
	p := newPair(t)
	m := p.us.manager(testOwner)
	addrs := []Address{
		{Prefix: netip.MustParsePrefix("198.18.0.100/32"), Label: p.us.ifname + ":v", Ifindex: p.us.ifindex},
		{Prefix: netip.MustParsePrefix("198.18.0.101/24"), Ifindex: p.us.ifindex},
		{Prefix: netip.MustParsePrefix("fd00:198:18::100/128"), Ifindex: p.us.ifindex},
	}
	for _, a := range addrs {
		t.Run("add "+a.Prefix.String(), func(t *testing.T) {
			for i := range 2 { // the second Add must be a no-op
				if err := m.Add(a); err != nil {
					t.Fatalf("Add #%d: %v", i+1, err)
				}
			}
			ka, ok := p.us.lookup(t, a.Prefix.Addr())
			if !ok {
				t.Fatalf("%s not on %s after Add:\n%s", a.Prefix, p.us.ifname, p.us.ipAddrShow(t))
			}
			if ka.Prefix != a.Prefix || ka.Proto != Proto(testOwner) {
				t.Errorf("kernel has %s proto %#x, want %s proto %#x", ka.Prefix, ka.Proto, a.Prefix, Proto(testOwner))
			}
			if a.Prefix.Addr().Is6() && ka.Flags&unix.IFA_F_NODAD == 0 {
				t.Errorf("IPv6 VIP flags %#x lack nodad", ka.Flags)
			}
			show := p.us.ipAddrShow(t)
			if !containsWord(show, a.Prefix.String()) {
				t.Errorf("ip addr show lacks %s:\n%s", a.Prefix, show)
			}
			if a.Label != "" && (ka.Label != a.Label || !containsWord(show, a.Label)) {
				t.Errorf("label = %q, want %q; ip addr show:\n%s", ka.Label, a.Label, show)
			}
		})
	}
	want := slices.Clone(addrs)
	sortAddresses(want)
	if got := m.Owned(); !slices.Equal(got, want) {
		t.Errorf("Owned (-want +got):\n-%v\n+%v", want, got)
	}
	for _, a := range addrs {
		t.Run("remove "+a.Prefix.String(), func(t *testing.T) {
			for i := range 2 { // absent on the second call: still nil
				if err := m.Remove(a); err != nil {
					t.Fatalf("Remove #%d: %v", i+1, err)
				}
			}
			if _, ok := p.us.lookup(t, a.Prefix.Addr()); ok {
				t.Errorf("%s still present after Remove:\n%s", a.Prefix, p.us.ipAddrShow(t))
			}
		})
	}
	if got := m.Owned(); len(got) != 0 {
		t.Errorf("Owned after removing everything = %v, want none", got)
	}
	// The interface's own addresses were never ours and are untouched.
	for _, s := range []string{"198.18.0.1/24", "fd00:198:18::1/64"} {
		if _, ok := p.us.lookup(t, netip.MustParsePrefix(s).Addr()); !ok {
			t.Errorf("interface address %s disappeared", s)
		}
	}
}

func TestManagerLeavesForeignAddresses(t *testing.T) {
	p := newPair(t)
	for _, s := range []string{"198.18.0.50/32", "fd00:198:18::50/128"} {
		t.Run(s, func(t *testing.T) {
			pfx := netip.MustParsePrefix(s)
			p.us.addForeign(t, pfx)
			a := Address{Prefix: pfx, Ifindex: p.us.ifindex}
			m := p.us.manager(testOwner)
			if err := m.Add(a); !errors.Is(err, ErrNotOurs) {
				t.Errorf("Add over a foreign address = %v, want ErrNotOurs", err)
			}
			if got := m.Owned(); len(got) != 0 {
				t.Errorf("Owned = %v, want none: a foreign address must not be claimed", got)
			}
			if err := m.Remove(a); !errors.Is(err, ErrNotOurs) {
				t.Errorf("Remove of a foreign address = %v, want ErrNotOurs", err)
			}
			removed, err := m.CleanupStale()
			if err != nil || len(removed) != 0 {
				t.Errorf("CleanupStale = %v, %v; want nothing removed", removed, err)
			}
			ka, ok := p.us.lookup(t, pfx.Addr())
			if !ok || ka.Proto != 0 {
				t.Errorf("foreign %s after all that: present %v proto %#x, want present with proto 0", pfx, ok, ka.Proto)
			}
		})
	}
}

func TestManagerCleanupStale(t *testing.T) {
	p := newPair(t)
	idx := p.us.ifindex
	addr := func(s string) Address { return Address{Prefix: netip.MustParsePrefix(s), Ifindex: idx} }
	stale := []Address{addr("198.18.0.100/32"), addr("fd00:198:18::100/128")}
	stale[0].Label = p.us.ifname + ":old"
	foreign := addr("198.18.0.60/32")
	otherOwner := addr("198.18.0.70/32")
	keep := addr("fd00:198:18::200/128")

	crashed := p.us.manager(testOwner)
	for _, a := range stale {
		if err := crashed.Add(a); err != nil {
			t.Fatal(err)
		}
	}
	crashed = nil // the process died: no Remove ever ran
	p.us.addForeign(t, foreign.Prefix)
	const other = "vip-second"
	if Proto(other) == Proto(testOwner) {
		t.Fatalf("owners %q and %q share proto %#x; pick another", other, testOwner, Proto(other))
	}
	if err := p.us.manager(other).Add(otherOwner); err != nil {
		t.Fatal(err)
	}

	restarted := p.us.manager(testOwner)
	if err := restarted.Add(keep); err != nil {
		t.Fatal(err)
	}
	removed, err := restarted.CleanupStale()
	if err != nil {
		t.Fatalf("CleanupStale: %v", err)
	}
	want := slices.Clone(stale)
	sortAddresses(want)
	if !slices.Equal(removed, want) {
		t.Errorf("CleanupStale removed (-want +got):\n-%v\n+%v", want, removed)
	}
	for _, c := range []struct {
		a    Address
		want bool
	}{
		{stale[0], false}, {stale[1], false}, {foreign, true}, {otherOwner, true}, {keep, true},
	} {
		if _, ok := p.us.lookup(t, c.a.Prefix.Addr()); ok != c.want {
			t.Errorf("%s present = %v, want %v:\n%s", c.a.Prefix, ok, c.want, p.us.ipAddrShow(t))
		}
	}
	if removed, err := restarted.CleanupStale(); err != nil || len(removed) != 0 {
		t.Errorf("second CleanupStale = %v, %v; want nothing", removed, err)
	}
}

func TestManagerAdoptsOwnAddressAfterRestart(t *testing.T) {
	p := newPair(t)
	a := Address{Prefix: netip.MustParsePrefix("198.18.0.100/32"), Ifindex: p.us.ifindex}
	if err := p.us.manager(testOwner).Add(a); err != nil {
		t.Fatal(err)
	}
	m := p.us.manager(testOwner)
	if err := m.Add(a); err != nil {
		t.Fatalf("Add of our own marked address after a restart: %v", err)
	}
	if got := m.Owned(); !slices.Equal(got, []Address{a}) {
		t.Errorf("Owned = %v, want [%v]", got, a)
	}
	mismatch := a
	mismatch.Prefix = netip.MustParsePrefix("198.18.0.100/24")
	if err := m.Add(mismatch); !errors.Is(err, ErrMismatch) {
		t.Errorf("Add with another prefix length = %v, want ErrMismatch", err)
	}
	if err := m.Remove(a); err != nil {
		t.Fatal(err)
	}
}

func TestManagerConcurrent(t *testing.T) {
	p := newPair(t)
	m := p.us.manager(testOwner)
	errc := make(chan error, 16)
	for i := range 16 {
		go func() {
			a := Address{Prefix: netip.MustParsePrefix(fmt.Sprintf("198.18.1.%d/32", i%4+1)), Ifindex: p.us.ifindex}
			errc <- m.Add(a)
		}()
	}
	for range 16 {
		if err := <-errc; err != nil {
			t.Errorf("concurrent Add: %v", err)
		}
	}
	if got := len(m.Owned()); got != 4 {
		t.Errorf("Owned has %d addresses, want 4", got)
	}
}

// TestManagerReAddAfterRemove: the next Master period adds back what Remove
// took away without looking first. What someone else put there meanwhile is
// still never taken over: the exact address answers EEXIST and is looked at
// (ErrNotOurs); the same IP with another prefix length is added beside, and
// Remove then takes exactly ours away and leaves theirs.
func TestManagerReAddAfterRemove(t *testing.T) {
	p := newPair(t)
	m := p.us.manager(testOwner)
	a := Address{Prefix: netip.MustParsePrefix("198.18.0.110/32"), Ifindex: p.us.ifindex}
	count := func() (ours, theirs int) {
		for _, ka := range p.us.kernelAddrs(t) {
			if ka.Prefix.Addr() != a.Prefix.Addr() {
				continue
			}
			if ka.Proto == Proto(testOwner) {
				ours++
			} else {
				theirs++
			}
		}
		return ours, theirs
	}
	for i := range 3 {
		if err := m.Add(a); err != nil {
			t.Fatalf("Add %d: %v", i, err)
		}
		if ours, theirs := count(); ours != 1 || theirs != 0 {
			t.Fatalf("after Add %d: %d ours, %d foreign; want 1, 0:\n%s", i, ours, theirs, p.us.ipAddrShow(t))
		}
		if err := m.Remove(a); err != nil {
			t.Fatalf("Remove %d: %v", i, err)
		}
		if ours, theirs := count(); ours != 0 || theirs != 0 {
			t.Fatalf("after Remove %d: %d ours, %d foreign; want none:\n%s", i, ours, theirs, p.us.ipAddrShow(t))
		}
	}

	// The exact address, foreign, appeared while we were Backup.
	p.us.addForeign(t, a.Prefix)
	if err := m.Add(a); !errors.Is(err, ErrNotOurs) {
		t.Errorf("Add over the foreign exact address = %v, want ErrNotOurs", err)
	}
	if ours, theirs := count(); ours != 0 || theirs != 1 {
		t.Errorf("%d ours, %d foreign; want 0, 1:\n%s", ours, theirs, p.us.ipAddrShow(t))
	}
	if err := m.Remove(a); !errors.Is(err, ErrNotOurs) {
		t.Errorf("Remove of the foreign address = %v, want ErrNotOurs", err)
	}
	p.us.ns.Exec(t, "ip", "addr", "del", a.Prefix.String(), "dev", p.us.ifname)

	// The same IP with another prefix length, foreign, beside ours.
	if err := m.Add(a); err != nil {
		t.Fatal(err)
	}
	if err := m.Remove(a); err != nil {
		t.Fatal(err)
	}
	p.us.addForeign(t, netip.MustParsePrefix("198.18.0.110/24"))
	if err := m.Add(a); err != nil {
		t.Fatalf("Add back beside a foreign /24: %v", err)
	}
	if err := m.Remove(a); err != nil {
		t.Fatalf("Remove beside a foreign /24: %v", err)
	}
	if ours, theirs := count(); ours != 0 || theirs != 1 {
		t.Errorf("after Remove: %d ours, %d foreign; want 0, 1 (theirs untouched):\n%s", ours, theirs, p.us.ipAddrShow(t))
	}
}
