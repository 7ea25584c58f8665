package control

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"time"
)

// Dataplane is the kernel side of an instance (implemented by loader through cmd).
type Dataplane interface {
	// SetInstance creates or updates the kernel's entry for an instance or a
	// secondary heartbeat path (KernelConfig.Secondary).
	SetInstance(InstanceKey, KernelConfig) error
	// SetState tells the kernel our state and effective priority.
	SetState(InstanceKey, State, uint8) error
	DeleteInstance(InstanceKey) error
	// MasterAge is the age of the last advert from the current master of key; ok is
	// false when no master has been heard.
	MasterAge(InstanceKey) (age time.Duration, ok bool, err error)
	// PeerAge is the age of the last advert from one source address on key.
	PeerAge(key InstanceKey, peer netip.Addr) (age time.Duration, ok bool, err error)
}

// KernelConfig is what the dataplane needs to validate and follow an instance.
type KernelConfig struct {
	Instance       string
	Version        int
	State          State
	Priority       uint8
	AdvertInterval time.Duration
	Preempt        bool
	PrimaryAddr    netip.Addr
	AuthType       uint8
	AuthData       [8]byte
	AllowedPeers   []netip.Addr
	Addresses      []netip.Addr
	// Secondary marks a secondary heartbeat path: the kernel records its master and
	// reports it, but the path never becomes Master itself.
	Secondary bool
	// Unicast: adverts go to unicast peers and may be routed, so the kernel skips
	// the TTL-255 check for them, as keepalived does for unicast_peer.
	Unicast bool
	// SkipAddrCheck: while Backup, adverts from the master followed are not
	// compared with Addresses (keepalived's skip_check_adv_addr).
	SkipAddrCheck bool
	// NoAccept, when not empty, are the addresses whose traffic the kernel
	// drops while State is Master (keepalived's no_accept, not the owner).
	NoAccept []netip.Addr
}

// Routes adds and removes an instance's virtual routes and rules, which the
// implementation knows by instance name (keepalived's virtual_routes and
// virtual_rules, set with the VIPs and removed with them).
type Routes interface {
	Up(inst string) error
	Down(inst string) error
}

// Addresses adds and removes an instance's VIPs (implemented by vip).
type Addresses interface {
	Add(inst string, vips []VIP) error
	Remove(inst string, vips []VIP) error
}

// Announcer runs the GARP / unsolicited NA schedule of a Master (implemented by vip).
type Announcer interface {
	Start(inst string, vips []netip.Addr) (stop func())
}

// Refresher is an Announcer that can also start the schedule of an adopted
// Master (action Refresh): one announcement now, then only the periodic
// refresh, without the bursts of a new Master. An Announcer without it gets
// Start.
type Refresher interface {
	StartRefresh(inst string, vips []netip.Addr) (stop func())
}

// VIPConflict is another host answering for one of our VIPs.
type VIPConflict struct {
	VIP netip.Addr
	HW  net.HardwareAddr
}

// VIPProber asks the link who answers for VIPs (ARP probe for IPv4, neighbour
// solicitation for IPv6; implemented by vip through cmd). ProbeVIPs listens for
// timeout (or until ctx ends) and returns every answer from a MAC that is not one of
// this host's.
type VIPProber interface {
	ProbeVIPs(ctx context.Context, vips []VIP, timeout time.Duration) ([]VIPConflict, error)
}

// Sender sends adverts; the Runner passes every advert due on one tick in one call
// (WriteBatch underneath), so many instances do not mean many syscalls. Send must not
// retain msgs (or their Addresses) after it returns: the Runner reuses the buffer.
type Sender interface {
	Send(msgs []OutAdvert) error
}

// OutAdvert is one advert to send: to one destination (the multicast group or one
// unicast peer) through one interface.
type OutAdvert struct {
	Instance  string
	Interface string
	Key       InstanceKey
	Version   int
	VRID      uint8
	Priority  uint8
	Interval  time.Duration
	Addresses []netip.Addr
	AuthType  uint8
	AuthData  [8]byte
	Src, Dst  netip.Addr
}

// Default multicast destinations (RFC 5798 §5.1.1.2, §5.1.2.2).
var (
	DefaultGroup4 = netip.MustParseAddr("224.0.0.18")
	DefaultGroup6 = netip.MustParseAddr("ff02::12")
)

// Deps are the Runner's collaborators. Dataplane, Addresses and Sender are required.
type Deps struct {
	Clock Clock // nil: SystemClock
	// AdvertClock arms the Runner's one advert timer (every arm replaces the
	// previous one). nil: Clock. The daemon passes a timerfd thread here
	// (internal/timerfd), which sends adverts without a trip through the Go
	// scheduler; it outlives the Runner, and its owner closes it after Shutdown.
	AdvertClock AdvertClock
	Dataplane   Dataplane
	Addresses   Addresses
	Routes      Routes    // nil: no virtual routes or rules
	Announcer   Announcer // nil: no GARP/NA
	Sender      Sender
	Notifier    Notifier    // nil: no hooks
	Links       LinkWatcher // nil: no link tracking
	// Prober runs the ownership probe a Backup with split-brain action demote makes
	// before taking over. nil: the Dataplane, if it implements VIPProber; else no
	// probe (the Backup takes over as with alert).
	Prober VIPProber
	Logger *slog.Logger
	// OnTransition is called (under the Runner's lock: do not call back into the
	// Runner) after every transition, for metrics.
	OnTransition func(TransitionRecord)
	// Heartbeat, when set, is called at least every HeartbeatInterval from the
	// Runner's own loop: the advert tick, which then also runs when no instance
	// is Master. A Runner that is wedged (its lock held, its advert clock stuck)
	// stops calling it, which is the point: the daemon feeds systemd's watchdog
	// from it. Called under the Runner's lock; it must not block.
	Heartbeat         func()
	HeartbeatInterval time.Duration
}
