package control

import (
	"net/netip"
	"time"
)

// Notifier receives state-change notifications. Notify must not block: the Runner
// calls it in the middle of a transition.
type Notifier interface {
	Notify(n Notification)
}

// Notification is one hook invocation request.
type Notification struct {
	// Type is "INSTANCE" or "GROUP" (keepalived's first notify argument).
	Type     string
	Name     string
	State    HookState
	Priority uint8
	// Peer and PeerPriority are set for SPLIT_BRAIN.
	Peer         netip.Addr
	PeerPriority uint8
	Hooks        NotifyConfig
	Time         time.Time
}
