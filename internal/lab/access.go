package lab

import (
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// HostNetwork is what code outside the lab (the scenario tests' sniffers, the
// flooder) may use of a host: its network namespace, to open sockets in with
// InNetns, a netlink handle inside it and its directory. They belong to the lab:
// do not close them.
type HostNetwork struct {
	NS      netns.NsHandle
	Netlink *netlink.Handle
	Dir     string
}

// HostNetwork returns name's namespace, netlink handle and directory.
func (l *Lab) HostNetwork(name string) (HostNetwork, error) {
	h, err := l.host(name)
	if err != nil {
		return HostNetwork{}, err
	}
	return HostNetwork{NS: h.ns, Netlink: h.nl, Dir: h.dir}, nil
}

// SetLogf replaces the progress logger (nil: silent), e.g. once a test's
// setup is done.
func (l *Lab) SetLogf(logf func(format string, args ...any)) { l.opts.Logf = logf }

// Hosts returns the names of every host of the lab, the switch excepted.
func Hosts() []string { return append([]string(nil), allHosts...) }

// InNetns runs fn on a locked OS thread inside ns; sockets fn opens stay in ns.
func InNetns(ns netns.NsHandle, fn func() error) error { return inNetns(ns, fn) }

// ProcAttr is what every process the lab starts gets: its own process group and
// SIGKILL when the test binary dies.
func ProcAttr() *syscall.SysProcAttr { return procAttr() }
