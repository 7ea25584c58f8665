package lab

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// LBConfig is the VRRP configuration of one LB host, rendered either as keepalived.conf
// (Keepalived) or as ebpfvrrp YAML (YAML; schema: config.Config's yaml tags).
type LBConfig struct {
	RouterID  string
	Instances []Instance
	Scripts   []Script
	// MetricsListen is ebpfvrrp's telemetry.listen (ignored by keepalived).
	MetricsListen string
	// RTPriority, when set, is keepalived's vrrp_rt_priority and ebpfvrrp's
	// scheduling.rt_priority: the sending path in SCHED_RR.
	RTPriority int
}

// Instance is one vrrp_instance.
type Instance struct {
	Name      string
	Interface string
	VRID      int
	Priority  int
	// State is the initial state, "MASTER" or "BACKUP".
	State          string
	Version        int
	AdvertInterval time.Duration
	Nopreempt      bool
	// AuthPass, when set, is VRRPv2 PASS authentication (keepalived auth_type PASS).
	AuthPass string
	VIPs     []netip.Addr
	// AllowedPeers restricts accepted advert sources (ebpfvrrp only; keepalived has no
	// multicast equivalent).
	AllowedPeers []netip.Addr
	// Track names Scripts whose failure puts the instance in FAULT.
	Track []string
	// NoAccept: a Master that is not the address owner drops traffic to the
	// VIPs (keepalived no_accept, ebpfvrrp accept: false).
	NoAccept bool
	// VirtualRoutes and VirtualRules, one line each in keepalived's syntax.
	VirtualRoutes, VirtualRules []string
}

// Script is a health check run by the daemon (keepalived vrrp_script, ebpfvrrp
// command tracker); weight 0 means failure is FAULT.
type Script struct {
	Name     string
	Path     string
	Interval time.Duration
	Weight   int
	Fall     int
	Rise     int
}

// Tutorial values shared by both LBs.
const (
	TutorialVRID     = 50
	TutorialPassword = "1111"
	MetricsListen    = "127.0.0.1:9864"
)

// LBConfig returns the tutorial's configuration for an LB host, shaped by the lab's
// Options: lb-5 priority 150 (MASTER), lb-6 priority 100 (BACKUP), lb-7 (ThirdLB)
// priority 50 (BACKUP); all BACKUP with Nopreempt, since keepalived ignores
// nopreempt on an initial MASTER.
func (l *Lab) LBConfig(hostName string) LBConfig {
	o := l.opts
	in := Instance{
		Name:           "VIP_1",
		Interface:      "eth0",
		VRID:           TutorialVRID,
		Priority:       100,
		State:          "BACKUP",
		Version:        o.Version,
		AdvertInterval: o.AdvertInterval,
		Nopreempt:      o.Nopreempt,
		VIPs:           []netip.Addr{l.VIP()},
		NoAccept:       o.NoAccept,
	}
	if hostName == LB7 {
		in.Priority = 50
	}
	if hostName == LB5 {
		in.Priority = 150
		if !o.Nopreempt {
			in.State = "MASTER"
		}
	}
	if o.Version == 2 {
		in.AuthPass = TutorialPassword
	}
	if o.AllowedPeers {
		peer := LB6
		if hostName == LB6 {
			peer = LB5
		}
		if o.IPv6 {
			if ll, err := l.LinkLocal(peer); err == nil {
				in.AllowedPeers = []netip.Addr{ll}
			}
		} else {
			in.AllowedPeers = []netip.Addr{Addr4(peer)}
		}
	}
	c := LBConfig{RouterID: hostName, MetricsListen: MetricsListen}
	if o.TrackNginx {
		c.Scripts = []Script{{Name: "check_web", Path: l.CheckWebScript(hostName), Interval: time.Second, Fall: 1, Rise: 1}}
		in.Track = []string{"check_web"}
	}
	c.Instances = []Instance{in}
	return c
}

// DefaultConfig renders LBConfig(host) in the format of the daemon the host runs.
func (l *Lab) DefaultConfig(hostName string) string {
	c := l.LBConfig(hostName)
	if l.Daemon(hostName) == Ebpfvrrp {
		return c.YAML()
	}
	return c.Keepalived()
}

// seconds formats d as keepalived writes intervals: "1", "0.01".
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

// Keepalived renders keepalived.conf, in the tutorial's layout.
func (c LBConfig) Keepalived() string {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n    router_id %s\n    script_user root\n", c.RouterID)
	if c.RTPriority > 0 {
		fmt.Fprintf(&b, "    vrrp_rt_priority %d\n", c.RTPriority)
	}
	b.WriteString("}\n")
	for _, s := range c.Scripts {
		fmt.Fprintf(&b, "\nvrrp_script %s {\n    script %q\n    interval %s\n", s.Name, s.Path, seconds(s.Interval))
		if s.Weight != 0 {
			fmt.Fprintf(&b, "    weight %d\n", s.Weight)
		}
		if s.Fall > 0 {
			fmt.Fprintf(&b, "    fall %d\n", s.Fall)
		}
		if s.Rise > 0 {
			fmt.Fprintf(&b, "    rise %d\n", s.Rise)
		}
		b.WriteString("}\n")
	}
	for _, in := range c.Instances {
		fmt.Fprintf(&b, "\nvrrp_instance %s {\n", in.Name)
		fmt.Fprintf(&b, "    state %s\n    interface %s\n    virtual_router_id %d\n    priority %d\n", in.State, in.Interface, in.VRID, in.Priority)
		if in.Version != 0 {
			fmt.Fprintf(&b, "    version %d\n", in.Version)
		}
		fmt.Fprintf(&b, "    advert_int %s\n", seconds(in.AdvertInterval))
		if in.Nopreempt {
			b.WriteString("    nopreempt\n")
		}
		if in.NoAccept {
			b.WriteString("    no_accept\n")
		}
		if in.AuthPass != "" {
			fmt.Fprintf(&b, "    authentication {\n        auth_type PASS\n        auth_pass %s\n    }\n", in.AuthPass)
		}
		b.WriteString("    virtual_ipaddress {\n")
		for _, v := range in.VIPs {
			fmt.Fprintf(&b, "        %s\n", v)
		}
		b.WriteString("    }\n")
		for _, blk := range []struct {
			name  string
			lines []string
		}{{"virtual_routes", in.VirtualRoutes}, {"virtual_rules", in.VirtualRules}} {
			if len(blk.lines) > 0 {
				fmt.Fprintf(&b, "    %s {\n", blk.name)
				for _, l := range blk.lines {
					fmt.Fprintf(&b, "        %s\n", l)
				}
				b.WriteString("    }\n")
			}
		}
		if len(in.Track) > 0 {
			b.WriteString("    track_script {\n")
			for _, t := range in.Track {
				fmt.Fprintf(&b, "        %s\n", t)
			}
			b.WriteString("    }\n")
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// YAML renders ebpfvrrp's native configuration (keys from config.Config's yaml tags).
func (c LBConfig) YAML() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# generated by the ebpfvrrp lab\nrouter_id: %s\n", c.RouterID)
	if c.MetricsListen != "" {
		fmt.Fprintf(&b, "telemetry:\n  listen: %q\n", c.MetricsListen)
	}
	if c.RTPriority > 0 {
		fmt.Fprintf(&b, "scheduling:\n  rt_priority: %d\n", c.RTPriority)
	}
	b.WriteString("instances:\n")
	for _, in := range c.Instances {
		fmt.Fprintf(&b, "  - name: %s\n    interface: %s\n    vrid: %d\n    priority: %d\n", in.Name, in.Interface, in.VRID, in.Priority)
		fmt.Fprintf(&b, "    version: %d\n    advert_interval: %s\n", in.Version, in.AdvertInterval)
		fmt.Fprintf(&b, "    state: %s\n    preempt: %t\n", strings.ToLower(in.State), !in.Nopreempt)
		if in.NoAccept {
			b.WriteString("    no_accept: true\n")
		}
		if in.AuthPass != "" {
			fmt.Fprintf(&b, "    auth:\n      type: pass\n      password: %q\n", in.AuthPass)
		}
		b.WriteString("    vips:\n")
		for _, v := range in.VIPs {
			fmt.Fprintf(&b, "      - address: %s\n", netip.PrefixFrom(v, v.BitLen()))
		}
		for _, blk := range []struct {
			name  string
			lines []string
		}{{"virtual_routes", in.VirtualRoutes}, {"virtual_rules", in.VirtualRules}} {
			if len(blk.lines) > 0 {
				fmt.Fprintf(&b, "    %s:\n", blk.name)
				for _, l := range blk.lines {
					fmt.Fprintf(&b, "      - %q\n", l)
				}
			}
		}
		if len(in.AllowedPeers) > 0 {
			b.WriteString("    allowed_peers:\n")
			for _, p := range in.AllowedPeers {
				fmt.Fprintf(&b, "      - %q\n", p)
			}
		}
		if len(in.Track) > 0 {
			b.WriteString("    track:\n")
			for _, t := range in.Track {
				fmt.Fprintf(&b, "      - name: %s\n", t)
			}
		}
	}
	if len(c.Scripts) > 0 {
		b.WriteString("trackers:\n")
		for _, s := range c.Scripts {
			fmt.Fprintf(&b, "  %s:\n    command: [%q]\n    interval: %s\n    weight: %d\n", s.Name, s.Path, s.Interval, s.Weight)
			if s.Fall > 0 {
				fmt.Fprintf(&b, "    fall: %d\n", s.Fall)
			}
			if s.Rise > 0 {
				fmt.Fprintf(&b, "    rise: %d\n", s.Rise)
			}
		}
	}
	return b.String()
}
