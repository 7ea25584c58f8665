package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/vrrp"
)

// Ranges from the RFCs and keepalived. Checked here so that nothing downstream has to
// defend against them.
const (
	maxVRID          = 255
	maxPriority      = 255
	maxPreemptDelay  = 1000 * time.Second // keepalived's limit
	maxWeight        = 253                // keepalived: weight -253..253
	maxPasswordBytes = 8                  // RFC 2338 §5.3.10 simple text password
	maxVIPsPerAdvert = 255                // Count IPvX Addr is one byte
	maxIfNameLen     = 15                 // IFNAMSIZ - 1
)

// Validate checks the whole configuration and returns a *ValidationError listing
// every problem, or nil. It does not modify c; Load and Parse call Normalize first,
// so hand-built configs should too.
func (c *Config) Validate() error {
	v := &validator{c: c}
	v.global()
	v.instances()
	v.trackers()
	v.syncGroups()
	return v.result()
}

type validator struct {
	c     *Config
	probs []Problem
}

func (v *validator) add(path string, value any, format string, args ...any) {
	v.probs = append(v.probs, Problem{Path: path, Value: value, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) result() error {
	if len(v.probs) == 0 {
		return nil
	}
	for i := range v.probs {
		pos := v.c.positionOf(v.probs[i].Path)
		v.probs[i].File, v.probs[i].Line = pos.File, pos.Line
	}
	sortProblems(v.probs)
	return &ValidationError{Problems: v.probs}
}

func (v *validator) global() {
	c := v.c
	v.mcastGroup("mcast_group4", c.McastGroup4, true)
	v.mcastGroup("mcast_group6", c.McastGroup6, false)
	v.garp("garp", c.GARP)
	if d := c.StartupDelay; d < 0 || d > MaxStartupDelay {
		v.add("startup_delay", d, "%v is outside 0–%v (keepalived's vrrp_startup_delay range)", d, MaxStartupDelay)
	}

	switch c.Dataplane.AttachMode {
	case "auto", "xdp-native", "xdp-generic", "tc":
	default:
		v.add("dataplane.attach_mode", c.Dataplane.AttachMode,
			"%q is not an attach mode; allowed: auto, xdp-native, xdp-generic, tc", c.Dataplane.AttachMode)
	}
	if p := c.Dataplane.PinPath; !filepath.IsAbs(p) || filepath.Clean(p) != p {
		v.add("dataplane.pin_path", p, "%q must be a clean absolute path on a bpffs mount (default %s)", p, DefaultPinPath)
	}

	if l := c.Telemetry.Listen; l != "" {
		if msg := checkHostPort(l); msg != "" {
			v.add("telemetry.listen", l, "%q %s (for example %s; \"\" disables telemetry)", l, msg, DefaultTelemetryListen)
		}
	}

	sb := c.SplitBrain
	switch sb.Action {
	case "alert", "demote":
		if len(sb.Script) > 0 {
			v.add("split_brain.script", sb.Script, "is set but action is %q; set action: script to run it", sb.Action)
		}
	case "script":
		if len(sb.Script) == 0 || sb.Script[0] == "" {
			v.add("split_brain.script", sb.Script, "action script needs script: the command to run (argv)")
		}
	default:
		v.add("split_brain.action", sb.Action, "%q is not a split-brain action; allowed: alert, demote, script", sb.Action)
	}
	if sb.ProbeInterval < 0 {
		v.add("split_brain.probe_interval", sb.ProbeInterval, "%v is negative; 0 disables probing", sb.ProbeInterval)
	}
	if p := c.Scheduling.RTPriority; p < 0 || p > 99 {
		v.add("scheduling.rt_priority", p, "%d is not a real-time priority; allowed: 1-99, or 0 for the normal class", p)
	}
	v.fifo("notify_fifo", c.NotifyFIFO)
	v.fifo("vrrp_notify_fifo", c.VRRPNotifyFIFO)
	if p := c.NotifyFIFO.Path; p != "" && filepath.Clean(p) == filepath.Clean(c.VRRPNotifyFIFO.Path) {
		v.add("vrrp_notify_fifo.path", p, "%s is notify_fifo's path too; every line would be written to it twice (use one of them)", p)
	}
}

func (v *validator) fifo(key string, f NotifyFIFO) {
	switch {
	case f.Path == "" && (len(f.Script) > 0 || f.User != ""):
		v.add(key+".path", f.Path, "a script or user needs path: the FIFO to create and write to")
	case f.Path != "" && !filepath.IsAbs(f.Path):
		v.add(key+".path", f.Path, "%q is not an absolute path", f.Path)
	case len(f.Script) > 0 && f.Script[0] == "":
		v.add(key+".script", f.Script, "empty command")
	}
}

func (v *validator) mcastGroup(path string, a netip.Addr, v4 bool) {
	fam, example := "IPv6", DefaultMcastGroup6
	if v4 {
		fam, example = "IPv4", DefaultMcastGroup4
	}
	switch {
	case !a.IsValid():
		v.add(path, nil, "is not set; expected an %s multicast address such as %s", fam, example)
	case a.Is4() != v4 || a.Is4In6() || !a.IsMulticast():
		v.add(path, a, "%s is not an %s multicast address (default %s)", a, fam, example)
	}
}

func (v *validator) garp(path string, g GARP) {
	if g.MasterDelay < 0 {
		v.add(path+".master_delay", g.MasterDelay, "%v is negative; 0 disables the delayed second burst", g.MasterDelay)
	}
	if g.MasterRepeat < 1 || g.MasterRepeat > 255 {
		v.add(path+".master_repeat", g.MasterRepeat, "%d is outside 1–255", g.MasterRepeat)
	}
	if g.Refresh < 0 {
		v.add(path+".refresh", g.Refresh, "%v is negative; 0 disables periodic refresh", g.Refresh)
	}
	if g.RefreshRepeat < 1 || g.RefreshRepeat > 255 {
		v.add(path+".refresh_repeat", g.RefreshRepeat, "%d is outside 1–255", g.RefreshRepeat)
	}
	if g.Interval < 0 {
		v.add(path+".interval", g.Interval, "%v is negative; 0 sends the burst back to back", g.Interval)
	}
}

type vrKey struct {
	iface string
	vrid  int
	v6    bool
}

func (v *validator) instances() {
	names := map[string]int{}
	vrs := map[vrKey]int{}
	vipOwner := map[netip.Addr]string{}
	for i := range v.c.Instances {
		in := &v.c.Instances[i]
		p := fmt.Sprintf("instances[%d]", i)

		switch j, dup := names[in.Name]; {
		case in.Name == "":
			v.add(p+".name", "", "is required: every instance needs a unique name")
		case strings.ContainsFunc(in.Name, isSpace):
			v.add(p+".name", in.Name, "%q contains whitespace; names are passed to notify scripts as one argument", in.Name)
		case dup:
			v.add(p+".name", in.Name, "%q is already the name of instances[%d]", in.Name, j)
		default:
			names[in.Name] = i
		}
		if in.Interface == "" {
			v.add(p+".interface", "", "is required: the interface VRRP runs on")
		} else {
			v.ifName(p+".interface", in.Interface)
		}
		if in.VRID < 1 || in.VRID > maxVRID {
			v.add(p+".vrid", in.VRID, "%d is outside 1–255", in.VRID)
		}
		if in.Priority < 1 || in.Priority > maxPriority {
			v.add(p+".priority", in.Priority, "%d is outside 1–255 (255 means address owner)", in.Priority)
		}
		if in.State != "backup" && in.State != "master" {
			v.add(p+".state", in.State, "%q is not an initial state; allowed: backup, master", in.State)
		}
		switch in.Version {
		case 2:
			d := in.AdvertInterval
			if d < vrrp.MinIntervalV2 || d > vrrp.MaxIntervalV2 || d%vrrp.MinIntervalV2 != 0 {
				v.add(p+".advert_interval", d, "%v is not allowed for VRRPv2: whole seconds 1s–255s (set version: 3 for sub-second)", d)
			}
		case 3:
			d := in.AdvertInterval
			switch {
			case d < vrrp.MinIntervalV3 || d > vrrp.MaxIntervalV3:
				v.add(p+".advert_interval", d, "%v is outside 10ms–40.95s for VRRPv3", d)
			case d%vrrp.MinIntervalV3 != 0:
				v.add(p+".advert_interval", d, "%v is not a multiple of 10ms (VRRPv3 counts centiseconds)", d)
			}
		default:
			v.add(p+".version", in.Version, "%d is not a VRRP version; allowed: 2, 3", in.Version)
		}
		if d := in.PreemptDelay; d < 0 || d > maxPreemptDelay {
			v.add(p+".preempt_delay", d, "%v is outside 0s–1000s", d)
		} else if d > 0 && !in.Preempt {
			v.add(p+".preempt_delay", d, "%v has no effect with preempt: false", d)
		}
		v.auth(p, in)

		fam := v.vips(p, in, vipOwner)
		if in.VRID >= 1 && in.VRID <= maxVRID && in.Interface != "" && fam != 0 {
			k := vrKey{in.Interface, in.VRID, fam == 6}
			if j, dup := vrs[k]; dup {
				v.add(p+".vrid", in.VRID, "%d on %s (IPv%d) is already used by instances[%d] (%s); a virtual router is unique per interface, VRID and family",
					in.VRID, in.Interface, fam, j, v.c.Instances[j].Name)
			} else {
				vrs[k] = i
			}
		}
		v.unicast(p, in, fam)
		v.routes(p, in)
		v.track(p, in)
		v.notify(p+".notify", in.Notify)
		v.garp(p+".garp", inheritGARP(in.GARP, v.c.GARP))
		for j, sp := range in.SecondaryPaths {
			pp := fmt.Sprintf("%s.secondary_paths[%d]", p, j)
			switch {
			case (sp.Interface == "") == !sp.Peer.IsValid():
				v.add(pp, sp, "set exactly one of interface or peer")
			case sp.Interface != "":
				v.ifName(pp+".interface", sp.Interface)
			case sp.Peer.IsMulticast() || sp.Peer.IsUnspecified():
				v.add(pp+".peer", sp.Peer, "%s is not a unicast address", sp.Peer)
			}
		}
	}
}

func (v *validator) auth(p string, in *Instance) {
	a := in.Auth
	switch a.Type {
	case "none":
		if a.Password != "" {
			v.add(p+".auth.password", a.Password, "is set but auth type is none; set type: pass or remove it")
		}
	case "pass":
		if in.Version == 3 {
			v.add(p+".auth.type", a.Type, "pass is VRRPv2 only (RFC 5798 removed authentication); use type: none with version: 3")
		}
		if n := len(a.Password); n < 1 || n > maxPasswordBytes {
			v.add(p+".auth.password", a.Password, "is %d bytes; a PASS password is 1–8 bytes", n)
		}
	default:
		v.add(p+".auth.type", a.Type, "%q is not supported; allowed: none, pass", a.Type)
	}
}

// vips checks addresses and returns the instance's family (4 or 6), 0 when unknown.
func (v *validator) vips(p string, in *Instance, owner map[netip.Addr]string) int {
	if len(in.VIPs) == 0 {
		v.add(p+".vips", nil, "at least one VIP is required")
	}
	if len(in.VIPs) > maxVIPsPerAdvert {
		v.add(p+".vips", len(in.VIPs), "%d VIPs; an advertisement carries at most 255 (move the rest to excluded_vips)", len(in.VIPs))
	}
	fam, famAt := 0, 0
	seen := map[netip.Addr]string{}
	for j, vip := range in.VIPs {
		vp := fmt.Sprintf("%s.vips[%d]", p, j)
		if !v.vip(vp, in, vip, seen) {
			continue
		}
		f := family(vip.Address.Addr())
		switch {
		case fam == 0:
			fam, famAt = f, j
			if f == 6 && in.Version == 2 {
				v.add(vp, vip.Address, "%s is IPv6; VRRPv2 carries only IPv4 (set version: 3)", vip.Address)
			}
		case f != fam:
			v.add(vp, vip.Address, "%s is IPv%d but vips[%d] is IPv%d; an instance carries one family (use a second instance)",
				vip.Address, f, famAt, fam)
		}
		a := vip.Address.Addr()
		if other, ok := owner[a]; ok && other != in.Name {
			v.add(vp, vip.Address, "%s is also a VIP of instance %q; two virtual routers would fight over it", a, other)
		} else {
			owner[a] = in.Name
		}
	}
	for j, vip := range in.ExcludedVIPs {
		v.vip(fmt.Sprintf("%s.excluded_vips[%d]", p, j), in, vip, seen)
	}
	return fam
}

func (v *validator) vip(vp string, in *Instance, vip VIP, seen map[netip.Addr]string) bool {
	pr := vip.Address
	if !pr.IsValid() {
		v.add(vp+".address", nil, "is required: an address, optionally with /prefix-length")
		return false
	}
	a := pr.Addr()
	if a.IsUnspecified() || a.IsMulticast() || a.IsLoopback() || a.Is4In6() {
		v.add(vp, pr, "%s is not a usable unicast address", pr)
		return false
	}
	if prev, dup := seen[a]; dup {
		v.add(vp, pr, "%s is listed twice (also %s)", a, prev)
		return false
	}
	seen[a] = vp[strings.LastIndex(vp, ".")+1:]
	if vip.Device != "" {
		v.ifName(vp+".dev", vip.Device)
	}
	if vip.Label != "" {
		dev := vip.Device
		if dev == "" {
			dev = in.Interface
		}
		switch {
		case a.Is6():
			v.add(vp+".label", vip.Label, "labels exist only for IPv4 addresses")
		case len(vip.Label) > maxIfNameLen || strings.ContainsFunc(vip.Label, isSpace):
			v.add(vp+".label", vip.Label, "%q must be at most 15 bytes without whitespace", vip.Label)
		case vip.Label != dev && !strings.HasPrefix(vip.Label, dev+":"):
			v.add(vp+".label", vip.Label, "%q must be %q or start with %q (the kernel's rule)", vip.Label, dev, dev+":")
		}
	}
	return true
}

func (v *validator) unicast(p string, in *Instance, fam int) {
	src := in.UnicastSource
	if src.IsValid() {
		switch {
		case src.IsMulticast() || src.IsUnspecified():
			v.add(p+".unicast_source", src, "%s is not a unicast address", src)
		case fam != 0 && family(src) != fam:
			v.add(p+".unicast_source", src, "%s is IPv%d but the VIPs are IPv%d", src, family(src), fam)
		}
	}
	v.peerList(p+".unicast_peers", in.UnicastPeers, fam, src)
	// Normalize copies unicast_peers into an empty allowed_peers; checking the copy
	// would report every mistake twice.
	if !slices.Equal(in.AllowedPeers, in.UnicastPeers) {
		v.peerList(p+".allowed_peers", in.AllowedPeers, fam, netip.Addr{})
	}
}

func (v *validator) peerList(path string, peers []netip.Addr, fam int, self netip.Addr) {
	seen := map[netip.Addr]int{}
	for j, a := range peers {
		pp := fmt.Sprintf("%s[%d]", path, j)
		if k, dup := seen[a]; dup {
			v.add(pp, a, "%s is listed twice (also [%d])", a, k)
			continue
		}
		seen[a] = j
		switch {
		case !a.IsValid():
			v.add(pp, nil, "is not an address")
		case a.IsMulticast() || a.IsUnspecified():
			v.add(pp, a, "%s is not a unicast address", a)
		case fam != 0 && family(a) != fam:
			v.add(pp, a, "%s is IPv%d but the VIPs are IPv%d", a, family(a), fam)
		case a == self:
			v.add(pp, a, "%s is this node's unicast_source", a)
		}
	}
}

func (v *validator) track(p string, in *Instance) {
	seen := map[string]bool{}
	for j, r := range in.Track {
		tp := fmt.Sprintf("%s.track[%d]", p, j)
		if _, ok := v.c.Trackers[r.Name]; !ok {
			v.add(tp, r.Name, "%q is not a tracker; defined: %s", r.Name, listOrNone(sortedKeys(v.c.Trackers)))
		} else if seen[r.Name] {
			v.add(tp, r.Name, "%q is tracked twice", r.Name)
		}
		seen[r.Name] = true
		if r.Weight != nil {
			v.weight(tp+".weight", *r.Weight)
		}
	}
	ifs := map[string]bool{}
	for j, t := range in.TrackInterfaces {
		tp := fmt.Sprintf("%s.track_interfaces[%d]", p, j)
		if t.Name == "" {
			v.add(tp+".name", "", "is required: the interface to watch")
		} else if v.ifName(tp+".name", t.Name); ifs[t.Name] {
			v.add(tp+".name", t.Name, "%q is tracked twice", t.Name)
		}
		ifs[t.Name] = true
		v.weight(tp+".weight", t.Weight)
	}
}

func (v *validator) weight(path string, w int) {
	if w < -maxWeight || w > maxWeight {
		v.add(path, w, "%d is outside -253–253", w)
	}
}

func (v *validator) notify(path string, n Notify) {
	hooks := []struct {
		key  string
		argv []string
	}{{"master", n.Master}, {"backup", n.Backup}, {"fault", n.Fault}, {"stop", n.Stop}, {"generic", n.Generic}}
	for _, h := range hooks {
		if h.argv == nil {
			continue
		}
		if len(h.argv) == 0 || h.argv[0] == "" {
			v.add(path+"."+h.key, h.argv, "is an empty command")
		}
	}
	// 0 (unset): hooks run to completion, as keepalived's do.
	if n.Timeout < 0 {
		v.add(path+".timeout", n.Timeout, "%v must not be negative (0 or unset: no limit)", n.Timeout)
	}
}

func (v *validator) trackers() {
	for _, name := range sortedKeys(v.c.Trackers) {
		t := v.c.Trackers[name]
		p := "trackers." + name
		if name == "" || strings.ContainsFunc(name, isSpace) {
			v.add(p, name, "%q is not a tracker name: it must be non-empty without whitespace", name)
		}
		var kinds []string
		if t.Command != nil {
			kinds = append(kinds, "command")
		}
		if t.HTTP != nil {
			kinds = append(kinds, "http")
		}
		if t.TCP != nil {
			kinds = append(kinds, "tcp")
		}
		if t.File != "" {
			kinds = append(kinds, "file")
		}
		if t.Process != nil {
			kinds = append(kinds, "process")
			v.process(p+".process", t.Process)
		}
		if len(kinds) != 1 {
			found := "none is"
			if len(kinds) > 1 {
				found = strings.Join(kinds, " and ") + " are"
			}
			v.add(p, nil, "set exactly one of command, http, tcp, file, process; %s set", found)
		}
		if t.Command != nil && (len(t.Command) == 0 || t.Command[0] == "") {
			v.add(p+".command", t.Command, "is an empty command")
		}
		if t.Shell && t.Command == nil {
			v.add(p+".shell", t.Shell, "shell: true needs a command")
		}
		if t.HTTP != nil {
			u, err := url.Parse(t.HTTP.URL)
			switch {
			case t.HTTP.URL == "":
				v.add(p+".http.url", "", "is required: the URL to GET")
			case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
				v.add(p+".http.url", t.HTTP.URL, "%q is not an http:// or https:// URL with a host", t.HTTP.URL)
			}
			if s := t.HTTP.ExpectStatus; s < 100 || s > 599 {
				v.add(p+".http.expect_status", s, "%d is not an HTTP status (100–599)", s)
			}
		}
		if t.TCP != nil {
			if msg := checkHostPort(t.TCP.Address); msg != "" {
				v.add(p+".tcp.address", t.TCP.Address, "%q %s", t.TCP.Address, msg)
			}
		}
		if t.File != "" && !filepath.IsAbs(t.File) {
			v.add(p+".file", t.File, "%q must be an absolute path", t.File)
		}
		if t.FileInit != nil && t.File == "" {
			v.add(p+".file_init", nil, "file_init needs file: it initialises a tracked file")
		}
		if t.Interval <= 0 {
			v.add(p+".interval", t.Interval, "%v must be positive", t.Interval)
		}
		if t.Timeout <= 0 {
			v.add(p+".timeout", t.Timeout, "%v must be positive", t.Timeout)
		}
		if t.Rise < 1 {
			v.add(p+".rise", t.Rise, "%d must be at least 1", t.Rise)
		}
		if t.Fall < 1 {
			v.add(p+".fall", t.Fall, "%d must be at least 1", t.Fall)
		}
		v.weight(p+".weight", t.Weight)
	}
}

// process checks a process tracker with keepalived's limits (vrrp_parser.c:
// quorum 1–65535, quorum_max 0–65535 and not below quorum, delays up to 3600 s).
func (v *validator) process(p string, pc *ProcessCheck) {
	if pc.Name == "" {
		v.add(p+".name", "", "is required: the process name to match")
	}
	switch pc.ParamMatch {
	case "", "exact", "partial", "initial":
	default:
		v.add(p+".param_match", pc.ParamMatch, "%q is not exact, partial or initial", pc.ParamMatch)
	}
	if pc.Quorum < 0 || pc.Quorum > 65535 || (pc.Quorum == 0 && (pc.QuorumMax == nil || *pc.QuorumMax != 0)) {
		v.add(p+".quorum", pc.Quorum, "%d is outside 1–65535 (0 only with quorum_max 0)", pc.Quorum)
	}
	if m := pc.QuorumMax; m != nil && (*m < 0 || *m > 65535 || *m < pc.Quorum) {
		v.add(p+".quorum_max", *m, "%d is outside %d–65535 (quorum–65535)", *m, pc.Quorum)
	}
	for _, d := range []struct {
		key string
		val time.Duration
	}{{"fork_delay", pc.ForkDelay}, {"terminate_delay", pc.TerminateDelay}} {
		if d.val < 0 || d.val > time.Hour {
			v.add(p+"."+d.key, d.val, "%v is outside 0–3600s", d.val)
		}
	}
}

func (v *validator) syncGroups() {
	names := map[string]int{}
	member := map[string]string{}
	exists := map[string]bool{}
	for _, in := range v.c.Instances {
		exists[in.Name] = true
	}
	for i, g := range v.c.SyncGroups {
		p := fmt.Sprintf("sync_groups[%d]", i)
		if g.Name == "" {
			v.add(p+".name", "", "is required")
		} else if j, dup := names[g.Name]; dup {
			v.add(p+".name", g.Name, "%q is already the name of sync_groups[%d]", g.Name, j)
		} else {
			names[g.Name] = i
		}
		if len(g.Instances) == 0 {
			v.add(p+".instances", nil, "at least one instance is required")
		}
		for j, m := range g.Instances {
			mp := fmt.Sprintf("%s.instances[%d]", p, j)
			switch other, taken := member[m]; {
			case !exists[m]:
				v.add(mp, m, "%q is not an instance name", m)
			case taken && other == g.Name:
				v.add(mp, m, "%q is listed twice", m)
			case taken:
				v.add(mp, m, "%q is already in sync group %q; an instance belongs to at most one", m, other)
			default:
				member[m] = g.Name
			}
		}
		v.notify(p+".notify", g.Notify)
	}
}

// ifName applies the kernel's dev_valid_name rules.
func (v *validator) ifName(path, name string) {
	switch {
	case len(name) > maxIfNameLen:
		v.add(path, name, "%q is longer than 15 bytes, the kernel's limit for interface names", name)
	case name == "." || name == ".." || strings.ContainsAny(name, "/:") || strings.ContainsFunc(name, isSpace):
		v.add(path, name, "%q is not a valid interface name", name)
	}
}

// checkHostPort returns "" when s is host:port with a numeric port, else what's wrong.
func checkHostPort(s string) string {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "is not host:port"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "needs a numeric port 1–65535"
	}
	if host == "" {
		return ""
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return ""
	}
	for _, r := range host {
		if !(r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return "has a host that is neither an IP address nor a hostname"
		}
	}
	return ""
}

func family(a netip.Addr) int {
	if a.Is4() {
		return 4
	}
	return 6
}

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f'
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// routes checks virtual_routes and virtual_rules lines parse.
func (v *validator) routes(p string, in *Instance) {
	for j, line := range in.VirtualRoutes {
		if _, _, err := ParseRoute(line); err != nil {
			v.add(fmt.Sprintf("%s.virtual_routes[%d]", p, j), line, "%v", err)
		}
	}
	for j, line := range in.VirtualRules {
		if _, _, err := ParseRule(line); err != nil {
			v.add(fmt.Sprintf("%s.virtual_rules[%d]", p, j), line, "%v", err)
		}
	}
}
