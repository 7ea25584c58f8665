package vrrp

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"

	"golang.org/x/sys/unix"
)

// Group is one multicast group joined on one interface.
type Group struct {
	Ifindex int
	Addr    netip.Addr // 224.0.0.18, ff02::12, or vrrp_mcast_group4/6
}

func (g Group) family() Family { return FamilyOf(!g.Addr.Is4()) }

// Membership holds the host's IGMP/MLD memberships of the VRRP groups.
//
// The dataplane reads adverts before any socket, but a frame must reach the
// interface first: a NIC's multicast filter, an SR-IOV VF, a macvlan port and a
// snooping switch all drop multicast for groups the host has not joined. A
// membership is what opens them: the kernel adds the group's MAC to the device's
// filter (dev_mc_add) and sends IGMP/MLD reports (and answers queries) for as long
// as a socket holds it.
//
// Each (interface, family) gets its own datagram socket: IPv4 allows only
// net.ipv4.igmp_max_memberships (default 20) groups per socket, and closing an
// interface's socket leaves exactly its groups. The sockets are never bound to a
// port and so never receive anything. Memberships survive link down/up and address
// changes (the kernel keeps them and reports again on link up); they end with the
// device, so Set must be called again when an interface is recreated.
type Membership struct {
	mu    sync.Mutex
	socks map[memberKey]*memberSock
}

type memberKey struct {
	ifindex int
	family  Family
}

type memberSock struct {
	fd     int
	groups []netip.Addr
}

// NewMembership returns an empty Membership. Joining needs no capability.
func NewMembership() *Membership {
	return &Membership{socks: map[memberKey]*memberSock{}}
}

// Set makes the joined groups exactly want: it joins what is missing and leaves
// what is no longer wanted. An interface whose last group goes has its socket
// closed. A failed join is reported (every failure, joined) and does not undo the
// others; Set can simply be called again.
func (m *Membership) Set(want []Group) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	wanted := map[memberKey][]netip.Addr{}
	for _, g := range want {
		if !g.Addr.IsMulticast() || g.Ifindex <= 0 {
			return fmt.Errorf("vrrp: join %v on ifindex %d: not a multicast group on an interface", g.Addr, g.Ifindex)
		}
		k := memberKey{g.Ifindex, g.family()}
		if a := g.Addr.Unmap(); !slices.Contains(wanted[k], a) {
			wanted[k] = append(wanted[k], a)
		}
	}
	var errs []error
	for k, s := range m.socks {
		keep := wanted[k]
		for _, a := range slices.Clone(s.groups) {
			if !slices.Contains(keep, a) {
				if err := s.leave(k, a); err != nil {
					errs = append(errs, err)
				}
			}
		}
		if len(keep) == 0 {
			unix.Close(s.fd)
			delete(m.socks, k)
		}
	}
	for k, addrs := range wanted {
		s := m.socks[k]
		if s == nil {
			fd, err := memberSocket(k.family)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			s = &memberSock{fd: fd}
			m.socks[k] = s
		}
		for _, a := range addrs {
			if !slices.Contains(s.groups, a) {
				if err := s.join(k, a); err != nil {
					errs = append(errs, err)
				}
			}
		}
		if len(s.groups) == 0 {
			unix.Close(s.fd)
			delete(m.socks, k)
		}
	}
	return errors.Join(errs...)
}

// Groups returns the groups joined now, ordered by interface then address.
func (m *Membership) Groups() []Group {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Group
	for k, s := range m.socks {
		for _, a := range s.groups {
			out = append(out, Group{Ifindex: k.ifindex, Addr: a})
		}
	}
	slices.SortFunc(out, func(a, b Group) int {
		if a.Ifindex != b.Ifindex {
			return a.Ifindex - b.Ifindex
		}
		return a.Addr.Compare(b.Addr)
	})
	return out
}

// Close leaves every group.
func (m *Membership) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, s := range m.socks {
		// Closing the socket drops its memberships (and sends the IGMP leave).
		unix.Close(s.fd)
		delete(m.socks, k)
	}
	return nil
}

func memberSocket(family Family) (int, error) {
	domain := unix.AF_INET
	if family == 6 {
		domain = unix.AF_INET6
	}
	fd, err := unix.Socket(domain, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.IPPROTO_UDP)
	if err != nil {
		return -1, fmt.Errorf("vrrp: membership socket: %w", err)
	}
	return fd, nil
}

func (s *memberSock) join(k memberKey, a netip.Addr) error {
	var err error
	if k.family == 4 {
		err = unix.SetsockoptIPMreqn(s.fd, unix.IPPROTO_IP, unix.IP_ADD_MEMBERSHIP, mreqn(k, a))
	} else {
		err = unix.SetsockoptIPv6Mreq(s.fd, unix.IPPROTO_IPV6, unix.IPV6_JOIN_GROUP, mreq6(k, a))
	}
	// EADDRINUSE: this socket is already a member (cannot happen through Set,
	// but is the state we want).
	if err != nil && !errors.Is(err, unix.EADDRINUSE) {
		return fmt.Errorf("vrrp: join %v on ifindex %d: %w", a, k.ifindex, err)
	}
	s.groups = append(s.groups, a)
	return nil
}

func (s *memberSock) leave(k memberKey, a netip.Addr) error {
	s.groups = slices.DeleteFunc(s.groups, func(g netip.Addr) bool { return g == a })
	var err error
	if k.family == 4 {
		err = unix.SetsockoptIPMreqn(s.fd, unix.IPPROTO_IP, unix.IP_DROP_MEMBERSHIP, mreqn(k, a))
	} else {
		err = unix.SetsockoptIPv6Mreq(s.fd, unix.IPPROTO_IPV6, unix.IPV6_LEAVE_GROUP, mreq6(k, a))
	}
	// ENODEV / EADDRNOTAVAIL: the interface (and with it the membership) is gone.
	if err != nil && !errors.Is(err, unix.ENODEV) && !errors.Is(err, unix.EADDRNOTAVAIL) {
		return fmt.Errorf("vrrp: leave %v on ifindex %d: %w", a, k.ifindex, err)
	}
	return nil
}

func mreqn(k memberKey, a netip.Addr) *unix.IPMreqn {
	return &unix.IPMreqn{Multiaddr: a.As4(), Ifindex: int32(k.ifindex)}
}

func mreq6(k memberKey, a netip.Addr) *unix.IPv6Mreq {
	return &unix.IPv6Mreq{Multiaddr: a.As16(), Interface: uint32(k.ifindex)}
}
