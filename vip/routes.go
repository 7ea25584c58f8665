package vip

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Route is a route a Master holds (keepalived's virtual_routes): added when
// the instance becomes Master, removed when it stops being one.
type Route struct {
	Type    int // unix.RTN_UNICAST (0 means unicast too), RTN_BLACKHOLE, RTN_UNREACHABLE, RTN_PROHIBIT, RTN_THROW
	Dst     netip.Prefix
	Src     netip.Addr
	Via     netip.Addr
	Ifindex int // 0: the kernel picks by the gateway
	Table   int // 0: main
	Metric  int
	Scope   netlink.Scope // used when ScopeSet
	// ScopeSet: Scope was configured; otherwise the kernel's default (link
	// for a route without gateway, universe with one) applies.
	ScopeSet bool
	Proto    int // 0: boot, as ip route add
}

// Rule is a policy routing rule a Master holds (keepalived's virtual_rules).
type Rule struct {
	From, To netip.Prefix
	IIf, OIf string
	Table    int
	Priority int // -1: the kernel picks
	Mark     uint32
	Mask     uint32
	HasMark  bool
}

func ipNet(p netip.Prefix) *net.IPNet {
	if !p.IsValid() {
		return nil
	}
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func (r Route) netlink() *netlink.Route {
	nr := &netlink.Route{
		LinkIndex: r.Ifindex, Dst: ipNet(r.Dst), Table: r.Table, Priority: r.Metric,
		Protocol: netlink.RouteProtocol(r.Proto), Type: r.Type,
	}
	if r.Type == 0 {
		nr.Type = unix.RTN_UNICAST
	}
	if r.Src.IsValid() {
		nr.Src = r.Src.AsSlice()
	}
	if r.Via.IsValid() {
		nr.Gw = r.Via.AsSlice()
	}
	switch {
	case r.ScopeSet:
		nr.Scope = r.Scope
	case nr.Type == unix.RTN_UNICAST && !r.Via.IsValid():
		nr.Scope = netlink.SCOPE_LINK
	}
	if r.Dst.Addr().Is6() {
		nr.Family = unix.AF_INET6
	} else {
		nr.Family = unix.AF_INET
	}
	return nr
}

func (r Rule) netlink() (*netlink.Rule, error) {
	nr := netlink.NewRule()
	nr.Table = r.Table
	nr.Priority = r.Priority
	nr.Src, nr.Dst = ipNet(r.From), ipNet(r.To)
	nr.IifName, nr.OifName = r.IIf, r.OIf
	nr.Family = unix.AF_INET
	for _, p := range []netip.Prefix{r.From, r.To} {
		if p.IsValid() && p.Addr().Is6() {
			nr.Family = unix.AF_INET6
		}
	}
	if r.HasMark {
		nr.Mark = r.Mark
		mask := r.Mask
		nr.Mask = &mask
	}
	return nr, nil
}

// AddRoute adds (or replaces) r, as keepalived does on becoming Master.
func AddRoute(r Route) error {
	if err := netlink.RouteReplace(r.netlink()); err != nil {
		return fmt.Errorf("vip: add route %v: %w", r.Dst, err)
	}
	return nil
}

// DeleteRoute removes r; one already gone is not an error.
func DeleteRoute(r Route) error {
	if err := netlink.RouteDel(r.netlink()); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("vip: delete route %v: %w", r.Dst, err)
	}
	return nil
}

// AddRule adds r; one already there is not an error.
func AddRule(r Rule) error {
	nr, err := r.netlink()
	if err != nil {
		return err
	}
	if err := netlink.RuleAdd(nr); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("vip: add rule to table %d: %w", r.Table, err)
	}
	return nil
}

// DeleteRule removes r; one already gone is not an error.
func DeleteRule(r Rule) error {
	nr, err := r.netlink()
	if err != nil {
		return err
	}
	if err := netlink.RuleDel(nr); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("vip: delete rule to table %d: %w", r.Table, err)
	}
	return nil
}
