package vrrp

import (
	"fmt"
	"net"
	"net/netip"
)

// SourceAddress is the address a router's adverts on ifi carry as source: its
// first IPv4 address, the primary (RFC 5798 §5.1.1.1; the kernel lists the
// primary first), or its IPv6 link-local address (§5.1.2.1). family is 4 or 6.
func SourceAddress(ifi *net.Interface, family Family) (netip.Addr, error) {
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, err
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(ipn.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		if family == 4 && ip.Is4() {
			return ip, nil
		}
		if family == 6 && ip.Is6() && ip.IsLinkLocalUnicast() {
			return ip, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("no IPv%d source address on %s", family, ifi.Name)
}
