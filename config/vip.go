package config

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ParseVIP parses the one-line VIP form, a subset of keepalived's virtual_ipaddress
// syntax: "ADDR[/LEN] [dev DEVICE] [label LABEL]". Without /LEN the prefix is /32 for
// IPv4 and /128 for IPv6, as in keepalived.
func ParseVIP(s string) (VIP, error) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return VIP{}, errors.New("empty VIP")
	}
	p, err := ParseHostPrefix(f[0])
	if err != nil {
		return VIP{}, err
	}
	v := VIP{Address: p}
	for rest := f[1:]; len(rest) > 0; rest = rest[2:] {
		if len(rest) < 2 {
			return VIP{}, fmt.Errorf("%q: option %q needs a value", s, rest[0])
		}
		switch rest[0] {
		case "dev":
			v.Device = rest[1]
		case "label":
			v.Label = rest[1]
		default:
			return VIP{}, fmt.Errorf("%q: unknown option %q (allowed: dev, label)", s, rest[0])
		}
	}
	return v, nil
}

// ParseHostPrefix parses "ADDR/LEN" or a bare "ADDR", which gets a host prefix (/32 or
// /128). Host bits are kept: 198.18.0.3/24 is the address 198.18.0.3 on a /24.
func ParseHostPrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "%") {
		return netip.Prefix{}, fmt.Errorf("%q: a VIP takes no zone; name the interface with dev", s)
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an address or address/prefix-length", s)
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or address/prefix-length", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// String returns the one-line form ParseVIP reads.
func (v VIP) String() string {
	var b strings.Builder
	b.WriteString(v.Address.String())
	if v.Device != "" {
		b.WriteString(" dev ")
		b.WriteString(v.Device)
	}
	if v.Label != "" {
		b.WriteString(" label ")
		b.WriteString(v.Label)
	}
	return b.String()
}
