package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Route is one line of an instance's virtual_routes, in keepalived's syntax
// (keepalived.conf(5), static_routes): added when the instance becomes Master,
// removed when it stops being one.
//
//	[src IP] [to] [blackhole|unreachable|prohibit|throw] PREFIX [via|gw IP]
//	    [dev IFNAME] [table N] [metric|priority|preference N] [scope SCOPE]
//	    [proto|protocol N|NAME]
type Route struct {
	Type   string // "" (unicast), "blackhole", "unreachable", "prohibit", "throw"
	Dst    netip.Prefix
	Src    netip.Addr
	Via    netip.Addr
	Dev    string
	Table  int // 0: main
	Metric int
	Scope  string // "", "global", "site", "link", "host", "nowhere"
	Proto  int    // 0: boot
}

// Rule is one line of an instance's virtual_rules (keepalived.conf(5),
// static_rules):
//
//	[from PREFIX] [to PREFIX] [iif IFNAME] [oif IFNAME] [fwmark N[/MASK]]
//	    [priority|preference|pref N] table N
type Rule struct {
	From, To netip.Prefix
	IIf, OIf string
	Table    int
	Priority int // -1: the kernel picks
	Mark     uint32
	Mask     uint32 // with Mark; 0xffffffff when only a mark is given
	HasMark  bool
}

var routeProtos = map[string]int{"redirect": 1, "kernel": 2, "boot": 3, "static": 4, "ra": 9, "dhcp": 16, "keepalived": 18, "babel": 42, "bgp": 186, "isis": 187, "ospf": 188, "rip": 189}

// ParseRoute reads a virtual_routes line. Options keepalived has and ebpfvrrp
// does not apply are returned in ignored (the caller warns); a malformed value
// is an error.
func ParseRoute(line string) (r Route, ignored []string, err error) {
	f := strings.Fields(line)
	for i := 0; i < len(f); i++ {
		w := f[i]
		val := func() (string, error) {
			if i+1 >= len(f) {
				return "", fmt.Errorf("%s needs a value", w)
			}
			i++
			return f[i], nil
		}
		var v string
		switch w {
		case "src", "via", "gw", "dev", "table", "metric", "priority", "preference", "scope", "proto", "protocol", "or":
			if v, err = val(); err != nil {
				return r, ignored, err
			}
		}
		switch w {
		case "inet6", "to":
		case "blackhole", "unreachable", "prohibit", "throw":
			r.Type = w
		case "src":
			if r.Src, err = netip.ParseAddr(v); err != nil {
				return r, ignored, fmt.Errorf("src %q: not an address", v)
			}
		case "via", "gw":
			if r.Via, err = netip.ParseAddr(v); err != nil {
				return r, ignored, fmt.Errorf("%s %q: not an address", w, v)
			}
		case "or":
			ignored = append(ignored, "or "+v+": only the first gateway is used")
		case "dev":
			r.Dev = v
		case "table":
			if r.Table, err = routeInt(w, v, 1, 1<<31-1); err != nil {
				return r, ignored, err
			}
		case "metric", "priority", "preference":
			if r.Metric, err = routeInt(w, v, 0, 1<<31-1); err != nil {
				return r, ignored, err
			}
		case "scope":
			switch v {
			case "global", "site", "link", "host", "nowhere":
				r.Scope = v
			default:
				return r, ignored, fmt.Errorf("scope %q: want global, site, link, host or nowhere", v)
			}
		case "proto", "protocol":
			if p, ok := routeProtos[v]; ok {
				r.Proto = p
			} else if r.Proto, err = routeInt(w, v, 0, 255); err != nil {
				return r, ignored, fmt.Errorf("%s %q: not a protocol number or name", w, v)
			}
		case "no_track":
		default:
			if r.Dst.IsValid() {
				ignored = append(ignored, "option "+w+" not applied")
				continue
			}
			if r.Dst, err = parsePrefixOrAddr(w); err != nil {
				return r, ignored, fmt.Errorf("%q: not a destination prefix", w)
			}
		}
	}
	if !r.Dst.IsValid() {
		return r, ignored, fmt.Errorf("no destination")
	}
	for _, a := range []netip.Addr{r.Src, r.Via} {
		if a.IsValid() && a.Is4() != r.Dst.Addr().Is4() {
			return r, ignored, fmt.Errorf("%v and %v are of different families", a, r.Dst)
		}
	}
	if r.Type != "" && r.Via.IsValid() {
		return r, ignored, fmt.Errorf("a %s route has no gateway", r.Type)
	}
	return r, ignored, nil
}

// ParseRule reads a virtual_rules line; as ParseRoute for ignored and err.
func ParseRule(line string) (r Rule, ignored []string, err error) {
	r.Priority = -1
	f := strings.Fields(line)
	for i := 0; i < len(f); i++ {
		w := f[i]
		if w == "inet6" || w == "no_track" {
			continue
		}
		if i+1 >= len(f) {
			return r, ignored, fmt.Errorf("%s needs a value", w)
		}
		i++
		v := f[i]
		switch w {
		case "from", "to":
			p, perr := parsePrefixOrAddr(v)
			if perr != nil {
				return r, ignored, fmt.Errorf("%s %q: not a prefix", w, v)
			}
			if w == "from" {
				r.From = p
			} else {
				r.To = p
			}
		case "iif":
			r.IIf = v
		case "oif":
			r.OIf = v
		case "table", "lookup":
			if r.Table, err = routeInt(w, v, 1, 1<<31-1); err != nil {
				return r, ignored, err
			}
		case "priority", "preference", "pref":
			if r.Priority, err = routeInt(w, v, 0, 1<<31-1); err != nil {
				return r, ignored, err
			}
		case "fwmark":
			mark, mask, _ := strings.Cut(v, "/")
			m, merr := strconv.ParseUint(mark, 0, 32)
			k := uint64(0xffffffff)
			if mask != "" && merr == nil {
				k, merr = strconv.ParseUint(mask, 0, 32)
			}
			if merr != nil {
				return r, ignored, fmt.Errorf("fwmark %q: want N or N/MASK", v)
			}
			r.Mark, r.Mask, r.HasMark = uint32(m), uint32(k), true
		default:
			ignored = append(ignored, "option "+w+" "+v+" not applied")
		}
	}
	if r.Table == 0 {
		return r, ignored, fmt.Errorf("no table: a rule without one has nothing to do")
	}
	if r.From.IsValid() && r.To.IsValid() && r.From.Addr().Is4() != r.To.Addr().Is4() {
		return r, ignored, fmt.Errorf("from %v and to %v are of different families", r.From, r.To)
	}
	return r, ignored, nil
}

func routeInt(key, v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s %q: want a number %d-%d", key, v, lo, hi)
	}
	return n, nil
}

// parsePrefixOrAddr reads PREFIX or ADDRESS (a host route), as keepalived does;
// "default" is 0.0.0.0/0.
func parsePrefixOrAddr(s string) (netip.Prefix, error) {
	if s == "default" {
		return netip.MustParsePrefix("0.0.0.0/0"), nil
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
