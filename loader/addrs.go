package loader

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/cilium/ebpf"
)

// maxAdvAddrs is the most addresses one advert can list (a one-byte count).
const maxAdvAddrs = 255

// rawAddrs fills the address-list fields of r: the count an advert must carry
// and how many distinct addresses the kernel must find in it.
func (c InstanceConfig) rawAddrs(k InstanceKey, r *vrrpInstanceCfg) error {
	if len(c.Addresses) > maxAdvAddrs {
		return fmt.Errorf("%w: %d addresses, an advert lists at most %d", ErrInvalidConfig, len(c.Addresses), maxAdvAddrs)
	}
	for _, a := range append(c.Addresses, c.NoAccept...) {
		if !a.IsValid() || familyOf(a) != k.Family {
			return fmt.Errorf("%w: address %v is not IPv%d", ErrInvalidConfig, a, k.Family)
		}
	}
	r.Naddr = uint8(len(c.Addresses))
	idx := advAddrIndex(k, c.Addresses)
	r.Ndistinct = uint8(len(idx))
	if len(c.Addresses) <= len(r.Addrs) {
		for ak, i := range idx {
			r.Addrs[i] = ak.Addr
		}
	}
	if c.SkipAddrCheck {
		r.SkipAddrCheck = 1
	}
	return nil
}

// advAddrIndex numbers an instance's distinct addresses in their order.
func advAddrIndex(k InstanceKey, addrs []netip.Addr) map[vrrpAdvAddrKey]uint8 {
	out := make(map[vrrpAdvAddrKey]uint8, len(addrs))
	for _, a := range addrs {
		ak := vrrpAdvAddrKey{Ifindex: uint32(k.Ifindex), Vrid: k.VRID, Family: uint8(k.Family), Addr: addr16(a)}
		if _, dup := out[ak]; !dup {
			out[ak] = uint8(len(out))
		}
	}
	return out
}

// setAdvAddrs writes the addresses an instance's adverts must list. It runs
// before the config that counts them is written, and dropStaleAdvAddrs after,
// so an advert checked in between sees either list complete.
func (d *Dataplane) setAdvAddrs(k InstanceKey, addrs []netip.Addr) error {
	for ak, i := range advAddrIndex(k, addrs) {
		if err := d.objs.AdvAddrs.Update(ak, i, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("loader: set instance %v: address %v: %w", k, addrFrom(k.Family, ak.Addr), err)
		}
	}
	return nil
}

// dropStaleAdvAddrs removes the instance's entries that are not in keep.
func (d *Dataplane) dropStaleAdvAddrs(k InstanceKey, keep []netip.Addr) error {
	want := advAddrIndex(k, keep)
	var stale []vrrpAdvAddrKey
	var ak vrrpAdvAddrKey
	var i uint8
	it := d.objs.AdvAddrs.Iterate()
	for it.Next(&ak, &i) {
		if ak.Ifindex == uint32(k.Ifindex) && ak.Vrid == k.VRID && ak.Family == uint8(k.Family) {
			if j, ok := want[ak]; !ok || j != i {
				stale = append(stale, ak)
			}
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("loader: list addresses of %v: %w", k, err)
	}
	for _, ak := range stale {
		if err := d.objs.AdvAddrs.Delete(ak); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("loader: drop address of %v: %w", k, err)
		}
	}
	return nil
}

// syncNoAccept records the VIPs of k whose traffic a Master drops and installs
// or removes their entries for state s. Callers hold d.epochs.
func (d *Dataplane) syncNoAccept(k InstanceKey, s State, vips []netip.Addr) error {
	if d.noAccept == nil {
		d.noAccept = map[InstanceKey][]netip.Addr{}
	}
	if len(vips) == 0 {
		delete(d.noAccept, k)
	} else {
		d.noAccept[k] = vips
	}
	return d.switchNoAccept(k, s == StateMaster)
}

// switchNoAccept installs (on) or removes the no_accept entries of k.
func (d *Dataplane) switchNoAccept(k InstanceKey, on bool) error {
	keep := map[vrrpVipKey]bool{}
	if on {
		for _, a := range d.noAccept[k] {
			keep[vipKey(0, a)] = true
		}
	}
	if err := d.clearNoAccept(k, keep); err != nil || !on {
		return err
	}
	owner := rawKey(k)
	for _, a := range d.noAccept[k] {
		nk := vipKey(0, a)
		var v vrrpNoAcceptVal
		_ = d.objs.NoAccept.Lookup(nk, &v) // keeps the drop count
		v.Owner = owner
		if err := d.objs.NoAccept.Update(nk, v, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("loader: no_accept %v for %v: %w", a, k, err)
		}
	}
	return d.countNoAccept()
}

// clearNoAccept removes the no_accept entries owned by k that are not in keep.
func (d *Dataplane) clearNoAccept(k InstanceKey, keep map[vrrpVipKey]bool) error {
	owner := rawKey(k)
	var stale []vrrpVipKey
	var nk vrrpVipKey
	var v vrrpNoAcceptVal
	it := d.objs.NoAccept.Iterate()
	for it.Next(&nk, &v) {
		if v.Owner == owner && !keep[nk] {
			stale = append(stale, nk)
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("loader: list no_accept: %w", err)
	}
	for _, nk := range stale {
		if err := d.objs.NoAccept.Delete(nk); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("loader: drop no_accept of %v: %w", k, err)
		}
	}
	return d.countNoAccept()
}

// countNoAccept copies the no_accept VIPs where every packet's first check
// reads them: none of a family keeps the lookup off the path of its traffic.
func (d *Dataplane) countNoAccept() error {
	var set vrrpNoAcceptSet
	var nk vrrpVipKey
	var v vrrpNoAcceptVal
	it := d.objs.NoAccept.Iterate()
	for it.Next(&nk, &v) {
		if nk.Family == uint8(FamilyIPv4) {
			if int(set.N4) < len(set.V4) {
				set.V4[set.N4] = binary.NativeEndian.Uint32(nk.Addr[:4])
			}
			set.N4++
		} else {
			if int(set.N6) < len(set.V6) {
				set.V6[set.N6] = nk.Addr
			}
			set.N6++
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("loader: list no_accept: %w", err)
	}
	if err := d.objs.NoAcceptOn.Update(uint32(0), set, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("loader: no_accept set: %w", err)
	}
	return nil
}

// NoAcceptDrops is the number of packets to addr dropped by no_accept since
// its entry was created; ok is false when addr is not being dropped.
func (d *Dataplane) NoAcceptDrops(addr netip.Addr) (n uint64, ok bool, err error) {
	var v vrrpNoAcceptVal
	if err := d.objs.NoAccept.Lookup(vipKey(0, addr), &v); err != nil {
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return 0, false, nil
		}
		return 0, false, fmt.Errorf("loader: read no_accept %v: %w", addr, err)
	}
	return v.Dropped, true, nil
}
