package loader

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/cilium/ebpf"
	"github.com/ebpfvrrp/ebpfvrrp/vrrp"
	"golang.org/x/sys/unix"
)

const centisecond = 10 * time.Millisecond

func addr16(a netip.Addr) [16]byte {
	var b [16]byte
	if a.Is4() || a.Is4In6() {
		v4 := a.Unmap().As4()
		copy(b[:], v4[:])
		return b
	}
	return a.As16()
}

func addrFrom(family vrrp.Family, b [16]byte) netip.Addr {
	if family == FamilyIPv4 {
		return netip.AddrFrom4([4]byte(b[:4]))
	}
	return netip.AddrFrom16(b)
}

func familyOf(a netip.Addr) vrrp.Family {
	if a.Is4() || a.Is4In6() {
		return FamilyIPv4
	}
	return FamilyIPv6
}

// monotonic is bpf_ktime_get_ns's clock.
func monotonic() uint64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return uint64(ts.Nano())
}

// wallTime converts a kernel CLOCK_MONOTONIC stamp to wall-clock time.
func wallTime(ns uint64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Now().Add(-time.Duration(int64(monotonic() - ns)))
}

func (c InstanceConfig) raw(k InstanceKey) (vrrpInstanceCfg, error) {
	r := vrrpInstanceCfg{
		State: vrrpVrrpState(c.State), Priority: c.Priority, Version: c.Version,
		AuthType: c.AuthType, AuthPass: c.AuthPass,
	}
	if k.Family != FamilyIPv4 && k.Family != FamilyIPv6 {
		return r, fmt.Errorf("%w: family %d", ErrInvalidConfig, k.Family)
	}
	if c.State > StateFault {
		return r, fmt.Errorf("%w: state %d", ErrInvalidConfig, c.State)
	}
	switch c.Version {
	case 2:
		if k.Family != FamilyIPv4 {
			return r, fmt.Errorf("%w: VRRPv2 is IPv4 only", ErrInvalidConfig)
		}
		if c.Interval%vrrp.MinIntervalV2 != 0 || c.Interval < vrrp.MinIntervalV2 || c.Interval > vrrp.MaxIntervalV2 {
			return r, fmt.Errorf("%w: v2 interval %v is not 1-255 whole seconds", ErrInvalidConfig, c.Interval)
		}
		if c.AuthType > 1 {
			return r, fmt.Errorf("%w: auth type %d (want 0 none or 1 PASS)", ErrInvalidConfig, c.AuthType)
		}
	case 3:
		if c.Interval%vrrp.MinIntervalV3 != 0 || c.Interval < vrrp.MinIntervalV3 || c.Interval > vrrp.MaxIntervalV3 {
			return r, fmt.Errorf("%w: v3 interval %v is not 10ms-40.95s in 10ms steps", ErrInvalidConfig, c.Interval)
		}
		if c.AuthType != 0 {
			return r, fmt.Errorf("%w: VRRPv3 has no authentication", ErrInvalidConfig)
		}
	default:
		return r, fmt.Errorf("%w: version %d", ErrInvalidConfig, c.Version)
	}
	r.IntervalCs = uint16(c.Interval / centisecond)
	if c.Preempt {
		r.Preempt = 1
	}
	if c.Unicast {
		r.Unicast = 1
	}
	if c.Primary.IsValid() {
		if familyOf(c.Primary) != k.Family {
			return r, fmt.Errorf("%w: primary %v is not IPv%d", ErrInvalidConfig, c.Primary, k.Family)
		}
		r.Primary = addr16(c.Primary)
	}
	for _, p := range c.Peers {
		if !p.IsValid() || familyOf(p) != k.Family {
			return r, fmt.Errorf("%w: peer %v is not IPv%d", ErrInvalidConfig, p, k.Family)
		}
	}
	if len(c.Peers) > 0 {
		r.CheckPeers = 1
	}
	if err := c.rawAddrs(k, &r); err != nil {
		return r, err
	}
	return r, nil
}

// SetInstance writes an instance's whole kernel config and its allowed
// peers. Until it is called, adverts for the instance are dropped
// (unknown_vrid).
func (d *Dataplane) SetInstance(k InstanceKey, c InstanceConfig) error {
	r, err := c.raw(k)
	if err != nil {
		return fmt.Errorf("loader: set instance %v: %w", k, err)
	}
	d.epochs.Lock()
	defer d.epochs.Unlock()
	// Peers first, so a peer list never applies to a config that does not
	// check it yet, nor a check to a half-written list.
	want := map[vrrpPeerKey]bool{}
	for _, p := range c.Peers {
		want[vrrpPeerKey{Ifindex: uint32(k.Ifindex), Vrid: k.VRID, Family: uint8(k.Family), Addr: addr16(p)}] = true
	}
	one := uint8(1)
	for pk := range want {
		if err := d.objs.AllowedPeers.Update(pk, one, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("loader: set instance %v: allowed peer: %w", k, err)
		}
	}
	var stale []vrrpPeerKey
	var pk vrrpPeerKey
	var v uint8
	it := d.objs.AllowedPeers.Iterate()
	for it.Next(&pk, &v) {
		if pk.Ifindex == uint32(k.Ifindex) && pk.Vrid == k.VRID && pk.Family == uint8(k.Family) && !want[pk] {
			stale = append(stale, pk)
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("loader: set instance %v: list peers: %w", k, err)
	}
	if err := d.setAdvAddrs(k, c.Addresses); err != nil {
		return err
	}
	if err := d.writeCfg(k, r); err != nil {
		return err
	}
	if err := d.syncNoAccept(k, c.State, c.NoAccept); err != nil {
		return err
	}
	if err := d.dropStaleAdvAddrs(k, c.Addresses); err != nil {
		return err
	}
	for _, pk := range stale {
		if err := d.objs.AllowedPeers.Delete(pk); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("loader: set instance %v: drop peer: %w", k, err)
		}
	}
	return nil
}

// writeCfg stores r, bumping the epoch when the state changes (a new
// instance gets a fresh one): the kernel then forgets the master it
// followed, so the first advert in a new Backup period is a NEW_MASTER and
// a timer armed in an earlier period is ignored.
func (d *Dataplane) writeCfg(k InstanceKey, r vrrpInstanceCfg) error {
	var old vrrpInstanceCfg
	err := d.objs.Instances.Lookup(rawKey(k), &old)
	switch {
	case err == nil:
		r.Epoch = old.Epoch
		if old.State != r.State {
			r.Epoch++
		}
	case errors.Is(err, ebpf.ErrKeyNotExist):
		// Not 1: an advert racing DeleteInstance may have re-created the
		// kernel state with the old epoch, and a fresh config must not
		// match it. The low bits of the monotonic clock differ per
		// creation; 0 stays unused.
		r.Epoch = uint32(monotonic()) | 1
	default:
		return fmt.Errorf("loader: read instance %v: %w", k, err)
	}
	if err := d.objs.Instances.Update(rawKey(k), r, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("loader: write instance %v: %w", k, err)
	}
	return nil
}

// SetState is the cheap path for state transitions and tracker priority
// changes: it rewrites only our state and effective priority.
func (d *Dataplane) SetState(k InstanceKey, s State, prio uint8) error {
	if s > StateFault {
		return fmt.Errorf("loader: set state %v: %w: state %d", k, ErrInvalidConfig, s)
	}
	d.epochs.Lock()
	defer d.epochs.Unlock()
	var r vrrpInstanceCfg
	if err := d.objs.Instances.Lookup(rawKey(k), &r); err != nil {
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("loader: set state %v: %w", k, ErrNoInstance)
		}
		return fmt.Errorf("loader: set state %v: %w", k, err)
	}
	prev := State(r.State)
	r.State = vrrpVrrpState(s)
	r.Priority = prio
	if err := d.writeCfg(k, r); err != nil {
		return err
	}
	if (prev == StateMaster) != (s == StateMaster) {
		return d.switchNoAccept(k, s == StateMaster)
	}
	return nil
}

// DeleteInstance removes an instance's config, peers and kernel state (which
// cancels its master-down timer). Peer statistics age out of their LRU map.
func (d *Dataplane) DeleteInstance(k InstanceKey) error {
	d.epochs.Lock()
	defer d.epochs.Unlock()
	var errs []error
	for _, m := range []*ebpf.Map{d.objs.Instances, d.objs.InstState, d.objs.LastEvent} {
		if err := m.Delete(rawKey(k)); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			errs = append(errs, err)
		}
	}
	var pk vrrpPeerKey
	var v uint8
	var stale []vrrpPeerKey
	it := d.objs.AllowedPeers.Iterate()
	for it.Next(&pk, &v) {
		if pk.Ifindex == uint32(k.Ifindex) && pk.Vrid == k.VRID && pk.Family == uint8(k.Family) {
			stale = append(stale, pk)
		}
	}
	errs = append(errs, it.Err())
	for _, pk := range stale {
		if err := d.objs.AllowedPeers.Delete(pk); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			errs = append(errs, err)
		}
	}
	errs = append(errs, d.dropStaleAdvAddrs(k, nil), d.syncNoAccept(k, StateInit, nil))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("loader: delete instance %v: %w", k, err)
	}
	return nil
}

// Master returns the master the kernel follows for an instance, and whether
// there is one. The info (BothMasters in particular) is filled whenever the
// kernel has state for the instance.
func (d *Dataplane) Master(k InstanceKey) (MasterInfo, bool, error) {
	var st vrrpInstanceState
	if err := d.objs.InstState.Lookup(rawKey(k), &st); err != nil {
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return MasterInfo{}, false, nil
		}
		return MasterInfo{}, false, fmt.Errorf("loader: read master %v: %w", k, err)
	}
	mi := MasterInfo{
		Priority:    st.MasterPrio,
		Interval:    time.Duration(st.MasterIntervalCs) * centisecond,
		Age:         time.Duration(math.MaxInt64),
		BothMasters: st.BothMasters,
	}
	if st.LastNs != 0 {
		mi.Age = time.Duration(int64(monotonic() - st.LastNs))
	}
	if st.HasMaster == 0 {
		return mi, false, nil
	}
	mi.Addr = addrFrom(k.Family, st.Master)
	return mi, true, nil
}

// Peers lists every sender of valid adverts the kernel remembers.
func (d *Dataplane) Peers() ([]PeerStats, error) {
	var out []PeerStats
	var k vrrpPeerKey
	var v vrrpPeerStats
	it := d.objs.Peers.Iterate()
	for it.Next(&k, &v) {
		out = append(out, peerStats(&k, &v))
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("loader: read peers: %w", err)
	}
	return out, nil
}

// Peer is what the kernel knows about one sender on one instance: one map
// lookup, where Peers walks the whole map.
func (d *Dataplane) Peer(key InstanceKey, addr netip.Addr) (PeerStats, bool, error) {
	k := vrrpPeerKey{Ifindex: uint32(key.Ifindex), Vrid: key.VRID, Family: uint8(key.Family), Addr: addr16(addr)}
	var v vrrpPeerStats
	if err := d.objs.Peers.Lookup(&k, &v); err != nil {
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return PeerStats{}, false, nil
		}
		return PeerStats{}, false, fmt.Errorf("loader: read peer %v on %v: %w", addr, key, err)
	}
	return peerStats(&k, &v), true, nil
}

func peerStats(k *vrrpPeerKey, v *vrrpPeerStats) PeerStats {
	return PeerStats{
		Key:       InstanceKey{Ifindex: int(k.Ifindex), VRID: k.Vrid, Family: vrrp.Family(k.Family)},
		Addr:      addrFrom(vrrp.Family(k.Family), k.Addr),
		FirstSeen: wallTime(v.FirstNs),
		LastSeen:  wallTime(v.LastNs),
		Count:     v.Count,
		MaxGap:    time.Duration(v.MaxGapNs),
		Missed:    v.Missed,
		Priority:  v.Priority,
		Version:   v.Version,
		Interval:  time.Duration(v.IntervalCs) * centisecond,
		Hist:      v.Hist,
	}
}

// Drops lists the non-zero drop counters, summed over CPUs.
func (d *Dataplane) Drops() ([]DropStat, error) {
	var out []DropStat
	var k vrrpDropKey
	var per []uint64
	it := d.objs.Drops.Iterate()
	for it.Next(&k, &per) {
		var sum uint64
		for _, c := range per {
			sum += c
		}
		if sum != 0 {
			out = append(out, DropStat{Ifindex: k.Ifindex, Reason: DropReason(k.Reason), Count: sum})
		}
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("loader: read drops: %w", err)
	}
	return out, nil
}

// TxStats lists our own adverts seen at TC egress, per instance.
func (d *Dataplane) TxStats() ([]TxStat, error) {
	var out []TxStat
	var k vrrpInstanceKey
	var v vrrpTxStats
	it := d.objs.TxAdverts.Iterate()
	for it.Next(&k, &v) {
		out = append(out, TxStat{
			Key: keyFromRaw(k), Count: v.Count, Last: wallTime(v.LastNs),
			MaxGap: time.Duration(v.MaxGapNs), Hist: v.Hist,
		})
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("loader: read tx stats: %w", err)
	}
	return out, nil
}

func vipKey(ifindex uint32, addr netip.Addr) vrrpVipKey {
	return vrrpVipKey{Ifindex: ifindex, Family: uint8(familyOf(addr)), Addr: addr16(addr)}
}

// SetVIPLease (re)news the ghost-VIP guard lease of a VIP we hold on an
// interface: once it lapses (our controller died without releasing the
// address), the receive path drops ARP requests / neighbour solicitations
// for it on that interface so peers stop resolving it to us. The Master
// renews it well within `valid`; a clean release calls DeleteVIPLease.
func (d *Dataplane) SetVIPLease(ifindex uint32, addr netip.Addr, valid time.Duration) error {
	if !addr.IsValid() {
		return fmt.Errorf("loader: set vip lease: %w: invalid address", ErrInvalidConfig)
	}
	k := vipKey(ifindex, addr)
	var l vrrpVipLease
	_ = d.objs.VipLeases.Lookup(k, &l) // keeps the guarded count
	l.ExpiresNs = monotonic() + uint64(valid)
	if err := d.objs.VipLeases.Update(k, l, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("loader: set vip lease %v: %w", addr, err)
	}
	return nil
}

// DeleteVIPLease stops guarding a VIP (clean release).
func (d *Dataplane) DeleteVIPLease(ifindex uint32, addr netip.Addr) error {
	if err := d.objs.VipLeases.Delete(vipKey(ifindex, addr)); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("loader: delete vip lease %v: %w", addr, err)
	}
	return nil
}
