// Package control owns ebpfvrrp's control plane: the RFC 5798 / RFC 3768 state
// machine (pure: event in, actions out, clock injected), the Runner that connects one
// machine per instance to the kernel dataplane, timers, the advert sender, VIPs and
// notify hooks, the tracker logic (polling, rise/fall, keepalived's weight
// semantics, interface links), sync groups, and the split-brain detector.
//
// control does no I/O of its own and imports of ebpfvrrp only vrrp, for the one
// instance key and address family every package shares: it defines the interfaces
// it needs (Dataplane, Addresses, Announcer, Sender, Notifier, Check, Clock,
// AdvertClock, LinkWatcher) with its own types. internal/daemon adapts loader,
// vip and config to them; internal/hooks implements the checks (script, HTTP, TCP,
// file) and the notify hooks, internal/timerfd the advert clock. Nothing here needs
// a particular kernel.
package control
