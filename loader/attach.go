package loader

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// AttachMode says how the receive path hooks an interface.
type AttachMode int

// Attach modes. TC also covers interfaces where XDP cannot attach; it uses
// TCX where the kernel has it (6.6+), else a clsact qdisc.
const (
	AttachAuto       AttachMode = iota // XDP native, then XDP generic
	AttachXDPNative                    // XDP in the driver
	AttachXDPGeneric                   // XDP on the skb path
	AttachTC                           // TC ingress
)

var modeNames = map[AttachMode]string{
	AttachAuto: "auto", AttachXDPNative: "xdp-native", AttachXDPGeneric: "xdp-generic", AttachTC: "tc",
}

func (m AttachMode) String() string {
	if s, ok := modeNames[m]; ok {
		return s
	}
	return fmt.Sprintf("attachmode(%d)", int(m))
}

// ParseAttachMode reads the String form ("auto", "xdp-native", "xdp-generic", "tc").
func ParseAttachMode(s string) (AttachMode, error) {
	for m, n := range modeNames {
		if n == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("loader: unknown attach mode %q (want auto, xdp-native, xdp-generic or tc)", s)
}

// linkDir holds pinned links, named <ifname>@<kind> (bpffs refuses dots, so
// a dot in the interface name becomes '%'): the kind records the mode so a
// restart knows what it is reusing.
const linkDir = "links"

const (
	kindXDPNative  = "xdp-native"
	kindXDPGeneric = "xdp-generic"
	kindTCIngress  = "tc-ingress"
	kindTCEgress   = "tc-egress"
	// kindClsact is not a link but an empty directory: clsact filters
	// cannot be pinned, so this marker tells a later process which
	// interfaces carry our filters, for its Detach and Unpin.
	kindClsact = "clsact"
)

// Our clsact filters: one per direction, recognised by handle and priority.
const clsactHandle, clsactPrio = 0xe1f, 0xe1f

func clsactFilter(ifindex int, parent uint32) *netlink.BpfFilter {
	return &netlink.BpfFilter{FilterAttrs: netlink.FilterAttrs{
		LinkIndex: ifindex, Parent: parent, Handle: clsactHandle,
		Protocol: unix.ETH_P_ALL, Priority: clsactPrio,
	}}
}

// removeClsact deletes our clsact filters from an interface of the current
// network namespace (also ones an earlier process attached) and the marker.
// A missing interface or filter is not an error: nothing is left to remove.
func (d *Dataplane) removeClsact(ifname string) error {
	marker := d.linkPin(ifname, kindClsact)
	if nl, err := netlink.LinkByName(ifname); err == nil {
		for _, parent := range []uint32{netlink.HANDLE_MIN_INGRESS, netlink.HANDLE_MIN_EGRESS} {
			err := netlink.FilterDel(clsactFilter(nl.Attrs().Index, parent))
			if err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.EINVAL) {
				return fmt.Errorf("delete clsact filter on %s: %w", ifname, err)
			}
		}
	}
	if err := os.Remove(marker); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove clsact marker: %w", err)
	}
	return nil
}

type attachment struct {
	ifname string
	mode   AttachMode
	links  []pinnedLink
	clsact []*netlink.BpfFilter // legacy TC, when TCX is unavailable
}

type pinnedLink struct {
	l   link.Link
	pin string
}

// close drops our fds; pinned links stay attached.
func (a *attachment) close() error {
	var errs []error
	for _, pl := range a.links {
		errs = append(errs, pl.l.Close())
	}
	a.links = nil
	return errors.Join(errs...)
}

// detach removes the hooks for good.
func (a *attachment) detach() error {
	var errs []error
	for _, pl := range a.links {
		if err := pl.l.Unpin(); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
		errs = append(errs, pl.l.Close())
	}
	a.links = nil
	for _, f := range a.clsact {
		if err := netlink.FilterDel(f); err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("delete clsact filter: %w", err))
		}
	}
	a.clsact = nil
	return errors.Join(errs...)
}

// Attach hooks the receive path (per mode) and the TC egress counter of our
// own adverts to an interface of the current network namespace. Links are
// pinned: they outlive the process, and the next process's Attach takes them
// over (swapping in its program) instead of attaching twice. An XDP program
// that is not ours makes Attach fail with ErrXDPInUse; it is never replaced.
func (d *Dataplane) Attach(ifname string, mode AttachMode) (err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.attached[ifname]; ok {
		return fmt.Errorf("loader: attach %s: already attached", ifname)
	}
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return fmt.Errorf("loader: attach %s: %w", ifname, err)
	}
	unlock, err := lockDir(d.pinPath)
	if err != nil {
		return err
	}
	defer unlock()

	a := &attachment{ifname: ifname}
	defer func() {
		if err != nil {
			_ = a.detach()
		}
	}()
	if mode == AttachTC {
		if err := d.attachTC(a, ifi, kindTCIngress, d.objs.VrrpTcIngress); err != nil {
			return fmt.Errorf("loader: attach %s: %w", ifname, err)
		}
		a.mode = AttachTC
	} else {
		if err := d.attachXDP(a, ifi, mode); err != nil {
			return fmt.Errorf("loader: attach %s: %w", ifname, err)
		}
	}
	if err := d.attachTC(a, ifi, kindTCEgress, d.objs.VrrpTcEgress); err != nil {
		return fmt.Errorf("loader: attach %s egress: %w", ifname, err)
	}
	d.attached[ifname] = a
	return nil
}

func (d *Dataplane) linkPin(ifname, kind string) string {
	return filepath.Join(d.pinPath, linkDir, strings.ReplaceAll(ifname, ".", "%")+"@"+kind)
}

// reuse takes over a link pinned by an earlier process if it still hooks this
// interface, swapping in our program (prog nil: keeping its program, the same
// object as ours). Stale pins (interface gone or recreated) are removed.
func reuse(pin string, ifindex int, prog *ebpf.Program) (link.Link, error) {
	l, err := link.LoadPinnedLink(pin, nil)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open pinned link %s: %w", pin, err)
	}
	info, err := l.Info()
	var idx uint32
	if err == nil {
		if x := info.XDP(); x != nil {
			idx = x.Ifindex
		} else if t := info.TCX(); t != nil {
			idx = t.Ifindex
		}
	}
	if idx != uint32(ifindex) {
		_ = l.Unpin()
		l.Close()
		return nil, nil
	}
	if prog == nil {
		return l, nil
	}
	if err := l.Update(prog); err != nil {
		l.Close()
		return nil, fmt.Errorf("update pinned link %s: %w", pin, err)
	}
	return l, nil
}

func (d *Dataplane) attachXDP(a *attachment, ifi *net.Interface, mode AttachMode) error {
	kinds := map[AttachMode][]string{
		AttachAuto:       {kindXDPNative, kindXDPGeneric},
		AttachXDPNative:  {kindXDPNative},
		AttachXDPGeneric: {kindXDPGeneric},
	}[mode]
	if kinds == nil {
		return fmt.Errorf("unknown attach mode %v", mode)
	}
	// A link of ours from an earlier process: take it over, or drop it if
	// it is in another mode than asked for.
	for _, k := range []string{kindXDPNative, kindXDPGeneric} {
		pin := d.linkPin(ifi.Name, k)
		l, err := reuse(pin, ifi.Index, d.objs.VrrpXdp)
		if err != nil {
			return err
		}
		if l == nil {
			continue
		}
		if !contains(kinds, k) {
			_ = l.Unpin()
			l.Close()
			continue
		}
		a.links = append(a.links, pinnedLink{l, pin})
		a.mode = kindMode(k)
		return nil
	}
	if err := d.loadPrograms(); err != nil {
		return err
	}
	nl, err := netlink.LinkByIndex(ifi.Index)
	if err != nil {
		return fmt.Errorf("netlink: %w", err)
	}
	if x := nl.Attrs().Xdp; x != nil && (x.Attached || x.ProgId != 0) {
		return fmt.Errorf("%w (program id %d)", ErrXDPInUse, x.ProgId)
	}
	var errs []error
	for _, k := range kinds {
		flags := link.XDPDriverMode
		if k == kindXDPGeneric {
			flags = link.XDPGenericMode
		}
		l, err := link.AttachXDP(link.XDPOptions{Program: d.objs.VrrpXdp, Interface: ifi.Index, Flags: flags})
		if err != nil {
			if errors.Is(err, unix.EBUSY) || errors.Is(err, unix.EEXIST) {
				return fmt.Errorf("%w: %v", ErrXDPInUse, err)
			}
			errs = append(errs, fmt.Errorf("%s: %w", k, err))
			continue
		}
		pin := d.linkPin(ifi.Name, k)
		if err := l.Pin(pin); err != nil {
			l.Close()
			return fmt.Errorf("pin link: %w", err)
		}
		a.links = append(a.links, pinnedLink{l, pin})
		a.mode = kindMode(k)
		return nil
	}
	return errors.Join(errs...)
}

func (d *Dataplane) attachTC(a *attachment, ifi *net.Interface, kind string, prog *ebpf.Program) error {
	pin := d.linkPin(ifi.Name, kind)
	l, err := reuse(pin, ifi.Index, prog)
	if err != nil {
		return err
	}
	if l != nil {
		a.links = append(a.links, pinnedLink{l, pin})
		return nil
	}
	if err := d.loadPrograms(); err != nil {
		return err
	}
	if kind == kindTCEgress {
		prog = d.objs.VrrpTcEgress
	} else {
		prog = d.objs.VrrpTcIngress
	}
	attach := ebpf.AttachTCXIngress
	if kind == kindTCEgress {
		attach = ebpf.AttachTCXEgress
	}
	if !d.noTCX {
		l, err = link.AttachTCX(link.TCXOptions{Program: prog, Interface: ifi.Index, Attach: attach})
		if err == nil {
			if err := l.Pin(pin); err != nil {
				l.Close()
				return fmt.Errorf("pin link: %w", err)
			}
			a.links = append(a.links, pinnedLink{l, pin})
			return nil
		}
		if !errors.Is(err, ebpf.ErrNotSupported) {
			return fmt.Errorf("tcx %s: %w", kind, err)
		}
	}
	return a.attachClsact(ifi.Index, kind, prog, d.linkPin(ifi.Name, kindClsact))
}

// attachClsact is the pre-6.6 TC hook. Filters are not pinnable; they live
// until Detach/Unpin (or the interface) removes them, and a restart replaces
// them in place (same handle and priority).
func (a *attachment) attachClsact(ifindex int, kind string, prog *ebpf.Program, marker string) error {
	q := &netlink.GenericQdisc{
		QdiscAttrs: netlink.QdiscAttrs{LinkIndex: ifindex, Handle: netlink.MakeHandle(0xffff, 0), Parent: netlink.HANDLE_CLSACT},
		QdiscType:  "clsact",
	}
	if err := netlink.QdiscAdd(q); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("add clsact qdisc: %w", err)
	}
	parent := uint32(netlink.HANDLE_MIN_INGRESS)
	if kind == kindTCEgress {
		parent = netlink.HANDLE_MIN_EGRESS
	}
	f := clsactFilter(ifindex, parent)
	f.Fd, f.Name, f.DirectAction = prog.FD(), "ebpfvrrp-"+kind, true
	if err := os.Mkdir(marker, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("clsact marker: %w", err)
	}
	if err := netlink.FilterReplace(f); err != nil {
		return fmt.Errorf("add clsact %s filter: %w", kind, err)
	}
	a.clsact = append(a.clsact, f)
	return nil
}

func kindMode(k string) AttachMode {
	if k == kindXDPGeneric {
		return AttachXDPGeneric
	}
	return AttachXDPNative
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Detach removes this dataplane's hooks from an interface, also ones pinned by
// an earlier process that this one has not taken over.
func (d *Dataplane) Detach(ifname string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	a, ok := d.attached[ifname]
	delete(d.attached, ifname)
	var errs []error
	if ok {
		errs = append(errs, a.detach())
	}
	// Leftover pins for this interface: removing the pin releases the link.
	for _, k := range []string{kindXDPNative, kindXDPGeneric, kindTCIngress, kindTCEgress} {
		if err := os.Remove(d.linkPin(ifname, k)); err == nil {
			ok = true
		}
	}
	if _, err := os.Stat(d.linkPin(ifname, kindClsact)); err == nil {
		ok = true
		errs = append(errs, d.removeClsact(ifname))
	}
	if !ok {
		return fmt.Errorf("loader: detach %s: %w", ifname, ErrNotAttached)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("loader: detach %s: %w", ifname, err)
	}
	return nil
}

// Mode reports how the receive path is attached to ifname, and whether it is.
func (d *Dataplane) Mode(ifname string) (AttachMode, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	a, ok := d.attached[ifname]
	if !ok {
		return 0, false
	}
	return a.mode, true
}
