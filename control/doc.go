// Package control owns ebpfvrrp's control plane: the RFC 5798 / RFC 3768 state
// machine (pure: event in, actions out, clock injected), the Runner that connects one
// machine per instance to the kernel dataplane, timers, the advert sender, VIPs and
// notify hooks, the health trackers (exec, HTTP, TCP, file, interface link) with
// keepalived's weight semantics, sync groups, and the split-brain detector.
//
// control imports no other ebpfvrrp package: it defines the interfaces it needs
// (Dataplane, Addresses, Announcer, Sender, Notifier, Clock, LinkWatcher) with its own
// types, and internal/daemon adapts loader, vip and config to them. Nothing here needs a
// particular kernel; the exec trackers need a Unix process model (process groups).
package control
