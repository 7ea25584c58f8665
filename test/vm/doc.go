// Package vm holds the lab's scenario tests and benchmarks: failover, failback,
// split brain, floods of forged adverts and the comparison with keepalived, each on
// a lab (internal/lab) of its own. The package has no API; everything is in its
// tests. Needs root (EBPFVRRP_PRIVILEGED_TESTS=1), keepalived, nginx, nft, tcpdump
// and (for the decode of adverts) tshark. The tutorial's scenarios run on both link
// kinds of the lab: veth on a bridge, and macvlan ports of a trunk, which filter
// multicast as real NICs do.
package vm
