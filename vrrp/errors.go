package vrrp

import (
	"errors"
	"fmt"
)

// DropReason says why an advertisement was rejected. The numbering is shared with
// the kernel dataplane (bpf/ counts drops in an array indexed by it), so values are
// append-only: never reorder or reuse one.
type DropReason uint32

// Drop reasons. ParsePacket and UnmarshalBinary decide the wire-level ones from the
// packet alone, in this order: short_packet, bad_ttl, fragment, bad_version,
// bad_type, addr_count, bad_checksum, bad_auth_type (AH or unknown), bad_interval.
// Policy.Check decides the config-relative ones: unknown_vrid, bad_version (not the
// configured one), bad_auth_type, wrong_password, not_peer, interval_mismatch; the
// dataplane also addr_list.
const (
	ReasonShortPacket      DropReason = iota // IP header or VRRP header truncated
	ReasonBadTTL                             // TTL / hop limit != 255 (RFC 3768 §7.1, RFC 5798 §7.1)
	ReasonFragment                           // IPv4 MF/offset or an IPv6 fragment header
	ReasonBadVersion                         // version not 2 or 3 (or v2 over IPv6, or not the configured one)
	ReasonBadType                            // type != 1 (advertisement)
	ReasonAddrCount                          // address count inconsistent with the message length
	ReasonBadChecksum                        // VRRP checksum (v3: with pseudo-header) does not verify
	ReasonUnknownVRID                        // no instance for this VRID
	ReasonBadAuthType                        // v2 auth type unknown (AH) or not the configured one
	ReasonWrongPassword                      // v2 PASS password differs
	ReasonNotPeer                            // source is not a configured unicast peer
	ReasonIntervalMismatch                   // v2 advertisement interval differs from ours (RFC 3768 §7.1)
	ReasonBadInterval                        // advertisement interval 0
	ReasonAddrList                           // addresses are not the instance's VIPs (keepalived's addr_list_err)
	NumDropReasons
)

var reasonNames = [NumDropReasons]string{
	ReasonShortPacket:      "short_packet",
	ReasonBadTTL:           "bad_ttl",
	ReasonFragment:         "fragment",
	ReasonBadVersion:       "bad_version",
	ReasonBadType:          "bad_type",
	ReasonAddrCount:        "addr_count",
	ReasonBadChecksum:      "bad_checksum",
	ReasonUnknownVRID:      "unknown_vrid",
	ReasonBadAuthType:      "bad_auth_type",
	ReasonWrongPassword:    "wrong_password",
	ReasonNotPeer:          "not_peer",
	ReasonIntervalMismatch: "interval_mismatch",
	ReasonBadInterval:      "bad_interval",
	ReasonAddrList:         "addr_list",
}

// String returns the reason's metric label, e.g. "bad_checksum".
func (r DropReason) String() string {
	if r < NumDropReasons {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason_%d", uint32(r))
}

// Sentinel errors, one per DropReason. Errors returned by this package wrap them,
// so callers branch with errors.Is or map back with ReasonOf.
var (
	ErrShortPacket      = errors.New("short packet")
	ErrBadTTL           = errors.New("ttl or hop limit is not 255")
	ErrFragment         = errors.New("fragmented packet")
	ErrBadVersion       = errors.New("bad version")
	ErrBadType          = errors.New("bad type")
	ErrAddrCount        = errors.New("address count inconsistent with length")
	ErrBadChecksum      = errors.New("bad checksum")
	ErrUnknownVRID      = errors.New("unknown virtual router id")
	ErrBadAuthType      = errors.New("bad authentication type")
	ErrWrongPassword    = errors.New("wrong password")
	ErrNotPeer          = errors.New("source is not a configured peer")
	ErrIntervalMismatch = errors.New("advertisement interval mismatch")
	ErrBadInterval      = errors.New("bad advertisement interval")
	ErrAddrList         = errors.New("addresses are not the configured virtual addresses")
)

// ErrNotVRRP is returned by ParsePacket for an IP packet that does not carry VRRP
// (another protocol, or not IPv4/IPv6). It is not a drop reason: the dataplane
// passes such packets on untouched.
var ErrNotVRRP = errors.New("not a vrrp packet")

var reasonErrs = [NumDropReasons]error{
	ReasonShortPacket:      ErrShortPacket,
	ReasonBadTTL:           ErrBadTTL,
	ReasonFragment:         ErrFragment,
	ReasonBadVersion:       ErrBadVersion,
	ReasonBadType:          ErrBadType,
	ReasonAddrCount:        ErrAddrCount,
	ReasonBadChecksum:      ErrBadChecksum,
	ReasonUnknownVRID:      ErrUnknownVRID,
	ReasonBadAuthType:      ErrBadAuthType,
	ReasonWrongPassword:    ErrWrongPassword,
	ReasonNotPeer:          ErrNotPeer,
	ReasonIntervalMismatch: ErrIntervalMismatch,
	ReasonBadInterval:      ErrBadInterval,
	ReasonAddrList:         ErrAddrList,
}

// Err returns the sentinel error for r, or nil for an out-of-range reason.
func (r DropReason) Err() error {
	if r < NumDropReasons {
		return reasonErrs[r]
	}
	return nil
}

// ReasonOf maps an error from this package back to its drop reason. It reports
// false for nil and for errors that wrap no sentinel (ErrNotVRRP included).
func ReasonOf(err error) (DropReason, bool) {
	if err == nil {
		return 0, false
	}
	for r, e := range reasonErrs {
		if errors.Is(err, e) {
			return DropReason(r), true
		}
	}
	return 0, false
}
