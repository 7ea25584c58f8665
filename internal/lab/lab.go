package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Daemon is the VRRP implementation run on an LB host.
type Daemon string

// The two daemons the lab runs.
const (
	Keepalived Daemon = "keepalived"
	Ebpfvrrp   Daemon = "ebpfvrrp"
)

// Host names, as in the tutorial.
const (
	LB5 = "lb-5"
	LB6 = "lb-6"
	// LB7 is the third LB host of Options.ThirdLB (address .17: .7 is web-7).
	LB7    = "lb-7"
	Web7   = "web-7"
	Web8   = "web-8"
	Client = "client"
	// Switch is the namespace that holds the bridge; its ports are named after the hosts.
	Switch = "sw"
)

// LBHosts and WebHosts list the hosts by role.
var (
	LBHosts  = []string{LB5, LB6}
	WebHosts = []string{Web7, Web8}
	allHosts = []string{LB5, LB6, Web7, Web8, Client}
)

// Addresses of the lab network (the tutorial's 10.0.0.0/24 moved to the benchmarking range).
var (
	Net4 = netip.MustParsePrefix("198.18.0.0/24")
	Net6 = netip.MustParsePrefix("fd00:198:18::/64")
	VIP4 = netip.MustParseAddr("198.18.0.3")
	VIP6 = netip.MustParseAddr("fd00:198:18::3")
)

var hostNum = map[string]byte{LB5: 5, LB6: 6, Web7: 7, Web8: 8, Client: 100, LB7: 17}

// Addr4 returns the IPv4 address of host (invalid for an unknown host).
func Addr4(host string) netip.Addr {
	n, ok := hostNum[host]
	if !ok {
		return netip.Addr{}
	}
	return netip.AddrFrom4([4]byte{198, 18, 0, n})
}

// Addr6 returns the IPv6 ULA address of host (invalid for an unknown host).
func Addr6(host string) netip.Addr {
	n, ok := hostNum[host]
	if !ok {
		return netip.Addr{}
	}
	a := Net6.Addr().As16()
	a[15] = n
	return netip.AddrFrom16(a)
}

// ErrUnknownHost is returned for a host name that is not part of the lab.
var ErrUnknownHost = errors.New("vm: unknown host")

// Options configures a lab. The zero value (plus a Prefix) is the tutorial: keepalived
// on both LBs, VRRPv2 with PASS auth at 1 s adverts, preempt.
type Options struct {
	// Prefix starts every namespace and pin name of this lab; a random suffix is added,
	// so leftovers of a crashed run never collide with the next. At most 8 characters
	// keeps names readable; default "evlab".
	Prefix string
	// LBDaemon runs on both LB hosts unless Daemons overrides a host. Default Keepalived.
	LBDaemon Daemon
	// Daemons overrides LBDaemon per host, e.g. {LB6: Keepalived} for a mixed pair.
	Daemons map[string]Daemon
	// EbpfvrrpBinary is the ebpfvrrp executable (needed when any host runs it).
	EbpfvrrpBinary string
	// Version (2 or 3, default 2), AdvertInterval (default 1 s), IPv6 (a v6 VIP; needs
	// Version 3) and Nopreempt shape the configs DefaultConfig generates.
	Version        int
	AdvertInterval time.Duration
	IPv6           bool
	Nopreempt      bool
	// TrackNginx adds the tutorial's check_web tracker to DefaultConfig: nginx gone and
	// not restartable demotes the host.
	TrackNginx bool
	// AllowedPeers makes ebpfvrrp accept adverts only from the other LB (DefaultConfig).
	AllowedPeers bool
	// NoAccept configures no_accept on both LBs (DefaultConfig).
	NoAccept bool
	// RequireNginx fails New when nginx is missing instead of falling back to the
	// built-in Go web server and proxy.
	RequireNginx bool
	// BuiltinWeb uses the built-in Go web server and proxy even where nginx exists.
	BuiltinWeb bool
	// Logf receives progress lines (nil: silent).
	Logf func(format string, args ...any)
	// LinkKind is how each host's eth0 reaches the switch. Default Veth.
	LinkKind LinkKind
	// Segments is how many L2 segments the lab has (default 1: eth0 on br0).
	// Segment i > 0 is bridge br<i> in the switch joining eth<i> of lb-5, lb-6
	// and the client (veth; their ports are named <host>.<i>), addressed
	// SegmentAddr4(host, i). Only with LinkKind Veth.
	Segments int
	// PrivatePinDir pins every ebpfvrrp of this lab under a directory of its own
	// (/sys/fs/bpf/<lab>/) rather than beside every other pin of the machine: a
	// daemon's load locks its pin path's parent (loader.Load), so with the shared
	// parent it waits for every other lab's loaders on the machine.
	PrivatePinDir bool
	// ThirdLB adds lb-7, a third LB host (nginx proxy and VRRP daemon like lb-5
	// and lb-6), for three-router elections.
	ThirdLB bool
}

// SegmentHosts are the hosts on every segment after the first.
var SegmentHosts = []string{LB5, LB6, Client}

// SegmentAddr4 is host's IPv4 address on segment seg (0: Addr4), in
// 198.18.(10+seg).0/24.
func SegmentAddr4(host string, seg int) netip.Addr {
	if seg == 0 {
		return Addr4(host)
	}
	n, ok := hostNum[host]
	if !ok || seg < 0 || seg > 200 {
		return netip.Addr{}
	}
	return netip.AddrFrom4([4]byte{198, 18, byte(10 + seg), n})
}

// SegmentLink is the name of host's interface on segment seg.
func SegmentLink(seg int) string { return "eth" + strconv.Itoa(seg) }

// LinkKind is how a host's eth0 is wired to the switch namespace.
type LinkKind string

// The link kinds of the lab.
const (
	// Veth: eth0 is a veth whose peer is a port of the switch's bridge, named after
	// the host. The bridge floods every frame to every port (no snooping), so a host
	// gets multicast for groups it never joined, as no real NIC does.
	Veth LinkKind = "veth"
	// Macvlan: eth0 is a macvlan port (mode bridge) of one veth, Trunk, in the switch
	// namespace; the trunk's peer, Uplink, is the bridge's only port. A macvlan port
	// passes multicast only for groups its host joined (its filter is the host's
	// multicast list), as a NIC's filter, an SR-IOV VF or a snooping switch does.
	// Hosts reach each other inside the macvlan, never through the bridge; multicast
	// and broadcast they send also leave through the trunk, so a capture on Trunk
	// sees every IGMP/MLD report and every advert. XDP attaches in generic mode.
	Macvlan LinkKind = "macvlan"
)

// LinkKinds lists every LinkKind.
var LinkKinds = []LinkKind{Veth, Macvlan}

// Links of the switch namespace with the Macvlan kind.
const (
	Trunk  = "trunk"
	Uplink = "uplink"
)

// ErrNoSwitchPort is returned for a switch-side port of a host where the link kind
// has none (Macvlan: the hosts share the trunk).
var ErrNoSwitchPort = errors.New("vm: no switch port per host with this link kind")

// Lab is one running instance of the tutorial network. All methods are safe for
// concurrent use.
type Lab struct {
	Name string // prefix + random suffix
	Dir  string // temp dir holding configs, pid files and logs
	opts Options

	mu       sync.Mutex
	hosts    map[string]*host
	sw       *host
	closed   bool
	closeErr error
	closeOne sync.Once
	nginx    bool // real nginx in use (else the Go fallback)
}

type host struct {
	name   string
	nsName string
	ns     netns.NsHandle
	nl     *netlink.Handle
	dir    string
	lb     *process // VRRP daemon (LB hosts)
	web    *process // nginx (web and LB hosts)
	goSrv  *goServer
	daemon Daemon
	pin    string // ebpfvrrp pin path
}

func (o *Options) setDefaults() {
	if o.Prefix == "" {
		o.Prefix = "evlab"
	}
	if o.LBDaemon == "" {
		o.LBDaemon = Keepalived
	}
	if o.Version == 0 {
		o.Version = 2
	}
	if o.AdvertInterval == 0 {
		o.AdvertInterval = time.Second
	}
	if o.LinkKind == "" {
		o.LinkKind = Veth
	}
	if o.Segments == 0 {
		o.Segments = 1
	}
}

// New builds the lab: six namespaces (five hosts and the switch), the bridge, veths,
// addresses, and the web tier (nginx or the built-in fallback) on web-7, web-8, lb-5
// and lb-6. The VRRP daemons are not started: call StartLB. On error everything built
// so far is removed.
func New(ctx context.Context, opts Options) (*Lab, error) {
	opts.setDefaults()
	if opts.IPv6 && opts.Version != 3 {
		return nil, errors.New("vm: an IPv6 VIP needs VRRP version 3")
	}
	if opts.LinkKind != Veth && opts.LinkKind != Macvlan {
		return nil, fmt.Errorf("vm: unknown link kind %q", opts.LinkKind)
	}
	if opts.Segments > 1 && opts.LinkKind != Veth {
		return nil, fmt.Errorf("vm: %d segments need link kind %s", opts.Segments, Veth)
	}
	var b [3]byte
	_, _ = rand.Read(b[:])
	name := opts.Prefix + hex.EncodeToString(b[:])
	dir, err := os.MkdirTemp("", name+"-")
	if err != nil {
		return nil, fmt.Errorf("vm: temp dir: %w", err)
	}
	l := &Lab{Name: name, Dir: dir, opts: opts, hosts: map[string]*host{}}
	_, nerr := exec.LookPath("nginx")
	l.nginx = nerr == nil && !opts.BuiltinWeb
	if !l.nginx && opts.RequireNginx {
		_ = l.Close()
		return nil, fmt.Errorf("vm: nginx not found and RequireNginx set: %w", nerr)
	}
	if err := l.build(ctx); err != nil {
		_ = l.Close()
		return nil, err
	}
	return l, nil
}

func (l *Lab) logf(format string, args ...any) {
	if l.opts.Logf != nil {
		l.opts.Logf(format, args...)
	}
}

// Daemon returns the VRRP daemon configured for an LB host.
func (l *Lab) Daemon(h string) Daemon {
	if d, ok := l.opts.Daemons[h]; ok {
		return d
	}
	return l.opts.LBDaemon
}

// LBs returns the LB hosts of this lab: LBHosts, and lb-7 with Options.ThirdLB.
func (l *Lab) LBs() []string {
	if l.opts.ThirdLB {
		return append(slices.Clone(LBHosts), LB7)
	}
	return slices.Clone(LBHosts)
}

// hostNames lists every host of this lab, the switch excepted.
func (l *Lab) hostNames() []string {
	if l.opts.ThirdLB {
		return append(slices.Clone(allHosts), LB7)
	}
	return slices.Clone(allHosts)
}

// Options returns the options the lab was built with (defaults filled in).
func (l *Lab) Options() Options { return l.opts }

// VIP returns the lab's virtual address (IPv6 when Options.IPv6).
func (l *Lab) VIP() netip.Addr {
	if l.opts.IPv6 {
		return VIP6
	}
	return VIP4
}

// PinPath is where ebpfvrrp on host pins its maps.
func (l *Lab) PinPath(h string) string {
	return l.pinDir() + "/ebpfvrrp-" + l.Name + "-" + strings.ReplaceAll(h, "-", "")
}

func (l *Lab) pinDir() string {
	if l.opts.PrivatePinDir {
		return "/sys/fs/bpf/" + l.Name
	}
	return "/sys/fs/bpf"
}

func (l *Lab) newNetns(name string) (*host, error) {
	h := &host{name: name, nsName: l.Name + "-" + name, ns: -1}
	err := inThreadNetns(func() error {
		ns, err := netns.NewNamed(h.nsName)
		if err != nil {
			return fmt.Errorf("vm: create netns %s: %w", h.nsName, err)
		}
		h.ns = ns
		return nil
	})
	if err != nil {
		return nil, err
	}
	if h.nl, err = netlink.NewHandleAt(h.ns); err != nil {
		return h, fmt.Errorf("vm: netlink in %s: %w", h.nsName, err)
	}
	lo, err := h.nl.LinkByName("lo")
	if err == nil {
		err = h.nl.LinkSetUp(lo)
	}
	if err != nil {
		return h, fmt.Errorf("vm: lo up in %s: %w", h.nsName, err)
	}
	return h, nil
}

// inThreadNetns runs fn on a locked OS thread and restores the thread's namespace
// afterwards (fn may switch it, as netns.NewNamed does). A thread whose namespace
// could not be restored dies with its goroutine instead of returning to the pool.
func inThreadNetns(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- fmt.Errorf("vm: get netns: %w", err)
			return
		}
		defer orig.Close()
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("vm: restore netns: %w", err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// inNetns runs fn on a locked OS thread inside ns. Sockets fn creates and processes
// it forks belong to ns; goroutines it starts do not.
func inNetns(ns netns.NsHandle, fn func() error) error {
	return inThreadNetns(func() error {
		if err := netns.Set(ns); err != nil {
			return fmt.Errorf("vm: enter netns: %w", err)
		}
		return fn()
	})
}

func (l *Lab) build(ctx context.Context) error {
	l.logf("lab %s: building namespaces in %s", l.Name, l.Dir)
	sw, err := l.newNetns(Switch)
	l.mu.Lock()
	l.sw = sw
	l.mu.Unlock()
	if err != nil {
		return err
	}
	// A switch forwards frames without running the host firewall on them. With
	// br_netfilter present (built in on this kernel, default on) every bridged
	// frame would also traverse iptables' hooks, which costs whoever sends it:
	// veth delivers in the sender's context. Absent files mean no br_netfilter.
	err = inNetns(sw.ns, func() error {
		for _, f := range []string{"iptables", "ip6tables", "arptables"} {
			err := os.WriteFile("/proc/sys/net/bridge/bridge-nf-call-"+f, []byte("0"), 0o644)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("vm: switch sysctl: %w", err)
	}
	snoop := false
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "br0"}, MulticastSnooping: &snoop}
	if err := sw.nl.LinkAdd(br); err != nil {
		return fmt.Errorf("vm: add bridge: %w", err)
	}
	if err := sw.nl.LinkSetUp(br); err != nil {
		return fmt.Errorf("vm: bridge up: %w", err)
	}
	var trunk netlink.Link
	if l.opts.LinkKind == Macvlan {
		if trunk, err = addTrunk(sw, br); err != nil {
			return err
		}
	}
	for _, name := range l.hostNames() {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := l.newNetns(name)
		if h != nil {
			h.dir = filepath.Join(l.Dir, name)
			l.mu.Lock()
			l.hosts[name] = h
			l.mu.Unlock()
		}
		if err != nil {
			return err
		}
		if err := os.MkdirAll(h.dir, 0o755); err != nil {
			return fmt.Errorf("vm: %w", err)
		}
		if err := l.plug(sw, br, trunk, h); err != nil {
			return err
		}
	}
	for seg := 1; seg < l.opts.Segments; seg++ {
		if err := l.addSegment(sw, seg); err != nil {
			return err
		}
	}
	return l.startWebTier(ctx)
}

// addSegment makes segment seg: bridge br<seg> and a veth from it to each of
// SegmentHosts.
func (l *Lab) addSegment(sw *host, seg int) error {
	snoop := false
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "br" + strconv.Itoa(seg)}, MulticastSnooping: &snoop}
	if err := sw.nl.LinkAdd(br); err != nil {
		return fmt.Errorf("vm: add bridge %s: %w", br.Name, err)
	}
	if err := sw.nl.LinkSetUp(br); err != nil {
		return fmt.Errorf("vm: bridge %s up: %w", br.Name, err)
	}
	for _, name := range SegmentHosts {
		h, err := l.host(name)
		if err != nil {
			return err
		}
		port := fmt.Sprintf("%s.%d", name, seg)
		veth := &netlink.Veth{
			LinkAttrs:     netlink.LinkAttrs{Name: port, MasterIndex: br.Index},
			PeerName:      SegmentLink(seg),
			PeerNamespace: netlink.NsFd(int(h.ns)),
		}
		if err := sw.nl.LinkAdd(veth); err != nil {
			return fmt.Errorf("vm: add veth %s: %w", port, err)
		}
		if err := setUp(sw.nl, port); err != nil {
			return err
		}
		eth, err := h.nl.LinkByName(veth.PeerName)
		if err != nil {
			return fmt.Errorf("vm: %w", err)
		}
		a := &netlink.Addr{IPNet: &net.IPNet{IP: SegmentAddr4(name, seg).AsSlice(), Mask: net.CIDRMask(24, 32)}}
		if err := h.nl.AddrAdd(eth, a); err != nil {
			return fmt.Errorf("vm: add %s on %s %s: %w", a, name, veth.PeerName, err)
		}
		if err := h.nl.LinkSetUp(eth); err != nil {
			return fmt.Errorf("vm: %s up on %s: %w", veth.PeerName, name, err)
		}
	}
	return nil
}

func setUp(nl *netlink.Handle, name string) error {
	lk, err := nl.LinkByName(name)
	if err != nil {
		return fmt.Errorf("vm: %w", err)
	}
	if err := nl.LinkSetUp(lk); err != nil {
		return fmt.Errorf("vm: %s up: %w", name, err)
	}
	return nil
}

// addTrunk makes the Macvlan kind's trunk: a veth whose Uplink end is a bridge port
// and whose Trunk end is the lower device of every host's macvlan.
func addTrunk(sw *host, br *netlink.Bridge) (netlink.Link, error) {
	veth := &netlink.Veth{
		LinkAttrs: netlink.LinkAttrs{Name: Trunk},
		PeerName:  Uplink,
	}
	if err := sw.nl.LinkAdd(veth); err != nil {
		return nil, fmt.Errorf("vm: add trunk: %w", err)
	}
	up, err := sw.nl.LinkByName(Uplink)
	if err != nil {
		return nil, fmt.Errorf("vm: %w", err)
	}
	if err := sw.nl.LinkSetMaster(up, br); err != nil {
		return nil, fmt.Errorf("vm: enslave %s: %w", Uplink, err)
	}
	trunk, err := sw.nl.LinkByName(Trunk)
	if err != nil {
		return nil, fmt.Errorf("vm: %w", err)
	}
	for _, lk := range []netlink.Link{up, trunk} {
		if err := sw.nl.LinkSetUp(lk); err != nil {
			return nil, fmt.Errorf("vm: %s up: %w", lk.Attrs().Name, err)
		}
	}
	return trunk, nil
}

// plug connects h's eth0 to the switch: with Veth to a bridge port named after h,
// with Macvlan as a macvlan port of trunk.
func (l *Lab) plug(sw *host, br *netlink.Bridge, trunk netlink.Link, h *host) error {
	if l.opts.LinkKind == Macvlan {
		// Made in the switch namespace, where its lower device is, and born in
		// h's (IFLA_NET_NS_FD): the name eth0 is only ever taken there.
		mv := &netlink.Macvlan{
			LinkAttrs: netlink.LinkAttrs{Name: "eth0", ParentIndex: trunk.Attrs().Index, Namespace: netlink.NsFd(int(h.ns))},
			Mode:      netlink.MACVLAN_MODE_BRIDGE,
		}
		if err := sw.nl.LinkAdd(mv); err != nil {
			return fmt.Errorf("vm: add macvlan for %s: %w", h.name, err)
		}
	} else {
		veth := &netlink.Veth{
			LinkAttrs:     netlink.LinkAttrs{Name: h.name, MasterIndex: br.Index},
			PeerName:      "eth0",
			PeerNamespace: netlink.NsFd(int(h.ns)),
		}
		if err := sw.nl.LinkAdd(veth); err != nil {
			return fmt.Errorf("vm: add veth for %s: %w", h.name, err)
		}
		port, err := sw.nl.LinkByName(h.name)
		if err != nil {
			return fmt.Errorf("vm: %w", err)
		}
		if err := sw.nl.LinkSetMaster(port, br); err != nil {
			return fmt.Errorf("vm: enslave %s: %w", h.name, err)
		}
		if err := sw.nl.LinkSetUp(port); err != nil {
			return fmt.Errorf("vm: port %s up: %w", h.name, err)
		}
	}
	// DAD off before any address exists, so v6 addresses (and v6 VIPs) are usable at
	// once; /proc/sys/net resolves to the opener's netns, hence inNetns.
	err := inNetns(h.ns, func() error {
		for _, p := range []string{"all", "default", "eth0"} {
			if err := os.WriteFile("/proc/sys/net/ipv6/conf/"+p+"/accept_dad", []byte("0"), 0o644); err != nil {
				return err
			}
		}
		if l.opts.LinkKind == Macvlan {
			// CutLink sets a macvlan host's eth0 down (see setPort); a cable cut
			// leaves the addresses in place, so admin down must keep them too.
			return os.WriteFile("/proc/sys/net/ipv6/conf/eth0/keep_addr_on_down", []byte("1"), 0o644)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("vm: sysctl in %s: %w", h.nsName, err)
	}
	eth, err := h.nl.LinkByName("eth0")
	if err != nil {
		return fmt.Errorf("vm: %w", err)
	}
	for _, p := range []netip.Prefix{
		netip.PrefixFrom(Addr4(h.name), Net4.Bits()),
		netip.PrefixFrom(Addr6(h.name), Net6.Bits()),
	} {
		a, err := netlink.ParseAddr(p.String())
		if err != nil {
			return err
		}
		if err := h.nl.AddrAdd(eth, a); err != nil {
			return fmt.Errorf("vm: add %s on %s: %w", p, h.name, err)
		}
	}
	if err := h.nl.LinkSetUp(eth); err != nil {
		return fmt.Errorf("vm: eth0 up on %s: %w", h.name, err)
	}
	return nil
}

func (l *Lab) host(name string) (*host, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, errors.New("vm: lab closed")
	}
	h, ok := l.hosts[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownHost, name)
	}
	return h, nil
}

// Netns returns the name of host's network namespace (usable with `ip netns exec`).
func (l *Lab) Netns(h string) string { return l.Name + "-" + h }

// Do runs fn on an OS thread inside host's network namespace (Switch for the bridge).
func (l *Lab) Do(hostName string, fn func() error) error {
	var ns netns.NsHandle
	if hostName == Switch {
		l.mu.Lock()
		if l.closed || l.sw == nil {
			l.mu.Unlock()
			return errors.New("vm: lab closed")
		}
		ns = l.sw.ns
		l.mu.Unlock()
	} else {
		h, err := l.host(hostName)
		if err != nil {
			return err
		}
		ns = h.ns
	}
	return inNetns(ns, fn)
}

// Exec runs argv inside host's network namespace (Switch for the bridge) and returns
// its combined output.
func (l *Lab) Exec(hostName string, argv ...string) ([]byte, error) {
	return l.ExecContext(context.Background(), hostName, argv...)
}

// ExecContext is Exec with a context that kills the command.
func (l *Lab) ExecContext(ctx context.Context, hostName string, argv ...string) ([]byte, error) {
	if len(argv) == 0 {
		return nil, errors.New("vm: exec: empty argv")
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out strings.Builder
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.SysProcAttr = procAttr()
	if err := l.Do(hostName, cmd.Start); err != nil {
		return nil, fmt.Errorf("vm: exec %v on %s: %w", argv, hostName, err)
	}
	err := cmd.Wait()
	if err != nil {
		err = fmt.Errorf("vm: exec %v on %s: %w", argv, hostName, err)
	}
	return []byte(out.String()), err
}

// VIPHolder returns the LB hosts that have the VIP on eth0 right now.
func (l *Lab) VIPHolder() []string {
	var holders []string
	for _, name := range l.LBs() {
		h, err := l.host(name)
		if err != nil {
			continue
		}
		if has, _ := h.hasAddr(l.VIP()); has {
			holders = append(holders, name)
		}
	}
	return holders
}

func (h *host) hasAddr(a netip.Addr) (bool, error) {
	eth, err := h.nl.LinkByName("eth0")
	if err != nil {
		return false, err
	}
	fam := netlink.FAMILY_V4
	if a.Is6() {
		fam = netlink.FAMILY_V6
	}
	addrs, err := h.nl.AddrList(eth, fam)
	if err != nil {
		return false, err
	}
	for _, x := range addrs {
		if ip, ok := netip.AddrFromSlice(x.IP); ok && ip.Unmap() == a {
			return true, nil
		}
	}
	return false, nil
}

// WaitVIP polls until exactly the given hosts hold the VIP (none: nobody), or the
// context ends. It returns the holders last seen.
func (l *Lab) WaitVIP(ctx context.Context, want ...string) ([]string, error) {
	want = slices.Clone(want)
	sort.Strings(want)
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		got := l.VIPHolder()
		if slices.Equal(got, want) {
			return got, nil
		}
		select {
		case <-ctx.Done():
			return got, fmt.Errorf("vm: waiting for VIP on %v (have %v): %w", want, got, ctx.Err())
		case <-t.C:
		}
	}
}

// CutLink sets host's bridge port down: to everyone else the host is gone (its eth0
// loses carrier too). With Macvlan it sets host's eth0 down instead (see setPort).
func (l *Lab) CutLink(h string) error { return l.setPort(h, false) }

// RestoreLink sets host's bridge port (Macvlan: its eth0) up again.
func (l *Lab) RestoreLink(h string) error { return l.setPort(h, true) }

func (l *Lab) setPort(h string, up bool) error {
	hh, err := l.host(h)
	if err != nil {
		return err
	}
	if l.opts.LinkKind == Macvlan {
		return l.setMacvlan(hh, up)
	}
	l.mu.Lock()
	sw := l.sw
	l.mu.Unlock()
	port, err := sw.nl.LinkByName(h)
	if err != nil {
		return fmt.Errorf("vm: port %s: %w", h, err)
	}
	if up {
		err = sw.nl.LinkSetUp(port)
	} else {
		err = sw.nl.LinkSetDown(port)
	}
	if err != nil {
		return fmt.Errorf("vm: set port %s up=%v: %w", h, up, err)
	}
	l.logf("lab %s: bridge port %s up=%v", l.Name, h, up)
	return nil
}

// setMacvlan cuts or restores a Macvlan host's link. The lower device is shared by
// every host, so taking it (or its bridge port) down would cut them all; a macvlan
// port has no carrier of its own (it follows the lower device, and IFLA_CARRIER is
// refused). Admin down of the host's eth0 is the one per-host cut: nothing leaves or
// reaches the host, and the host's kernel and daemon see the link go down, as on a
// pulled cable. Unlike a carrier loss it clears IFF_UP as well, and IPv6 would flush
// the addresses, which keep_addr_on_down (set in plug) prevents.
func (l *Lab) setMacvlan(h *host, up bool) error {
	eth, err := h.nl.LinkByName("eth0")
	if err != nil {
		return fmt.Errorf("vm: %s eth0: %w", h.name, err)
	}
	if up {
		err = h.nl.LinkSetUp(eth)
	} else {
		err = h.nl.LinkSetDown(eth)
	}
	if err != nil {
		return fmt.Errorf("vm: set %s eth0 up=%v: %w", h.name, up, err)
	}
	l.logf("lab %s: %s macvlan eth0 up=%v", l.Name, h.name, up)
	return nil
}

// HardwareAddr returns the MAC address of host's eth0.
func (l *Lab) HardwareAddr(hostName string) (net.HardwareAddr, error) {
	h, err := l.host(hostName)
	if err != nil {
		return nil, err
	}
	eth, err := h.nl.LinkByName("eth0")
	if err != nil {
		return nil, fmt.Errorf("vm: %w", err)
	}
	return eth.Attrs().HardwareAddr, nil
}

// LinkLocal returns the fe80:: address of host's eth0.
func (l *Lab) LinkLocal(hostName string) (netip.Addr, error) {
	h, err := l.host(hostName)
	if err != nil {
		return netip.Addr{}, err
	}
	eth, err := h.nl.LinkByName("eth0")
	if err != nil {
		return netip.Addr{}, fmt.Errorf("vm: %w", err)
	}
	addrs, err := h.nl.AddrList(eth, netlink.FAMILY_V6)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("vm: %w", err)
	}
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.IsLinkLocalUnicast() {
			return ip, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("vm: no link-local address on %s", hostName)
}

// Close stops every process, removes every namespace, pin and temp file. It is safe
// to call more than once and from a signal handler goroutine; later calls return the
// first call's result.
func (l *Lab) Close() error {
	l.closeOne.Do(func() {
		l.mu.Lock()
		l.closed = true
		hosts := make([]*host, 0, len(l.hosts)+1)
		for _, name := range l.hostNames() {
			if h := l.hosts[name]; h != nil {
				hosts = append(hosts, h)
			}
		}
		if l.sw != nil {
			hosts = append(hosts, l.sw)
		}
		l.mu.Unlock()
		var errs []error
		// VRRP daemons first and gently: keepalived reaps its own VRRP child and
		// ebpfvrrp detaches and unpins; whatever does not stop in time is killed.
		var wg sync.WaitGroup
		for _, h := range hosts {
			if h.lb != nil {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_ = h.lb.stop(syscall.SIGTERM, 5*time.Second)
				}()
			}
		}
		wg.Wait()
		for _, h := range hosts {
			for _, p := range []*process{h.lb, h.web} {
				if p != nil {
					p.kill()
				}
			}
			if h.goSrv != nil {
				h.goSrv.close()
			}
		}
		for _, h := range hosts {
			errs = append(errs, killPidfiles(h.dir))
		}
		for _, name := range l.LBs() {
			if p := l.PinPath(name); p != "" {
				if err := os.RemoveAll(p); err != nil && !errors.Is(err, os.ErrNotExist) {
					errs = append(errs, fmt.Errorf("vm: remove pin %s: %w", p, err))
				}
			}
		}
		if l.opts.PrivatePinDir {
			// Empty by now, but for a daemon's stale temporary pin directories.
			if err := os.RemoveAll(l.pinDir()); err != nil {
				errs = append(errs, fmt.Errorf("vm: remove pin dir: %w", err))
			}
		}
		for _, h := range hosts {
			if h.nl != nil {
				h.nl.Close()
			}
			if h.ns >= 0 {
				_ = h.ns.Close()
				if err := netns.DeleteNamed(h.nsName); err != nil && !errors.Is(err, os.ErrNotExist) {
					errs = append(errs, fmt.Errorf("vm: delete netns %s: %w", h.nsName, err))
				}
			}
		}
		if l.Dir != "" {
			errs = append(errs, os.RemoveAll(l.Dir))
		}
		l.closeErr = errors.Join(errs...)
		l.logf("lab %s: closed", l.Name)
	})
	return l.closeErr
}

// LinkStats returns the counters of a link in host's namespace (Switch: the bridge
// ports, named after the hosts with Veth; Trunk and Uplink with Macvlan, where a
// host's name gives ErrNoSwitchPort).
func (l *Lab) LinkStats(hostName, link string) (*netlink.LinkStatistics, error) {
	var h *host
	if hostName == Switch && l.opts.LinkKind == Macvlan && hostNum[link] != 0 {
		return nil, fmt.Errorf("%w: %s", ErrNoSwitchPort, link)
	}
	if hostName == Switch {
		l.mu.Lock()
		h = l.sw
		l.mu.Unlock()
	} else {
		var err error
		if h, err = l.host(hostName); err != nil {
			return nil, err
		}
	}
	if h == nil {
		return nil, errors.New("vm: lab closed")
	}
	lk, err := h.nl.LinkByName(link)
	if err != nil {
		return nil, fmt.Errorf("vm: %w", err)
	}
	if lk.Attrs().Statistics == nil {
		return nil, fmt.Errorf("vm: no statistics for %s/%s", hostName, link)
	}
	return lk.Attrs().Statistics, nil
}

// CloseOnSignal closes the lab when the process gets SIGINT or SIGTERM (Ctrl-C in the
// demo). Other signal.Notify channels (e.g. the caller's NotifyContext) still get
// the signal. The returned function unregisters it.
func (l *Lab) CloseOnSignal() (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-ch:
			l.logf("lab %s: signal: cleaning up", l.Name)
			_ = l.Close()
		case <-done:
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			signal.Stop(ch)
			close(done)
		})
	}
}
