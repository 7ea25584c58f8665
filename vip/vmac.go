package vip

import (
	"github.com/ebpfvrrp/ebpfvrrp/vrrp"

	"bytes"
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// in6AddrGenModeNone is IN6_ADDR_GEN_MODE_NONE from linux/if_link.h.
const in6AddrGenModeNone = 1

// ErrVMACConflict is returned when the VMAC's name is taken by an interface
// that is not the expected VMAC.
var ErrVMACConflict = errors.New("interface exists and is not the expected VMAC")

// VMACAddr returns the VRRP virtual router MAC for vrid: 00:00:5e:00:01:VRID
// for IPv4 and 00:00:5e:00:02:VRID for IPv6 (RFC 5798 §7.3).
func VMACAddr(vrid uint8, family vrrp.Family) net.HardwareAddr {
	b := byte(0x01)
	if family == vrrp.IPv6 {
		b = 0x02
	}
	return net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, b, vrid}
}

// VMACName returns keepalived's default VMAC name: vrrp.VRID or vrrp6.VRID.
func VMACName(vrid uint8, family vrrp.Family) string {
	if family == vrrp.IPv6 {
		return fmt.Sprintf("vrrp6.%d", vrid)
	}
	return fmt.Sprintf("vrrp.%d", vrid)
}

func isVRRPMAC(mac net.HardwareAddr) bool {
	return len(mac) == 6 && bytes.Equal(mac[:4], []byte{0, 0, 0x5e, 0}) && (mac[4] == 1 || mac[4] == 2)
}

// EnsureVMAC creates (or finds) the macvlan that carries the virtual router
// MAC on parent, in private mode as keepalived does, and brings it up. It is
// idempotent.
//
// As keepalived does, it sets on the VMAC arp_ignore=1, accept_local=1 and
// rp_filter=0, and on the parent arp_ignore=1, arp_filter=1 and arp_announce=2, so the VIP is
// answered for only with the virtual MAC. The parent's settings are not put
// back by RemoveVMAC. IPv6 address generation is off on the VMAC: both routers
// carry the same MAC, and identical EUI-64 link-locals would fail DAD.
func EnsureVMAC(parent string, vrid uint8, family vrrp.Family) (ifindex int, name string, err error) {
	if vrid == 0 {
		return 0, "", fmt.Errorf("vip: vmac on %s: VRID 0 is invalid", parent)
	}
	if family != vrrp.IPv4 && family != vrrp.IPv6 {
		return 0, "", fmt.Errorf("vip: vmac on %s: %v is neither IPv4 nor IPv6", parent, family)
	}
	name, mac := VMACName(vrid, family), VMACAddr(vrid, family)
	p, err := netlink.LinkByName(parent)
	if err != nil {
		return 0, "", fmt.Errorf("vip: vmac %s: parent %s: %w", name, parent, err)
	}
	l, err := netlink.LinkByName(name)
	switch {
	case err == nil:
		mv, ok := l.(*netlink.Macvlan)
		if !ok || mv.ParentIndex != p.Attrs().Index || !bytes.Equal(mv.HardwareAddr, mac) {
			return 0, "", fmt.Errorf("vip: vmac %s on %s: %w (type %s, parent ifindex %d, mac %s)",
				name, parent, ErrVMACConflict, l.Type(), l.Attrs().ParentIndex, l.Attrs().HardwareAddr)
		}
	case errors.As(err, new(netlink.LinkNotFoundError)):
		mv := &netlink.Macvlan{
			LinkAttrs: netlink.LinkAttrs{Name: name, ParentIndex: p.Attrs().Index, HardwareAddr: mac},
			Mode:      netlink.MACVLAN_MODE_PRIVATE,
		}
		if err := netlink.LinkAdd(mv); err != nil {
			return 0, "", fmt.Errorf("vip: vmac %s on %s: create: %w", name, parent, err)
		}
		if l, err = netlink.LinkByName(name); err != nil {
			return 0, "", fmt.Errorf("vip: vmac %s on %s: %w", name, parent, err)
		}
		if err := netlink.LinkSetIP6AddrGenMode(l, in6AddrGenModeNone); err != nil {
			return 0, "", fmt.Errorf("vip: vmac %s: addr_gen_mode none: %w", name, err)
		}
	default:
		return 0, "", fmt.Errorf("vip: vmac %s: %w", name, err)
	}
	sysctls := []struct{ dev, key, val string }{
		{name, "arp_ignore", "1"},
		{name, "accept_local", "1"},
		{name, "rp_filter", "0"},
		{parent, "arp_ignore", "1"},
		{parent, "arp_filter", "1"},
		// The parent must not announce the VIP as the sender of its own ARP
		// requests (a reply to a client sent with the VIP as source would make
		// the parent resolve the client with sender IP = VIP), or clients learn
		// the VIP at the parent's MAC instead of the virtual MAC.
		{parent, "arp_announce", "2"},
	}
	for _, s := range sysctls {
		path := "/proc/sys/net/ipv4/conf/" + s.dev + "/" + s.key
		if err := os.WriteFile(path, []byte(s.val), 0o644); err != nil {
			return 0, "", fmt.Errorf("vip: vmac %s: set %s: %w", name, path, err)
		}
	}
	if family == vrrp.IPv6 {
		if err := copyLinkLocal(p, l); err != nil {
			return 0, "", fmt.Errorf("vip: vmac %s: %w", name, err)
		}
	}
	if err := netlink.LinkSetUp(l); err != nil {
		return 0, "", fmt.Errorf("vip: vmac %s: up: %w", name, err)
	}
	return l.Attrs().Index, name, nil
}

// copyLinkLocal gives an IPv6 VMAC the parent's link-local address, as
// keepalived does (keepalived/vrrp/vrrp_vmac.c, add_link_local_address): with
// address generation off the VMAC has none, and adverts must leave from an
// address that is this router's own, not one derived from the shared virtual
// MAC. No DAD: the parent holds the same address.
func copyLinkLocal(parent, vmac netlink.Link) error {
	addrs, err := netlink.AddrList(parent, netlink.FAMILY_V6)
	if err != nil {
		return fmt.Errorf("addresses of %s: %w", parent.Attrs().Name, err)
	}
	for _, a := range addrs {
		if !a.IP.IsLinkLocalUnicast() {
			continue
		}
		ll := &netlink.Addr{IPNet: &net.IPNet{IP: a.IP, Mask: net.CIDRMask(64, 128)}, Flags: unix.IFA_F_NODAD, Scope: unix.RT_SCOPE_LINK}
		if err := netlink.AddrReplace(vmac, ll); err != nil {
			return fmt.Errorf("link-local %s: %w", a.IP, err)
		}
		return nil
	}
	return fmt.Errorf("%s has no IPv6 link-local address to give the VMAC", parent.Attrs().Name)
}

// RemoveVMAC deletes the VMAC called name. An absent interface is not an
// error; an interface that is not a macvlan with a VRRP MAC is never deleted.
func RemoveVMAC(name string) error {
	l, err := netlink.LinkByName(name)
	if errors.As(err, new(netlink.LinkNotFoundError)) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("vip: remove vmac %s: %w", name, err)
	}
	if _, ok := l.(*netlink.Macvlan); !ok || !isVRRPMAC(l.Attrs().HardwareAddr) {
		return fmt.Errorf("vip: remove vmac %s: %w (type %s, mac %s)", name, ErrVMACConflict, l.Type(), l.Attrs().HardwareAddr)
	}
	if err := netlink.LinkDel(l); err != nil {
		return fmt.Errorf("vip: remove vmac %s: %w", name, err)
	}
	return nil
}
