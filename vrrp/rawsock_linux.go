package vrrp

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// sendTimeout bounds how long one sendmmsg may wait for send-buffer space (a
// NIC whose carrier is gone keeps its queue full); the batch then fails with
// an error instead of holding up the controller.
const sendTimeout = 100 * time.Millisecond

// sendBuffer is the socket send buffer Dial asks for: a batch of a few hundred
// adverts is in flight at once until the NIC frees them.
const sendBuffer = 1 << 20

// mmsghdr is struct mmsghdr (x/sys/unix has Msghdr but no sendmmsg wrapper).
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
	_   [4]byte
}

// rawSocket is a blocking raw socket written with sendmmsg(2) directly. It is
// deliberately not registered with Go's network poller: nothing ever waits to
// read or write it, yet the kernel signals EPOLLOUT each time a sent packet is
// freed, and at 200 adverts per 10 ms those edges woke the poller's thread
// several times per batch.
type rawSocket struct {
	mu     sync.Mutex
	fd     int // -1 once closed
	family Family
	hdrs   []mmsghdr
	iovs   []unix.Iovec
	names  []unix.RawSockaddrInet6 // big enough for either family
}

// openRawSocket opens a raw IPPROTO_VRRP socket for family on ifi, set up as Dial
// documents.
func openRawSocket(ifi *net.Interface, family Family) (*rawSocket, error) {
	domain := unix.AF_INET
	if family == 6 {
		domain = unix.AF_INET6
	}
	fd, err := unix.Socket(domain, unix.SOCK_RAW|unix.SOCK_CLOEXEC, ProtocolNumber)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	s := &rawSocket{fd: fd, family: family}
	if err := s.setup(ifi); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return s, nil
}

func (s *rawSocket) setup(ifi *net.Interface) error {
	fd := s.fd
	if err := prepareSocket(fd, ifi.Name); err != nil {
		return err
	}
	tv := unix.NsecToTimeval(sendTimeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv); err != nil {
		return fmt.Errorf("set send timeout: %w", err)
	}
	// Beyond net.core.wmem_max only with CAP_NET_ADMIN; the default is a fallback.
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, sendBuffer) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, sendBuffer)
	}
	if s.family == 4 {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_HDRINCL, 1); err != nil {
			return fmt.Errorf("set IP_HDRINCL: %w", err)
		}
		if err := unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_IF, &unix.IPMreqn{Ifindex: int32(ifi.Index)}); err != nil {
			return fmt.Errorf("set multicast interface: %w", err)
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP, 0); err != nil {
			return fmt.Errorf("disable multicast loopback: %w", err)
		}
		return nil
	}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_IF, ifi.Index); err != nil {
		return fmt.Errorf("set multicast interface: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_LOOP, 0); err != nil {
		return fmt.Errorf("disable multicast loopback: %w", err)
	}
	// Also set per packet; the socket defaults cover anything sent without it.
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS, TTL); err != nil {
		return fmt.Errorf("set multicast hop limit: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, TTL); err != nil {
		return fmt.Errorf("set unicast hop limit: %w", err)
	}
	return nil
}

// WriteBatch sends ms (one buffer each, Addr a *net.IPAddr, optional OOB) with
// one sendmmsg and returns how many the kernel took.
func (s *rawSocket) WriteBatch(ms []ipv4.Message, flags int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fd < 0 {
		return 0, net.ErrClosed
	}
	if len(ms) == 0 {
		return 0, nil
	}
	if cap(s.hdrs) < len(ms) {
		s.hdrs = make([]mmsghdr, len(ms))
		s.iovs = make([]unix.Iovec, len(ms))
		s.names = make([]unix.RawSockaddrInet6, len(ms))
	}
	hdrs, iovs, names := s.hdrs[:len(ms)], s.iovs[:len(ms)], s.names[:len(ms)]
	for i := range ms {
		m := &ms[i]
		if len(m.Buffers) != 1 || len(m.Buffers[0]) == 0 {
			return 0, fmt.Errorf("message %d: want exactly one non-empty buffer", i)
		}
		h := &hdrs[i]
		*h = mmsghdr{}
		iovs[i] = unix.Iovec{Base: &m.Buffers[0][0]}
		iovs[i].SetLen(len(m.Buffers[0]))
		h.hdr.Iov, h.hdr.Iovlen = &iovs[i], 1
		if m.Addr != nil {
			n, err := s.sockaddr(&names[i], m.Addr)
			if err != nil {
				return 0, fmt.Errorf("message %d: %w", i, err)
			}
			h.hdr.Name, h.hdr.Namelen = (*byte)(unsafe.Pointer(&names[i])), n
		}
		if len(m.OOB) > 0 {
			h.hdr.Control = &m.OOB[0]
			h.hdr.SetControllen(len(m.OOB))
		}
	}
	for {
		n, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&hdrs[0])), uintptr(len(hdrs)), uintptr(flags), 0, 0)
		switch {
		case errno == unix.EINTR:
			continue
		case errno == unix.EAGAIN:
			return 0, fmt.Errorf("sendmmsg: send buffer still full after %v: %w", sendTimeout, errno)
		case errno != 0:
			return 0, fmt.Errorf("sendmmsg: %w", errno)
		}
		return int(n), nil
	}
}

// sockaddr writes a's socket address into buf and returns its length.
func (s *rawSocket) sockaddr(buf *unix.RawSockaddrInet6, a net.Addr) (uint32, error) {
	ipa, ok := a.(*net.IPAddr)
	if !ok {
		return 0, fmt.Errorf("destination %v: not an IP address", a)
	}
	if s.family == 4 {
		ip4 := ipa.IP.To4()
		if ip4 == nil {
			return 0, fmt.Errorf("destination %v: not IPv4", a)
		}
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(buf))
		*sa = unix.RawSockaddrInet4{Family: unix.AF_INET}
		copy(sa.Addr[:], ip4)
		return unix.SizeofSockaddrInet4, nil
	}
	ip16 := ipa.IP.To16()
	if ip16 == nil || ipa.IP.To4() != nil {
		return 0, fmt.Errorf("destination %v: not IPv6", a)
	}
	*buf = unix.RawSockaddrInet6{Family: unix.AF_INET6}
	copy(buf.Addr[:], ip16)
	return unix.SizeofSockaddrInet6, nil
}

// Close closes the socket; later writes fail with net.ErrClosed.
func (s *rawSocket) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fd < 0 {
		return net.ErrClosed
	}
	err := unix.Close(s.fd)
	s.fd = -1
	return err
}

// sysfd returns the descriptor (tests inspect the socket with it).
func (s *rawSocket) sysfd() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fd < 0 {
		return -1, errors.New("closed")
	}
	return s.fd, nil
}
