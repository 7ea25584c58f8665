// Package vip owns everything a VRRP Master does to the host's addresses and to
// its neighbours' caches: adding and removing virtual IPs with netlink (and
// recognising, after a crash, which addresses a previous run of ours left behind),
// gratuitous ARP and unsolicited neighbour advertisements with keepalived's
// garp_master_* schedule, the optional VMAC (a macvlan carrying the VRRP virtual
// MAC), and the ARP/NS ownership probe used to detect a split brain.
//
// Ownership marker: addresses we add carry IFA_PROTO (the address "protocol",
// the address-table counterpart of a route's rtm_protocol) set to Proto(owner).
// The marker lives in the kernel next to the address, so it survives a crash of
// our process, applies to IPv4 and IPv6 alike (IPv6 has no labels), leaves the
// label free for the operator's configuration, and an address someone else adds
// later (even an identical one) is never mistaken for ours — which a state file
// cannot promise once the file and the kernel drift apart. The trade-off: it needs
// Linux 6.1 or newer (Add refuses to work, rather than add an address it could not
// recognise later, on a kernel that drops the attribute), and the marker is one
// byte shared by everything on the host that sets IFA_PROTO, so two daemons using
// the same owner string on one host would clean up each other's addresses.
//
// Minimum kernel: 6.1 (IFA_PROTO). Everything else (AF_PACKET, macvlan) is old.
// Every function acts in the network namespace of the calling thread unless it
// says otherwise; an Announcer stays bound to the namespace it was created in.
package vip
