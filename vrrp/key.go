package vrrp

import "fmt"

// Family is an instance's address family, numbered as the kernel's maps number it
// (the IP version).
type Family uint8

// The two families.
const (
	IPv4 Family = 4
	IPv6 Family = 6
)

// FamilyOf returns IPv6 for true, IPv4 for false.
func FamilyOf(ipv6 bool) Family {
	if ipv6 {
		return IPv6
	}
	return IPv4
}

func (f Family) String() string {
	switch f {
	case IPv4:
		return "ipv4"
	case IPv6:
		return "ipv6"
	}
	return fmt.Sprintf("family(%d)", uint8(f))
}

// InstanceKey names one VRRP instance on a host: the interface its adverts arrive
// on, its VRID and its family. It is the key of the kernel's instance maps, of the
// controller's instances and of every report about them; control and loader
// re-export it, so there is one such type.
type InstanceKey struct {
	Ifindex int
	VRID    uint8
	Family  Family
}

// IsIPv6 reports whether k is an IPv6 instance.
func (k InstanceKey) IsIPv6() bool { return k.Family == IPv6 }

func (k InstanceKey) String() string {
	return fmt.Sprintf("if%d/vrid%d/ipv%d", k.Ifindex, k.VRID, k.Family)
}
