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

	// StartupDelay holds every instance back this long after the daemon starts
	// (keepalived's vrrp_startup_delay): not after a reload, and not when the
	// daemon takes over Masters from an earlier run (upgrade, restart).
	StartupDelay time.Duration `mapstructure:"startup_delay" yaml:"startup_delay,omitempty"`

	// ScriptUser runs trackers' commands and notify hooks as "USER[:GROUP]"
	// (names or ids) unless a tracker or notify block sets its own user
	// (keepalived's script_user USER [GROUP]). Empty: as the daemon's user.
	ScriptUser string `mapstructure:"script_user" yaml:"script_user,omitempty"`

	Instances  []Instance         `mapstructure:"instances" yaml:"instances"`
	Trackers   map[string]Tracker `mapstructure:"trackers" yaml:"trackers,omitempty"`
	SyncGroups []SyncGroup        `mapstructure:"sync_groups" yaml:"sync_groups,omitempty"`
	Dataplane  Dataplane          `mapstructure:"dataplane" yaml:"dataplane,omitempty"`
	Telemetry  Telemetry          `mapstructure:"telemetry" yaml:"telemetry,omitempty"`
	SplitBrain SplitBrain         `mapstructure:"split_brain" yaml:"split_brain,omitempty"`
	// NotifyFIFO and VRRPNotifyFIFO are keepalived's notify_fifo and
	// vrrp_notify_fifo: each state change is written to the pipe as a line
	// `INSTANCE "VI_1" MASTER 100` or `GROUP "G1" BACKUP 0`. keepalived writes
	// its LVS checkers' events to notify_fifo too; ebpfvrrp has none, so the two
	// receive the same lines.
	NotifyFIFO     NotifyFIFO `mapstructure:"notify_fifo" yaml:"notify_fifo,omitempty"`
	VRRPNotifyFIFO NotifyFIFO `mapstructure:"vrrp_notify_fifo" yaml:"vrrp_notify_fifo,omitempty"`
	Scheduling     Scheduling `mapstructure:"scheduling" yaml:"scheduling,omitempty"`

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

// KeepalivedScriptUser is whom keepalived runs scripts as when script_user is not
// set, if that user exists, else root (keepalived lib/notify.c,
// set_default_script_user); the daemon does the same for a keepalived.conf, and
// with enable_script_security the user must exist.
const KeepalivedScriptUser = "keepalived_script"

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
	// UnicastSource is the adverts' source address (keepalived's unicast_src_ip,
	// or mcast_src_ip, which sets the same address); by default the interface's
	// primary address. UnicastPeers switch the instance from multicast to unicast
	// adverts, sent to them.
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
	// NoAccept is keepalived's no_accept (RFC 5798 Accept_Mode false): a Master
	// that is not the address owner (priority < 255) does not accept traffic to
	// its VIPs: the XDP program drops it (ARP, neighbour discovery and VRRP
	// pass). The keepalived importer sets it for vrrp_strict instances without
	// accept/no_accept, as keepalived does.
	NoAccept bool `mapstructure:"no_accept" yaml:"no_accept,omitempty"`
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

// Tracker is a health check. Exactly one of Command, HTTP, TCP, File or Process is set.
// Weight semantics are keepalived's: 0 means failure puts the instance in FAULT;
// positive adds weight while healthy; negative adds weight while failing.
type Tracker struct {
	// Command is argv, executed directly; with Shell it is passed to /bin/sh -c.
	// In a file it may be a list, or a string: split on whitespace (no quoting;
	// quotes are rejected), or with shell: true kept whole as the one sh -c argument.
	Command []string `mapstructure:"command" yaml:"command,omitempty"`
	Shell   bool     `mapstructure:"shell" yaml:"shell,omitempty"`
	// User runs Command as "USER[:GROUP]" (keepalived's vrrp_script user USER
	// [GROUP]); empty: as ScriptUser.
	User string     `mapstructure:"user" yaml:"user,omitempty"`
	HTTP *HTTPCheck `mapstructure:"http" yaml:"http,omitempty"`
	TCP  *TCPCheck  `mapstructure:"tcp" yaml:"tcp,omitempty"`
	// File is keepalived's track_file: the file holds an integer; value*weight is added,
	// or with weight 0 a non-zero value means FAULT. An omitted weight is 1, as
	// keepalived's for a track_file (other trackers' omitted weight is 0).
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
	// Process is keepalived's vrrp_track_process: up while the number of running
	// processes that match is within the quorum.
	Process *ProcessCheck `mapstructure:"process" yaml:"process,omitempty"`
	// InitFail starts the tracker failed until its first result (keepalived's
	// init_fail); by default a tracker starts as succeeded. The daemon passes it
	// to control.TrackerConfig.InitFail.
	InitFail bool `mapstructure:"init_fail" yaml:"init_fail,omitempty"`
}

// ProcessCheck matches running processes as keepalived's vrrp_track_process does
// (keepalived/core/track_process.c): Name is compared exactly (no pattern, unlike
// pgrep) with the process name, /proc/PID/stat's comm (at most 15 bytes; zombies
// do not count), or with FullCommand — implied by Args or ParamMatch — with the
// first word of /proc/PID/cmdline, Args then with the words after it.
type ProcessCheck struct {
	Name string   `mapstructure:"name" yaml:"name"`
	Args []string `mapstructure:"args" yaml:"args,omitempty"`
	// ParamMatch says how Args are compared: "exact" (the default once Args or
	// ParamMatch is set: exactly these arguments, none when Args is empty),
	// "partial" (the first len(Args) arguments are these) or "initial" (as
	// partial, but the last one need only start with Args' last).
	ParamMatch  string `mapstructure:"param_match" yaml:"param_match,omitempty"`
	FullCommand bool   `mapstructure:"full_command" yaml:"full_command,omitempty"`
	// Quorum is the least number of matching processes for success (default 1;
	// 0 only with QuorumMax 0). QuorumMax, when set, the most: 0 means success
	// only while no such process runs.
	Quorum    int  `mapstructure:"quorum" yaml:"quorum,omitempty"`
	QuorumMax *int `mapstructure:"quorum_max" yaml:"quorum_max,omitempty"`
	// ForkDelay holds a gained quorum back this long before the tracker goes up,
	// TerminateDelay a lost one before it goes down (keepalived's fork_delay,
	// terminate_delay; delay sets both).
	ForkDelay      time.Duration `mapstructure:"fork_delay" yaml:"fork_delay,omitempty"`
	TerminateDelay time.Duration `mapstructure:"terminate_delay" yaml:"terminate_delay,omitempty"`
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
// argv + TYPE NAME STATE PRIORITY (TYPE is INSTANCE or GROUP, PRIORITY 0 for a
// group). It receives SPLIT_BRAIN / SPLIT_BRAIN_END only with split_brain.notify.
type Notify struct {
	Master  []string `mapstructure:"master" yaml:"master,omitempty"`
	Backup  []string `mapstructure:"backup" yaml:"backup,omitempty"`
	Fault   []string `mapstructure:"fault" yaml:"fault,omitempty"`
	Stop    []string `mapstructure:"stop" yaml:"stop,omitempty"`
	Generic []string `mapstructure:"generic" yaml:"generic,omitempty"`
	Shell   bool     `mapstructure:"shell" yaml:"shell,omitempty"`
	// User runs these hooks as "USER[:GROUP]" (keepalived's notify_* SCRIPT USER
	// [GROUP]); empty: as Config.ScriptUser.
	User string `mapstructure:"user" yaml:"user,omitempty"`
	// Timeout, when set, kills a hook still running after it (its whole process
	// group). Unset or 0: hooks run to completion, as keepalived never kills
	// notify scripts.
	Timeout time.Duration `mapstructure:"timeout" yaml:"timeout,omitempty"`
}

// NotifyFIFO is a named pipe the daemon writes state changes to (created, mode
// 0644, unless it exists; removed at exit if created), and the script that reads
// it, started before the pipe is opened with the pipe's path as its last
// argument and sent SIGTERM at exit, as keepalived does.
type NotifyFIFO struct {
	Path   string   `mapstructure:"path" yaml:"path,omitempty"`
	Script []string `mapstructure:"script" yaml:"script,omitempty"`
	// User runs Script as "USER[:GROUP]"; empty: as script_user.
	User string `mapstructure:"user" yaml:"user,omitempty"`
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
	// LowerPrio: a Master that hears a lower-priority advert sends this schedule
	// again (keepalived's garp_lower_prio_*). nil: inherit, and by default yes;
	// false is keepalived's garp_lower_prio_repeat 0 (strict mode's default).
	LowerPrio *bool `mapstructure:"lower_prio" yaml:"lower_prio,omitempty"`
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

// Scheduling: how the daemon's threads are scheduled.
type Scheduling struct {
	// RTPriority, 1-99, runs the advert thread (the advert clock, the state
	// machines' advert tick and the sendmmsg calls) in SCHED_RR at this
	// priority and the daemon's other threads in SCHED_RR at 1 (they hand
	// the advert thread the runtime's P it runs on), so busy processes of the
	// normal class cannot delay a Master's adverts (keepalived's global_defs
	// vrrp_rt_priority; scripts still start in the normal class). It needs
	// CAP_SYS_NICE or an RLIMIT_RTPRIO of at least this value (the shipped
	// unit's LimitRTPRIO=); without either the daemon warns and runs it in
	// the normal class. 0 (default): normal class.
	RTPriority int `mapstructure:"rt_priority" yaml:"rt_priority,omitempty"`
}

// SplitBrain: what to do when two Masters are seen. Action alert (default), demote, script.
type SplitBrain struct {
	Action string   `mapstructure:"action" yaml:"action,omitempty"`
	Script []string `mapstructure:"script" yaml:"script,omitempty"`
	// ProbeInterval: how often a Master ARP/NS-probes its VIPs (an answer from
	// another MAC is a split brain); default 1s, 0 disables.
	ProbeInterval time.Duration `mapstructure:"probe_interval" yaml:"probe_interval,omitempty"`
	// Notify also calls every instance's generic notify script with state
	// SPLIT_BRAIN when another Master is seen and SPLIT_BRAIN_END when that
	// ends (default false: keepalived never sends these states).
	Notify bool `mapstructure:"notify" yaml:"notify,omitempty"`
	// TakeoverOnPathFailure: take over even when the master is still heard on a
	// secondary path (default false).
	TakeoverOnPathFailure bool `mapstructure:"takeover_on_path_failure" yaml:"takeover_on_path_failure,omitempty"`
}
