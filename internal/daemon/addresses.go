package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/control"
	"github.com/ebpfvrrp/ebpfvrrp/loader"
	"github.com/ebpfvrrp/ebpfvrrp/vip"
	"golang.org/x/sys/unix"
)

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
