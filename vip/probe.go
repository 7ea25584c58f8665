package vip

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/mdlayher/packet"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// probeRounds is how many requests go out per address within the timeout:
// RFC 5227 §1.1 PROBE_NUM, so one lost frame does not hide a conflict.
const probeRounds = 3

// Conflict is another host answering for one of our VIPs.
type Conflict struct {
	Addr netip.Addr
	MAC  net.HardwareAddr
}

func (c Conflict) String() string { return fmt.Sprintf("%s at %s", c.Addr, c.MAC) }

type probeOptions struct {
	// unspecifiedSource forces the DAD form of NS even when the interface has
	// a link-local address.
	unspecifiedSource bool
	// own replaces the host's MAC addresses as the set of answers that are us.
	own map[string]bool
}

// Probe asks the link who holds addrs and reports every answer from a MAC
// address that is not one of this host's own interfaces. IPv4 uses ARP probes
// (sender 0.0.0.0, RFC 5227), which Linux answers for addresses it holds; IPv6
// uses a neighbour solicitation to the solicited-node group from the
// interface's link-local address, or in DAD form (from ::, answered to ff02::1)
// when it has none. Unsolicited claims seen meanwhile (another host's
// gratuitous ARP or NA for a VIP) count too. Probe listens for timeout or until
// ctx is done and runs in the calling thread's network namespace.
//
// A peer that answers with the same virtual MAC (both routers using a VMAC)
// is indistinguishable from us and is not reported.
func Probe(ctx context.Context, ifindex int, addrs []netip.Addr, timeout time.Duration) ([]Conflict, error) {
	return probe(ctx, ifindex, addrs, timeout, probeOptions{})
}

// naFilter passes only ICMPv6 neighbour advertisements without extension
// headers, so the probe's IPv6 socket does not queue the link's traffic.
var naFilter = mustAssemble([]bpf.Instruction{
	bpf.LoadAbsolute{Off: 14 + 6, Size: 1}, // IPv6 next header
	bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: protoICMPv6, SkipTrue: 3},
	bpf.LoadAbsolute{Off: 14 + ipv6HeaderLen, Size: 1}, // ICMPv6 type
	bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: icmpTypeNA, SkipTrue: 1},
	bpf.RetConstant{Val: 0xffff},
	bpf.RetConstant{Val: 0},
})

func mustAssemble(ins []bpf.Instruction) []bpf.RawInstruction {
	raw, err := bpf.Assemble(ins)
	if err != nil {
		panic(err)
	}
	return raw
}

// ownMACs returns every hardware address of this namespace's interfaces: the
// probing interface, VMACs, bridges — any of them answering is us.
func ownMACs() (map[string]bool, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	own := map[string]bool{}
	for _, ifi := range ifs {
		if len(ifi.HardwareAddr) > 0 {
			own[string(ifi.HardwareAddr)] = true
		}
	}
	return own, nil
}

// collector keeps the conflicting claims seen by the probe's readers.
type collector struct {
	want map[netip.Addr]bool
	own  map[string]bool

	mu    sync.Mutex
	found map[string]Conflict
}

func (c *collector) add(cl claim, ok bool) {
	if !ok || !c.want[cl.Addr.Unmap()] || c.own[string(cl.MAC)] {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.found[cl.Addr.String()+"/"+cl.MAC.String()] = Conflict{Addr: cl.Addr.Unmap(), MAC: slices.Clone(cl.MAC)}
}

func (c *collector) conflicts() []Conflict {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Conflict, 0, len(c.found))
	for _, f := range c.found {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b Conflict) int {
		return cmp.Or(a.Addr.Compare(b.Addr), bytes.Compare(a.MAC, b.MAC))
	})
	return out
}

func probe(ctx context.Context, ifindex int, addrs []netip.Addr, timeout time.Duration, opts probeOptions) ([]Conflict, error) {
	ifi, err := net.InterfaceByIndex(ifindex)
	if err != nil {
		return nil, fmt.Errorf("vip: probe on ifindex %d: %w", ifindex, err)
	}
	if len(ifi.HardwareAddr) != 6 {
		return nil, fmt.Errorf("vip: probe on %s: not an Ethernet interface", ifi.Name)
	}
	own := opts.own
	if own == nil {
		if own, err = ownMACs(); err != nil {
			return nil, fmt.Errorf("vip: probe on %s: %w", ifi.Name, err)
		}
	}
	col := &collector{want: map[netip.Addr]bool{}, own: own, found: map[string]Conflict{}}
	v4, v6, err := byFamily(addrs)
	if err != nil {
		return nil, fmt.Errorf("vip: probe on %s: %w", ifi.Name, err)
	}
	for _, a := range append(v4, v6...) {
		col.want[a] = true
	}
	if len(col.want) == 0 {
		return nil, nil
	}

	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	mac := ifi.HardwareAddr

	var senders []probeSender
	var wg sync.WaitGroup
	var conns []*packet.Conn
	done := false
	defer func() {
		if !done {
			// Error return: release the readers now instead of at the deadline.
			for _, c := range conns {
				_ = c.SetReadDeadline(time.Now())
			}
		}
		wg.Wait()
	}()
	open := func(proto int, cfg *packet.Config, classify func([]byte) (claim, bool)) (*packet.Conn, error) {
		conn, err := packet.Listen(ifi, packet.Raw, proto, cfg)
		if err != nil {
			return nil, fmt.Errorf("vip: probe on %s: %w", ifi.Name, err)
		}
		if err := conn.SetReadDeadline(deadline); err != nil {
			conn.Close()
			return nil, fmt.Errorf("vip: probe on %s: %w", ifi.Name, err)
		}
		conns = append(conns, conn)
		stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Now()) })
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer stop()
			defer conn.Close()
			buf := make([]byte, 1600)
			for {
				n, _, err := conn.ReadFrom(buf)
				if err != nil {
					return
				}
				col.add(classify(buf[:n]))
			}
		}()
		return conn, nil
	}
	if len(v4) > 0 {
		conn, err := open(unix.ETH_P_ARP, nil, arpClaim)
		if err != nil {
			return nil, err
		}
		s := probeSender{conn: conn, dst: net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}
		for _, a := range v4 {
			f, err := arpProbe(mac, a)
			if err != nil {
				return nil, err
			}
			s.frames = append(s.frames, f)
		}
		senders = append(senders, s)
	}
	if len(v6) > 0 {
		conn, err := open(unix.ETH_P_IPV6, &packet.Config{Filter: naFilter}, naClaim)
		if err != nil {
			return nil, err
		}
		src := netip.IPv6Unspecified()
		if !opts.unspecifiedSource {
			if ll, err := (rtnl{}).list(unix.AF_INET6, ifindex); err == nil {
				if a := pickLinkLocal(ll); a.IsValid() {
					src = a
				}
			}
		}
		s := probeSender{conn: conn}
		for _, a := range v6 {
			f, err := neighborSolicitation(mac, src, a)
			if err != nil {
				return nil, err
			}
			s.frames = append(s.frames, f)
		}
		senders = append(senders, s)
	}

	sendErrs := sendRounds(ctx, senders, deadline, ifi.Name)
	done = true
	wg.Wait()
	if err := ctx.Err(); err != nil {
		sendErrs = append(sendErrs, fmt.Errorf("vip: probe on %s: %w", ifi.Name, err))
	}
	return col.conflicts(), errors.Join(sendErrs...)
}

// byFamily splits addrs (unmapped) into IPv4 and IPv6.
func byFamily(addrs []netip.Addr) (v4, v6 []netip.Addr, err error) {
	for _, a := range addrs {
		a = a.Unmap()
		switch {
		case a.Is4():
			v4 = append(v4, a)
		case a.Is6():
			v6 = append(v6, a)
		default:
			return nil, nil, fmt.Errorf("invalid address %v", a)
		}
	}
	return v4, v6, nil
}

// probeSender is one socket of a probe and the frames it sends each round.
type probeSender struct {
	conn   *packet.Conn
	frames [][]byte
	dst    net.HardwareAddr
}

// sendRounds sends every sender's frames probeRounds times, spread evenly until
// deadline, and returns the send errors.
func sendRounds(ctx context.Context, senders []probeSender, deadline time.Time, ifname string) []error {
	var sendErrs []error
	round := time.Duration(0)
	if d := time.Until(deadline); d > 0 {
		round = d / probeRounds
	}
	for r := range probeRounds {
		if r > 0 {
			t := time.NewTimer(round)
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
			}
		}
		if ctx.Err() != nil {
			break
		}
		for _, s := range senders {
			for _, f := range s.frames {
				// The frame carries its own Ethernet header; the sockaddr only
				// needs a well-formed address.
				dst := s.dst
				if dst == nil {
					dst = net.HardwareAddr(f[0:6])
				}
				if _, err := s.conn.WriteTo(f, &packet.Addr{HardwareAddr: dst}); err != nil {
					sendErrs = append(sendErrs, fmt.Errorf("vip: probe on %s: send: %w", ifname, err))
				}
			}
		}
	}
	return sendErrs
}
