package config

import (
	"slices"
	"strings"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/vrrp"
)

// Defaults. Where keepalived has the same concept the value is keepalived's, so a
// converted keepalived.conf behaves the same without spelling every knob out.
const (
	DefaultPriority       = 100
	DefaultVersion        = 2
	DefaultAdvertInterval = time.Second
	DefaultState          = "backup"
	DefaultPreempt        = true
	DefaultAuthType       = "none"

	DefaultGARPMasterDelay   = 5 * time.Second
	DefaultGARPMasterRepeat  = 5
	DefaultGARPRefresh       = 0
	DefaultGARPRefreshRepeat = 1
	DefaultGARPInterval      = 0

	DefaultTrackerInterval = time.Second
	DefaultTrackerRise     = 1
	DefaultTrackerFall     = 1
	DefaultHTTPStatus      = 200
	// MaxStartupDelay is the longest vrrp_startup_delay keepalived takes
	// (4294.967295 s, its timer's range).
	MaxStartupDelay = 4294967295 * time.Microsecond
	// DefaultProcessQuorum: keepalived's alloc_vrrp_process starts quorum at 1.
	DefaultProcessQuorum = 1

	DefaultAttachMode      = "auto"
	DefaultPinPath         = "/sys/fs/bpf/ebpfvrrp"
	DefaultTelemetryListen = "127.0.0.1:9864"
	DefaultSplitBrain      = "alert"
	// DefaultSplitBrainProbeInterval: a Master ARP/NS-probes its VIPs every second.
	// When a firewall cuts the heartbeat both ways no advert of the other Master ever
	// arrives, and this probe is the only thing that sees the split brain; one probe
	// per VIP per second is negligible traffic and detects it within about 1.5 s.
	DefaultSplitBrainProbeInterval = time.Second
)

// Default multicast groups (RFC 5798 §5.1.1.2 and §5.1.2.2, keepalived's defaults).
var (
	DefaultMcastGroup4 = vrrp.IPv4Multicast
	DefaultMcastGroup6 = vrrp.IPv6Multicast
)

// DefaultConfig returns a Config holding every top-level default and no instances.
// Code that builds a Config by hand (the keepalived importer, tests) starts here,
// because two defaults cannot be recovered from a zero value by Normalize:
// Telemetry.Listen ("" means disabled) and GARP.MasterDelay (0 means no delayed
// second burst).
func DefaultConfig() *Config {
	return &Config{
		GARP: GARP{
			MasterDelay:   DefaultGARPMasterDelay,
			MasterRepeat:  DefaultGARPMasterRepeat,
			Refresh:       DefaultGARPRefresh,
			RefreshRepeat: DefaultGARPRefreshRepeat,
			Interval:      DefaultGARPInterval,
		},
		McastGroup4: DefaultMcastGroup4,
		McastGroup6: DefaultMcastGroup6,
		Dataplane:   Dataplane{AttachMode: DefaultAttachMode, PinPath: DefaultPinPath},
		Telemetry:   Telemetry{Listen: DefaultTelemetryListen},
		SplitBrain:  SplitBrain{Action: DefaultSplitBrain, ProbeInterval: DefaultSplitBrainProbeInterval},
	}
}

// DefaultInstance returns an Instance with keepalived's defaults. Preempt is true,
// which Normalize cannot infer from a zero bool, so hand-built instances start here.
func DefaultInstance() Instance {
	return Instance{
		Priority:       DefaultPriority,
		Version:        DefaultVersion,
		AdvertInterval: DefaultAdvertInterval,
		State:          DefaultState,
		Preempt:        DefaultPreempt,
		Auth:           Auth{Type: DefaultAuthType},
	}
}

// Normalize fills defaults into every field whose zero value is not a valid setting
// and lower-cases enumerations, so Validate sees what will run. It is idempotent.
//
// Resolved here so consumers need no inheritance logic of their own:
//   - each Instance.GARP field left zero takes Config.GARP's value (but a
//     master_delay written as 0, GARP.MasterDelaySet, stays 0);
//   - AllowedPeers empty takes a copy of UnicastPeers;
//   - a Tracker's Timeout left zero takes its Interval;
//   - a process tracker's Quorum left zero becomes 1 unless QuorumMax is 0;
//   - Auth.Type left empty becomes "pass" when a password is set, else "none".
//
// Not touched, because zero is meaningful there: Preempt, Telemetry.Listen ("" turns
// telemetry off), GARP.MasterDelay/Refresh/Interval. Those defaults are applied while
// decoding a file and by DefaultConfig/DefaultInstance.
func (c *Config) Normalize() {
	if !c.McastGroup4.IsValid() {
		c.McastGroup4 = DefaultMcastGroup4
	}
	if !c.McastGroup6.IsValid() {
		c.McastGroup6 = DefaultMcastGroup6
	}
	if c.GARP.MasterRepeat == 0 {
		c.GARP.MasterRepeat = DefaultGARPMasterRepeat
	}
	if c.GARP.RefreshRepeat == 0 {
		c.GARP.RefreshRepeat = DefaultGARPRefreshRepeat
	}
	c.Dataplane.AttachMode = lowerOr(c.Dataplane.AttachMode, DefaultAttachMode)
	if c.Dataplane.PinPath == "" {
		c.Dataplane.PinPath = DefaultPinPath
	}
	c.SplitBrain.Action = lowerOr(c.SplitBrain.Action, DefaultSplitBrain)

	for i := range c.Instances {
		in := &c.Instances[i]
		if in.Version == 0 {
			in.Version = DefaultVersion
		}
		if in.AdvertInterval == 0 {
			in.AdvertInterval = DefaultAdvertInterval
		}
		in.State = lowerOr(in.State, DefaultState)
		in.Auth.Type = strings.ToLower(in.Auth.Type)
		if in.Auth.Type == "" {
			in.Auth.Type = DefaultAuthType
			if in.Auth.Password != "" {
				in.Auth.Type = "pass"
			}
		}
		in.GARP = inheritGARP(in.GARP, c.GARP)
		if len(in.AllowedPeers) == 0 && len(in.UnicastPeers) > 0 {
			in.AllowedPeers = slices.Clone(in.UnicastPeers)
		}
	}
	for name, t := range c.Trackers {
		if t.Interval == 0 {
			t.Interval = DefaultTrackerInterval
		}
		if t.Timeout == 0 {
			t.Timeout = t.Interval
		}
		if t.Rise == 0 {
			t.Rise = DefaultTrackerRise
		}
		if t.Fall == 0 {
			t.Fall = DefaultTrackerFall
		}
		if t.Process != nil && t.Process.Quorum == 0 && (t.Process.QuorumMax == nil || *t.Process.QuorumMax > 0) {
			pc := *t.Process
			pc.Quorum = DefaultProcessQuorum
			t.Process = &pc
		}
		if t.HTTP != nil && t.HTTP.ExpectStatus == 0 {
			h := *t.HTTP
			h.ExpectStatus = DefaultHTTPStatus
			t.HTTP = &h
		}
		c.Trackers[name] = t
	}
}

// inheritGARP fills the zero fields of an instance's GARP settings from the global
// ones; a master delay written as 0 (MasterDelaySet) stays 0.
func inheritGARP(in, global GARP) GARP {
	if in.MasterDelay == 0 && !in.MasterDelaySet {
		in.MasterDelay = global.MasterDelay
	}
	// Only an explicit 0 needs remembering; a non-zero delay is never inherited.
	in.MasterDelaySet = in.MasterDelaySet && in.MasterDelay == 0
	if in.MasterRepeat == 0 {
		in.MasterRepeat = global.MasterRepeat
	}
	if in.Refresh == 0 {
		in.Refresh = global.Refresh
	}
	if in.RefreshRepeat == 0 {
		in.RefreshRepeat = global.RefreshRepeat
	}
	if in.Interval == 0 {
		in.Interval = global.Interval
	}
	if in.LowerPrio == nil {
		in.LowerPrio = global.LowerPrio
	}
	return in
}

func lowerOr(s, def string) string {
	if s == "" {
		return def
	}
	return strings.ToLower(s)
}
