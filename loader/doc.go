// Package loader owns the kernel side of ebpfvrrp as seen from Go: the bpf2go
// bindings of bpf/vrrp.c (go:generate, committed), loading and verifying the
// programs, pinning maps and links under a bpffs pin path (default
// /sys/fs/bpf/ebpfvrrp) so a restart reuses them and its counters survive,
// attaching to interfaces (XDP native, XDP generic, or TC via TCX or clsact),
// typed access to every map, the ring-buffer event reader, and a
// BPF_PROG_RUN runner for tests and benchmarks. It is the only package that
// imports github.com/cilium/ebpf; generated identifiers stay unexported.
//
// Minimum kernel: 5.15 (bpf_timer in hash maps, ring buffer, BTF, bpf_link for
// XDP); TCX needs 6.6 and below that TC attaches through a clsact qdisc. On a
// kernel without bpf_timer the program would not load; the controller keeps a
// lazy userspace deadline per Backup instance and, when it fires, reads
// [Dataplane.Master]'s Age (time since the last advert that held our
// master-down timer, from the same CLOCK_MONOTONIC as bpf_ktime_get_ns) before
// declaring the master down, so it never fires early because it was
// descheduled and the kernel timer is an accelerator, not a requirement of the
// protocol logic.
package loader
