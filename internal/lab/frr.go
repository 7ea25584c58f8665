package lab

// FRR's vrrpd as a third VRRP implementation on the wire (Debian bookworm: FRR 8.4.4).
//
// How FRR runs here, worked out by experiment in lab namespaces:
//
//   - vrrpd needs zebra (interface state, protodown) and both are started with their
//     own zserv socket, vty directory, pid files and configs in a directory owned by
//     the frr user: the daemons drop to that user right after start, and every path
//     they use must be theirs. That is a fresh directory in os.TempDir, not the lab's
//     Dir (mode 0700, root only).
//
//	zebra -z DIR/zserv.api --vty_socket DIR -i DIR/zebra.pid -f DIR/zebra.conf
//	vrrpd -z DIR/zserv.api --vty_socket DIR -i DIR/vrrpd.pid -f DIR/vrrpd.conf
//
//     both forked from a thread that entered only the host's network namespace
//     (as every lab daemon is), logging to stdout.
//   - FRR does not create the VMAC interface: a macvlan (bridge mode, so eth0 still
//     sees what arrives for the VMAC) on eth0 named vrrp4-VRID or vrrp6-VRID, with MAC
//     00:00:5e:00:01:VRID (IPv4) or 00:00:5e:00:02:VRID (IPv6), carrying the VIP. FRR
//     never adds or removes the address: a Backup sets protodown on the macvlan (no
//     carrier), a Master clears it.
//   - IPv6: vrrpd sends from the macvlan's link-local, which must not be the EUI-64 of
//     the VMAC (two routers would share it): addr_gen_mode must be "random" before the
//     macvlan goes up. `ip link add … addrgenmode random type macvlan` is refused by
//     this kernel (EAFNOSUPPORT); setting the sysctl after creation works.
//   - IPv4: adverts go out from eth0's primary address with the VMAC as Ethernet
//     source. eth0 needs the two sysctls of every "VIP on another interface" setup,
//     which FRR's docs do not mention:
//     arp_ignore=1, or eth0 answers ARP for the VIP on the macvlan with eth0's own
//     MAC — on the Backup too, where the macvlan is in protodown but the VIP is still a
//     local address — and the client may learn the Backup's MAC;
//     arp_announce=2, or the Master's own ARP requests (to answer the client from the
//     VIP) go out of eth0 with the VIP as sender address and eth0's MAC, and the
//     client's cache entry for the VIP flips from the VMAC to eth0's MAC.
//   - The VIP is added with a host prefix (/32, /128): a /24 or /64 on the macvlan
//     would add a second connected route for the lab network, on a link that is down
//     whenever FRR is Backup.
//   - FRR has no VRRPv2 authentication, and every router starts in Backup and waits
//     Master_Down_Interval before it may become Master (no "state MASTER").

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
)

// FRR names an LB host that runs FRR's vrrpd (with zebra). Such a host is started with
// StartFRR, not StartLB; put it in Options.Daemons so the lab knows the host's role.
const FRR Daemon = "frr"

// FRRBinDir is where Debian installs FRR's daemons.
const FRRBinDir = "/usr/lib/frr"

// FRROptions is one FRR virtual router on an LB host's eth0.
type FRROptions struct {
	// VRID 1–255 (default TutorialVRID).
	VRID int
	// Priority 1–254 (default 100).
	Priority int
	// Version is 2 or 3 (default the lab's).
	Version int
	// Family is 4 or 6 (default: the lab's, from Options.IPv6).
	Family int
	// AdvertInterval: FRR takes milliseconds, multiples of 10, 10 ms–40.95 s (default
	// the lab's). For VRRPv2 FRR writes whole seconds into the advert, so anything
	// but a multiple of 1 s would not match its peers.
	AdvertInterval time.Duration
	// Nopreempt turns preemption off (FRR preempts by default).
	Nopreempt bool
	// VIP is the virtual address (default the lab's VIP of Family).
	VIP netip.Addr
}

// FRRRouter is FRR running on one LB host. Stop it (StartFRR's caller must; it is
// idempotent) to remove its processes, directory and macvlan.
type FRRRouter struct {
	l     *Lab
	h     *host
	opts  FRROptions
	dir   string
	link  string
	vmac  net.HardwareAddr
	zebra *process
	vrrpd *process
	// watchdog kills both daemons and removes dir when the test binary dies without
	// cleaning up: the daemons set their own uid, which clears the parent-death signal
	// procAttr gives every lab child.
	watchdog     *exec.Cmd
	watchdogPipe *os.File

	stopOnce sync.Once
	stopErr  error
}

func (o *FRROptions) setDefaults(l *Lab) {
	if o.VRID == 0 {
		o.VRID = TutorialVRID
	}
	if o.Priority == 0 {
		o.Priority = 100
	}
	if o.Version == 0 {
		o.Version = l.opts.Version
	}
	if o.Family == 0 {
		o.Family = 4
		if l.opts.IPv6 {
			o.Family = 6
		}
	}
	if o.AdvertInterval == 0 {
		o.AdvertInterval = l.opts.AdvertInterval
	}
	if !o.VIP.IsValid() {
		o.VIP = VIP4
		if o.Family == 6 {
			o.VIP = VIP6
		}
	}
}

func (o FRROptions) validate() error {
	switch {
	case o.VRID < 1 || o.VRID > 255:
		return fmt.Errorf("vm: frr: vrid %d outside 1–255", o.VRID)
	case o.Priority < 1 || o.Priority > 254:
		return fmt.Errorf("vm: frr: priority %d outside 1–254", o.Priority)
	case o.Version != 2 && o.Version != 3:
		return fmt.Errorf("vm: frr: version %d, want 2 or 3", o.Version)
	case o.Family != 4 && o.Family != 6:
		return fmt.Errorf("vm: frr: family %d, want 4 or 6", o.Family)
	case o.Family == 6 && o.Version == 2:
		return errors.New("vm: frr: VRRPv2 has no IPv6")
	case o.VIP.Is4() != (o.Family == 4):
		return fmt.Errorf("vm: frr: VIP %s is not IPv%d", o.VIP, o.Family)
	case o.AdvertInterval < 10*time.Millisecond || o.AdvertInterval > 40950*time.Millisecond || o.AdvertInterval%(10*time.Millisecond) != 0:
		return fmt.Errorf("vm: frr: advert interval %v: FRR takes 10 ms–40.95 s in steps of 10 ms", o.AdvertInterval)
	case o.Version == 2 && o.AdvertInterval%time.Second != 0:
		return fmt.Errorf("vm: frr: advert interval %v: VRRPv2 carries whole seconds", o.AdvertInterval)
	}
	return nil
}

// FRRVMAC is the RFC 5798 §7.3 virtual MAC of vrid in family (4 or 6).
func FRRVMAC(family, vrid int) net.HardwareAddr {
	b := byte(1)
	if family == 6 {
		b = 2
	}
	return net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, b, byte(vrid)}
}

// FRRConfig renders vrrpd.conf for o (defaults filled in).
func FRRConfig(hostName string, o FRROptions) string {
	var b strings.Builder
	fmt.Fprintf(&b, "hostname %s\nlog stdout informational\n!\ninterface eth0\n", hostName)
	fmt.Fprintf(&b, " vrrp %d version %d\n", o.VRID, o.Version)
	fmt.Fprintf(&b, " vrrp %d priority %d\n", o.VRID, o.Priority)
	fmt.Fprintf(&b, " vrrp %d advertisement-interval %d\n", o.VRID, o.AdvertInterval.Milliseconds())
	if o.Nopreempt {
		fmt.Fprintf(&b, " no vrrp %d preempt\n", o.VRID)
	}
	// The address line activates the router, so it comes last.
	kw := "ip"
	if o.Family == 6 {
		kw = "ipv6"
	}
	fmt.Fprintf(&b, " vrrp %d %s %s\n!\n", o.VRID, kw, o.VIP)
	return b.String()
}

// StartFRR starts zebra and vrrpd on an LB host for one virtual router and returns once
// FRR has put the macvlan in protodown: vrrpd is in Backup, waiting
// Master_Down_Interval, as every FRR router starts.
// On error everything created so far is removed.
func (l *Lab) StartFRR(ctx context.Context, hostName string, o FRROptions) (*FRRRouter, error) {
	h, err := l.lbHost(hostName)
	if err != nil {
		return nil, err
	}
	o.setDefaults(l)
	if err := o.validate(); err != nil {
		return nil, err
	}
	for _, d := range []string{"zebra", "vrrpd"} {
		if _, err := os.Stat(filepath.Join(FRRBinDir, d)); err != nil {
			return nil, fmt.Errorf("vm: frr not installed (run `make deps`): %w", err)
		}
	}
	uid, gid, err := frrUser()
	if err != nil {
		return nil, err
	}
	f := &FRRRouter{l: l, h: h, opts: o, vmac: FRRVMAC(o.Family, o.VRID),
		link: fmt.Sprintf("vrrp%d-%d", o.Family, o.VRID)}
	if err := f.start(ctx, uid, gid); err != nil {
		return nil, errors.Join(err, f.Stop())
	}
	l.logf("lab %s: %s: FRR vrrpd VRID %d v%d IPv%d priority %d every %v, preempt=%v, VIP %s on %s",
		l.Name, hostName, o.VRID, o.Version, o.Family, o.Priority, o.AdvertInterval, !o.Nopreempt, o.VIP, f.link)
	return f, nil
}

func frrUser() (uid, gid int, err error) {
	u, err := user.Lookup("frr")
	if err != nil {
		return 0, 0, fmt.Errorf("vm: frr user (run `make deps`): %w", err)
	}
	uid, err = strconv.Atoi(u.Uid)
	if err == nil {
		gid, err = strconv.Atoi(u.Gid)
	}
	return uid, gid, err
}

func (f *FRRRouter) start(ctx context.Context, uid, gid int) error {
	l, h, o := f.l, f.h, f.opts
	var err error
	if f.dir, err = os.MkdirTemp("", l.Name+"-"+h.name+"-frr-"); err != nil {
		return fmt.Errorf("vm: frr dir: %w", err)
	}
	zconf := fmt.Sprintf("hostname %s\nlog stdout informational\n!\n", h.name)
	for name, content := range map[string]string{"zebra.conf": zconf, "vrrpd.conf": FRRConfig(h.name, o)} {
		if err := os.WriteFile(filepath.Join(f.dir, name), []byte(content), 0o640); err != nil {
			return fmt.Errorf("vm: %w", err)
		}
	}
	if err := chownTree(f.dir, uid, gid); err != nil {
		return err
	}
	if err := f.addMacvlan(); err != nil {
		return err
	}
	common := []string{"-z", filepath.Join(f.dir, "zserv.api"), "--vty_socket", f.dir}
	argv := func(d string) []string {
		return append([]string{filepath.Join(FRRBinDir, d)}, append(common,
			"-i", filepath.Join(f.dir, d+".pid"), "-f", filepath.Join(f.dir, d+".conf"))...)
	}
	if f.zebra, err = l.start(h, "frr-zebra", argv("zebra")); err != nil {
		return err
	}
	if err := f.waitFile(ctx, "zserv.api", f.zebra); err != nil {
		return err
	}
	if f.vrrpd, err = l.start(h, "frr-vrrpd", argv("vrrpd")); err != nil {
		return err
	}
	if err := f.startWatchdog(); err != nil {
		return err
	}
	if err := f.waitFile(ctx, "vrrpd.vty", f.vrrpd); err != nil {
		return err
	}
	// Until zebra applies vrrpd's first Backup the macvlan is up and would look like a
	// Master: return only once it is in protodown.
	return f.waitProtoDown(ctx)
}

func (f *FRRRouter) waitProtoDown(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for {
		down, err := f.ProtoDown(ctx)
		if err == nil && down {
			return nil
		}
		if !f.Running() {
			return fmt.Errorf("vm: frr exited before its first Backup:\n%s", lastLines(f.Log(), 20))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("vm: %s never went to protodown (FRR's Backup): %v, %w", f.link, err, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func chownTree(dir string, uid, gid int) error {
	return filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// addMacvlan creates the VMAC interface with the VIP, as FRR's docs describe.
func (f *FRRRouter) addMacvlan() error {
	h := f.h
	eth, err := h.nl.LinkByName("eth0")
	if err != nil {
		return fmt.Errorf("vm: %w", err)
	}
	mv := &netlink.Macvlan{
		LinkAttrs: netlink.LinkAttrs{Name: f.link, ParentIndex: eth.Attrs().Index, HardwareAddr: f.vmac},
		Mode:      netlink.MACVLAN_MODE_BRIDGE,
	}
	if err := h.nl.LinkAdd(mv); err != nil {
		return fmt.Errorf("vm: add %s on %s: %w", f.link, h.name, err)
	}
	// addr_gen_mode 3 is "random"; accept_dad was set to 0 for "default" by plug, so
	// the new link-local is usable at once.
	err = inNetns(h.ns, func() error {
		if err := os.WriteFile("/proc/sys/net/ipv6/conf/"+f.link+"/addr_gen_mode", []byte("3"), 0o644); err != nil {
			return err
		}
		for name, v := range map[string]string{"arp_ignore": "1", "arp_announce": "2"} {
			if err := os.WriteFile("/proc/sys/net/ipv4/conf/eth0/"+name, []byte(v), 0o644); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("vm: sysctl for %s on %s: %w", f.link, h.name, err)
	}
	a, err := netlink.ParseAddr(netip.PrefixFrom(f.opts.VIP, f.opts.VIP.BitLen()).String())
	if err != nil {
		return err
	}
	if err := h.nl.AddrAdd(mv, a); err != nil {
		return fmt.Errorf("vm: add VIP on %s: %w", f.link, err)
	}
	if err := h.nl.LinkSetUp(mv); err != nil {
		return fmt.Errorf("vm: %s up: %w", f.link, err)
	}
	return nil
}

func (f *FRRRouter) waitFile(ctx context.Context, name string, p *process) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	path := filepath.Join(f.dir, name)
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		if p.exited() {
			b, _ := os.ReadFile(p.logPath)
			return fmt.Errorf("vm: %s exited before creating %s: %v\n%s", p.name, name, p.waitErr, lastLines(string(b), 20))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("vm: waiting for %s: %w", path, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// startWatchdog forks a shell outside the test's process group, without a parent-death
// signal, that blocks reading a pipe only this process writes: if the test binary dies
// (SIGKILL, a -timeout panic that skips cleanups) the read ends and the shell kills
// both daemons and removes the directory.
func (f *FRRRouter) startWatchdog() error {
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("vm: %w", err)
	}
	defer r.Close()
	// The daemons do not fork (no -d), so their pids are all there is to kill. Plain
	// pids also because dash's kill takes no "--", which a negative pgid would need.
	cmd := exec.Command("sh", "-c", `read _; kill -KILL "$1" "$2" 2>/dev/null; rm -rf -- "$3"`, "frr-watchdog",
		strconv.Itoa(f.zebra.cmd.Process.Pid), strconv.Itoa(f.vrrpd.cmd.Process.Pid), f.dir)
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return fmt.Errorf("vm: frr watchdog: %w", err)
	}
	f.watchdog, f.watchdogPipe = cmd, w
	return nil
}

// Host is the LB host FRR runs on.
func (f *FRRRouter) Host() string { return f.h.name }

// Options returns the router's options (defaults filled in).
func (f *FRRRouter) Options() FRROptions { return f.opts }

// Link is the name of the macvlan carrying the VIP and the VMAC.
func (f *FRRRouter) Link() string { return f.link }

// VMAC is the virtual MAC on Link: what a client's ARP/ND cache holds for the VIP while
// FRR is Master.
func (f *FRRRouter) VMAC() net.HardwareAddr { return f.vmac }

// Dir is the directory holding FRR's configs, sockets and pid files.
func (f *FRRRouter) Dir() string { return f.dir }

// ProtoDown reports whether FRR holds its macvlan in protodown (FRR's Backup).
func (f *FRRRouter) ProtoDown(ctx context.Context) (bool, error) {
	out, err := f.l.ExecContext(ctx, f.h.name, "ip", "-j", "-d", "link", "show", "dev", f.link)
	if err != nil {
		return false, fmt.Errorf("%w: %s", err, out)
	}
	var links []struct {
		ProtoDown bool `json:"proto_down"`
	}
	if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 {
		return false, fmt.Errorf("vm: parse ip link of %s: %v: %s", f.link, err, out)
	}
	return links[0].ProtoDown, nil
}

// Master reports whether FRR is Master as the network sees it: its macvlan, which
// carries the VIP, is out of protodown. An error counts as not Master.
func (f *FRRRouter) Master() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	down, err := f.ProtoDown(ctx)
	return err == nil && !down
}

// FRRStatus is the part of `show vrrp json` the lab looks at, for the router's family.
type FRRStatus struct {
	// State is FRR's name: "Initialize", "Backup" or "Master".
	State                string
	Priority             int
	MasterAdverInterval  time.Duration
	AdvertsTx, AdvertsRx int
}

// Status asks vrrpd through its vty socket (`vtysh --vty_socket DIR -d vrrpd -c
// "show vrrp json"`).
func (f *FRRRouter) Status(ctx context.Context) (FRRStatus, error) {
	out, err := f.Vtysh(ctx, fmt.Sprintf("show vrrp %d json", f.opts.VRID))
	if err != nil {
		return FRRStatus{}, err
	}
	type fam struct {
		Status              string `json:"status"`
		EffectivePriority   int    `json:"effectivePriority"`
		MasterAdverInterval int    `json:"masterAdverInterval"`
		Stats               struct {
			AdverTx int `json:"adverTx"`
			AdverRx int `json:"adverRx"`
		} `json:"stats"`
	}
	var vrs []struct {
		VRID int `json:"vrid"`
		V4   fam `json:"v4"`
		V6   fam `json:"v6"`
	}
	if err := json.Unmarshal(out, &vrs); err != nil {
		return FRRStatus{}, fmt.Errorf("vm: parse show vrrp: %w: %s", err, out)
	}
	for _, vr := range vrs {
		if vr.VRID != f.opts.VRID {
			continue
		}
		x := vr.V4
		if f.opts.Family == 6 {
			x = vr.V6
		}
		return FRRStatus{State: x.Status, Priority: x.EffectivePriority,
			MasterAdverInterval: time.Duration(x.MasterAdverInterval) * time.Millisecond,
			AdvertsTx:           x.Stats.AdverTx, AdvertsRx: x.Stats.AdverRx}, nil
	}
	return FRRStatus{}, fmt.Errorf("vm: show vrrp: no VRID %d: %s", f.opts.VRID, out)
}

// Vtysh runs one vtysh command against vrrpd and returns its output.
func (f *FRRRouter) Vtysh(ctx context.Context, command string) ([]byte, error) {
	out, err := f.l.ExecContext(ctx, f.h.name, "vtysh", "--vty_socket", f.dir, "-d", "vrrpd", "-c", command)
	if err != nil {
		return out, fmt.Errorf("%w: %s", err, out)
	}
	return out, nil
}

// Log returns what zebra and vrrpd wrote so far.
func (f *FRRRouter) Log() string {
	var b strings.Builder
	for _, p := range []*process{f.zebra, f.vrrpd} {
		if p == nil {
			continue
		}
		fh, err := os.Open(p.logPath)
		if err != nil {
			continue
		}
		fmt.Fprintf(&b, "--- %s\n", p.name)
		_, _ = io.Copy(&b, bufio.NewReader(fh))
		fh.Close()
	}
	return b.String()
}

// Running reports whether both daemons are alive.
func (f *FRRRouter) Running() bool {
	return f.zebra != nil && f.vrrpd != nil && !f.zebra.exited() && !f.vrrpd.exited()
}

// Stop stops vrrpd, then zebra (SIGTERM, then SIGKILL after 5 s), deletes the macvlan
// and the directory. It is safe to call more than once and after the lab closed (the
// namespace's deletion took the macvlan with it).
func (f *FRRRouter) Stop() error {
	f.stopOnce.Do(func() {
		var errs []error
		for _, p := range []*process{f.vrrpd, f.zebra} {
			if p != nil {
				if err := p.stop(syscall.SIGTERM, 5*time.Second); err != nil {
					errs = append(errs, err)
				}
			}
		}
		if f.watchdog != nil {
			_ = f.watchdog.Process.Kill()
			_ = f.watchdog.Wait()
			f.watchdogPipe.Close()
		}
		if lk, err := f.h.nl.LinkByName(f.link); err == nil {
			if err := f.h.nl.LinkDel(lk); err != nil {
				errs = append(errs, fmt.Errorf("vm: delete %s: %w", f.link, err))
			}
		}
		if f.dir != "" {
			if err := os.RemoveAll(f.dir); err != nil {
				errs = append(errs, err)
			}
		}
		f.stopErr = errors.Join(errs...)
		f.l.logf("lab %s: %s: FRR stopped", f.l.Name, f.h.name)
	})
	return f.stopErr
}

// ClientNeighbor resolves the VIP from the client (a fresh ARP request or Neighbor
// Solicitation: the entry is flushed, then one ping) and returns the MAC address the
// client's cache holds for it: who answers for the VIP as the client sees it.
func (l *Lab) ClientNeighbor(ctx context.Context) (net.HardwareAddr, error) {
	vip := l.VIP().String()
	if out, err := l.ExecContext(ctx, Client, "ip", "neigh", "flush", "to", vip); err != nil {
		return nil, fmt.Errorf("%w: %s", err, out)
	}
	// A ping that gets no answer still leaves the entry (FAILED or INCOMPLETE):
	// its error is not the result.
	_, _ = l.ExecContext(ctx, Client, "ping", "-n", "-c", "1", "-W", "1", vip)
	out, err := l.ExecContext(ctx, Client, "ip", "-j", "neigh", "show", "to", vip)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, out)
	}
	var ns []struct {
		LLAddr string   `json:"lladdr"`
		State  []string `json:"state"`
	}
	if err := json.Unmarshal(out, &ns); err != nil {
		return nil, fmt.Errorf("vm: parse ip neigh: %w: %s", err, out)
	}
	for _, n := range ns {
		if n.LLAddr != "" {
			return net.ParseMAC(n.LLAddr)
		}
	}
	return nil, fmt.Errorf("vm: client has no neighbour entry for %s: %s", vip, out)
}
