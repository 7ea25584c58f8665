// Package lab owns the lab: the network of the keepalived tutorial (two nginx load
// balancers lb-5 and lb-6 sharing a VIP, two web servers web-7 and web-8, a client)
// rebuilt on one machine out of network namespaces joined by a bridge, with real
// keepalived, nginx and ebpfvrrp processes and a client probe that measures outages.
// `ebpfvrrp demo` and the scenario tests and benchmarks in test/vm use it; the
// forged-advert flooder lives with those tests, so the daemon's binary never links it.
//
// Addressing replaces the tutorial's 10.0.0.0/24 with 198.18.0.0/24 (.5, .6, .7, .8,
// VIP .3, client .100) and adds fd00:198:18::/64 with the same host numbers. Every
// host's interface is called eth0, as in the tutorial's configs. The bridge lives in
// its own namespace "sw", so cutting a host's bridge port is "the host dies" for
// everyone else.
//
// Options.LinkKind picks how eth0 reaches the switch: a veth on a bridge port
// (default; the bridge floods every frame to every port) or a macvlan port of one
// trunk in "sw", which, like a real NIC, drops multicast for groups the host did not
// join, and where XDP attaches in generic mode.
//
// Processes are started from Go on an OS thread that has entered the host's network
// namespace (setns, then fork/exec), not with `ip netns exec`: they share the root
// mount namespace, so /sys/fs/bpf is the machine's bpffs and each ebpfvrrp pins under
// its own /sys/fs/bpf/ebpfvrrp-<lab>-<host>, readable from the test. Every process
// gets its own process group and Pdeathsig=SIGKILL, so it dies with the test binary
// even when Close never runs.
//
// Needs root, Linux network namespaces, and (for the real parts) keepalived and
// nginx in PATH; without nginx a built-in Go web server and proxy stand in.
package lab
