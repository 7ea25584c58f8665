package daemon

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/control"
	"github.com/ebpfvrrp/ebpfvrrp/vrrp"
)

// senderAdapter implements control.Sender: one raw socket per (interface, family),
// one sendmmsg per socket per tick. Every advert is encoded once and re-sent
// from its cache entry until something in it changes (priority, addresses,
// interval, authentication), so a steady-state tick encodes nothing and
// allocates nothing.
type senderAdapter struct {
	mu    sync.Mutex
	conns map[senderKey]*vrrp.Conn
	batch map[senderKey][]vrrp.Packet
	cache map[advertKey]*cachedAdvert
	// sweep drops cache entries unused since the previous sweep (instances
	// removed by a reload); every advert interval is shorter than sweepEvery.
	lastSweep time.Time
	now       func() time.Time
}

type senderKey struct {
	ifname string
	ipv6   bool
}

// advertKey is one advert stream: an instance's path to one destination.
type advertKey struct {
	key      control.InstanceKey
	ifname   string
	src, dst netip.Addr
}

type cachedAdvert struct {
	out  control.OutAdvert // Addresses cloned
	pkt  vrrp.Packet
	used bool
}

// sweepEvery is longer than the longest advert interval (VRRPv2: 255 s).
const sweepEvery = 10 * time.Minute

func newSenderAdapter() *senderAdapter {
	return &senderAdapter{conns: map[senderKey]*vrrp.Conn{}, batch: map[senderKey][]vrrp.Packet{},
		cache: map[advertKey]*cachedAdvert{}, now: time.Now}
}

func (s *senderAdapter) conn(k senderKey) (*vrrp.Conn, error) {
	if c, ok := s.conns[k]; ok {
		return c, nil
	}
	ifi, err := net.InterfaceByName(k.ifname)
	if err != nil {
		return nil, err
	}
	c, err := vrrp.Dial(ifi, vrrp.FamilyOf(k.ipv6))
	if err != nil {
		return nil, err
	}
	s.conns[k] = c
	return c, nil
}

// sameAdvert: a and b encode to the same packet.
func sameAdvert(a, b *control.OutAdvert) bool {
	return a.Version == b.Version && a.VRID == b.VRID && a.Priority == b.Priority && a.Interval == b.Interval &&
		a.AuthType == b.AuthType && a.AuthData == b.AuthData && slices.Equal(a.Addresses, b.Addresses)
}

// packet returns m's encoded packet on c, from the cache when m is unchanged.
func (s *senderAdapter) packet(c *vrrp.Conn, m *control.OutAdvert) (vrrp.Packet, error) {
	k := advertKey{key: m.Key, ifname: m.Interface, src: m.Src, dst: m.Dst}
	if e := s.cache[k]; e != nil && sameAdvert(&e.out, m) {
		e.used = true
		return e.pkt, nil
	}
	pkt, err := c.Encode(vrrp.Message{Adv: &vrrp.Advertisement{
		Version: uint8(m.Version), VRID: m.VRID, Priority: m.Priority, Interval: m.Interval,
		Addresses: m.Addresses, AuthType: vrrp.AuthType(m.AuthType), AuthData: m.AuthData,
		Source: m.Src, Destination: m.Dst,
	}, Src: m.Src, Dst: m.Dst})
	if err != nil {
		return vrrp.Packet{}, err
	}
	out := *m
	out.Addresses = slices.Clone(m.Addresses)
	s.cache[k] = &cachedAdvert{out: out, pkt: pkt, used: true}
	return pkt, nil
}

func (s *senderAdapter) Send(msgs []control.OutAdvert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.batch {
		s.batch[k] = s.batch[k][:0]
	}
	var errs []error
	for i := range msgs {
		m := &msgs[i]
		k := senderKey{ifname: m.Interface, ipv6: m.Key.IsIPv6()}
		c, err := s.conn(k)
		if err == nil {
			var p vrrp.Packet
			if p, err = s.packet(c, m); err == nil {
				s.batch[k] = append(s.batch[k], p)
				continue
			}
		}
		errs = append(errs, fmt.Errorf("send advert of %s on %s: %w", m.Instance, m.Interface, err))
	}
	for k, b := range s.batch {
		if len(b) == 0 {
			continue
		}
		if _, err := s.conns[k].WritePackets(b); err != nil {
			errs = append(errs, fmt.Errorf("send adverts on %s: %w", k.ifname, err))
		}
	}
	s.sweep()
	return errors.Join(errs...)
}

// sweep drops the cache entries no Send used since the last sweep.
func (s *senderAdapter) sweep() {
	now := s.now()
	if s.lastSweep.IsZero() {
		s.lastSweep = now
	}
	if now.Sub(s.lastSweep) < sweepEvery {
		return
	}
	s.lastSweep = now
	for k, e := range s.cache {
		if !e.used {
			delete(s.cache, k)
		}
		e.used = false
	}
}

func (s *senderAdapter) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
}
