package config

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestInvalidConfigs: every config here must be rejected with exactly these problems,
// each naming file:line, field path, the value and what is allowed.
func TestInvalidConfigs(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "vrid out of range",
			yaml: `
instances:
  - name: VI_1
    interface: eth0
    vrid: 300
    vips: [198.18.0.3]
`,
			want: []string{"t.yaml:5: instances[0].vrid: 300 is outside 1–255"},
		},
		{
			name: "notify fifo problems",
			yaml: `
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    vips: [198.18.0.3]
notify_fifo:
  path: run/keepalived.fifo
vrrp_notify_fifo:
  script: [/usr/local/bin/read-fifo]
`,
			want: []string{
				`t.yaml:8: notify_fifo.path: "run/keepalived.fifo" is not an absolute path`,
				"t.yaml:9: vrrp_notify_fifo.path: a script or user needs path: the FIFO to create and write to",
			},
		},
		{
			name: "one FIFO for both",
			yaml: `
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    vips: [198.18.0.3]
notify_fifo:
  path: /run/k.fifo
vrrp_notify_fifo:
  path: /run/k.fifo
`,
			want: []string{"t.yaml:10: vrrp_notify_fifo.path: /run/k.fifo is notify_fifo's path too; every line would be written to it twice (use one of them)"},
		},
		{
			name: "vrid missing",
			yaml: `
instances:
  - name: VI_1
    interface: eth0
    vips: [198.18.0.3]
`,
			want: []string{"t.yaml:3: instances[0].vrid: 0 is outside 1–255"},
		},
		{
			name: "priority out of range",
			yaml: `
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    priority: 256
    vips: [198.18.0.3]
`,
			want: []string{"t.yaml:6: instances[0].priority: 256 is outside 1–255 (255 means address owner)"},
		},
		{
			// An explicit zero must be reported, not replaced by the default 100.
			name: "priority zero",
			yaml: `
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    priority: 0
    vips: [198.18.0.3]
`,
			want: []string{"t.yaml:6: instances[0].priority: 0 is outside 1–255 (255 means address owner)"},
		},
		{
			name: "unknown version",
			yaml: `
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    version: 4
    vips: [198.18.0.3]
`,
			want: []string{"t.yaml:6: instances[0].version: 4 is not a VRRP version; allowed: 2, 3"},
		},
		{
			name: "v2 fractional interval",
			yaml: `
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    advert_interval: 1.5
    vips: [198.18.0.3]
`,
			want: []string{"t.yaml:6: instances[0].advert_interval: 1.5s is not allowed for VRRPv2: whole seconds 1s–255s (set version: 3 for sub-second)"},
		},
		{
			name: "v2 interval too long",
			yaml: `
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    advert_interval: 5m
    vips: [198.18.0.3]
`,
			want: []string{"t.yaml:6: instances[0].advert_interval: 5m0s is not allowed for VRRPv2: whole seconds 1s–255s (set version: 3 for sub-second)"},
		},
		{
			name: "v3 interval below 10ms",
			yaml: `
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    version: 3
    advert_interval: 5ms
    vips: [198.18.0.3]
`,
			want: []string{"t.yaml:7: instances[0].advert_interval: 5ms is outside 10ms–40.95s for VRRPv3"},
		},
		{
			name: "v3 interval not centiseconds",
			yaml: `
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    version: 3
    advert_interval: 0.015
    vips: [198.18.0.3]
`,
			want: []string{"t.yaml:7: instances[0].advert_interval: 15ms is not a multiple of 10ms (VRRPv3 counts centiseconds)"},
		},
		{
			name: "v2 is IPv4 only",
			yaml: `
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    vips: [fd00:198:18::3]
`,
			want: []string{"t.yaml:6: instances[0].vips[0]: fd00:198:18::3/128 is IPv6; VRRPv2 carries only IPv4 (set version: 3)"},
		},
		{
			name: "mixed families",
			yaml: `
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    version: 3
    vips:
      - 198.18.0.3
      - fd00:198:18::3
`,
			want: []string{"t.yaml:9: instances[0].vips[1]: fd00:198:18::3/128 is IPv6 but vips[0] is IPv4; an instance carries one family (use a second instance)"},
		},
		{
			name: "no VIPs and no interface",
			yaml: `
instances:
  - name: VI_1
    vrid: 50
    vips: []
`,
			want: []string{
				"t.yaml:3: instances[0].interface: is required: the interface VRRP runs on",
				"t.yaml:5: instances[0].vips: at least one VIP is required",
			},
		},
		{
			name: "duplicate and empty names",
			yaml: `
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    vips: [198.18.0.3]
  - name: VI_1
    interface: eth0
    vrid: 51
    vips: [198.18.0.4]
  - interface: eth0
    vrid: 52
    vips: [198.18.0.5]
`,
			want: []string{
				`t.yaml:7: instances[1].name: "VI_1" is already the name of instances[0]`,
				"t.yaml:11: instances[2].name: is required: every instance needs a unique name",
			},
		},
		{
			name: "same interface vrid family",
			yaml: `
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    vips: [198.18.0.3]
  - name: VI_2
    interface: eth0
    vrid: 50
    vips: [198.18.0.4]
`,
			want: []string{"t.yaml:9: instances[1].vrid: 50 on eth0 (IPv4) is already used by instances[0] (VI_1); a virtual router is unique per interface, VRID and family"},
		},
		{
			name: "auth type unsupported",
			yaml: `
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    auth: {type: AH, password: secret}
    vips: [198.18.0.3]
`,
			want: []string{`t.yaml:6: instances[0].auth.type: "ah" is not supported; allowed: none, pass`},
		},
		{
			name: "pass with v3 and long password",
			yaml: `
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    version: 3
    auth:
      type: pass
      password: "123456789"
    vips: [198.18.0.3]
`,
			want: []string{
				"t.yaml:8: instances[0].auth.type: pass is VRRPv2 only (RFC 5798 removed authentication); use type: none with version: 3",
				"t.yaml:9: instances[0].auth.password: is 9 bytes; a PASS password is 1–8 bytes",
			},
		},
		{
			name: "password with type none",
			yaml: `
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    auth:
      type: none
      password: 1111
    vips: [198.18.0.3]
`,
			want: []string{"t.yaml:8: instances[0].auth.password: is set but auth type is none; set type: pass or remove it"},
		},
		{
			name: "source and peer families (a source without peers is the multicast source)",
			yaml: `
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    vips: [198.18.0.3]
    unicast_source: fd00:198:18::5
  - name: VI_2
    interface: eth0
    vrid: 51
    vips: [198.18.0.4]
    unicast_source: 198.18.0.5
    unicast_peers:
      - 198.18.0.6
      - fd00:198:18::6
`,
			want: []string{
				"t.yaml:7: instances[0].unicast_source: fd00:198:18::5 is IPv6 but the VIPs are IPv4",
				"t.yaml:15: instances[1].unicast_peers[1]: fd00:198:18::6 is IPv6 but the VIPs are IPv4",
			},
		},
		{
			name: "track unknown tracker and bad weight",
			yaml: `
trackers:
  chk_nginx:
    tcp: {address: "127.0.0.1:80"}
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    vips: [198.18.0.3]
    track:
      - chk_ngnix
      - {name: chk_nginx, weight: 254}
`,
			want: []string{
				`t.yaml:11: instances[0].track[0]: "chk_ngnix" is not a tracker; defined: chk_nginx`,
				"t.yaml:12: instances[0].track[1].weight: 254 is outside -253–253",
			},
		},
		{
			name: "tracker without and with two checks",
			yaml: `
trackers:
  empty:
    interval: 2s
  both:
    command: /usr/bin/true
    file: /run/ebpfvrrp/prio
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    vips: [198.18.0.3]
`,
			want: []string{
				"t.yaml:3: trackers.empty: set exactly one of command, http, tcp, file, process; none is set",
				"t.yaml:5: trackers.both: set exactly one of command, http, tcp, file, process; command and file are set",
			},
		},
		{
			name: "tracker timing and weight",
			yaml: `
trackers:
  chk:
    command: [/usr/bin/true]
    interval: -1s
    timeout: -2
    fall: -1
    weight: -254
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    vips: [198.18.0.3]
`,
			want: []string{
				"t.yaml:5: trackers.chk.interval: -1s must be positive",
				"t.yaml:6: trackers.chk.timeout: -2s must be positive",
				"t.yaml:7: trackers.chk.fall: -1 must be at least 1",
				"t.yaml:8: trackers.chk.weight: -254 is outside -253–253",
			},
		},
		{
			name: "http and tcp checks",
			yaml: `
trackers:
  web:
    http: {url: "ftp://127.0.0.1/", expect_status: 700}
  port:
    tcp: {address: "127.0.0.1"}
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    vips: [198.18.0.3]
`,
			want: []string{
				`t.yaml:4: trackers.web.http.url: "ftp://127.0.0.1/" is not an http:// or https:// URL with a host`,
				"t.yaml:4: trackers.web.http.expect_status: 700 is not an HTTP status (100–599)",
				`t.yaml:6: trackers.port.tcp.address: "127.0.0.1" is not host:port`,
			},
		},
		{
			name: "sync groups",
			yaml: `
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    vips: [198.18.0.3]
sync_groups:
  - name: G1
    instances: [VI_1, VI_9]
  - name: G2
    instances: [VI_1]
`,
			want: []string{
				`t.yaml:9: sync_groups[0].instances[1]: "VI_9" is not an instance name`,
				`t.yaml:11: sync_groups[1].instances[0]: "VI_1" is already in sync group "G1"; an instance belongs to at most one`,
			},
		},
		{
			name: "dataplane, telemetry, multicast group",
			yaml: `
mcast_group4: 198.18.0.18
dataplane:
  attach_mode: xdp
  pin_path: relative/path
telemetry:
  listen: "127.0.0.1"
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    vips: [198.18.0.3]
`,
			want: []string{
				"t.yaml:2: mcast_group4: 198.18.0.18 is not an IPv4 multicast address (default 224.0.0.18)",
				`t.yaml:4: dataplane.attach_mode: "xdp" is not an attach mode; allowed: auto, xdp-native, xdp-generic, tc`,
				`t.yaml:5: dataplane.pin_path: "relative/path" must be a clean absolute path on a bpffs mount (default /sys/fs/bpf/ebpfvrrp)`,
				`t.yaml:7: telemetry.listen: "127.0.0.1" is not host:port (for example 127.0.0.1:9864; "" disables telemetry)`,
			},
		},
		{
			name: "split brain script without argv",
			yaml: `
split_brain:
  action: script
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    vips: [198.18.0.3]
`,
			want: []string{"t.yaml:2: split_brain.script: action script needs script: the command to run (argv)"},
		},
		{
			name: "split brain unknown action",
			yaml: `
split_brain:
  action: shoot-the-other-node
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    vips: [198.18.0.3]
`,
			want: []string{`t.yaml:3: split_brain.action: "shoot-the-other-node" is not a split-brain action; allowed: alert, demote, script`},
		},
		{
			name: "preempt delay",
			yaml: `
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    preempt_delay: 1001
    vips: [198.18.0.3]
  - name: VI_2
    interface: eth0
    vrid: 51
    preempt: false
    preempt_delay: 10s
    vips: [198.18.0.4]
`,
			want: []string{
				"t.yaml:6: instances[0].preempt_delay: 16m41s is outside 0s–1000s",
				"t.yaml:12: instances[1].preempt_delay: 10s has no effect with preempt: false",
			},
		},
		{
			name: "state",
			yaml: `
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    state: SLAVE
    vips: [198.18.0.3]
`,
			want: []string{`t.yaml:6: instances[0].state: "slave" is not an initial state; allowed: backup, master`},
		},
		{
			name: "unknown keys",
			yaml: `
router-id: lb-5
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    prioirty: 150
    vips: [198.18.0.3]
    auth: {typ: pass, password: "1111", salt: x}
`,
			want: []string{
				`t.yaml:2: router-id: unknown key "router-id" (did you mean "router_id"?)`,
				`t.yaml:7: instances[0].prioirty: unknown key "prioirty" (did you mean "priority"?)`,
				`t.yaml:9: instances[0].auth.salt: unknown key "salt"; allowed: password, type`,
				`t.yaml:9: instances[0].auth.typ: unknown key "typ" (did you mean "type"?)`,
			},
		},
		{
			name: "wrong types",
			yaml: `
instances:
  - name: VI_1
    interface: eth0
    vrid: fifty
    priority: 150.5
    preempt: yes
    advert_interval: fast
    vips: 198.18.0.3
`,
			want: []string{
				`t.yaml:5: instances[0].vrid: "fifty" is not a whole number`,
				"t.yaml:6: instances[0].priority: 150.5 is not a whole number",
				`t.yaml:7: instances[0].preempt: "yes" is not a boolean (true or false)`,
				`t.yaml:8: instances[0].advert_interval: "fast" is not a duration (write 1s, 10ms, or a number of seconds)`,
				"t.yaml:9: instances[0].vips: expected a list, got string",
			},
		},
		{
			name: "VIP forms",
			yaml: `
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    vips:
      - 198.18.0.3/24 scope host
      - 198.18.0.4 dev eth1 label eth0:1
      - 224.0.0.1
      - address: 198.18.0.300
`,
			want: []string{
				`t.yaml:7: instances[0].vips[0]: "198.18.0.3/24 scope host": unknown option "scope" (allowed: dev, label)`,
				`t.yaml:8: instances[0].vips[1].label: "eth0:1" must be "eth1" or start with "eth1:" (the kernel's rule)`,
				"t.yaml:9: instances[0].vips[2]: 224.0.0.1/32 is not a usable unicast address",
				`t.yaml:10: instances[0].vips[3].address: "198.18.0.300" is not an address or address/prefix-length`,
			},
		},
		{
			name: "command with quotes",
			yaml: `
trackers:
  chk:
    command: /bin/sh -c 'pidof nginx'
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    vips: [198.18.0.3]
`,
			want: []string{`t.yaml:4: trackers.chk.command: "/bin/sh -c 'pidof nginx'" contains quotes, which are not interpreted; write the command as a list, or set shell: true`},
		},
		{
			name: "interface names",
			yaml: `
instances:
  - name: VI_1
    interface: a-very-long-interface-name
    vrid: 50
    vips: [198.18.0.3]
    track_interfaces: [eth1, "bond0:1", eth1]
`,
			want: []string{
				`t.yaml:4: instances[0].interface: "a-very-long-interface-name" is longer than 15 bytes, the kernel's limit for interface names`,
				`t.yaml:7: instances[0].track_interfaces[1].name: "bond0:1" is not a valid interface name`,
				`t.yaml:7: instances[0].track_interfaces[2].name: "eth1" is tracked twice`,
			},
		},
		{
			name: "same VIP in two instances",
			yaml: `
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    vips: [198.18.0.3]
  - name: VI_2
    interface: eth1
    vrid: 51
    vips: [198.18.0.3/24]
`,
			want: []string{`t.yaml:10: instances[1].vips[0]: 198.18.0.3 is also a VIP of instance "VI_1"; two virtual routers would fight over it`},
		},
		{
			name: "notify",
			yaml: `
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    vips: [198.18.0.3]
    notify:
      master: []
      timeout: -1s
`,
			want: []string{
				"t.yaml:8: instances[0].notify.master: is an empty command",
				"t.yaml:9: instances[0].notify.timeout: -1s must not be negative (0 or unset: no limit)",
			},
		},
		{
			name: "garp",
			yaml: `
garp:
  master_repeat: 300
  refresh: -1s
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    vips: [198.18.0.3]
    garp: {refresh_repeat: 0, interval: -5ms}
`,
			want: []string{
				"t.yaml:3: garp.master_repeat: 300 is outside 1–255",
				"t.yaml:4: garp.refresh: -1s is negative; 0 disables periodic refresh",
				// The instance inherits both global mistakes; they are reported
				// against the instance too because that is where they take effect.
				"t.yaml:10: instances[0].garp.master_repeat: 300 is outside 1–255",
				"t.yaml:10: instances[0].garp.refresh: -1s is negative; 0 disables periodic refresh",
				"t.yaml:10: instances[0].garp.interval: -5ms is negative; 0 sends the burst back to back",
			},
		},
		{
			name: "yaml syntax error",
			yaml: `
instances:
  - name: VI_1
    interface: eth0
   vrid: 50
`,
			// The line is yaml.v3's: it reports the context mark (the block that
			// encloses the mistake, counted from 0) rather than the bad line 5.
			want: []string{"t.yaml:2: yaml: did not find expected '-' indicator"},
		},
		{
			name: "duplicate key",
			yaml: `
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    vrid: 51
    vips: [198.18.0.3]
`,
			want: []string{`t.yaml:6: yaml: mapping key "vrid" already defined at line 5`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml), "yaml", "t.yaml")
			if err == nil {
				t.Fatalf("Parse accepted an invalid config:\n%s", tt.yaml)
			}
			if c != nil {
				t.Errorf("Parse returned a config together with an error")
			}
			if d := lineDiff(strings.Join(tt.want, "\n"), strings.Join(problemStrings(t, err), "\n")); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
		})
	}
}

// TestValidateHandBuilt: Validate works on configs built in Go (no file, no lines)
// and reports all problems at once.
func TestValidateHandBuilt(t *testing.T) {
	c := DefaultConfig()
	in := DefaultInstance()
	in.Name, in.Interface, in.VRID = "VI_1", "eth0", 0
	in.Priority = 0
	in.VIPs = []VIP{{Address: netip.MustParsePrefix("198.18.0.3/32")}}
	c.Instances = append(c.Instances, in)
	want := []string{
		"instances[0].vrid: 0 is outside 1–255",
		"instances[0].priority: 0 is outside 1–255 (255 means address owner)",
	}
	if d := lineDiff(strings.Join(want, "\n"), strings.Join(problemStrings(t, c.Validate()), "\n")); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}

	c.Instances[0].VRID, c.Instances[0].Priority = 50, 100
	if err := c.Validate(); err != nil {
		t.Errorf("valid hand-built config: %v", err)
	}
}

// TestValidateAcceptsEdgeValues: values at the edges of every range are valid.
func TestValidateAcceptsEdgeValues(t *testing.T) {
	c := mustParseYAML(t, `
instances:
  - name: owner
    interface: eth0
    vrid: 255
    priority: 255
    preempt: false
    state: master
    advert_interval: 255
    auth: {type: pass, password: "12345678"}
    vips: [198.18.0.3]
  - name: fast
    interface: eth0
    vrid: 1
    priority: 1
    version: 3
    advert_interval: 0.01
    preempt_delay: 1000
    vips: ["fd00:198:18::3"]
  - name: slow
    interface: eth0
    vrid: 2
    version: 3
    advert_interval: 40.95s
    vips: [198.18.0.4]
trackers:
  w: {file: /run/prio, weight: -253}
`)
	if got := c.Instances[1].AdvertInterval; got != 10*time.Millisecond {
		t.Errorf("0.01 decoded as %v, want 10ms", got)
	}
	if got := c.Instances[2].AdvertInterval; got != 4095*10*time.Millisecond {
		t.Errorf("40.95s decoded as %v", got)
	}
}

func TestKeysDifferingInCase(t *testing.T) {
	_, err := Parse([]byte(`
instances:
  - name: VI_1
    interface: eth0
    vrid: 50
    VRID: 51
    vips: [198.18.0.3]
`), "yaml", "t.yaml")
	want := `t.yaml:6: instances[0].vrid: key "VRID" repeats "vrid" from line 5; keys are case-insensitive`
	if d := lineDiff(want, strings.Join(problemStrings(t, err), "\n")); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
}
