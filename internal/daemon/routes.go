package daemon

import (
	"errors"
	"fmt"
	"sync"

	"github.com/ebpfvrrp/ebpfvrrp/config"
	"github.com/ebpfvrrp/ebpfvrrp/vip"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// routesAdapter implements control.Routes: each instance's virtual_routes and
// virtual_rules, from the config last loaded, added through netlink when the
// instance becomes Master and removed when it stops being one. Interface
// names are resolved then, not at load: a dev may come and go.
type routesAdapter struct {
	mu     sync.Mutex
	routes map[string][]string // by instance: lines in keepalived's syntax
	rules  map[string][]string
	// up: what was added per instance, so that Down removes exactly that
	// even after a reload changed the lines.
	upRoutes map[string][]vip.Route
	upRules  map[string][]vip.Rule
}

func newRoutesAdapter(cfg *config.Config) *routesAdapter {
	a := &routesAdapter{upRoutes: map[string][]vip.Route{}, upRules: map[string][]vip.Rule{}}
	a.set(cfg)
	return a
}

// set takes the lines of a (re)loaded config; a Master keeps what it added
// until it steps down.
func (a *routesAdapter) set(cfg *config.Config) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.routes, a.rules = map[string][]string{}, map[string][]string{}
	for _, in := range cfg.Instances {
		a.routes[in.Name], a.rules[in.Name] = in.VirtualRoutes, in.VirtualRules
	}
}

var routeTypes = map[string]int{"": unix.RTN_UNICAST, "blackhole": unix.RTN_BLACKHOLE,
	"unreachable": unix.RTN_UNREACHABLE, "prohibit": unix.RTN_PROHIBIT, "throw": unix.RTN_THROW}

var routeScopes = map[string]netlink.Scope{"global": netlink.SCOPE_UNIVERSE, "site": netlink.SCOPE_SITE,
	"link": netlink.SCOPE_LINK, "host": netlink.SCOPE_HOST, "nowhere": netlink.SCOPE_NOWHERE}

func resolveRoute(line string) (vip.Route, error) {
	c, _, err := config.ParseRoute(line)
	if err != nil {
		return vip.Route{}, err
	}
	r := vip.Route{Type: routeTypes[c.Type], Dst: c.Dst, Src: c.Src, Via: c.Via, Table: c.Table,
		Metric: c.Metric, Proto: c.Proto}
	if c.Scope != "" {
		r.Scope, r.ScopeSet = routeScopes[c.Scope], true
	}
	if c.Dev != "" {
		if r.Ifindex, err = ifIndex(c.Dev); err != nil {
			return r, fmt.Errorf("dev %q: %w", c.Dev, err)
		}
	}
	return r, nil
}

func resolveRule(line string) (vip.Rule, error) {
	c, _, err := config.ParseRule(line)
	if err != nil {
		return vip.Rule{}, err
	}
	return vip.Rule{From: c.From, To: c.To, IIf: c.IIf, OIf: c.OIf, Table: c.Table, Priority: c.Priority,
		Mark: c.Mark, Mask: c.Mask, HasMark: c.HasMark}, nil
}

// Up adds the instance's routes, then its rules (keepalived's order,
// vrrp_state_become_master); a line that fails is reported and the rest
// still go in.
func (a *routesAdapter) Up(inst string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	var errs []error
	for _, line := range a.routes[inst] {
		r, err := resolveRoute(line)
		if err == nil {
			err = vip.AddRoute(r)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("virtual route %q: %w", line, err))
			continue
		}
		a.upRoutes[inst] = append(a.upRoutes[inst], r)
	}
	for _, line := range a.rules[inst] {
		r, err := resolveRule(line)
		if err == nil {
			err = vip.AddRule(r)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("virtual rule %q: %w", line, err))
			continue
		}
		a.upRules[inst] = append(a.upRules[inst], r)
	}
	return errors.Join(errs...)
}

// Down removes what Up added for the instance.
func (a *routesAdapter) Down(inst string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	var errs []error
	for _, r := range a.upRules[inst] {
		errs = append(errs, vip.DeleteRule(r))
	}
	for _, r := range a.upRoutes[inst] {
		errs = append(errs, vip.DeleteRoute(r))
	}
	delete(a.upRules, inst)
	delete(a.upRoutes, inst)
	return errors.Join(errs...)
}
