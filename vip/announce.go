package vip

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/mdlayher/packet"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Announcer sends gratuitous ARP and unsolicited neighbour advertisements on
// one interface through an AF_PACKET socket. The socket is bound to protocol 0,
// so it never queues received frames. An Announcer stays bound to the network
// namespace it was created in. It is safe for concurrent use.
type Announcer struct {
	ifindex int
	mac     net.HardwareAddr
	conn    *packet.Conn
	nl      rtnl
}

// NewAnnouncer opens the send socket on interface ifindex (in the calling
// thread's network namespace).
func NewAnnouncer(ifindex int) (*Announcer, error) {
	ifi, err := net.InterfaceByIndex(ifindex)
	if err != nil {
		return nil, fmt.Errorf("vip: announcer on ifindex %d: %w", ifindex, err)
	}
	if len(ifi.HardwareAddr) != 6 {
		return nil, fmt.Errorf("vip: announcer on %s: not an Ethernet interface (hardware address %q)", ifi.Name, ifi.HardwareAddr)
	}
	ns, err := netns.Get()
	if err != nil {
		return nil, fmt.Errorf("vip: announcer on %s: %w", ifi.Name, err)
	}
	conn, err := packet.Listen(ifi, packet.Raw, 0, nil)
	if err != nil {
		ns.Close()
		return nil, fmt.Errorf("vip: announcer on %s: %w", ifi.Name, err)
	}
	return &Announcer{ifindex: ifindex, mac: ifi.HardwareAddr, conn: conn, nl: rtnlAt(ns)}, nil
}

// Ifindex is the interface the Announcer sends on.
func (a *Announcer) Ifindex() int { return a.ifindex }

// Announce sends one gratuitous ARP per IPv4 address and one unsolicited NA per
// IPv6 address, all claiming mac (nil: the interface's). Every address is
// attempted; the error joins the failures.
func (a *Announcer) Announce(addrs []netip.Addr, mac net.HardwareAddr) error {
	if mac == nil {
		mac = a.mac
	}
	if len(mac) != 6 {
		return fmt.Errorf("vip: announce: hardware address %q is not Ethernet", mac)
	}
	var src netip.Addr
	var errs []error
	for _, ip := range addrs {
		ip = ip.Unmap()
		var frame []byte
		var err error
		var dst net.HardwareAddr
		switch {
		case ip.Is4():
			frame, err = gratuitousARP(mac, ip)
			dst = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		case ip.Is6():
			if !src.IsValid() {
				src = a.linkLocal()
			}
			from := src
			if !from.IsValid() {
				// No link-local (none configured yet): the VIP is an address of the
				// interface too, which is all RFC 4861 §7.2.6 asks of the source.
				from = ip
			}
			frame, err = unsolicitedNA(mac, from, ip)
			dst = allNodesMAC
		default:
			err = fmt.Errorf("vip: announce: invalid address %v", ip)
		}
		if err == nil {
			_, err = a.conn.WriteTo(frame, &packet.Addr{HardwareAddr: dst})
			if err != nil {
				err = fmt.Errorf("vip: announce %s on ifindex %d: %w", ip, a.ifindex, err)
			}
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// linkLocal returns a usable link-local address of the interface, or the zero
// Addr when there is none (no IPv6, or addr_gen_mode none).
func (a *Announcer) linkLocal() netip.Addr {
	addrs, err := a.nl.list(unix.AF_INET6, a.ifindex)
	if err != nil {
		return netip.Addr{}
	}
	return pickLinkLocal(addrs)
}

func pickLinkLocal(addrs []kernelAddr) netip.Addr {
	for _, ka := range addrs {
		if ka.Prefix.Addr().IsLinkLocalUnicast() && ka.Flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED) == 0 {
			return ka.Prefix.Addr()
		}
	}
	return netip.Addr{}
}

// Close closes the socket.
func (a *Announcer) Close() error {
	err := a.conn.Close()
	a.nl.closeSocket()
	a.nl.ns.Close()
	return err
}
