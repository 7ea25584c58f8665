package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/control"
	"github.com/ebpfvrrp/ebpfvrrp/loader"
	"github.com/ebpfvrrp/ebpfvrrp/vip"
	"github.com/ebpfvrrp/ebpfvrrp/vrrp"
	"golang.org/x/sys/unix"
)

// The adapters below connect control's interfaces to loader, vip and vrrp, so that
// none of those packages imports control (STYLE.md: arrows point one way).

func loaderKey(k control.InstanceKey) loader.InstanceKey {
	fam := loader.FamilyIPv4
	if k.IPv6 {
		fam = loader.FamilyIPv6
	}
	return loader.InstanceKey{Ifindex: uint32(k.Ifindex), VRID: k.VRID, Family: fam}
}

func controlKey(k loader.InstanceKey) control.InstanceKey {
	return control.InstanceKey{Ifindex: int(k.Ifindex), VRID: k.VRID, IPv6: k.Family == loader.FamilyIPv6}
}

// dataplaneAdapter implements control.Dataplane over *loader.Dataplane, and
// control.VIPProber with vip.Probe (the Runner takes it from the Dataplane when
// Deps.Prober is unset): the ownership probe is how the split-brain detector sees the
// link beyond the adverts the kernel counts.
type dataplaneAdapter struct{ dp *loader.Dataplane }

// ProbeVIPs asks who answers for vips (ARP probe / NS) for timeout, on every
// interface they live on at once.
func (a dataplaneAdapter) ProbeVIPs(ctx context.Context, vips []control.VIP, timeout time.Duration) ([]control.VIPConflict, error) {
	addrs := make([]vip.Address, 0, len(vips))
	for _, v := range vips {
		ifi, err := net.InterfaceByName(v.Device)
		if err != nil {
			return nil, fmt.Errorf("probe vip %s: device %q: %w", v.Prefix, v.Device, err)
		}
		addrs = append(addrs, vip.Address{Prefix: v.Prefix, Ifindex: ifi.Index})
	}
	return a.probeAddrs(ctx, addrs, timeout)
}

// probeAddrs runs one vip.Probe per interface, concurrently, and joins the answers.
// Any failed interface fails the round: a partial round must not end a conflict.
func (a dataplaneAdapter) probeAddrs(ctx context.Context, addrs []vip.Address, timeout time.Duration) ([]control.VIPConflict, error) {
	byIf := map[int][]netip.Addr{}
	for _, ad := range addrs {
		byIf[ad.Ifindex] = append(byIf[ad.Ifindex], ad.Prefix.Addr())
	}
	var (
		mu   sync.Mutex
		out  []control.VIPConflict
		errs []error
		wg   sync.WaitGroup
	)
	for ifx, list := range byIf {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conflicts, err := vip.Probe(ctx, ifx, list, timeout)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("probe on %s: %w", ifName(ifx), err))
				return
			}
			for _, c := range conflicts {
				out = append(out, control.VIPConflict{VIP: c.Addr, HW: c.MAC})
			}
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

func (a dataplaneAdapter) SetInstance(k control.InstanceKey, c control.KernelConfig) error {
	return a.dp.SetInstance(loaderKey(k), loader.InstanceConfig{
		State:    loader.State(c.State),
		Priority: c.Priority,
		Version:  uint8(c.Version),
		Preempt:  c.Preempt,
		AuthType: c.AuthType,
		AuthPass: c.AuthData,
		Interval: c.AdvertInterval,
		Primary:  c.PrimaryAddr,
		Peers:    c.AllowedPeers,
		Unicast:  c.Unicast,
	})
}

func (a dataplaneAdapter) SetState(k control.InstanceKey, s control.State, prio uint8) error {
	return a.dp.SetState(loaderKey(k), loader.State(s), prio)
}

func (a dataplaneAdapter) DeleteInstance(k control.InstanceKey) error {
	err := a.dp.DeleteInstance(loaderKey(k))
	if errors.Is(err, loader.ErrNoInstance) {
		return nil
	}
	return err
}

func (a dataplaneAdapter) MasterAge(k control.InstanceKey) (time.Duration, bool, error) {
	m, ok, err := a.dp.Master(loaderKey(k))
	if err != nil || !ok {
		return 0, ok, err
	}
	return m.Age, true, nil
}

func (a dataplaneAdapter) PeerAge(k control.InstanceKey, peer netip.Addr) (time.Duration, bool, error) {
	p, ok, err := a.dp.Peer(loaderKey(k), peer)
	if err != nil || !ok {
		return 0, false, err
	}
	return time.Since(p.LastSeen), true, nil
}

// translateEvent maps a ring-buffer record to the Runner's event type.
func translateEvent(ev loader.Event) (control.KernelEvent, bool) {
	var kind control.KernelEventKind
	switch ev.Type {
	case loader.EventMasterDown:
		kind = control.EventMasterDown
	case loader.EventNewMaster:
		kind = control.EventNewMaster
	case loader.EventPrioChange:
		kind = control.EventPrioChange
	case loader.EventPrioZero:
		kind = control.EventPrioZero
	case loader.EventPreempt:
		kind = control.EventPreempt
	case loader.EventBothMasters:
		kind = control.EventBothMasters
	default:
		return control.KernelEvent{}, false
	}
	return control.KernelEvent{Key: controlKey(ev.Key), Kind: kind, Addr: ev.Addr,
		Priority: ev.Priority, Interval: ev.Interval}, true
}

// addressAdapter implements control.Addresses with vip.Manager, and keeps the
// kernel's ghost-VIP lease fresh for every VIP it holds: if this process dies hard,
// the lease lapses and the XDP program stops answering ARP/ND for those VIPs, so
// traffic stays with the new Master.
type addressAdapter struct {
	mgr   *vip.Manager
	dp    *loader.Dataplane
	log   *slog.Logger
	lease time.Duration

	mu   sync.Mutex
	held map[string][]vip.Address // by instance
}

func newAddressAdapter(mgr *vip.Manager, dp *loader.Dataplane, log *slog.Logger) *addressAdapter {
	return &addressAdapter{mgr: mgr, dp: dp, log: log, lease: 2 * time.Second, held: map[string][]vip.Address{}}
}

func (a *addressAdapter) resolve(inst string, vips []control.VIP) ([]vip.Address, error) {
	out := make([]vip.Address, 0, len(vips))
	for _, v := range vips {
		idx, err := ifIndex(v.Device)
		if err != nil {
			return nil, fmt.Errorf("instance %s: vip %s: device %q: %w", inst, v.Prefix, v.Device, err)
		}
		out = append(out, vip.Address{Prefix: v.Prefix, Label: v.Label, Ifindex: idx})
	}
	return out, nil
}

// ifIndex is if_nametoindex(3): one ioctl, where net.InterfaceByName dumps
// every link and address of the namespace (~110 µs on the takeover path,
// before the VIP could be added). Looked up each time, not cached: the device
// may have been recreated with another index since.
func ifIndex(name string) (int, error) {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return 0, err
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
		if errors.Is(err, unix.ENODEV) {
			return 0, fmt.Errorf("no such network interface")
		}
		return 0, err
	}
	return int(ifr.Uint32()), nil
}

func (a *addressAdapter) Add(inst string, vips []control.VIP) error {
	addrs, err := a.resolve(inst, vips)
	if err != nil {
		return err
	}
	var errs []error
	for _, ad := range addrs {
		// Lease first: the address must never answer ARP without a live lease.
		if err := a.dp.SetVIPLease(uint32(ad.Ifindex), ad.Prefix.Addr(), a.lease); err != nil {
			errs = append(errs, err)
		}
		if err := a.mgr.Add(ad); err != nil {
			errs = append(errs, err)
		}
	}
	a.mu.Lock()
	a.held[inst] = addrs
	a.mu.Unlock()
	return errors.Join(errs...)
}

func (a *addressAdapter) Remove(inst string, vips []control.VIP) error {
	addrs, err := a.resolve(inst, vips)
	if err != nil {
		return err
	}
	a.mu.Lock()
	delete(a.held, inst)
	a.mu.Unlock()
	var errs []error
	for _, ad := range addrs {
		if err := a.mgr.Remove(ad); err != nil {
			errs = append(errs, err)
		}
		if err := a.dp.DeleteVIPLease(uint32(ad.Ifindex), ad.Prefix.Addr()); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// refreshLeases renews the leases of held VIPs at a third of their validity until ctx ends.
func (a *addressAdapter) refreshLeases(ctx context.Context) {
	t := time.NewTicker(a.lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a.mu.Lock()
		for inst, addrs := range a.held {
			for _, ad := range addrs {
				if err := a.dp.SetVIPLease(uint32(ad.Ifindex), ad.Prefix.Addr(), a.lease); err != nil {
					a.log.Warn("renewing VIP lease failed", "instance", inst, "vip", ad.Prefix, "err", err)
				}
			}
		}
		a.mu.Unlock()
	}
}

// heldVIPs returns the VIPs held per instance (for the ownership probe).
func (a *addressAdapter) heldVIPs() map[string][]vip.Address {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string][]vip.Address, len(a.held))
	for k, v := range a.held {
		out[k] = append([]vip.Address(nil), v...)
	}
	return out
}

// announcerAdapter implements control.Announcer: one GARP/NA schedule per Master.
type announcerAdapter struct {
	ctx      context.Context
	log      *slog.Logger
	settings map[string]vip.GARPSettings // by instance
	ifindex  map[string]int              // by instance

	mu  sync.Mutex
	ann map[int]*vip.Announcer
}

func (a *announcerAdapter) Start(inst string, vips []netip.Addr) func() {
	a.mu.Lock()
	ifx := a.ifindex[inst]
	an, ok := a.ann[ifx]
	if !ok {
		var err error
		if an, err = vip.NewAnnouncer(ifx); err != nil {
			a.mu.Unlock()
			a.log.Error("cannot send GARP/NA", "instance", inst, "err", err)
			return func() {}
		}
		a.ann[ifx] = an
	}
	s, ok := a.settings[inst]
	if !ok {
		s = vip.DefaultGARPSettings()
	}
	a.mu.Unlock()
	ctx, cancel := context.WithCancel(a.ctx)
	// The first GARP/NA goes out before Start returns; the rest of the schedule
	// runs in its own goroutine.
	err := vip.AnnounceThenSchedule(ctx, an, vips, s, func(err error) {
		if err != nil {
			a.log.Warn("GARP/NA announcements incomplete", "instance", inst, "err", err)
		}
	})
	if err != nil {
		a.log.Warn("first GARP/NA failed", "instance", inst, "err", err)
	}
	return cancel
}

func (a *announcerAdapter) Close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, an := range a.ann {
		an.Close()
	}
}

// senderAdapter implements control.Sender: one raw socket per (interface, family),
// one WriteBatch per socket per tick.
type senderAdapter struct {
	mu    sync.Mutex
	conns map[senderKey]*vrrp.Conn
	batch map[senderKey][]vrrp.Message
	advs  []vrrp.Advertisement
}

type senderKey struct {
	ifname string
	ipv6   bool
}

func newSenderAdapter() *senderAdapter {
	return &senderAdapter{conns: map[senderKey]*vrrp.Conn{}, batch: map[senderKey][]vrrp.Message{}}
}

func (s *senderAdapter) conn(k senderKey) (*vrrp.Conn, error) {
	if c, ok := s.conns[k]; ok {
		return c, nil
	}
	ifi, err := net.InterfaceByName(k.ifname)
	if err != nil {
		return nil, err
	}
	c, err := vrrp.Dial(ifi, ipFamily(k.ipv6))
	if err != nil {
		return nil, err
	}
	s.conns[k] = c
	return c, nil
}

func (s *senderAdapter) Send(msgs []control.OutAdvert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cap(s.advs) < len(msgs) {
		s.advs = make([]vrrp.Advertisement, len(msgs))
	}
	s.advs = s.advs[:len(msgs)]
	for k := range s.batch {
		s.batch[k] = s.batch[k][:0]
	}
	for i, m := range msgs {
		s.advs[i] = vrrp.Advertisement{
			Version: uint8(m.Version), VRID: m.VRID, Priority: m.Priority, Interval: m.Interval,
			Addresses: m.Addresses, AuthType: vrrp.AuthType(m.AuthType), AuthData: m.AuthData,
			Source: m.Src, Destination: m.Dst,
		}
		k := senderKey{ifname: m.Interface, ipv6: m.Key.IPv6}
		s.batch[k] = append(s.batch[k], vrrp.Message{Adv: &s.advs[i], Src: m.Src, Dst: m.Dst})
	}
	var errs []error
	for k, b := range s.batch {
		if len(b) == 0 {
			continue
		}
		c, err := s.conn(k)
		if err != nil {
			errs = append(errs, fmt.Errorf("send adverts on %s: %w", k.ifname, err))
			continue
		}
		if _, err := c.WriteBatch(b); err != nil {
			errs = append(errs, fmt.Errorf("send adverts on %s: %w", k.ifname, err))
		}
	}
	return errors.Join(errs...)
}

func (s *senderAdapter) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
}
