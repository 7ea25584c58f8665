package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/user"
	"sort"
	"strconv"

	"github.com/ebpfvrrp/ebpfvrrp/config"
	"github.com/ebpfvrrp/ebpfvrrp/control"
	"github.com/ebpfvrrp/ebpfvrrp/internal/hooks"
	"github.com/ebpfvrrp/ebpfvrrp/vrrp"
)

// vmacFunc creates (or finds) the VMAC interface of an instance and returns its name.
type vmacFunc func(parent string, vrid uint8, family vrrp.Family) (string, error)

// buildSetup turns a validated config into the Runner's desired state. It resolves
// interface names to indexes in the current network namespace and picks each
// instance's primary address, so it fails when the host does not match the config.
// Instances with use_vmac get their VMAC from vmac.
func buildSetup(cfg *config.Config, vmac vmacFunc) (control.Setup, error) {
	s := control.Setup{}
	if err := runnable(cfg); err != nil {
		return s, err
	}
	var err error
	if s.Trackers, err = buildTrackers(cfg); err != nil {
		return s, err
	}
	links := newLinkCache()
	for i, in := range cfg.Instances {
		ic, err := buildInstance(cfg, i, in, vmac, links)
		if err != nil {
			return s, err
		}
		s.Instances = append(s.Instances, ic)
	}
	for _, g := range cfg.SyncGroups {
		s.SyncGroups = append(s.SyncGroups, control.SyncGroupConfig{
			Name: g.Name, Instances: g.Instances,
			Notify: notifyConfig(cfg, g.Notify),
		})
	}
	return s, nil
}

// ErrNoInstances: the config is valid (keepalived -t accepts a file without a
// vrrp_instance, e.g. its LVS-only samples) but gives the daemon nothing to do,
// so it neither starts nor reloads to it.
var ErrNoInstances = errors.New("no instances: nothing to run (validate accepts such a config, as keepalived -t does; add an instance)")

func runnable(cfg *config.Config) error {
	if len(cfg.Instances) == 0 {
		return fmt.Errorf("%s: %w", cfg.Source, ErrNoInstances)
	}
	return nil
}

// initTrackFiles does keepalived's init_file, at start only: the file a tracker
// reads is created with its init value when missing, and written over when the
// tracker says overwrite. Something else at that path (a directory, a FIFO) is an
// error rather than a file the check would never read.
func initTrackFiles(cfg *config.Config) error {
	for name, t := range cfg.Trackers {
		if t.File == "" || t.FileInit == nil {
			continue
		}
		st, err := os.Lstat(t.File)
		switch {
		case err == nil && !st.Mode().IsRegular():
			return fmt.Errorf("trackers.%s.file_init: %s exists and is not a regular file", name, t.File)
		case err == nil && !t.FileInit.Overwrite:
			continue
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("trackers.%s.file_init: %w", name, err)
		}
		if err := os.WriteFile(t.File, []byte(strconv.Itoa(t.FileInit.Value)+"\n"), 0o644); err != nil {
			return fmt.Errorf("trackers.%s.file_init: %w", name, err)
		}
	}
	return nil
}

// buildTrackers turns the config's trackers into the Runner's, sorted by name.
func buildTrackers(cfg *config.Config) ([]control.TrackerConfig, error) {
	var out []control.TrackerConfig
	for name, t := range cfg.Trackers {
		tc := control.TrackerConfig{
			Name: name, Interval: t.Interval, Timeout: t.Timeout, Rise: t.Rise, Fall: t.Fall,
			InitFail: t.InitFail,
		}
		switch {
		case len(t.Command) > 0:
			user := t.User
			if user == "" {
				user = scriptUser(cfg)
			}
			tc.Check = hooks.ExecCheck{Argv: t.Command, Shell: t.Shell, User: user,
				Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}}
		case t.HTTP != nil:
			tc.Check = hooks.HTTPCheck{URL: t.HTTP.URL, ExpectStatus: t.HTTP.ExpectStatus}
		case t.TCP != nil:
			tc.Check = hooks.TCPCheck{Address: t.TCP.Address}
		case t.File != "":
			tc.Check = hooks.FileCheck{Path: t.File}
		case t.Process != nil:
			tc.Check = processCheck(t.Process)
		default:
			return nil, fmt.Errorf("trackers.%s: no check configured", name)
		}
		out = append(out, tc)
	}
	// Map iteration order must not leak into the Runner (reload compares setups).
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// processCheck is the hooks check of a process tracker.
func processCheck(p *config.ProcessCheck) *hooks.ProcessCheck {
	params := map[string]hooks.ParamMatch{"exact": hooks.ParamExact, "partial": hooks.ParamPartial, "initial": hooks.ParamInitial}[p.ParamMatch]
	if params == hooks.ParamNone && len(p.Args) > 0 {
		params = hooks.ParamExact
	}
	max := -1
	if p.QuorumMax != nil {
		max = *p.QuorumMax
	}
	return &hooks.ProcessCheck{
		Match:  hooks.ProcessMatch{Name: p.Name, Args: p.Args, Params: params, FullCommand: p.FullCommand || params != hooks.ParamNone},
		Quorum: p.Quorum, QuorumMax: max, ForkDelay: p.ForkDelay, TerminateDelay: p.TerminateDelay,
	}
}

// keepProcessChecks puts the running process check (prev) in place of a new one
// in next wherever a reload left the tracker as it was. The Runner compares
// tracker configs deeply, and a process check holds its pending fork/terminate
// delay: a fresh one would restart the tracker on every reload, its verdict
// briefly back to up while the process is missing.
func keepProcessChecks(prev, next []control.TrackerConfig) {
	running := map[string]*hooks.ProcessCheck{}
	for _, t := range prev {
		if pc, ok := t.Check.(*hooks.ProcessCheck); ok {
			running[t.Name] = pc
		}
	}
	for i, t := range next {
		if pc, ok := t.Check.(*hooks.ProcessCheck); ok && running[t.Name].SameAs(pc) {
			next[i].Check = running[t.Name]
		}
	}
}

// linkCache holds what one build looks up about the links instances share:
// net.InterfaceByName and an interface's addresses are each a netlink dump of
// the whole namespace, and instances on the same VLAN asked for the same ones
// (at 1000 instances a build parsed over 100 MB of dumps, on a reload with
// every VIP on the links). A build is short; each starts with a new cache.
type linkCache struct {
	ifs  map[string]*net.Interface
	srcs map[linkSource]netip.Addr
}

type linkSource struct {
	ifindex int
	family  vrrp.Family
}

func newLinkCache() *linkCache {
	return &linkCache{ifs: map[string]*net.Interface{}, srcs: map[linkSource]netip.Addr{}}
}

func (c *linkCache) iface(name string) (*net.Interface, error) {
	if ifi, ok := c.ifs[name]; ok {
		return ifi, nil
	}
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil, err
	}
	c.ifs[name] = ifi
	return ifi, nil
}

// source is vrrp.SourceAddress(ifi, family), looked up once per link.
func (c *linkCache) source(ifi *net.Interface, family vrrp.Family) (netip.Addr, error) {
	k := linkSource{ifi.Index, family}
	if a, ok := c.srcs[k]; ok {
		return a, nil
	}
	a, err := vrrp.SourceAddress(ifi, family)
	if err != nil {
		return a, err
	}
	c.srcs[k] = a
	return a, nil
}

// buildInstance turns instance i of cfg into the Runner's InstanceConfig.
func buildInstance(cfg *config.Config, i int, in config.Instance, vmac vmacFunc, links *linkCache) (control.InstanceConfig, error) {
	ifi, err := links.iface(in.Interface)
	if err != nil {
		return control.InstanceConfig{}, fmt.Errorf("instances[%d] (%s).interface: %q: %w", i, in.Name, in.Interface, err)
	}
	ipv6 := len(in.VIPs) > 0 && in.VIPs[0].Address.Addr().Is6()
	ic := control.InstanceConfig{
		Name:                  in.Name,
		Interface:             in.Interface,
		Key:                   control.InstanceKey{Ifindex: ifi.Index, VRID: uint8(in.VRID), Family: vrrp.FamilyOf(ipv6)},
		Version:               in.Version,
		Priority:              uint8(in.Priority),
		AdvertInterval:        in.AdvertInterval,
		StartMaster:           in.State == "master",
		Preempt:               in.Preempt,
		PreemptDelay:          in.PreemptDelay,
		Peers:                 in.UnicastPeers,
		AllowedPeers:          in.AllowedPeers,
		DontTrackPrimary:      in.DontTrackPrimary,
		SkipCheckAdvAddr:      in.SkipCheckAdvAddr,
		NoAccept:              in.NoAccept,
		NoLowerPrioGARP:       in.GARP.LowerPrio != nil && !*in.GARP.LowerPrio,
		SplitBrain:            splitBrainAction(cfg.SplitBrain.Action),
		TakeoverOnPathFailure: cfg.SplitBrain.TakeoverOnPathFailure,
		// The loader's program always runs the master-down bpf_timer.
		KernelTimer: true,
		Notify:      notifyConfig(cfg, in.Notify),
	}
	ic.Notify.SplitBrain = cfg.SplitBrain.Script
	ic.Notify.SplitBrainNotify = cfg.SplitBrain.Notify
	if len(ic.AllowedPeers) == 0 {
		ic.AllowedPeers = in.UnicastPeers
	}
	if ipv6 {
		ic.Group = cfg.McastGroup6
	} else {
		ic.Group = cfg.McastGroup4
	}
	if in.UnicastSource.IsValid() {
		ic.PrimaryAddr = in.UnicastSource
	} else if ic.PrimaryAddr, err = links.source(ifi, vrrp.FamilyOf(ipv6)); err != nil {
		return ic, fmt.Errorf("instances[%d] (%s).interface: %w", i, in.Name, err)
	}
	if in.Auth.Type == "pass" {
		ic.AuthType = uint8(vrrp.AuthPass)
		if ic.AuthData, err = vrrp.Password(in.Auth.Password); err != nil {
			return ic, fmt.Errorf("instances[%d] (%s).auth.password: %w", i, in.Name, err)
		}
	}
	vipDev := in.Interface
	if in.UseVMAC {
		// The VMAC carries 00:00:5e:00:01:VRID: adverts, GARP and the VIPs use
		// it, while adverts are still received (and the key named) on the parent.
		// IPv6: 00:00:5e:00:02:VRID, and the parent's link-local address
		// copied to it, which adverts leave from (PrimaryAddr), as keepalived.
		name, err := vmac(in.Interface, uint8(in.VRID), vrrp.FamilyOf(ipv6))
		if err != nil {
			return ic, fmt.Errorf("instances[%d] (%s).use_vmac: %w", i, in.Name, err)
		}
		ic.Interface, vipDev = name, name
	}
	ic.VIPs = controlVIPs(in.VIPs, vipDev)
	if err := fitsMTU(ifi, in.Version, ipv6, len(ic.VIPs)); err != nil {
		return ic, fmt.Errorf("instances[%d] (%s).vips: %w", i, in.Name, err)
	}
	ic.ExcludedVIPs = controlVIPs(in.ExcludedVIPs, vipDev)
	for _, t := range in.Track {
		w := cfg.Trackers[t.Name].Weight
		if t.Weight != nil {
			w = *t.Weight
		}
		ic.Track = append(ic.Track, control.TrackRef{Name: t.Name, Weight: w})
	}
	for _, t := range in.TrackInterfaces {
		ic.TrackInterfaces = append(ic.TrackInterfaces, control.TrackRef{Name: t.Name, Weight: t.Weight})
	}
	for j, p := range in.SecondaryPaths {
		path := control.Path{Key: ic.Key, Peer: p.Peer}
		if p.Interface != "" {
			pi, err := links.iface(p.Interface)
			if err != nil {
				return ic, fmt.Errorf("instances[%d] (%s).secondary_paths[%d].interface: %q: %w", i, in.Name, j, p.Interface, err)
			}
			path.Key.Ifindex = pi.Index
		}
		ic.SecondaryPaths = append(ic.SecondaryPaths, path)
	}
	return ic, nil
}

// splitBrainAction maps split_brain.action to the Runner's; alert is the default.
// fitsMTU refuses an instance whose advert (every VIP is listed in it) would not
// fit the interface's MTU: VRRP adverts are never fragmented (the receive path
// drops fragments), so peers would never hear it. It only matters for IPv6,
// where 1500 bytes hold 90 addresses.
func fitsMTU(ifi *net.Interface, version int, ipv6 bool, n int) error {
	hdr, per, auth := 20, 4, 0
	if ipv6 {
		hdr, per = 40, 16
	}
	if version == 2 {
		auth = 8
	}
	size := hdr + 8 + n*per + auth
	if ifi.MTU <= 0 || size <= ifi.MTU {
		return nil
	}
	return fmt.Errorf("%d addresses make a %d-byte advert, more than %s's MTU of %d: at most %d fit in one advert",
		n, size, ifi.Name, ifi.MTU, (ifi.MTU-hdr-8-auth)/per)
}

// multicastGroups is what the host must be a member of for s: each multicast
// instance's group on the interface its adverts arrive on (the key's) and on its
// VMAC, which it sends from and where keepalived joins too. Unicast instances
// need none.
func multicastGroups(s control.Setup) []vrrp.Group {
	var out []vrrp.Group
	for _, in := range s.Instances {
		if len(in.Peers) > 0 {
			continue
		}
		g := in.Group
		if !g.IsValid() {
			g = vrrp.IPv4Multicast
			if in.Key.IsIPv6() {
				g = vrrp.IPv6Multicast
			}
		}
		out = append(out, vrrp.Group{Ifindex: in.Key.Ifindex, Addr: g})
		if ifx, err := ifIndex(in.Interface); err == nil && ifx != in.Key.Ifindex {
			out = append(out, vrrp.Group{Ifindex: ifx, Addr: g})
		}
	}
	return out
}

func splitBrainAction(action string) control.SplitBrainAction {
	switch action {
	case "demote":
		return control.SplitBrainDemote
	case "script":
		return control.SplitBrainScript
	}
	return control.SplitBrainAlert
}

// controlVIPs converts VIPs; one without a device goes on the instance's interface,
// as keepalived does.
func controlVIPs(vips []config.VIP, iface string) []control.VIP {
	out := make([]control.VIP, 0, len(vips))
	for _, v := range vips {
		dev := v.Device
		if dev == "" {
			dev = iface
		}
		out = append(out, control.VIP{Prefix: v.Address, Device: dev, Label: v.Label})
	}
	return out
}

// scriptUser is the user scripts without one of their own run as.
func scriptUser(cfg *config.Config) string {
	if cfg.ScriptUser != "" || !cfg.Keepalived {
		return cfg.ScriptUser
	}
	if _, err := user.Lookup(config.KeepalivedScriptUser); err == nil {
		return config.KeepalivedScriptUser
	}
	return ""
}

// notifyConfig converts the notify hooks of an instance or a sync group; they
// run as the block's user, else as script_user.
func notifyConfig(cfg *config.Config, n config.Notify) control.NotifyConfig {
	runAs := n.User
	if runAs == "" {
		runAs = scriptUser(cfg)
	}
	return control.NotifyConfig{Master: n.Master, Backup: n.Backup, Fault: n.Fault,
		Stop: n.Stop, Generic: n.Generic, Shell: n.Shell, User: runAs, Timeout: n.Timeout}
}
