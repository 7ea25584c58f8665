package config

// The keyword table of the keepalived.conf import, its single source: the lookup
// maps below are derived from it, and docs/keepalived.md is generated from it
// (go generate; TestKeywordDoc fails when the file is stale). Every keyword the
// importer knows is in exactly one class:
//
//   - kaActs: converted so that ebpfvrrp does what keepalived does. Each such row
//     needs a test naming it with a comment line "keyword: CONTEXT NAME" in a
//     _test.go file of this package (TestKeywordsActHaveTests).
//   - kaWarned: accepted with a warning at its line; the warning (Msg) says what
//     ebpfvrrp does instead, never only that the keyword is "ignored".
//   - kaRefused: an error at its line giving the reason (Msg).
//
// Rows with Handler set are converted by the block's switch in keepalived.go (or
// by the lexer), which also emits their warning; the others are handled by
// kaConverter.unhandled from the table alone. An unknown word within two edits of
// a keyword of its block is taken for a typo and is an error, because the setting
// the user meant would otherwise be lost; other unknown words are warned about, as
// keepalived ignores them too.

type kaClass uint8

const (
	kaActs kaClass = iota + 1
	kaWarned
	kaRefused
)

func (c kaClass) String() string {
	switch c {
	case kaActs:
		return "acts as keepalived does"
	case kaWarned:
		return "warned: done differently"
	case kaRefused:
		return "refused"
	}
	return "unknown"
}

// Contexts: where a keyword is written. The names are those of keepalived's
// blocks (kaCtxLine: any line, handled by the lexer); kaCtxTrackFile covers both track_file and vrrp_track_file blocks,
// kaCtxVIP and kaCtxPeer the options of a virtual_ipaddress or unicast_peer line.
const (
	kaCtxLine      = "any-line"
	kaCtxTop       = "top-level"
	kaCtxGlobal    = "global_defs"
	kaCtxScript    = "vrrp_script"
	kaCtxTrackFile = "track_file"
	kaCtxProcess   = "vrrp_track_process"
	kaCtxInstance  = "vrrp_instance"
	kaCtxSyncGroup = "vrrp_sync_group"
	kaCtxAuth      = "authentication"
	kaCtxVIP       = "virtual_ipaddress"
	kaCtxPeer      = "unicast_peer"
)

// kaContexts is the order of the contexts in docs/keepalived.md.
var kaContexts = []string{kaCtxLine, kaCtxTop, kaCtxGlobal, kaCtxScript, kaCtxTrackFile, kaCtxProcess, kaCtxInstance, kaCtxSyncGroup, kaCtxAuth, kaCtxVIP, kaCtxPeer}

// kaKeyword is one row of the table.
type kaKeyword struct {
	Ctx   string
	Name  string
	Class kaClass
	// Msg: for kaWarned the warning's text after "NAME: ", i.e. what ebpfvrrp does
	// instead; for kaRefused the reason; for kaActs an optional note for the docs.
	Msg string
	// Handler: converted (and warned about) by code, not by unhandled alone.
	Handler bool
	// TakesValue: a virtual_ipaddress / unicast_peer option followed by a value.
	TakesValue bool
}

func acts(ctx, name string) kaKeyword {
	return kaKeyword{Ctx: ctx, Name: name, Class: kaActs, Handler: true}
}

func actsNote(ctx, name, note string) kaKeyword {
	return kaKeyword{Ctx: ctx, Name: name, Class: kaActs, Msg: note, Handler: true}
}

// warned: a keyword only unhandled sees; warnedH: one the converter handles and
// warns about itself, with Msg.
func warned(ctx, name, msg string) kaKeyword {
	return kaKeyword{Ctx: ctx, Name: name, Class: kaWarned, Msg: msg}
}

func warnedH(ctx, name, msg string) kaKeyword {
	return kaKeyword{Ctx: ctx, Name: name, Class: kaWarned, Msg: msg, Handler: true}
}

func refusedH(ctx, name, msg string) kaKeyword {
	return kaKeyword{Ctx: ctx, Name: name, Class: kaRefused, Msg: msg, Handler: true}
}

// option: a warned virtual_ipaddress / unicast_peer option.
func option(ctx, name string, takesValue bool, msg string) kaKeyword {
	return kaKeyword{Ctx: ctx, Name: name, Class: kaWarned, Msg: msg, TakesValue: takesValue}
}

const (
	kaMsgLVS      = "LVS load balancing is not part of ebpfvrrp; use nginx/ipvsadm"
	kaMsgSMTP     = "SMTP alerts are not sent by ebpfvrrp; use notify scripts or alert on the Prometheus metrics"
	kaMsgSNMP     = "SNMP is not supported; state and counters are exported as Prometheus metrics"
	kaMsgDBus     = "the D-Bus interface is not supported; use `ebpfvrrp status` or the metrics"
	kaMsgFirewall = "ebpfvrrp installs no iptables/nftables rules for VIPs"
	kaMsgSched    = "process scheduling/affinity settings do not apply; set them in the systemd unit"
	kaMsgFIFO     = "nothing is written to this FIFO and its script is not run: there are no LVS checkers in ebpfvrrp (notify_fifo and vrrp_notify_fifo work)"
	kaMsgNetlink  = "netlink buffer tuning does not apply: adverts are filtered in the kernel by XDP"
	kaMsgProcess  = "process/daemon housekeeping settings do not apply to ebpfvrrp"
	kaMsgTrackGrp = "put track_* in each member vrrp_instance; sync-group tracking is not supported"
	kaMsgBFD      = "BFD is not supported; use a vrrp_script or a secondary heartbeat path"

	kaMsgStrict          = "What keepalived's strict mode reports as a config error is refused at its line (no VIP, authentication, preempt_delay, state MASTER without priority 255 or BACKUP with it, version 2 on IPv6, a first IPv6 VIP that is not link-local, accept on a VRRPv2 non-owner, garp_lower_prio_*, lower_prio_no_advert off, higher_prio_send_advert, vmac_xmit_base); without accept/no_accept the instance gets no_accept unless its priority is 255; unicast_peer is warned about and run, as keepalived runs it; no_accept is enforced in XDP, not by firewall rules"
	kaMsgNoAccept        = "a Master that is not the address owner drops traffic to its VIPs in XDP on every interface ebpfvrrp attaches to (ARP, neighbour discovery and VRRP pass); keepalived's firewall rule also drops packets sent from the VIPs, which ebpfvrrp does not"
	kaMsgCheckUnicastSrc = "a unicast instance always accepts adverts only from its unicast_peer addresses (or allowed_peers), with or without this keyword"
	kaMsgLowerPrioGARP   = "A Master hearing a lower-priority advert sends its GARP/NA schedule again: garp_master_repeat at once and again after garp_master_delay, keepalived's defaults for these; a repeat of 0 turns it off (strict mode's default); another count or delay is warned about and the master's is used"
	kaMsgLowerPrioAdvert = "a Master always answers a lower-priority advert with an advert at once (keepalived's default)"
	kaMsgPrioChanges     = "no line is written to a notify FIFO when the priority changes (keepalived writes one there, and runs no script either); notify scripts run on state changes only"

	// How notify scripts run (hooks.ExecNotifier): as keepalived runs them.
	kaMsgNotify = "Started at once and run to completion, concurrently with other hooks (YAML notify.timeout can bound them), as script_user or the USER [GROUP] after the script; a block's notify scripts must name the same user"
)

var kaKeywords = []kaKeyword{
	// Lexer level: any line of any file.
	acts(kaCtxLine, "include"),
	acts(kaCtxLine, "@ID / @^ID"),
	acts(kaCtxLine, "$NAME=VALUE"),
	refusedH(kaCtxLine, "~SEQ", "~SEQ is not supported; write the lines out"),
	refusedH(kaCtxLine, "multi-line $NAME=VALUE", "multi-line parameter definition $NAME is not supported; put it on one line"),

	// top-level
	acts(kaCtxTop, "global_defs"),
	acts(kaCtxTop, "vrrp_script"),
	acts(kaCtxTop, "vrrp_track_file"),
	acts(kaCtxTop, "track_file"),
	acts(kaCtxTop, "vrrp_instance"),
	acts(kaCtxTop, "vrrp_sync_group"),
	warned(kaCtxTop, "virtual_server", kaMsgLVS),
	warned(kaCtxTop, "virtual_server_group", kaMsgLVS),
	warned(kaCtxTop, "real_server", kaMsgLVS),
	warned(kaCtxTop, "SSL", "LVS checker SSL settings: "+kaMsgLVS),
	warned(kaCtxTop, "static_ipaddress", "addresses that are always present are not managed; configure them with the network manager"),
	warned(kaCtxTop, "static_routes", "static routes are not managed; configure them with the network manager"),
	warned(kaCtxTop, "static_rules", "static routing rules are not managed; configure them with the network manager"),
	warned(kaCtxTop, "track_group", "static address/route track groups are not supported"),
	warned(kaCtxTop, "garp_group", "per-interface GARP aggregation is not supported; GARP timing comes from vrrp_garp_* and garp_master_*"),
	warned(kaCtxTop, "linkbeat_interfaces", "MII/ethtool link polling is not supported; link state comes from netlink"),
	actsNote(kaCtxTop, "vrrp_track_process", "Processes are counted by reading /proc every interval (1 s), not through the proc connector, which the kernel serves only in the initial network namespace; so a fork and an exec are not told apart: fork_delay holds back any gained quorum, terminate_delay any lost one"),
	warned(kaCtxTop, "interface_up_down_delays", "link changes take effect at once: there are no up/down debounce delays"),
	warned(kaCtxTop, "bfd_instance", kaMsgBFD),
	warned(kaCtxTop, "net_namespace", "network namespaces are chosen by starting ebpfvrrp inside one (ip netns exec / NetworkNamespacePath=)"),

	// global_defs
	acts(kaCtxGlobal, "router_id"),
	acts(kaCtxGlobal, "vrrp_version"),
	acts(kaCtxGlobal, "vrrp_mcast_group4"),
	acts(kaCtxGlobal, "vrrp_mcast_group6"),
	acts(kaCtxGlobal, "vrrp_garp_master_delay"),
	acts(kaCtxGlobal, "vrrp_garp_master_repeat"),
	acts(kaCtxGlobal, "vrrp_garp_master_refresh"),
	acts(kaCtxGlobal, "vrrp_garp_master_refresh_repeat"),
	acts(kaCtxGlobal, "vrrp_garp_interval"),
	actsNote(kaCtxGlobal, "script_user", "Trackers' scripts and notify scripts run as USER[:GROUP] with only that group (keepalived's setgroups(1, &gid)); without script_user, as keepalived_script when that user exists, else root. The shipped unit grants CAP_SETUID/CAP_SETGID for it"),
	warnedH(kaCtxGlobal, "enable_script_security", "ebpfvrrp -t checks script ownership and permissions as keepalived -t does; the running daemon does not check them again before running a script, so keep scripts root-owned and not writable by others"),
	warned(kaCtxGlobal, "notification_email", kaMsgSMTP),
	warned(kaCtxGlobal, "notification_email_from", kaMsgSMTP),
	warned(kaCtxGlobal, "smtp_server", kaMsgSMTP),
	warned(kaCtxGlobal, "smtp_connect_timeout", kaMsgSMTP),
	warned(kaCtxGlobal, "smtp_helo_name", kaMsgSMTP),
	warned(kaCtxGlobal, "smtp_alert", kaMsgSMTP),
	warned(kaCtxGlobal, "smtp_alert_vrrp", kaMsgSMTP),
	warned(kaCtxGlobal, "smtp_alert_checker", kaMsgSMTP),
	warned(kaCtxGlobal, "email_faults", kaMsgSMTP),
	warned(kaCtxGlobal, "no_email_faults", kaMsgSMTP),
	warned(kaCtxGlobal, "enable_snmp_vrrp", kaMsgSNMP),
	warned(kaCtxGlobal, "enable_snmp_keepalived", kaMsgSNMP),
	warned(kaCtxGlobal, "enable_snmp_checker", kaMsgSNMP),
	warned(kaCtxGlobal, "enable_snmp_rfc", kaMsgSNMP),
	warned(kaCtxGlobal, "enable_snmp_rfcv2", kaMsgSNMP),
	warned(kaCtxGlobal, "enable_snmp_rfcv3", kaMsgSNMP),
	warned(kaCtxGlobal, "snmp_socket", kaMsgSNMP),
	warned(kaCtxGlobal, "enable_traps", kaMsgSNMP),
	warned(kaCtxGlobal, "enable_dbus", kaMsgDBus),
	warned(kaCtxGlobal, "dbus_service_name", kaMsgDBus),
	actsNote(kaCtxGlobal, "vrrp_strict", kaMsgStrict),
	warned(kaCtxGlobal, "vrrp_iptables", kaMsgFirewall),
	warned(kaCtxGlobal, "vrrp_ipsets", kaMsgFirewall),
	warned(kaCtxGlobal, "nftables", kaMsgFirewall),
	warned(kaCtxGlobal, "nftables_priority", kaMsgFirewall),
	warned(kaCtxGlobal, "nftables_counters", kaMsgFirewall),
	warned(kaCtxGlobal, "nftables_ifindex", kaMsgFirewall),
	warned(kaCtxGlobal, "nftables_no_lower_prio_vip", kaMsgFirewall),
	acts(kaCtxGlobal, "vrrp_skip_check_adv_addr"),
	warned(kaCtxGlobal, "vrrp_check_unicast_src", kaMsgCheckUnicastSrc),
	actsNote(kaCtxGlobal, "vrrp_garp_lower_prio_delay", kaMsgLowerPrioGARP),
	actsNote(kaCtxGlobal, "vrrp_garp_lower_prio_repeat", kaMsgLowerPrioGARP),
	warned(kaCtxGlobal, "vrrp_gna_interval", "a separate NA interval is not supported; vrrp_garp_interval applies to both ARP and NA"),
	warned(kaCtxGlobal, "vrrp_min_garp", "the vrrp_garp_master_* settings (or their defaults) apply; set vrrp_garp_master_repeat / vrrp_garp_master_refresh explicitly"),
	warned(kaCtxGlobal, "vrrp_lower_prio_no_advert", kaMsgLowerPrioAdvert),
	warned(kaCtxGlobal, "vrrp_higher_prio_send_advert", "a Master that sees a higher priority steps down without sending a final advert"),
	warned(kaCtxGlobal, "vrrp_down_timer_adverts", "the master-down interval is always 3 adverts + skew (RFC 5798)"),
	warned(kaCtxGlobal, "vrrp_garp_extra_if", "GARP on extra interfaces is not supported"),
	warned(kaCtxGlobal, "vrrp_priority", kaMsgSched),
	warned(kaCtxGlobal, "checker_priority", kaMsgSched),
	warned(kaCtxGlobal, "bfd_priority", kaMsgSched),
	warned(kaCtxGlobal, "vrrp_no_swap", kaMsgSched),
	warned(kaCtxGlobal, "checker_no_swap", kaMsgSched),
	warned(kaCtxGlobal, "bfd_no_swap", kaMsgSched),
	actsNote(kaCtxGlobal, "vrrp_rt_priority", "Runs the thread that sends adverts in SCHED_RR at this priority and the daemon's other threads at SCHED_RR 1 (scripts start in the normal class); needs CAP_SYS_NICE or LimitRTPRIO= in the unit, else a warning and the normal class"),
	warned(kaCtxGlobal, "checker_rt_priority", kaMsgSched),
	warned(kaCtxGlobal, "bfd_rt_priority", kaMsgSched),
	warned(kaCtxGlobal, "vrrp_rlimit_rttime", kaMsgSched),
	warned(kaCtxGlobal, "checker_rlimit_rttime", kaMsgSched),
	warned(kaCtxGlobal, "bfd_rlimit_rttime", kaMsgSched),
	warned(kaCtxGlobal, "vrrp_cpu_affinity", kaMsgSched),
	warned(kaCtxGlobal, "checker_cpu_affinity", kaMsgSched),
	warned(kaCtxGlobal, "bfd_cpu_affinity", kaMsgSched),
	warned(kaCtxGlobal, "lvs_id", kaMsgLVS),
	warned(kaCtxGlobal, "lvs_sync_daemon", kaMsgLVS),
	warned(kaCtxGlobal, "lvs_flush", kaMsgLVS),
	warned(kaCtxGlobal, "lvs_flush_onstop", kaMsgLVS),
	warned(kaCtxGlobal, "lvs_timeouts", kaMsgLVS),
	warned(kaCtxGlobal, "lvs_notify_fifo", kaMsgLVS),
	warned(kaCtxGlobal, "lvs_notify_fifo_script", kaMsgLVS),
	warned(kaCtxGlobal, "checker_log_all_failures", kaMsgLVS),
	warned(kaCtxGlobal, "dynamic_interfaces", "interfaces must exist when ebpfvrrp starts"),
	warned(kaCtxGlobal, "process_names", kaMsgProcess),
	warned(kaCtxGlobal, "process_name", kaMsgProcess),
	warned(kaCtxGlobal, "vrrp_process_name", kaMsgProcess),
	warned(kaCtxGlobal, "checker_process_name", kaMsgProcess),
	warned(kaCtxGlobal, "bfd_process_name", kaMsgProcess),
	warned(kaCtxGlobal, "net_namespace", "network namespaces are chosen by starting ebpfvrrp inside one (ip netns exec / NetworkNamespacePath=)"),
	warned(kaCtxGlobal, "net_namespace_ipvs", kaMsgLVS),
	warned(kaCtxGlobal, "namespace_with_ipsets", kaMsgFirewall),
	warned(kaCtxGlobal, "instance", kaMsgProcess),
	warned(kaCtxGlobal, "use_pid_dir", kaMsgProcess),
	warned(kaCtxGlobal, "child_wait_time", kaMsgProcess),
	warned(kaCtxGlobal, "umask", kaMsgProcess),
	warned(kaCtxGlobal, "random_seed", kaMsgProcess),
	warned(kaCtxGlobal, "reload_check_config", kaMsgProcess),
	warned(kaCtxGlobal, "reload_time_file", kaMsgProcess),
	warned(kaCtxGlobal, "reload_repeat", kaMsgProcess),
	warned(kaCtxGlobal, "reload_file", kaMsgProcess),
	warned(kaCtxGlobal, "config_save_dir", kaMsgProcess),
	warned(kaCtxGlobal, "data_use_instance", kaMsgProcess),
	warned(kaCtxGlobal, "tmp_config_directory", kaMsgProcess),
	warned(kaCtxGlobal, "use_symlink_paths", kaMsgProcess),
	warned(kaCtxGlobal, "startup_script", kaMsgProcess),
	warned(kaCtxGlobal, "startup_script_timeout", kaMsgProcess),
	warned(kaCtxGlobal, "shutdown_script", kaMsgProcess),
	warned(kaCtxGlobal, "shutdown_script_timeout", kaMsgProcess),
	warned(kaCtxGlobal, "max_auto_priority", kaMsgSched),
	warned(kaCtxGlobal, "min_auto_priority_delay", kaMsgSched),
	warned(kaCtxGlobal, "no_checker_emails", kaMsgSMTP),
	actsNote(kaCtxGlobal, "notify_fifo", "Lines `INSTANCE \"NAME\" STATE PRIORITY` and `GROUP \"NAME\" STATE 0` on every state change, as keepalived writes them; keepalived's LVS checker lines do not exist here. A USER [GROUP] owner after the path is warned about (the FIFO stays the daemon's, mode 0644)"),
	actsNote(kaCtxGlobal, "notify_fifo_script", "Started with the FIFO's path as its last argument before the FIFO is opened, as script_user or USER [GROUP]; SIGTERM at exit"),
	actsNote(kaCtxGlobal, "vrrp_notify_fifo", "The same lines as notify_fifo (ebpfvrrp has only VRRP events)"),
	actsNote(kaCtxGlobal, "vrrp_notify_fifo_script", "As notify_fifo_script, for vrrp_notify_fifo"),
	warned(kaCtxGlobal, "checker_notify_fifo", kaMsgFIFO),
	warned(kaCtxGlobal, "checker_notify_fifo_script", kaMsgFIFO),
	warned(kaCtxGlobal, "fifo_write_vrrp_states_on_reload", "a reload writes no lines for the states the instances already had; the notify FIFOs get lines on state changes only"),
	warned(kaCtxGlobal, "vrrp_notify_priority_changes", kaMsgPrioChanges),
	actsNote(kaCtxGlobal, "vrrp_startup_delay", "Not applied when the daemon takes over running Masters (upgrade, restart), which keepalived cannot do"),
	warned(kaCtxGlobal, "vrrp_netlink_cmd_rcv_bufs", kaMsgNetlink),
	warned(kaCtxGlobal, "vrrp_netlink_cmd_rcv_bufs_force", kaMsgNetlink),
	warned(kaCtxGlobal, "vrrp_netlink_monitor_rcv_bufs", kaMsgNetlink),
	warned(kaCtxGlobal, "vrrp_netlink_monitor_rcv_bufs_force", kaMsgNetlink),
	warned(kaCtxGlobal, "lvs_netlink_cmd_rcv_bufs", kaMsgLVS),
	warned(kaCtxGlobal, "lvs_netlink_cmd_rcv_bufs_force", kaMsgLVS),
	warned(kaCtxGlobal, "lvs_netlink_monitor_rcv_bufs", kaMsgLVS),
	warned(kaCtxGlobal, "lvs_netlink_monitor_rcv_bufs_force", kaMsgLVS),
	warned(kaCtxGlobal, "vrrp_rx_bufs_policy", kaMsgNetlink),
	warned(kaCtxGlobal, "vrrp_rx_bufs_multiplier", kaMsgNetlink),
	warned(kaCtxGlobal, "vrrp_track_process", "vrrp_track_process is a top-level block, not a global_defs keyword: no process is tracked by this one; move it out of global_defs"),
	warned(kaCtxGlobal, "linkbeat_use_polling", "MII/ethtool link polling is not supported; link state comes from netlink"),
	warned(kaCtxGlobal, "bfd_nlmsg_timeout", kaMsgBFD),

	// vrrp_script
	acts(kaCtxScript, "script"),
	acts(kaCtxScript, "interval"),
	acts(kaCtxScript, "timeout"),
	acts(kaCtxScript, "weight"),
	acts(kaCtxScript, "rise"),
	acts(kaCtxScript, "fall"),
	actsNote(kaCtxScript, "user", "The script runs as USER[:GROUP], as with script_user"),
	acts(kaCtxScript, "init_fail"),

	// track_file
	acts(kaCtxTrackFile, "file"),
	acts(kaCtxTrackFile, "weight"),
	acts(kaCtxTrackFile, "init_file"),

	// vrrp_track_process
	acts(kaCtxProcess, "process"),
	acts(kaCtxProcess, "param_match"),
	acts(kaCtxProcess, "weight"),
	acts(kaCtxProcess, "quorum"),
	acts(kaCtxProcess, "quorum_max"),
	acts(kaCtxProcess, "fork_delay"),
	acts(kaCtxProcess, "terminate_delay"),
	acts(kaCtxProcess, "delay"),
	acts(kaCtxProcess, "full_command"),

	// vrrp_instance
	acts(kaCtxInstance, "state"),
	acts(kaCtxInstance, "interface"),
	acts(kaCtxInstance, "virtual_router_id"),
	acts(kaCtxInstance, "priority"),
	acts(kaCtxInstance, "advert_int"),
	acts(kaCtxInstance, "version"),
	acts(kaCtxInstance, "authentication"),
	acts(kaCtxInstance, "virtual_ipaddress"),
	acts(kaCtxInstance, "virtual_ipaddress_excluded"),
	acts(kaCtxInstance, "nopreempt"),
	acts(kaCtxInstance, "preempt"),
	acts(kaCtxInstance, "preempt_delay"),
	acts(kaCtxInstance, "unicast_src_ip"),
	acts(kaCtxInstance, "unicast_peer"),
	acts(kaCtxInstance, "track_interface"),
	acts(kaCtxInstance, "track_script"),
	acts(kaCtxInstance, "track_file"),
	acts(kaCtxInstance, "garp_master_delay"),
	acts(kaCtxInstance, "garp_master_repeat"),
	acts(kaCtxInstance, "garp_master_refresh"),
	acts(kaCtxInstance, "garp_master_refresh_repeat"),
	actsNote(kaCtxInstance, "use_vmac", "IPv4 and IPv6; an IPv6 VMAC gets the parent's link-local address, which adverts leave from, as keepalived; an interface name after it is ignored with a warning"),
	acts(kaCtxInstance, "dont_track_primary"),
	actsNote(kaCtxInstance, "accept", "the default unless vrrp_strict / strict_mode"),
	actsNote(kaCtxInstance, "notify_master", kaMsgNotify),
	actsNote(kaCtxInstance, "notify_backup", kaMsgNotify),
	actsNote(kaCtxInstance, "notify_fault", kaMsgNotify),
	actsNote(kaCtxInstance, "notify_stop", kaMsgNotify),
	actsNote(kaCtxInstance, "notify", kaMsgNotify+"; called with INSTANCE NAME STATE PRIORITY; SPLIT_BRAIN and SPLIT_BRAIN_END (ebpfvrrp's own states) only with YAML split_brain.notify"),
	actsNote(kaCtxInstance, "mcast_src_ip", "The adverts' source address, multicast or unicast: keepalived and ebpfvrrp read it and unicast_src_ip as one setting"),
	warned(kaCtxInstance, "track_src_ip", "not applied: the instance does not go to FAULT when its advert source address goes away"),
	warned(kaCtxInstance, "unicast_ttl", "not applied: unicast adverts are sent with TTL 255, and received ones are accepted whatever their TTL"),
	warned(kaCtxInstance, "check_unicast_src", kaMsgCheckUnicastSrc),
	warned(kaCtxInstance, "old_unicast_checksum", "adverts are sent with the RFC checksum; received unicast VRRPv3 adverts with the old one are accepted anyway"),
	warned(kaCtxInstance, "native_ipv6", "an instance's family follows its VIPs"),
	warned(kaCtxInstance, "use_vmac_addr", "the VMAC's address is always 00:00:5e:00:01:VRID (IPv4) or 00:00:5e:00:02:VRID (IPv6)"),
	warned(kaCtxInstance, "vmac_xmit_base", "with use_vmac adverts are sent from the VMAC interface"),
	warned(kaCtxInstance, "use_ipvlan", "ipvlan interfaces are not supported; use use_vmac (macvlan)"),
	acts(kaCtxInstance, "track_process"),
	warned(kaCtxInstance, "track_bfd", kaMsgBFD),
	warned(kaCtxInstance, "promote_secondaries", "set net.ipv4.conf.IFACE.promote_secondaries=1 with sysctl instead"),
	warned(kaCtxInstance, "linkbeat_use_polling", "MII/ethtool link polling is not supported; link state comes from netlink"),
	actsNote(kaCtxInstance, "virtual_routes", "options other than src, to, via/gw, dev, table, metric, scope, proto and the route types are warned and not applied; with \"or\" only the first gateway is used"),
	actsNote(kaCtxInstance, "virtual_rules", "options other than from, to, iif, oif, fwmark, priority and table are warned and not applied"),
	actsNote(kaCtxInstance, "no_accept", kaMsgNoAccept),
	acts(kaCtxInstance, "skip_check_adv_addr"),
	actsNote(kaCtxInstance, "strict_mode", kaMsgStrict),
	warned(kaCtxInstance, "debug", "use --log-level debug"),
	warned(kaCtxInstance, "notify_deleted", "an instance removed by a reload runs its notify_stop script and notify with STOP, as when ebpfvrrp stops; keepalived sends FAULT then, or DELETED with this keyword, and runs its script"),
	warned(kaCtxInstance, "notify_master_rx_lower_pri", "no notify script runs when a Master hears a lower priority"),
	warned(kaCtxInstance, "smtp_alert", kaMsgSMTP),
	warned(kaCtxInstance, "notify_priority_changes", kaMsgPrioChanges),
	warned(kaCtxInstance, "lvs_sync_daemon_interface", kaMsgLVS),
	actsNote(kaCtxInstance, "garp_lower_prio_delay", kaMsgLowerPrioGARP),
	actsNote(kaCtxInstance, "garp_lower_prio_repeat", kaMsgLowerPrioGARP),
	warned(kaCtxInstance, "down_timer_adverts", "the master-down interval is always 3 adverts + skew (RFC 5798)"),
	warned(kaCtxInstance, "garp_extra_if", "GARP on extra interfaces is not supported"),
	warned(kaCtxInstance, "vmac_garp_intvl", "GARP on extra interfaces is not supported"),
	warned(kaCtxInstance, "lower_prio_no_advert", kaMsgLowerPrioAdvert),
	warned(kaCtxInstance, "higher_prio_send_advert", "a Master that sees a higher priority steps down without sending a final advert"),
	warned(kaCtxInstance, "kernel_rx_buf_size", kaMsgNetlink),

	// vrrp_sync_group
	acts(kaCtxSyncGroup, "group"),
	actsNote(kaCtxSyncGroup, "notify_master", kaMsgNotify),
	actsNote(kaCtxSyncGroup, "notify_backup", kaMsgNotify),
	actsNote(kaCtxSyncGroup, "notify_fault", kaMsgNotify),
	actsNote(kaCtxSyncGroup, "notify_stop", kaMsgNotify+"; runs when the daemon stops, after the instances' notify_stop"),
	actsNote(kaCtxSyncGroup, "notify", kaMsgNotify+"; called with GROUP NAME STATE 0"),
	warned(kaCtxSyncGroup, "track_interface", kaMsgTrackGrp),
	warned(kaCtxSyncGroup, "track_script", kaMsgTrackGrp),
	warned(kaCtxSyncGroup, "track_file", kaMsgTrackGrp),
	warned(kaCtxSyncGroup, "track_process", kaMsgTrackGrp),
	warned(kaCtxSyncGroup, "track_bfd", kaMsgTrackGrp),
	warned(kaCtxSyncGroup, "smtp_alert", kaMsgSMTP),
	actsNote(kaCtxSyncGroup, "global_tracking", "Old name of sync_group_tracking_weight"),
	actsNote(kaCtxSyncGroup, "sync_group_tracking_weight", "Members keep their trackers' weights; without it, as in keepalived, a member's tracked interfaces and files get weight 0 (FAULT) and a vrrp_script with a weight is not tracked, each with a warning"),
	warned(kaCtxSyncGroup, "notify_priority_changes", kaMsgPrioChanges),

	// authentication
	acts(kaCtxAuth, "auth_type"),
	acts(kaCtxAuth, "auth_pass"),

	// virtual_ipaddress
	acts(kaCtxVIP, "dev"),
	acts(kaCtxVIP, "label"),
	option(kaCtxVIP, "brd", true, "not supported and ignored: the address is added without it"),
	option(kaCtxVIP, "broadcast", true, "not supported and ignored: the address is added without it"),
	option(kaCtxVIP, "scope", true, "not supported and ignored: the address is added without it"),
	option(kaCtxVIP, "peer", true, "not supported and ignored: the address is added without it"),
	option(kaCtxVIP, "track_group", true, "not supported and ignored: the address is added without it"),
	option(kaCtxVIP, "preferred_lft", true, "not supported and ignored: the address is added without it"),
	option(kaCtxVIP, "home", false, "not supported and ignored: the address is added without it"),
	option(kaCtxVIP, "-nodad", false, "not supported and ignored: the address is added without it"),
	option(kaCtxVIP, "nodad", false, "not supported and ignored: the address is added without it"),
	option(kaCtxVIP, "noprefixroute", false, "not supported and ignored: the address is added without it"),
	option(kaCtxVIP, "autojoin", false, "not supported and ignored: the address is added without it"),
	option(kaCtxVIP, "no_track", false, "not supported and ignored: the address is added without it"),

	// unicast_peer
	option(kaCtxPeer, "min_ttl", true, "not checked: unicast adverts are accepted whatever their TTL"),
	option(kaCtxPeer, "max_ttl", true, "not checked: unicast adverts are accepted whatever their TTL"),
}

// Lookup maps derived from kaKeywords: per context, the keywords the converter
// handles (kaX) and those only unhandled sees, with their warning (kaXUnsupported).
var (
	kaTopLevel, kaTopLevelUnsupported    = kaMaps(kaCtxTop)
	kaGlobal, kaGlobalUnsupported        = kaMaps(kaCtxGlobal)
	kaScript, kaScriptUnsupported        = kaMaps(kaCtxScript)
	kaTrackFile, kaTrackFileUnsupported  = kaMaps(kaCtxTrackFile)
	kaProcess, kaProcessUnsupported      = kaMaps(kaCtxProcess)
	kaInstance, kaInstanceUnsupported    = kaMaps(kaCtxInstance)
	kaSyncGroup, kaSyncGroupUnsupported  = kaMaps(kaCtxSyncGroup)
	kaAuth, _                            = kaMaps(kaCtxAuth)
	kaVIPOptions, kaVIPOptionUnsupported = kaMaps(kaCtxVIP)
)

func kaMaps(ctx string) (handled map[string]bool, generic map[string]string) {
	handled, generic = map[string]bool{}, map[string]string{}
	for _, k := range kaKeywords {
		if k.Ctx != ctx {
			continue
		}
		if k.Handler {
			handled[k.Name] = true
		} else {
			generic[k.Name] = k.Msg
		}
	}
	return handled, generic
}

// kaLookup returns the row of name in ctx.
func kaLookup(ctx, name string) (kaKeyword, bool) {
	for _, k := range kaKeywords {
		if k.Ctx == ctx && k.Name == name {
			return k, true
		}
	}
	return kaKeyword{}, false
}

// kaMsg is the table's message for a row the converter handles; it panics on a
// row that does not exist, which the tests reach.
func kaMsg(ctx, name string) string {
	k, ok := kaLookup(ctx, name)
	if !ok {
		panic("config: no keepalived keyword " + ctx + " " + name)
	}
	return k.Msg
}

// suggest returns the keyword of the given sets closest to word if it is within two
// edits (and the word is not so short that two edits make it anything).
func kaSuggest(word string, sets ...any) string {
	best, bestD := "", 3
	consider := func(k string) {
		d := editDistance(word, k)
		if d > 2 || d*2 >= len(k) {
			return
		}
		if d < bestD || (d == bestD && k < best) {
			best, bestD = k, d
		}
	}
	for _, s := range sets {
		switch m := s.(type) {
		case map[string]bool:
			for k := range m {
				consider(k)
			}
		case map[string]string:
			for k := range m {
				consider(k)
			}
		}
	}
	return best
}
