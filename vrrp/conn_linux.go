package vrrp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// BatchConn is what a Conn writes to: Dial's raw socket (rawSocket, sendmmsg
// outside Go's poller), or anything with the same WriteBatch, such as
// *ipv4.RawConn and *ipv6.PacketConn or a test's fake. ipv4.Message and
// ipv6.Message are the same type.
type BatchConn interface {
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
	Close() error
}

// Message is one advertisement to send. Src and Dst override the Conn's default
// source (the interface's primary IPv4 address, or its IPv6 link-local address as
// RFC 5798 §5.1.2.1 requires) and the VRRP multicast group.
type Message struct {
	Adv      *Advertisement
	Src, Dst netip.Addr
}

// Conn sends advertisements on one interface for one address family. It never
// receives: the dataplane sees adverts before any socket, so the socket drops
// everything in the kernel and a flood cannot fill its receive buffer.
type Conn struct {
	ifi    *net.Interface
	family Family
	c      BatchConn
	raw    *rawSocket // the socket under c when Dial made it; tests inspect it

	mu   sync.Mutex
	src  netip.Addr // default source; resolved lazily if the interface had none yet
	buf  []byte     // encoded packets of the current batch, back to back
	bufs [][]byte
	ms   []ipv4.Message
	ends []int
	// Per-destination socket addresses and per-source IPv6 ancillary data, built
	// once: a master re-sends to the same few destinations from the same source
	// every interval, so each advert should not allocate them again.
	dsts map[netip.Addr]net.Addr
	oobs map[netip.Addr][]byte
}

// Dial opens a raw VRRP socket on ifi for family 4 or 6. IPv4 uses IP_HDRINCL so
// the source, TTL and TOS are exactly what EncodePacket writes; IPv6 sets them per
// packet with ancillary data. Both are bound to ifi (SO_BINDTODEVICE, so unicast
// peers leave by it too), send multicast on ifi with loopback off, and carry a
// socket filter that drops every received packet. Needs CAP_NET_RAW.
func Dial(ifi *net.Interface, family Family) (*Conn, error) {
	if ifi == nil {
		return nil, errors.New("vrrp: dial: nil interface")
	}
	if family != 4 && family != 6 {
		return nil, fmt.Errorf("vrrp: dial: family %d, want 4 or 6", family)
	}
	rs, err := openRawSocket(ifi, family)
	if err != nil {
		return nil, fmt.Errorf("vrrp: dial IPv%d on %s: %w", family, ifi.Name, err)
	}
	c, err := New(ifi, family, rs)
	if err != nil {
		rs.Close()
		return nil, err
	}
	c.raw = rs
	return c, nil
}

// prepareSocket runs before the socket is returned to Go: the drop-all filter goes
// on first, then whatever was queued between socket() and now is drained.
func prepareSocket(fd int, ifname string) error {
	// A classic BPF "ret #0": accept zero bytes of every packet.
	prog := unix.SockFprog{Len: 1, Filter: &[]unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: 0}}[0]}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &prog); err != nil {
		return fmt.Errorf("attach drop-all socket filter: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_LOCK_FILTER, 1); err != nil {
		return fmt.Errorf("lock socket filter: %w", err)
	}
	var b [1]byte
	for {
		if _, _, err := unix.Recvfrom(fd, b[:], unix.MSG_DONTWAIT); err != nil {
			break
		}
	}
	if err := unix.SetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, ifname); err != nil {
		return fmt.Errorf("bind to device %s: %w", ifname, err)
	}
	return nil
}

// New wraps c, which must already be set up as Dial does: for family 4 a raw
// socket with IP_HDRINCL (it is written whole IP packets), for family 6 a raw
// IPv6 socket (it is written VRRP messages plus ancillary data). Every message
// handed to c has exactly one buffer and a *net.IPAddr destination.
func New(ifi *net.Interface, family Family, c BatchConn) (*Conn, error) {
	if family != 4 && family != 6 {
		return nil, fmt.Errorf("vrrp: new conn: family %d, want 4 or 6", family)
	}
	cn := &Conn{ifi: ifi, family: family, c: c}
	// Best effort: the interface may get its address only later.
	cn.src, _ = SourceAddress(ifi, family)
	return cn, nil
}

// SetSource sets the default source address (a configured unicast source), or
// with an invalid addr returns to the interface's own address.
func (c *Conn) SetSource(addr netip.Addr) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.src = addr.Unmap()
}

// WriteBatch sends msgs with as few sendmmsg calls as the kernel allows and
// returns how many were sent. Every message is encoded before any is sent, so an
// invalid advertisement sends nothing. The advertisements are not modified.
func (c *Conn) WriteBatch(msgs []Message) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(msgs) == 0 {
		return 0, nil
	}
	if err := c.encode(msgs); err != nil {
		return 0, fmt.Errorf("vrrp: write batch on %s: %w", c.ifi.Name, err)
	}
	return c.send()
}

func (c *Conn) encode(msgs []Message) error {
	if err := c.resolveSource(msgs); err != nil {
		return err
	}
	c.buf = c.buf[:0]
	c.ends = c.ends[:0]
	if cap(c.ms) < len(msgs) {
		c.ms = make([]ipv4.Message, len(msgs))
		c.bufs = make([][]byte, len(msgs))
	}
	c.ms, c.bufs = c.ms[:len(msgs)], c.bufs[:len(msgs)]
	for i, m := range msgs {
		var err error
		if c.buf, c.ms[i], err = c.appendMessage(c.buf, m); err != nil {
			return fmt.Errorf("message %d: %w", i, err)
		}
		c.ends = append(c.ends, len(c.buf))
	}
	// Slice only now: appending may have moved c.buf.
	start := 0
	for i, end := range c.ends {
		c.bufs[i] = c.buf[start:end:end]
		c.ms[i].Buffers = c.bufs[i : i+1]
		start = end
	}
	return nil
}

// resolveSource looks up the interface's address if it had none when the
// Conn was made and some message needs it.
func (c *Conn) resolveSource(msgs []Message) error {
	if c.src.IsValid() {
		return nil
	}
	src, err := SourceAddress(c.ifi, c.family)
	if err != nil && needsDefaultSource(msgs) {
		return err
	}
	c.src = src
	return nil
}

// appendMessage appends m's encoding (an IPv4 packet, or an IPv6 VRRP
// message) to b and returns the socket message to send it with (Buffers unset).
func (c *Conn) appendMessage(b []byte, m Message) ([]byte, ipv4.Message, error) {
	if m.Adv == nil {
		return b, ipv4.Message{}, errors.New("nil advertisement")
	}
	group := IPv4Multicast
	if c.family == 6 {
		group = IPv6Multicast
	}
	adv := *m.Adv
	adv.Source, adv.Destination = c.src, group
	if m.Src.IsValid() {
		adv.Source = m.Src.Unmap()
	}
	if m.Dst.IsValid() {
		adv.Destination = m.Dst.Unmap()
	}
	if adv.Destination.Is6() != (c.family == 6) || adv.Source.Is6() != (c.family == 6) {
		return b, ipv4.Message{}, fmt.Errorf("%v -> %v on an IPv%d conn", adv.Source, adv.Destination, c.family)
	}
	var err error
	if c.family == 4 {
		b, err = appendPacket(b, &adv, TTL, 0)
	} else {
		b, err = adv.AppendBinary(b)
	}
	if err != nil {
		return b, ipv4.Message{}, err
	}
	ms := ipv4.Message{Addr: c.dstAddr(adv.Destination)}
	if c.family == 6 {
		ms.OOB = c.oob6(adv.Source)
	}
	return b, ms, nil
}

// Packet is one advertisement encoded for one Conn: built once by Encode, sent
// any number of times by WritePackets. A Master re-sends the same advert every
// interval until its priority, state, addresses or authentication change, so
// encoding it once takes the per-advert work down to the system call.
type Packet struct {
	b   [][]byte // one buffer
	msg ipv4.Message
}

// Encode encodes m for c (validated as WriteBatch does).
func (c *Conn) Encode(m Message) (Packet, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	msgs := [1]Message{m}
	if err := c.resolveSource(msgs[:]); err != nil {
		return Packet{}, fmt.Errorf("vrrp: encode on %s: %w", c.ifi.Name, err)
	}
	b, ms, err := c.appendMessage(nil, m)
	if err != nil {
		return Packet{}, fmt.Errorf("vrrp: encode on %s: %w", c.ifi.Name, err)
	}
	p := Packet{b: [][]byte{b[:len(b):len(b)]}, msg: ms}
	p.msg.Buffers = p.b
	return p, nil
}

// WritePackets sends ps (encoded by Encode on c) with as few sendmmsg calls as
// the kernel allows and returns how many were sent. It does not allocate once
// its buffers have grown to the batch size.
func (c *Conn) WritePackets(ps []Packet) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cap(c.ms) < len(ps) {
		c.ms = make([]ipv4.Message, len(ps))
	}
	c.ms = c.ms[:len(ps)]
	for i := range ps {
		c.ms[i] = ps[i].msg
	}
	return c.send()
}

// send writes c.ms.
func (c *Conn) send() (int, error) {
	sent := 0
	for sent < len(c.ms) {
		n, err := c.c.WriteBatch(c.ms[sent:], 0)
		if n > 0 {
			sent += n
		}
		if err != nil {
			return sent, fmt.Errorf("vrrp: write batch on %s: %w", c.ifi.Name, err)
		}
		if n <= 0 {
			return sent, fmt.Errorf("vrrp: write batch on %s: sent nothing", c.ifi.Name)
		}
	}
	return sent, nil
}

// dstAddr returns the (cached) socket address of dst. The cache holds at most a
// few entries (the multicast group and unicast peers); it is reset if a
// misconfiguration ever makes it grow.
func (c *Conn) dstAddr(dst netip.Addr) net.Addr {
	if a, ok := c.dsts[dst]; ok {
		return a
	}
	if c.dsts == nil || len(c.dsts) >= 64 {
		c.dsts = make(map[netip.Addr]net.Addr)
	}
	a := &net.IPAddr{IP: dst.AsSlice()}
	c.dsts[dst] = a
	return a
}

// oob6 returns the (cached) IPv6 ancillary data that sends from src on c's
// interface with hop limit 255 and the Internet Control traffic class. The kernel
// only reads it, so one copy serves every message of a batch.
func (c *Conn) oob6(src netip.Addr) []byte {
	if b, ok := c.oobs[src]; ok {
		return b
	}
	if c.oobs == nil || len(c.oobs) >= 64 {
		c.oobs = make(map[netip.Addr][]byte)
	}
	cm := ipv6.ControlMessage{
		TrafficClass: tosInternetControl,
		HopLimit:     TTL,
		Src:          src.AsSlice(),
		IfIndex:      c.ifi.Index,
	}
	b := cm.Marshal()
	c.oobs[src] = b
	return b
}

func needsDefaultSource(msgs []Message) bool {
	for _, m := range msgs {
		if !m.Src.IsValid() {
			return true
		}
	}
	return false
}

// Close closes the socket.
func (c *Conn) Close() error {
	return c.c.Close()
}
