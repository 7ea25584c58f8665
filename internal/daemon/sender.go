package daemon

import (
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/ebpfvrrp/ebpfvrrp/control"
	"github.com/ebpfvrrp/ebpfvrrp/vrrp"
)

// senderAdapter implements control.Sender: one raw socket per (interface, family),
// one WriteBatch per socket per tick.
type senderAdapter struct {
	mu    sync.Mutex
	conns map[senderKey]*vrrp.Conn
	batch map[senderKey][]vrrp.Message
	advs  []vrrp.Advertisement
}

type senderKey struct {
	ifname string
	ipv6   bool
}

func newSenderAdapter() *senderAdapter {
	return &senderAdapter{conns: map[senderKey]*vrrp.Conn{}, batch: map[senderKey][]vrrp.Message{}}
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

func (s *senderAdapter) Send(msgs []control.OutAdvert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cap(s.advs) < len(msgs) {
		s.advs = make([]vrrp.Advertisement, len(msgs))
	}
	s.advs = s.advs[:len(msgs)]
	for k := range s.batch {
		s.batch[k] = s.batch[k][:0]
	}
	for i, m := range msgs {
		s.advs[i] = vrrp.Advertisement{
			Version: uint8(m.Version), VRID: m.VRID, Priority: m.Priority, Interval: m.Interval,
			Addresses: m.Addresses, AuthType: vrrp.AuthType(m.AuthType), AuthData: m.AuthData,
			Source: m.Src, Destination: m.Dst,
		}
		k := senderKey{ifname: m.Interface, ipv6: m.Key.IsIPv6()}
		s.batch[k] = append(s.batch[k], vrrp.Message{Adv: &s.advs[i], Src: m.Src, Dst: m.Dst})
	}
	var errs []error
	for k, b := range s.batch {
		if len(b) == 0 {
			continue
		}
		c, err := s.conn(k)
		if err != nil {
			errs = append(errs, fmt.Errorf("send adverts on %s: %w", k.ifname, err))
			continue
		}
		if _, err := c.WriteBatch(b); err != nil {
			errs = append(errs, fmt.Errorf("send adverts on %s: %w", k.ifname, err))
		}
	}
	return errors.Join(errs...)
}

func (s *senderAdapter) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
}
