// Package vrrp owns the VRRP wire format: advertisement encode/decode for VRRPv2
// (RFC 3768, with keepalived's PASS authentication) and VRRPv3 (RFC 5798/9568) over
// IPv4 and IPv6, checksums (v3 with the pseudo-header), and the validation reasons
// the kernel dataplane counts under the same names. Pure Go; no kernel requirement
// except for the raw-socket Conn.
package vrrp
