package config

// Keyword tables for the keepalived.conf import. A keyword is either handled (in
// keepalived.go), known but not implemented (a warning naming what keepalived would
// have done), or unknown. An unknown word within two edits of a keyword of its block
// is taken for a typo and is an error, because the setting the user meant would
// otherwise be lost.

const (
	kaMsgLVS      = "LVS load balancing is not part of ebpfvrrp; use nginx/ipvsadm"
	kaMsgSMTP     = "SMTP alerts are not sent by ebpfvrrp; use notify scripts or alert on the Prometheus metrics"
	kaMsgSNMP     = "SNMP is not supported; state and counters are exported as Prometheus metrics"
	kaMsgDBus     = "the D-Bus interface is not supported; use `ebpfvrrp status` or the metrics"
	kaMsgFirewall = "ebpfvrrp installs no iptables/nftables rules for VIPs"
	kaMsgSched    = "process scheduling/affinity settings do not apply; set them in the systemd unit"
	kaMsgFIFO     = "notify FIFOs are not supported; use notify scripts"
	kaMsgNetlink  = "netlink buffer tuning does not apply: adverts are filtered in the kernel by XDP"
	kaMsgProcess  = "process/daemon housekeeping settings do not apply to ebpfvrrp"
	kaMsgTrackGrp = "put track_* in each member vrrp_instance; sync-group tracking is not supported"
	kaMsgBFD      = "BFD is not supported; use a vrrp_script or a secondary heartbeat path"
	// kaMsgInitFilePending: init_file is converted (Tracker.FileInit) but the daemon
	// does not act on it yet. Remove the warning when it does.
	kaMsgInitFilePending = "init_file: read into the tracker's file_init, but ebpfvrrp does not create or write the file yet; create it before starting (until it exists the tracker reads value 0)"
)

var kaTopLevel = map[string]bool{
	"global_defs": true, "vrrp_script": true, "vrrp_instance": true,
	"vrrp_sync_group": true, "vrrp_track_file": true, "track_file": true,
}

var kaTopLevelUnsupported = map[string]string{
	"virtual_server":           kaMsgLVS,
	"virtual_server_group":     kaMsgLVS,
	"real_server":              kaMsgLVS,
	"SSL":                      "LVS checker SSL settings: " + kaMsgLVS,
	"static_ipaddress":         "addresses that are always present are not managed; configure them with the network manager",
	"static_routes":            "static routes are not managed; configure them with the network manager",
	"static_rules":             "static routing rules are not managed; configure them with the network manager",
	"track_group":              "static address/route track groups are not supported",
	"garp_group":               "per-interface GARP aggregation is not supported; GARP timing comes from vrrp_garp_* and garp_master_*",
	"linkbeat_interfaces":      "MII/ethtool link polling is not supported; link state comes from netlink",
	"vrrp_track_process":       "process tracking is not supported; use a vrrp_script such as \"pidof nginx\"",
	"interface_up_down_delays": "link up/down debounce delays are not supported",
	"bfd_instance":             kaMsgBFD,
	"net_namespace":            "network namespaces are chosen by starting ebpfvrrp inside one (ip netns exec / NetworkNamespacePath=)",
}

var kaGlobal = map[string]bool{
	"router_id": true, "vrrp_version": true, "vrrp_mcast_group4": true, "vrrp_mcast_group6": true,
	"vrrp_garp_master_delay": true, "vrrp_garp_master_repeat": true, "vrrp_garp_master_refresh": true,
	"vrrp_garp_master_refresh_repeat": true, "vrrp_garp_interval": true,
	"script_user": true, "enable_script_security": true,
}

var kaGlobalUnsupported = map[string]string{
	"notification_email":                  kaMsgSMTP,
	"notification_email_from":             kaMsgSMTP,
	"smtp_server":                         kaMsgSMTP,
	"smtp_connect_timeout":                kaMsgSMTP,
	"smtp_helo_name":                      kaMsgSMTP,
	"smtp_alert":                          kaMsgSMTP,
	"smtp_alert_vrrp":                     kaMsgSMTP,
	"smtp_alert_checker":                  kaMsgSMTP,
	"email_faults":                        kaMsgSMTP,
	"no_email_faults":                     kaMsgSMTP,
	"enable_snmp_vrrp":                    kaMsgSNMP,
	"enable_snmp_keepalived":              kaMsgSNMP,
	"enable_snmp_checker":                 kaMsgSNMP,
	"enable_snmp_rfc":                     kaMsgSNMP,
	"enable_snmp_rfcv2":                   kaMsgSNMP,
	"enable_snmp_rfcv3":                   kaMsgSNMP,
	"snmp_socket":                         kaMsgSNMP,
	"enable_traps":                        kaMsgSNMP,
	"enable_dbus":                         kaMsgDBus,
	"dbus_service_name":                   kaMsgDBus,
	"vrrp_strict":                         "strict RFC mode is not enforced (auth, unicast and VIP firewall rules stay as configured); " + kaMsgFirewall,
	"vrrp_iptables":                       kaMsgFirewall,
	"vrrp_ipsets":                         kaMsgFirewall,
	"nftables":                            kaMsgFirewall,
	"nftables_priority":                   kaMsgFirewall,
	"nftables_counters":                   kaMsgFirewall,
	"nftables_ifindex":                    kaMsgFirewall,
	"nftables_no_lower_prio_vip":          kaMsgFirewall,
	"vrrp_skip_check_adv_addr":            "adverts are always checked against the configured VIPs' count, not their addresses",
	"vrrp_check_unicast_src":              "use allowed_peers to restrict advert sources (defaults to the unicast peers)",
	"vrrp_garp_lower_prio_delay":          "GARP on receiving a lower-priority advert is not sent",
	"vrrp_garp_lower_prio_repeat":         "GARP on receiving a lower-priority advert is not sent",
	"vrrp_gna_interval":                   "a separate NA interval is not supported; vrrp_garp_interval applies to both ARP and NA",
	"vrrp_min_garp":                       "set vrrp_garp_master_repeat / vrrp_garp_master_refresh explicitly",
	"vrrp_lower_prio_no_advert":           "a Master always answers a lower-priority advert with its own (RFC behaviour)",
	"vrrp_higher_prio_send_advert":        "a Master that sees a higher priority steps down without sending a final advert",
	"vrrp_down_timer_adverts":             "the master-down interval is always 3 adverts + skew (RFC 5798)",
	"vrrp_garp_extra_if":                  "GARP on extra interfaces is not supported",
	"vrrp_priority":                       kaMsgSched,
	"checker_priority":                    kaMsgSched,
	"bfd_priority":                        kaMsgSched,
	"vrrp_no_swap":                        kaMsgSched,
	"checker_no_swap":                     kaMsgSched,
	"bfd_no_swap":                         kaMsgSched,
	"vrrp_rt_priority":                    kaMsgSched,
	"checker_rt_priority":                 kaMsgSched,
	"bfd_rt_priority":                     kaMsgSched,
	"vrrp_rlimit_rttime":                  kaMsgSched,
	"checker_rlimit_rttime":               kaMsgSched,
	"bfd_rlimit_rttime":                   kaMsgSched,
	"vrrp_cpu_affinity":                   kaMsgSched,
	"checker_cpu_affinity":                kaMsgSched,
	"bfd_cpu_affinity":                    kaMsgSched,
	"lvs_id":                              kaMsgLVS,
	"lvs_sync_daemon":                     kaMsgLVS,
	"lvs_flush":                           kaMsgLVS,
	"lvs_flush_onstop":                    kaMsgLVS,
	"lvs_timeouts":                        kaMsgLVS,
	"lvs_notify_fifo":                     kaMsgLVS,
	"lvs_notify_fifo_script":              kaMsgLVS,
	"checker_log_all_failures":            kaMsgLVS,
	"dynamic_interfaces":                  "interfaces must exist when ebpfvrrp starts",
	"process_names":                       kaMsgProcess,
	"process_name":                        kaMsgProcess,
	"vrrp_process_name":                   kaMsgProcess,
	"checker_process_name":                kaMsgProcess,
	"bfd_process_name":                    kaMsgProcess,
	"net_namespace":                       "network namespaces are chosen by starting ebpfvrrp inside one (ip netns exec / NetworkNamespacePath=)",
	"net_namespace_ipvs":                  kaMsgLVS,
	"namespace_with_ipsets":               kaMsgFirewall,
	"instance":                            kaMsgProcess,
	"use_pid_dir":                         kaMsgProcess,
	"child_wait_time":                     kaMsgProcess,
	"umask":                               kaMsgProcess,
	"random_seed":                         kaMsgProcess,
	"reload_check_config":                 kaMsgProcess,
	"reload_time_file":                    kaMsgProcess,
	"reload_repeat":                       kaMsgProcess,
	"reload_file":                         kaMsgProcess,
	"config_save_dir":                     kaMsgProcess,
	"data_use_instance":                   kaMsgProcess,
	"tmp_config_directory":                kaMsgProcess,
	"use_symlink_paths":                   kaMsgProcess,
	"startup_script":                      kaMsgProcess,
	"startup_script_timeout":              kaMsgProcess,
	"shutdown_script":                     kaMsgProcess,
	"shutdown_script_timeout":             kaMsgProcess,
	"max_auto_priority":                   kaMsgSched,
	"min_auto_priority_delay":             kaMsgSched,
	"no_checker_emails":                   kaMsgSMTP,
	"notify_fifo":                         kaMsgFIFO,
	"notify_fifo_script":                  kaMsgFIFO,
	"vrrp_notify_fifo":                    kaMsgFIFO,
	"vrrp_notify_fifo_script":             kaMsgFIFO,
	"checker_notify_fifo":                 kaMsgFIFO,
	"checker_notify_fifo_script":          kaMsgFIFO,
	"fifo_write_vrrp_states_on_reload":    kaMsgFIFO,
	"vrrp_notify_priority_changes":        "notify scripts run on state changes only, not on priority changes",
	"vrrp_startup_delay":                  "a startup delay is not supported; order ebpfvrrp after network-online.target",
	"vrrp_netlink_cmd_rcv_bufs":           kaMsgNetlink,
	"vrrp_netlink_cmd_rcv_bufs_force":     kaMsgNetlink,
	"vrrp_netlink_monitor_rcv_bufs":       kaMsgNetlink,
	"vrrp_netlink_monitor_rcv_bufs_force": kaMsgNetlink,
	"lvs_netlink_cmd_rcv_bufs":            kaMsgLVS,
	"lvs_netlink_cmd_rcv_bufs_force":      kaMsgLVS,
	"lvs_netlink_monitor_rcv_bufs":        kaMsgLVS,
	"lvs_netlink_monitor_rcv_bufs_force":  kaMsgLVS,
	"vrrp_rx_bufs_policy":                 kaMsgNetlink,
	"vrrp_rx_bufs_multiplier":             kaMsgNetlink,
	"vrrp_track_process":                  "process tracking is not supported; use a vrrp_script such as \"pidof nginx\"",
	"linkbeat_use_polling":                "MII/ethtool link polling is not supported; link state comes from netlink",
	"bfd_nlmsg_timeout":                   kaMsgBFD,
}

var kaInstance = map[string]bool{
	"state": true, "interface": true, "virtual_router_id": true, "priority": true, "advert_int": true,
	"version": true, "authentication": true, "virtual_ipaddress": true, "virtual_ipaddress_excluded": true,
	"nopreempt": true, "preempt": true, "preempt_delay": true, "unicast_src_ip": true, "unicast_peer": true,
	"track_interface": true, "track_script": true, "track_file": true,
	"notify": true, "notify_master": true, "notify_backup": true, "notify_fault": true, "notify_stop": true,
	"garp_master_delay": true, "garp_master_repeat": true, "garp_master_refresh": true,
	"garp_master_refresh_repeat": true, "use_vmac": true, "dont_track_primary": true,
}

var kaInstanceUnsupported = map[string]string{
	"mcast_src_ip":               "the multicast advert source is the interface's primary address; for a fixed source use unicast_src_ip with unicast_peer",
	"track_src_ip":               "FAULT on loss of the advert source address is not supported",
	"unicast_ttl":                "unicast adverts are sent with TTL 255 (RFC 5798)",
	"check_unicast_src":          "use allowed_peers to restrict advert sources (defaults to the unicast peers)",
	"old_unicast_checksum":       "only the RFC checksum is supported",
	"native_ipv6":                "an instance's family follows its VIPs",
	"use_vmac_addr":              "the VMAC's address is always 00:00:5e:00:01:VRID",
	"vmac_xmit_base":             "with use_vmac adverts are sent from the VMAC interface",
	"use_ipvlan":                 "ipvlan interfaces are not supported; use use_vmac (macvlan)",
	"track_process":              "process tracking is not supported; use a vrrp_script such as \"pidof nginx\"",
	"track_bfd":                  kaMsgBFD,
	"promote_secondaries":        "set net.ipv4.conf.IFACE.promote_secondaries=1 with sysctl instead",
	"linkbeat_use_polling":       "MII/ethtool link polling is not supported; link state comes from netlink",
	"virtual_routes":             "routes are not added or removed with the VIPs",
	"virtual_rules":              "routing rules are not added or removed with the VIPs",
	"accept":                     "ebpfvrrp installs no firewall rules, so a Master always accepts traffic to its VIPs",
	"no_accept":                  "ebpfvrrp installs no firewall rules, so a Master always accepts traffic to its VIPs",
	"skip_check_adv_addr":        "adverts are always checked against the configured VIPs' count, not their addresses",
	"strict_mode":                "strict RFC mode is not enforced; " + kaMsgFirewall,
	"debug":                      "use --log-level debug",
	"notify_deleted":             "no notify script runs when an instance is removed by a reload",
	"notify_master_rx_lower_pri": "no notify script runs when a Master hears a lower priority",
	"smtp_alert":                 kaMsgSMTP,
	"notify_priority_changes":    "notify scripts run on state changes only, not on priority changes",
	"lvs_sync_daemon_interface":  kaMsgLVS,
	"garp_lower_prio_delay":      "GARP on receiving a lower-priority advert is not sent",
	"garp_lower_prio_repeat":     "GARP on receiving a lower-priority advert is not sent",
	"down_timer_adverts":         "the master-down interval is always 3 adverts + skew (RFC 5798)",
	"garp_extra_if":              "GARP on extra interfaces is not supported",
	"vmac_garp_intvl":            "GARP on extra interfaces is not supported",
	"lower_prio_no_advert":       "a Master always answers a lower-priority advert with its own (RFC behaviour)",
	"higher_prio_send_advert":    "a Master that sees a higher priority steps down without sending a final advert",
	"kernel_rx_buf_size":         kaMsgNetlink,
}

var kaScript = map[string]bool{
	"script": true, "interval": true, "timeout": true, "weight": true, "rise": true, "fall": true, "user": true,
}

var kaScriptUnsupported = map[string]string{
	"init_fail": "a script starts in the failed state only until its first result; init_fail is not supported",
}

var kaTrackFile = map[string]bool{"file": true, "weight": true, "init_file": true}

var kaTrackFileUnsupported = map[string]string{}

var kaSyncGroup = map[string]bool{
	"group": true, "notify": true, "notify_master": true, "notify_backup": true, "notify_fault": true, "notify_stop": true,
}

var kaSyncGroupUnsupported = map[string]string{
	"track_interface":            kaMsgTrackGrp,
	"track_script":               kaMsgTrackGrp,
	"track_file":                 kaMsgTrackGrp,
	"track_process":              kaMsgTrackGrp,
	"track_bfd":                  kaMsgTrackGrp,
	"smtp_alert":                 kaMsgSMTP,
	"global_tracking":            kaMsgTrackGrp,
	"sync_group_tracking_weight": kaMsgTrackGrp,
	"notify_priority_changes":    "notify scripts run on state changes only, not on priority changes",
}

var kaAuth = map[string]bool{"auth_type": true, "auth_pass": true}

// VIP options (virtual_ipaddress lines) that are accepted but have no effect; the
// value says whether the option takes an argument.
var kaVIPOptionUnsupported = map[string]bool{
	"brd": true, "broadcast": true, "scope": true, "peer": true, "track_group": true, "preferred_lft": true,
	"home": false, "-nodad": false, "nodad": false, "noprefixroute": false, "autojoin": false, "no_track": false,
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
