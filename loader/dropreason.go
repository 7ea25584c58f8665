package loader

import "github.com/ebpfvrrp/ebpfvrrp/vrrp"

// DropReason is why the kernel dropped a VRRP packet: the C enum drop_reason
// is numbered as vrrp.DropReason (a test holds them equal), so this is the
// same type and String gives the same metric label.
type DropReason = vrrp.DropReason
