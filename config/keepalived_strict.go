package config

import (
	"fmt"
	"strings"
)

// kaBoolValue reads keepalived's optional boolean argument (get_value_bool: on,
// off, true, false, yes, no; none means true); ok is false for anything else.
func kaBoolValue(n *kaNode) (v, ok bool) {
	if n.HasBlock || len(n.Args) > 1 {
		return false, false
	}
	if len(n.Args) == 0 {
		return true, true
	}
	switch strings.ToLower(n.Args[0].Text) {
	case "on", "true", "yes":
		return true, true
	case "off", "false", "no":
		return false, true
	}
	return false, false
}

// kaBool is kaBoolValue reporting a bad value at its line.
func (c *kaConverter) kaBool(n *kaNode) (bool, bool) {
	if !c.args(n, 0, 1, "[on|off|true|false|yes|no]") {
		return false, false
	}
	v, ok := kaBoolValue(n)
	if !ok {
		c.errorf(n.Args[0].Pos, "%s: %q is not on, off, true, false, yes or no", n.Name(), n.Args[0].Text)
	}
	return v, ok
}

// kaFind returns the first (or with last, the last) statement named name in block.
func kaFind(block []*kaNode, name string, last bool) *kaNode {
	var found *kaNode
	for _, s := range block {
		if s.Name() == name {
			if !last {
				return s
			}
			found = s
		}
	}
	return found
}

// strictInstances applies vrrp_strict / strict_mode to every instance once all
// of the file is read, as keepalived's vrrp_complete_instance does
// (keepalived/vrrp/vrrp.c). Where keepalived reports a config error in strict
// mode (and then resets the setting, so keepalived -t fails) ebpfvrrp refuses
// the file at that line: the RFCs forbid what was asked for.
func (c *kaConverter) strictInstances() {
	for i := range c.cfg.Instances {
		n := c.instanceNodes[i]
		strict := c.strict
		if s := kaFind(n.Block, "strict_mode", true); s != nil {
			v, ok := kaBoolValue(s)
			if !ok {
				continue // reported by the instance's conversion
			}
			strict = v
		}
		in := &c.cfg.Instances[i]
		if !strict {
			continue
		}
		c.strictInstance(n, in)
		// keepalived: with accept/no_accept unset, strict mode clears accept unless
		// the instance owns the addresses (priority 255).
		if kaFind(n.Block, "accept", false) == nil && kaFind(n.Block, "no_accept", false) == nil {
			in.NoAccept = in.Priority != 255
		}
		// ... and sends no GARPs for a lower priority unless told (an explicit
		// count is refused above).
		if kaFind(n.Block, "garp_lower_prio_repeat", false) == nil {
			off := false
			in.GARP.LowerPrio = &off
		}
	}
}

// strictInstance reports what keepalived's strict mode forbids in one instance.
func (c *kaConverter) strictInstance(n *kaNode, in *Instance) {
	errf := func(s *kaNode, format string, args ...any) {
		c.errorf(s.Pos(), "(%s) %s is not allowed with vrrp_strict (%s)", in.Name, s.Name(), fmt.Sprintf(format, args...))
	}
	ipv6 := len(in.VIPs) > 0 && in.VIPs[0].Address.Addr().Is6() && !in.VIPs[0].Address.Addr().Is4In6()
	if len(in.VIPs) == 0 {
		c.errorf(n.Pos(), "(%s) strict mode needs at least one virtual_ipaddress (RFC 5798 §5.2.9)", in.Name)
	}
	for _, s := range n.Block {
		switch s.Name() {
		case "unicast_peer":
			// vrrp.c refuses them only on an interface it already knows to do
			// multicast, which keepalived 2.2.7 does not know yet: keepalived -t
			// accepts such a file and keepalived runs the instance unicast.
			c.warnf(s.Pos(), "(%s) unicast_peer with vrrp_strict: the man page lists unicast peers as not allowed in strict mode, but keepalived loads and runs the instance unicast, and so does ebpfvrrp", in.Name)
		case "authentication":
			errf(s, "RFC 5798 has no authentication and RFC 3768 §5.3.6 deprecates it")
		case "preempt_delay":
			errf(s, "the RFCs have no preempt delay")
		case "garp_lower_prio_repeat", "garp_lower_prio_delay":
			if len(s.Args) == 1 && strings.Trim(s.Args[0].Text, "0.") != "" {
				errf(s, "strict mode sends no repeated GARPs; only 0 is allowed")
			}
		case "higher_prio_send_advert":
			if v, ok := kaBoolValue(s); ok && v {
				errf(s, "a Master seeing a higher priority sends nothing, RFC 5798 §6.4.3")
			}
		case "lower_prio_no_advert":
			if v, ok := kaBoolValue(s); ok && !v {
				errf(s, "a Master hearing a lower priority ignores it, RFC 5798 §6.4.3; only lower_prio_no_advert on is allowed")
			}
		case "vmac_xmit_base":
			if in.UseVMAC {
				errf(s, "adverts must leave from the virtual MAC, RFC 5798 §7.3")
			}
		case "version":
			if ipv6 && in.Version == 2 {
				errf(s, "VRRPv2 has no IPv6, RFC 3768; use version 3")
			}
		case "accept":
			if in.Version == 2 && in.Priority != 255 {
				errf(s, "RFC 3768 has no accept mode for a non-owner")
			}
		case "state":
			if master := in.State == "master"; master != (in.Priority == 255) {
				c.errorf(s.Pos(), "(%s) state %s with priority %d is not allowed with vrrp_strict (state MASTER if and only if priority 255, the address owner, RFC 5798 §6.4.1)", in.Name, strings.ToUpper(in.State), in.Priority)
			}
		}
	}
	if vips := kaFind(n.Block, "virtual_ipaddress", false); ipv6 && len(in.UnicastPeers) == 0 && !in.VIPs[0].Address.Addr().IsLinkLocalUnicast() && vips != nil && len(vips.Block) > 0 {
		c.errorf(vips.Block[0].Pos(), "(%s) the first IPv6 virtual_ipaddress %s must be link-local with vrrp_strict (RFC 5798 §5.2.9)", in.Name, in.VIPs[0].Address.Addr())
	}
}

// lowerPrioGARP reads [vrrp_]garp_lower_prio_repeat and _delay. A Master that
// hears a lower-priority advert sends its GARP/NA schedule again: garp_master_repeat
// at once and again after garp_master_delay, which are keepalived's defaults for
// these two (vrrp.c fills an unset one from vrrp_garp_master_*). A count of 0 turns
// them off; another count or delay is not applied, and said so.
func (c *kaConverter) lowerPrioGARP(n *kaNode, g *GARP) {
	repeat := strings.HasSuffix(n.Name(), "_repeat")
	var v string
	if repeat {
		r, ok := c.int1(n)
		if !ok {
			return
		}
		if r < 0 {
			c.errorf(n.Args[0].Pos, "%s: %d is negative", n.Name(), r)
			return
		}
		on := r != 0
		g.LowerPrio = &on
		if !on {
			return
		}
		v = n.Args[0].Text
	} else {
		if _, ok := c.seconds(n); !ok {
			return
		}
		v = n.Args[0].Text
	}
	what := "count (garp_master_repeat is sent)"
	if !repeat {
		what = "delay (the second round comes after garp_master_delay)"
	}
	c.warnf(n.Pos(), "%s: %s not applied: a Master hearing a lower-priority advert sends its GARP/NA schedule again, with the master's %s", n.Name(), v, what)
}
