package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/control"
	"github.com/ebpfvrrp/ebpfvrrp/loader"
	"github.com/ebpfvrrp/ebpfvrrp/vip"
)

// The adapters below connect control's interfaces to loader, vip and vrrp, so that
// none of those packages imports control (STYLE.md: arrows point one way).

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
	return a.dp.SetInstance(k, loader.InstanceConfig{
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
		// The kernel checks every advert's address list as keepalived does.
		Addresses:     c.Addresses,
		SkipAddrCheck: c.SkipAddrCheck,
		NoAccept:      c.NoAccept,
	})
}

func (a dataplaneAdapter) SetState(k control.InstanceKey, s control.State, prio uint8) error {
	return a.dp.SetState(k, loader.State(s), prio)
}

func (a dataplaneAdapter) DeleteInstance(k control.InstanceKey) error {
	err := a.dp.DeleteInstance(k)
	if errors.Is(err, loader.ErrNoInstance) {
		return nil
	}
	return err
}

func (a dataplaneAdapter) MasterAge(k control.InstanceKey) (time.Duration, bool, error) {
	m, ok, err := a.dp.Master(k)
	if err != nil || !ok {
		return 0, ok, err
	}
	return m.Age, true, nil
}

func (a dataplaneAdapter) PeerAge(k control.InstanceKey, peer netip.Addr) (time.Duration, bool, error) {
	p, ok, err := a.dp.Peer(k, peer)
	if err != nil || !ok {
		return 0, false, err
	}
	return time.Since(p.LastSeen), true, nil
}

// translateEvent is the one translation a kernel event goes through between the
// ring-buffer reader and the Runner: the loader's Event, field by field, with
// control's key. The kinds share the kernel's numbering (TestEventNumbering);
// anything outside them is not for the state machine.
func translateEvent(ev loader.Event) (control.KernelEvent, bool) {
	if ev.Type < loader.EventMasterDown || ev.Type > loader.EventBothMasters {
		return control.KernelEvent{}, false
	}
	return control.KernelEvent{Key: ev.Key, Kind: control.KernelEventKind(ev.Type), Addr: ev.Addr,
		Priority: ev.Priority, Interval: ev.Interval}, true
}
