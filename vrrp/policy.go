package vrrp

import (
	"fmt"
	"net/netip"
	"time"
)

// Password returns keepalived's PASS authentication data for s: the bytes of s
// zero-padded to 8 (RFC 2338 §5.3.6.2). keepalived silently truncates a longer
// auth_pass; we refuse it, since two configs that differ only after byte 8 would
// silently interoperate.
func Password(s string) ([8]byte, error) {
	var p [8]byte
	if len(s) > len(p) {
		return p, fmt.Errorf("vrrp: password is %d bytes, PASS authentication carries at most 8", len(s))
	}
	copy(p[:], s)
	return p, nil
}

// Policy is what a receiving instance expects of an advertisement beyond wire
// validity: the dataplane applies the same checks per (interface, VRID, family).
type Policy struct {
	// VRID is the instance's virtual router id.
	VRID uint8
	// Version is 2 or 3; other versions are dropped (RFC 3768 §7.1, RFC 5798 §7.1).
	Version uint8
	// AuthType and Password are the v2 authentication this instance requires
	// (RFC 3768 §7.1 and RFC 2338 §5.3.6.2); ignored for v3.
	AuthType AuthType
	Password [8]byte
	// Interval is our advertisement interval. A v2 advert with another interval
	// is dropped (RFC 3768 §7.1); v3 Backups adopt the Master's instead
	// (RFC 5798 §6.4.2), so it is not checked there. Zero disables the check.
	Interval time.Duration
	// Peers, when not empty, are the only sources accepted (keepalived's
	// unicast_peer). Empty means any source (multicast).
	Peers []netip.Addr
}

// Check returns nil if a is acceptable, else an error wrapping ErrUnknownVRID,
// ErrBadVersion, ErrBadAuthType, ErrWrongPassword, ErrNotPeer or
// ErrIntervalMismatch (checked in that order). a must already be wire-valid
// (decoded by ParsePacket or UnmarshalBinary).
func (p Policy) Check(a *Advertisement) error {
	if err := p.check(a); err != nil {
		return fmt.Errorf("vrrp: vrid %d: %w", a.VRID, err)
	}
	return nil
}

func (p Policy) check(a *Advertisement) error {
	if a.VRID != p.VRID {
		return fmt.Errorf("%w: want %d", ErrUnknownVRID, p.VRID)
	}
	if a.Version != p.Version {
		return fmt.Errorf("%w: got v%d, want v%d", ErrBadVersion, a.Version, p.Version)
	}
	if a.Version == 2 {
		if a.AuthType != p.AuthType {
			return fmt.Errorf("%w: got %v, want %v", ErrBadAuthType, a.AuthType, p.AuthType)
		}
		if a.AuthType == AuthPass && a.AuthData != p.Password {
			return ErrWrongPassword
		}
	}
	if len(p.Peers) > 0 && !p.isPeer(a.Source) {
		return fmt.Errorf("%w: %v", ErrNotPeer, a.Source)
	}
	if a.Version == 2 && p.Interval != 0 && a.Interval != p.Interval {
		return fmt.Errorf("%w: got %v, want %v", ErrIntervalMismatch, a.Interval, p.Interval)
	}
	return nil
}

// isPeer compares unmapped and without zone, as ParsePacket produces sources.
func (p Policy) isPeer(src netip.Addr) bool {
	src = src.Unmap().WithZone("")
	for _, peer := range p.Peers {
		if peer.Unmap().WithZone("") == src {
			return true
		}
	}
	return false
}
