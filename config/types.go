package config

import (
	"net/netip"
	"time"
)

// Config is one complete, validated ebpfvrrp configuration. Both loaders (YAML/TOML/JSON
// through viper, and keepalived.conf) produce this type; everything downstream consumes
// only this type. Field tags are the YAML keys.
type Config struct {
	// RouterID names this node in logs and metrics (keepalived's global_defs router_id).
	RouterID string `mapstructure:"router_id" yaml:"router_id,omitempty"`

	// Defaults applied to every instance that does not set its own GARP values
	// (keepalived's global vrrp_garp_* settings).
	GARP GARP `mapstructure:"garp" yaml:"garp,omitempty"`

	// Multicast groups used for adverts (keepalived's vrrp_mcast_group4/6).
	McastGroup4 netip.Addr `mapstructure:"mcast_group4" yaml:"mcast_group4,omitempty"`
	McastGroup6 netip.Addr `mapstructure:"mcast_group6" yaml:"mcast_group6,omitempty"`

	// ScriptUser runs scripts as this user unless a script sets its own.
	ScriptUser string `mapstructure:"script_user" yaml:"script_user,omitempty"`

	Instances  []Instance         `mapstructure:"instances" yaml:"instances"`
	Trackers   map[string]Tracker `mapstructure:"trackers" yaml:"trackers,omitempty"`
	SyncGroups []SyncGroup        `mapstructure:"sync_groups" yaml:"sync_groups,omitempty"`
	Dataplane  Dataplane          `mapstructure:"dataplane" yaml:"dataplane,omitempty"`
	Telemetry  Telemetry          `mapstructure:"telemetry" yaml:"telemetry,omitempty"`
	SplitBrain SplitBrain         `mapstructure:"split_brain" yaml:"split_brain,omitempty"`

	// ScriptSecurity is keepalived's enable_script_security: read so that
	// `ebpfvrrp -t` fails where `keepalived -t` does; ebpfvrrp itself performs no
	// script ownership checks. Not part of the schema.
	ScriptSecurity bool `mapstructure:"-" yaml:"-"`
	// Keepalived is set when the config was read from keepalived.conf syntax.
	Keepalived bool `mapstructure:"-" yaml:"-"`

	// Source is the file this config was read from (not part of the schema).
	Source string `mapstructure:"-" yaml:"-"`
	// Warnings lists what was read but is not implemented (keepalived keywords we
	// skip), each with file:line. Not part of the schema.
	Warnings []Warning `mapstructure:"-" yaml:"-"`
	// Positions maps a field path as Problem.Path spells it ("instances[0].vrid",
	// "trackers.chk_nginx.interval") to where its value was written, so Validate can
	// name file and line. Loaders fill it; a path without an entry inherits its
	// parent's position. Not part of the schema.
	Positions map[string]Position `mapstructure:"-" yaml:"-"`
}

// Position is where a configuration value was written: a file and 1-based line, or
// for an environment override File "$EBPFVRRP_..." and Line 0.
type Position struct {
	File string
	Line int
}

// Warning is a non-fatal finding while loading, e.g. an unsupported keepalived keyword.
type Warning struct {
	File    string
	Line    int
	Message string
	// UnknownKeyword: a keepalived.conf keyword neither ebpfvrrp nor keepalived
	// knows. The daemon ignores it as keepalived does; `ebpfvrrp -t` fails on it
	// as `keepalived -t` does.
	UnknownKeyword bool
}

// Instance is one VRRP instance (keepalived's vrrp_instance).
type Instance struct {
	Name      string `mapstructure:"name" yaml:"name"`
	Interface string `mapstructure:"interface" yaml:"interface"`
	VRID      int    `mapstructure:"vrid" yaml:"vrid"`
	// Priority 1–255; 255 means address owner.
	Priority int `mapstructure:"priority" yaml:"priority"`
	// Version is the VRRP version, 2 (RFC 3768, IPv4 only) or 3 (RFC 5798).
	Version int `mapstructure:"version" yaml:"version"`
	// AdvertInterval: v2 whole seconds 1–255, v3 10ms–40.95s in centisecond steps.
	AdvertInterval time.Duration `mapstructure:"advert_interval" yaml:"advert_interval"`
	// State is the initial state hint: "backup" (default) or "master".
	State        string        `mapstructure:"state" yaml:"state,omitempty"`
	Preempt      bool          `mapstructure:"preempt" yaml:"preempt"`
	PreemptDelay time.Duration `mapstructure:"preempt_delay" yaml:"preempt_delay,omitempty"`
	Auth         Auth          `mapstructure:"auth" yaml:"auth,omitempty"`
	// VIPs are advertised and added on Master. All must be of one family.
	VIPs []VIP `mapstructure:"vips" yaml:"vips"`
	// ExcludedVIPs are added on Master but not carried in adverts.
	ExcludedVIPs []VIP `mapstructure:"excluded_vips" yaml:"excluded_vips,omitempty"`
	// UnicastSource/UnicastPeers switch the instance from multicast to unicast adverts.
	UnicastSource netip.Addr   `mapstructure:"unicast_source" yaml:"unicast_source,omitempty"`
	UnicastPeers  []netip.Addr `mapstructure:"unicast_peers" yaml:"unicast_peers,omitempty"`
	// AllowedPeers, when not empty, is the only set of sources whose adverts the kernel
	// accepts. Defaults to UnicastPeers when those are set.
	AllowedPeers []netip.Addr `mapstructure:"allowed_peers" yaml:"allowed_peers,omitempty"`
	// Track lists trackers by name (keys of Config.Trackers) with optional weight override.
	Track           []TrackRef       `mapstructure:"track" yaml:"track,omitempty"`
	TrackInterfaces []TrackInterface `mapstructure:"track_interfaces" yaml:"track_interfaces,omitempty"`
	// DontTrackPrimary: link down on Interface does not cause FAULT.
	DontTrackPrimary bool   `mapstructure:"dont_track_primary" yaml:"dont_track_primary,omitempty"`
	Notify           Notify `mapstructure:"notify" yaml:"notify,omitempty"`
	// GARP overrides Config.GARP for this instance; zero fields inherit.
	GARP    GARP `mapstructure:"garp" yaml:"garp,omitempty"`
	UseVMAC bool `mapstructure:"use_vmac" yaml:"use_vmac,omitempty"`
	// Accept is VRRPv3's Accept_Mode (keepalived's accept / no_accept): false
	// makes a Master that is not the address owner (priority < 255) drop
	// traffic to its VIPs in XDP. Unset means true, keepalived's default
	// without vrrp_strict.
	Accept *bool `mapstructure:"accept" yaml:"accept,omitempty"`
	// VirtualRoutes and VirtualRules are added when the instance becomes
	// Master and removed when it stops being one (keepalived's virtual_routes
	// and virtual_rules), one line each in keepalived's syntax (see Route, Rule):
	// "198.18.9.0/24 via 198.18.0.254 dev eth0 table 100", "from 198.18.9.0/24 table 100".
	VirtualRoutes []string `mapstructure:"virtual_routes" yaml:"virtual_routes,omitempty"`
	VirtualRules  []string `mapstructure:"virtual_rules" yaml:"virtual_rules,omitempty"`
	// SkipCheckAdvAddr is keepalived's skip_check_adv_addr: a Backup does not
	// compare the addresses of adverts from the master it follows with VIPs.
	SkipCheckAdvAddr bool `mapstructure:"skip_check_adv_addr" yaml:"skip_check_adv_addr,omitempty"`
	// SecondaryPaths are extra heartbeat paths for split-brain detection: another
	// interface, or a unicast address of the peer.
	SecondaryPaths []SecondaryPath `mapstructure:"secondary_paths" yaml:"secondary_paths,omitempty"`
}

// Auth is VRRPv2 authentication. Type "none" or "pass" (keepalived PASS, ≤8 bytes).
type Auth struct {
	Type     string `mapstructure:"type" yaml:"type,omitempty"`
	Password string `mapstructure:"password" yaml:"password,omitempty"`
}

// VIP is one virtual address. Prefix length defaults to /32 (v4) or /128 (v6),
// as keepalived does. In a file a VIP is this mapping or the one-line form
// "198.18.0.3/24 dev eth0 label eth0:1" (see ParseVIP).
type VIP struct {
	Address netip.Prefix `mapstructure:"address" yaml:"address"`
	Device  string       `mapstructure:"dev" yaml:"dev,omitempty"`
	Label   string       `mapstructure:"label" yaml:"label,omitempty"`
}

// TrackRef attaches a tracker to an instance. Weight nil: use the tracker's weight.
type TrackRef struct {
	Name   string `mapstructure:"name" yaml:"name"`
	Weight *int   `mapstructure:"weight" yaml:"weight,omitempty"`
}

// TrackInterface: link down means FAULT (weight 0) or priority += weight.
type TrackInterface struct {
	Name   string `mapstructure:"name" yaml:"name"`
	Weight int    `mapstructure:"weight" yaml:"weight,omitempty"`
}

// Tracker is a health check. Exactly one of Command, HTTP, TCP or File is set.
// Weight semantics are keepalived's: 0 means failure puts the instance in FAULT;
// positive adds weight while healthy; negative adds weight while failing.
type Tracker struct {
	// Command is argv, executed directly; with Shell it is passed to /bin/sh -c.
	// In a file it may be a list, or a string: split on whitespace (no quoting;
	// quotes are rejected), or with shell: true kept whole as the one sh -c argument.
	Command []string   `mapstructure:"command" yaml:"command,omitempty"`
	Shell   bool       `mapstructure:"shell" yaml:"shell,omitempty"`
	User    string     `mapstructure:"user" yaml:"user,omitempty"`
	HTTP    *HTTPCheck `mapstructure:"http" yaml:"http,omitempty"`
	TCP     *TCPCheck  `mapstructure:"tcp" yaml:"tcp,omitempty"`
	// File is keepalived's track_file: the file holds an integer; value*weight is added,
	// or with weight 0 a non-zero value means FAULT. keepalived's default weight for a
	// track_file is 1; the keepalived importer writes it out, while in YAML an omitted
	// weight is 0 as for every tracker.
	File string `mapstructure:"file" yaml:"file,omitempty"`
	// FileInit, with File, is keepalived's init_file: before the first check the
	// daemon writes Value (and a newline) to File when File does not exist; with
	// Overwrite it writes it whenever the daemon starts (not on a reload), and a File
	// that exists but is not a regular file is then an error. nil leaves File alone.
	FileInit *FileInit `mapstructure:"file_init" yaml:"file_init,omitempty"`
	// Interval between checks (default 1s); Timeout per check (default Interval).
	Interval time.Duration `mapstructure:"interval" yaml:"interval,omitempty"`
	Timeout  time.Duration `mapstructure:"timeout" yaml:"timeout,omitempty"`
	Weight   int           `mapstructure:"weight" yaml:"weight,omitempty"`
	Rise     int           `mapstructure:"rise" yaml:"rise,omitempty"`
	Fall     int           `mapstructure:"fall" yaml:"fall,omitempty"`
	// InitFail starts the tracker failed until its first result (keepalived's
	// init_fail); by default a tracker starts as succeeded. The daemon passes it
	// to control.TrackerConfig.InitFail.
	InitFail bool `mapstructure:"init_fail" yaml:"init_fail,omitempty"`
}

// FileInit is how a track_file's file is initialised (keepalived's
// "init_file [VALUE] [overwrite]").
type FileInit struct {
	// Value written to the file; keepalived's default is 0.
	Value int `mapstructure:"value" yaml:"value,omitempty"`
	// Overwrite: write Value even when the file exists (keepalived's "overwrite").
	Overwrite bool `mapstructure:"overwrite" yaml:"overwrite,omitempty"`
}

// HTTPCheck succeeds when GET URL answers ExpectStatus (default 200) within the timeout.
type HTTPCheck struct {
	URL          string `mapstructure:"url" yaml:"url"`
	ExpectStatus int    `mapstructure:"expect_status" yaml:"expect_status,omitempty"`
}

// TCPCheck succeeds when a TCP connect to Address (host:port) completes.
type TCPCheck struct {
	Address string `mapstructure:"address" yaml:"address"`
}

// Notify hooks, each argv. Generic is called as keepalived calls its notify script:
// argv + TYPE NAME STATE PRIORITY (TYPE is INSTANCE or GROUP).
type Notify struct {
	Master  []string `mapstructure:"master" yaml:"master,omitempty"`
	Backup  []string `mapstructure:"backup" yaml:"backup,omitempty"`
	Fault   []string `mapstructure:"fault" yaml:"fault,omitempty"`
	Stop    []string `mapstructure:"stop" yaml:"stop,omitempty"`
	Generic []string `mapstructure:"generic" yaml:"generic,omitempty"`
	Shell   bool     `mapstructure:"shell" yaml:"shell,omitempty"`
	// Timeout, when set, kills a hook still running after it (its whole process
	// group). Unset or 0: hooks run to completion, as keepalived never kills
	// notify scripts.
	Timeout time.Duration `mapstructure:"timeout" yaml:"timeout,omitempty"`
}

// GARP controls gratuitous ARP / unsolicited NA on becoming Master. Defaults are
// keepalived's: delay 5s after the first burst, repeat 5, no periodic refresh.
type GARP struct {
	// MasterDelay is the delay before the second burst; 0 sends no second burst.
	// In an instance, 0 inherits Config.GARP's value unless MasterDelaySet says
	// the 0 was written (keepalived's per-instance "garp_master_delay 0").
	MasterDelay time.Duration `mapstructure:"master_delay" yaml:"master_delay,omitempty"`
	// MasterDelaySet: master_delay was written for this instance, so a 0 is kept
	// rather than inherited. The loaders set it (YAML: the key is present; the
	// keepalived importer: an instance's garp_master_delay line); Normalize keeps
	// it only where it matters, i.e. where MasterDelay is 0. Not a key of its own.
	MasterDelaySet bool          `mapstructure:"-" yaml:"-"`
	MasterRepeat   int           `mapstructure:"master_repeat" yaml:"master_repeat,omitempty"`
	Refresh        time.Duration `mapstructure:"refresh" yaml:"refresh,omitempty"`
	RefreshRepeat  int           `mapstructure:"refresh_repeat" yaml:"refresh_repeat,omitempty"`
	Interval       time.Duration `mapstructure:"interval" yaml:"interval,omitempty"`
}

// SecondaryPath is a second heartbeat path: an interface, or a unicast peer address.
type SecondaryPath struct {
	Interface string     `mapstructure:"interface" yaml:"interface,omitempty"`
	Peer      netip.Addr `mapstructure:"peer" yaml:"peer,omitempty"`
}

// SyncGroup: member instances change state together (keepalived's vrrp_sync_group).
type SyncGroup struct {
	Name      string   `mapstructure:"name" yaml:"name"`
	Instances []string `mapstructure:"instances" yaml:"instances"`
	Notify    Notify   `mapstructure:"notify" yaml:"notify,omitempty"`
}

// Dataplane selects how the kernel programs attach and where maps are pinned.
type Dataplane struct {
	// AttachMode: auto (XDP native, then generic), xdp-native, xdp-generic, tc.
	AttachMode string `mapstructure:"attach_mode" yaml:"attach_mode,omitempty"`
	// PinPath defaults to /sys/fs/bpf/ebpfvrrp.
	PinPath string `mapstructure:"pin_path" yaml:"pin_path,omitempty"`
}

// Telemetry: Prometheus /metrics listen address, default 127.0.0.1:9864; "" disables.
type Telemetry struct {
	Listen string `mapstructure:"listen" yaml:"listen,omitempty"`
}

// SplitBrain: what to do when two Masters are seen. Action alert (default), demote, script.
type SplitBrain struct {
	Action string   `mapstructure:"action" yaml:"action,omitempty"`
	Script []string `mapstructure:"script" yaml:"script,omitempty"`
	// ProbeInterval: how often a Master ARP/NS-probes its VIPs (an answer from
	// another MAC is a split brain); default 1s, 0 disables.
	ProbeInterval time.Duration `mapstructure:"probe_interval" yaml:"probe_interval,omitempty"`
	// TakeoverOnPathFailure: take over even when the master is still heard on a
	// secondary path (default false).
	TakeoverOnPathFailure bool `mapstructure:"takeover_on_path_failure" yaml:"takeover_on_path_failure,omitempty"`
}
