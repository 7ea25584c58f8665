package vip

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"sync"

	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// ifaProto is IFA_PROTO from linux/if_addr.h (Linux 6.1); golang.org/x/sys and
// vishvananda/netlink do not know it yet, which is why this file speaks
// RTM_*ADDR itself instead of calling netlink.AddrAdd.
const ifaProto = 11

// kernelAddr is one address as the kernel reports it.
type kernelAddr struct {
	Ifindex int
	Prefix  netip.Prefix
	Label   string
	Flags   uint32
	Scope   uint8
	Proto   uint8
}

// rtnl issues rtnetlink address requests in one network namespace: ns when
// pinned is set (over one socket kept open, see execute), otherwise (the zero
// value) the namespace of the calling thread, over a new socket per request.
type rtnl struct {
	ns     netns.NsHandle
	pinned bool
	sock   *rtnlSocket
}

// rtnlSocket is the kept-open socket of a pinned rtnl; copies of the rtnl share
// it, and mu makes their requests take turns.
type rtnlSocket struct {
	mu sync.Mutex
	s  *nl.NetlinkSocket
}

func rtnlAt(ns netns.NsHandle) rtnl { return rtnl{ns: ns, pinned: true, sock: &rtnlSocket{}} }

// closeSocket closes a pinned rtnl's kept-open socket (a later request would
// open a new one).
func (r rtnl) closeSocket() {
	if r.sock == nil {
		return
	}
	r.sock.mu.Lock()
	defer r.sock.mu.Unlock()
	if r.sock.s != nil {
		r.sock.s.Close()
		r.sock.s = nil
	}
}

// openSocket opens a rtnetlink socket in r.ns. Entering another namespace
// (setns) needs CAP_SYS_ADMIN, which the daemon's unit does not grant, so when
// r.ns is the calling thread's own namespace the socket is opened right here.
func (r rtnl) openSocket() (*nl.NetlinkSocket, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	target := r.ns
	if cur, err := netns.Get(); err == nil {
		if cur.Equal(r.ns) {
			target = netns.None()
		}
		cur.Close()
	}
	return nl.GetNetlinkSocketAt(target, netns.None(), unix.NETLINK_ROUTE)
}

// execute sends req and returns the replies of type resType. A pinned rtnl
// keeps its socket open: opening one in another namespace costs two setns
// calls plus socket, bind and close per request, on the path of a VIP add
// during failover. After any error the socket is closed and the next request
// opens a fresh one, so nothing left unread can confuse it.
func (r rtnl) execute(req *nl.NetlinkRequest, resType uint16) ([][]byte, error) {
	if !r.pinned {
		return req.Execute(unix.NETLINK_ROUTE, resType)
	}
	r.sock.mu.Lock()
	defer r.sock.mu.Unlock()
	if r.sock.s == nil {
		s, err := r.openSocket()
		if err != nil {
			return nil, err
		}
		if err := s.SetReceiveTimeout(&nl.SocketTimeoutTv); err != nil {
			s.Close()
			return nil, err
		}
		r.sock.s = s
	}
	req.Sockets = map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: {Socket: r.sock.s}}
	msgs, err := req.Execute(unix.NETLINK_ROUTE, resType)
	if err != nil {
		r.sock.s.Close()
		r.sock.s = nil
	}
	return msgs, err
}

// list dumps the addresses of family (unix.AF_UNSPEC: all), optionally only
// those on ifindex (0: every interface).
func (r rtnl) list(family, ifindex int) ([]kernelAddr, error) {
	var msgs [][]byte
	var err error
	// A dump interrupted by a concurrent change is inconsistent; try again.
	for range 5 {
		req := nl.NewNetlinkRequest(unix.RTM_GETADDR, unix.NLM_F_DUMP)
		req.AddData(nl.NewIfAddrmsg(family))
		msgs, err = r.execute(req, unix.RTM_NEWADDR)
		if !errors.Is(err, nl.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("vip: list addresses: %w", err)
	}
	var out []kernelAddr
	for _, m := range msgs {
		ka, ok, err := parseAddrMsg(m)
		if err != nil {
			return nil, fmt.Errorf("vip: list addresses: %w", err)
		}
		if !ok || (ifindex != 0 && ka.Ifindex != ifindex) {
			continue
		}
		out = append(out, ka)
	}
	return out, nil
}

func parseAddrMsg(m []byte) (kernelAddr, bool, error) {
	if len(m) < unix.SizeofIfAddrmsg {
		return kernelAddr{}, false, errors.New("short ifaddrmsg")
	}
	msg := nl.DeserializeIfAddrmsg(m)
	attrs, err := nl.ParseRouteAttr(m[msg.Len():])
	if err != nil {
		return kernelAddr{}, false, err
	}
	ka := kernelAddr{Ifindex: int(msg.Index), Flags: uint32(msg.Flags), Scope: msg.Scope}
	var local, address []byte
	for _, a := range attrs {
		switch a.Attr.Type {
		case unix.IFA_LOCAL:
			local = a.Value
		case unix.IFA_ADDRESS:
			address = a.Value
		case unix.IFA_LABEL:
			ka.Label = nl.BytesToString(a.Value)
		case unix.IFA_FLAGS:
			if len(a.Value) >= 4 {
				ka.Flags = binary.NativeEndian.Uint32(a.Value)
			}
		case ifaProto:
			if len(a.Value) >= 1 {
				ka.Proto = a.Value[0]
			}
		}
	}
	// IPv4 reports the local address in IFA_LOCAL (IFA_ADDRESS is the peer on
	// point-to-point links); IPv6 usually sends only IFA_ADDRESS.
	raw := local
	if raw == nil {
		raw = address
	}
	ip, ok := netip.AddrFromSlice(raw)
	if !ok {
		return kernelAddr{}, false, nil
	}
	ka.Prefix = netip.PrefixFrom(ip.Unmap(), int(msg.Prefixlen))
	return ka, true, nil
}

func ipBytes(a netip.Addr) []byte {
	if a.Is4() {
		b := a.As4()
		return b[:]
	}
	b := a.As16()
	return b[:]
}

func family(a netip.Addr) int {
	if a.Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

// add creates the address with NLM_F_EXCL, so an address that appeared since
// the caller looked is reported as EEXIST instead of being silently adopted.
func (r rtnl) add(ifindex int, p netip.Prefix, label string, proto uint8) error {
	req := nl.NewNetlinkRequest(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL|unix.NLM_F_ACK)
	msg := nl.NewIfAddrmsg(family(p.Addr()))
	msg.Index = uint32(ifindex)
	msg.Prefixlen = uint8(p.Bits())
	req.AddData(msg)
	ip := ipBytes(p.Addr())
	req.AddData(nl.NewRtAttr(unix.IFA_LOCAL, ip))
	req.AddData(nl.NewRtAttr(unix.IFA_ADDRESS, ip))
	if p.Addr().Is6() {
		// A VIP must be usable the moment we are Master, and DAD would fail
		// anyway whenever the old Master still holds it; keepalived does the same.
		req.AddData(nl.NewRtAttr(unix.IFA_FLAGS, nl.Uint32Attr(unix.IFA_F_NODAD)))
	}
	if label != "" {
		req.AddData(nl.NewRtAttr(unix.IFA_LABEL, nl.ZeroTerminated(label)))
	}
	req.AddData(nl.NewRtAttr(ifaProto, nl.Uint8Attr(proto)))
	_, err := r.execute(req, 0)
	return err
}

func (r rtnl) del(ifindex int, p netip.Prefix) error {
	req := nl.NewNetlinkRequest(unix.RTM_DELADDR, unix.NLM_F_ACK)
	msg := nl.NewIfAddrmsg(family(p.Addr()))
	msg.Index = uint32(ifindex)
	msg.Prefixlen = uint8(p.Bits())
	req.AddData(msg)
	ip := ipBytes(p.Addr())
	req.AddData(nl.NewRtAttr(unix.IFA_LOCAL, ip))
	req.AddData(nl.NewRtAttr(unix.IFA_ADDRESS, ip))
	_, err := r.execute(req, 0)
	return err
}
