package config

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
)

func init() { loadKeepalived = LoadKeepalived }

// LoadKeepalived reads a keepalived.conf (and every file it includes) and converts
// its VRRP part into a Config. Like the YAML decoder it starts from DefaultConfig and
// DefaultInstance (keepalived's defaults), but it neither normalizes nor validates:
// Load does both for every format. Config.Positions maps field paths to the
// keepalived lines they came from, so validation errors name those lines. Keywords ebpfvrrp does not implement are returned in
// Config.Warnings with file and line; errors are *KeepalivedError values (joined when
// there are several) that match ErrKeepalivedSyntax or ErrKeepalivedConfig.
func LoadKeepalived(path string) (*Config, error) {
	return loadKeepalivedAs(path, "")
}

// loadKeepalivedAs is LoadKeepalived with keepalived's config id (its -i option)
// given; "" means the host name up to its first dot, keepalived's default.
func loadKeepalivedAs(path, configID string) (*Config, error) {
	lx := newKALexer()
	if configID != "" {
		lx.hostID = configID
	}
	if err := lx.readFile(path, kaPos{}); err != nil {
		return nil, err
	}
	nodes, err := parseKA(lx.toks)
	if err != nil {
		return nil, err
	}
	// Start from the defaults a zero value cannot express (Telemetry.Listen,
	// GARP.MasterDelay, Preempt), as a YAML file that omits them would get.
	cfg := DefaultConfig()
	cfg.Source, cfg.Warnings, cfg.Positions = path, lx.warnings, map[string]Position{}
	c := &kaConverter{cfg: cfg}
	c.convert(nodes)
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	return c.cfg, nil
}

// IsKeepalived reports whether data looks like a keepalived.conf: its first
// statement is a keepalived top-level block ("global_defs {", "vrrp_instance VI_1 {",
// …) or an include. YAML, TOML and JSON never start that way.
//
// Lines may be of any length: a first line of megabytes (a long comment, a
// generated one-line config) is read like any other.
func IsKeepalived(data []byte) bool {
	pendingBlock := "" // a block keyword whose '{' may be on the next line
	for len(data) > 0 {
		var raw []byte
		raw, data = kaNextLine(data)
		line := string(raw)
		cut, _ := kaDecomment(line)
		line = strings.TrimSpace(line[:cut])
		if line == "" {
			continue
		}
		if pendingBlock != "" {
			return strings.HasPrefix(line, "{")
		}
		if line[0] == '@' || line[0] == '$' || strings.HasPrefix(line, "~SEQ") {
			continue // conditional lines and parameter definitions are keepalived-only syntax too
		}
		kw, rest, _ := strings.Cut(strings.Replace(line, "{", " { ", 1), " ")
		kw = strings.TrimSpace(kw)
		if kw == "include" {
			return len(strings.Fields(rest)) == 1
		}
		if !kaTopLevel[kw] && kaTopLevelUnsupported[kw] == "" {
			return false
		}
		if strings.Contains(rest, "{") {
			return true
		}
		pendingBlock = kw
	}
	return false
}

type kaConverter struct {
	cfg        *Config
	errs       []error
	version    int // global vrrp_version
	versionSet bool
	// versionExplicit[i]: instance i has its own "version" line.
	versionExplicit map[int]bool
	instanceSeen    map[string]kaPos
	// instanceNodes[i] is instance i's block; strict is global_defs vrrp_strict.
	instanceNodes []*kaNode
	strict        bool
	trackerSeen   map[string]kaPos
	// groupWeights: sync groups with sync_group_tracking_weight (or its old
	// name global_tracking), whose members keep their trackers' weights.
	groupWeights map[string]bool
	// vrrp_skip_check_adv_addr, every instance's default unless it has its own.
	skipCheckAdvAddr bool
	skipExplicit     map[int]bool
}

func (c *kaConverter) errorf(p kaPos, format string, args ...any) {
	c.errs = append(c.errs, kaConfigErr(p, format, args...))
}

// at records where the value at a Problem.Path-style path was written.
func (c *kaConverter) at(path string, p kaPos) {
	c.cfg.Positions[path] = Position{File: p.File, Line: p.Line}
}

func (c *kaConverter) warnPos(p Position, format string, args ...any) {
	c.cfg.Warnings = append(c.cfg.Warnings, Warning{File: p.File, Line: p.Line, Message: fmt.Sprintf(format, args...)})
}

// warnKeyword emits the table's warning for a kaWarned keyword the converter handles.
func (c *kaConverter) warnKeyword(n *kaNode, ctx string) {
	c.warnf(n.Pos(), "%s: %s", n.Name(), kaMsg(ctx, n.Name()))
}

func (c *kaConverter) warnf(p kaPos, format string, args ...any) {
	c.cfg.Warnings = append(c.cfg.Warnings, Warning{File: p.File, Line: p.Line, Message: fmt.Sprintf(format, args...)})
}

// unhandled reports a keyword the block's handler does not implement: a warning for
// known-but-unsupported and unknown keywords, an error for likely typos.
func (c *kaConverter) unhandled(n *kaNode, where string, known map[string]bool, unsupported map[string]string) {
	if msg, ok := unsupported[n.Name()]; ok {
		what := "ignored"
		if n.HasBlock {
			what = "block ignored"
		}
		c.warnf(n.Pos(), "%s: %s (%s)", n.Name(), msg, what)
		return
	}
	if s := kaSuggest(n.Name(), known, unsupported); s != "" {
		c.errorf(n.Pos(), "unknown keyword %q in %s; did you mean %q?", n.Name(), where, s)
		return
	}
	c.warnf(n.Pos(), "%s: unknown keyword in %s, ignored (keepalived ignores it too)", n.Name(), where)
	c.cfg.Warnings[len(c.cfg.Warnings)-1].UnknownKeyword = true
}

func (c *kaConverter) convert(nodes []*kaNode) {
	c.cfg.Trackers = map[string]Tracker{}
	c.instanceSeen = map[string]kaPos{}
	c.trackerSeen = map[string]kaPos{}
	c.versionExplicit = map[int]bool{}
	c.skipExplicit = map[int]bool{}
	for _, n := range nodes {
		switch n.Name() {
		case "global_defs":
			if c.wantBlock(n, 0) {
				c.globalDefs(n.Block)
			}
		case "vrrp_script":
			if name, ok := c.blockName(n); ok {
				c.vrrpScript(n, name)
			}
		case "vrrp_track_file", "track_file":
			if name, ok := c.blockName(n); ok {
				c.trackFile(n, name)
			}
		case "vrrp_track_process":
			if name, ok := c.blockName(n); ok {
				c.trackProcess(n, name)
			}
		case "vrrp_instance":
			if name, ok := c.blockName(n); ok {
				c.instance(n, name)
			}
		case "vrrp_sync_group":
			if name, ok := c.blockName(n); ok {
				c.syncGroup(n, name)
			}
		default:
			c.unhandled(n, "the top level", kaTopLevel, kaTopLevelUnsupported)
		}
	}
	c.syncGroupWeights()
	for i := range c.cfg.Instances {
		in := &c.cfg.Instances[i]
		if c.versionExplicit[i] {
			continue
		}
		if c.versionSet {
			in.Version = c.version
			c.cfg.Positions[fmt.Sprintf("instances[%d].version", i)] = c.cfg.Positions["version"]
		}
		if !c.skipExplicit[i] {
			in.SkipCheckAdvAddr = c.skipCheckAdvAddr
		}
		// keepalived runs an IPv6 instance as VRRPv3 unless told otherwise: v2 has
		// no IPv6.
		if in.Version == 2 && len(in.VIPs) > 0 && in.VIPs[0].Address.Addr().Is6() && !in.VIPs[0].Address.Addr().Is4In6() {
			in.Version = 3
		}
	}
	c.strictInstances()
	// Conflicts keepalived resolves with a warning and still runs; so do we.
	for i := range c.cfg.Instances {
		in := &c.cfg.Instances[i]
		prefix := fmt.Sprintf("instances[%d]", i)
		if in.Version == 3 && in.Auth.Type == "pass" {
			c.warnPos(c.cfg.Positions[prefix+".auth"], "(%s) VRRP version 3 does not support authentication; ignored, as keepalived does", in.Name)
			in.Auth = Auth{Type: DefaultAuthType}
			delete(c.cfg.Positions, prefix+".auth.type")
			delete(c.cfg.Positions, prefix+".auth.password")
		}
		if !in.Preempt && in.PreemptDelay > 0 {
			c.warnPos(c.cfg.Positions[prefix+".preempt_delay"], "(%s) preempt_delay has no effect with nopreempt; reset to 0, as keepalived does", in.Name)
			in.PreemptDelay = 0
		}
	}
	delete(c.cfg.Positions, "version")
	if len(c.cfg.Trackers) == 0 {
		c.cfg.Trackers = nil
	}
}

// wantBlock checks a block keyword has a block and exactly nargs arguments.
func (c *kaConverter) wantBlock(n *kaNode, nargs int) bool {
	if !n.HasBlock {
		c.errorf(n.Pos(), "%s needs a { ... } block", n.Name())
		return false
	}
	if len(n.Args) != nargs {
		if nargs == 0 {
			c.errorf(n.Args[0].Pos, "%s takes no arguments before '{'", n.Name())
		} else if len(n.Args) < nargs {
			c.errorf(n.Pos(), "%s needs a name: %s NAME {", n.Name(), n.Name())
		} else {
			c.errorf(n.Args[nargs].Pos, "unexpected %q after %s %s", n.Args[nargs].Text, n.Name(), n.Args[0].Text)
		}
		return false
	}
	return true
}

func (c *kaConverter) blockName(n *kaNode) (string, bool) {
	if !c.wantBlock(n, 1) {
		return "", false
	}
	return n.Args[0].Text, true
}

// Argument helpers. Each reports its own error and returns ok=false.

func (c *kaConverter) noBlock(n *kaNode) bool {
	if n.HasBlock {
		c.errorf(n.Open, "%s does not take a { ... } block", n.Name())
		return false
	}
	return true
}

func (c *kaConverter) args(n *kaNode, min, max int, usage string) bool {
	if !c.noBlock(n) {
		return false
	}
	switch {
	case len(n.Args) < min:
		c.errorf(n.Pos(), "%s: missing value (%s %s)", n.Name(), n.Name(), usage)
		return false
	case len(n.Args) > max:
		c.errorf(n.Args[max].Pos, "%s: unexpected %q (%s %s)", n.Name(), n.Args[max].Text, n.Name(), usage)
		return false
	}
	return true
}

func (c *kaConverter) flag(n *kaNode) bool { return c.args(n, 0, 0, "") }

func (c *kaConverter) str(n *kaNode) (string, bool) {
	if !c.args(n, 1, 1, "VALUE") {
		return "", false
	}
	return n.Args[0].Text, true
}

func (c *kaConverter) intArg(n *kaNode, t kaToken) (int, bool) {
	v, err := strconv.Atoi(strings.TrimSpace(t.Text))
	if err != nil {
		c.errorf(t.Pos, "%s: %q is not an integer", n.Name(), t.Text)
		return 0, false
	}
	return v, true
}

func (c *kaConverter) int1(n *kaNode) (int, bool) {
	if !c.args(n, 1, 1, "NUMBER") {
		return 0, false
	}
	return c.intArg(n, n.Args[0])
}

var kaDecimal = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$|^\.[0-9]+$`)

// seconds parses keepalived's decimal seconds ("1", "0.01") exactly, without float
// rounding.
func (c *kaConverter) seconds(n *kaNode) (time.Duration, bool) {
	if !c.args(n, 1, 1, "SECONDS") {
		return 0, false
	}
	t := n.Args[0]
	s := strings.TrimSpace(t.Text)
	if !kaDecimal.MatchString(s) {
		c.errorf(t.Pos, "%s: %q is not a number of seconds", n.Name(), t.Text)
		return 0, false
	}
	d, err := time.ParseDuration(s + "s")
	if err != nil {
		c.errorf(t.Pos, "%s: %q: %v", n.Name(), t.Text, err)
		return 0, false
	}
	return d, true
}

func (c *kaConverter) addr(n *kaNode, t kaToken) (netip.Addr, bool) {
	a, err := netip.ParseAddr(t.Text)
	if err != nil {
		c.errorf(t.Pos, "%s: %q is not an IP address", n.Name(), t.Text)
		return netip.Addr{}, false
	}
	return a, true
}

// weight parses "weight N" at args[i:] (as in track_script and track_file lines),
// rejecting keepalived's "reverse", whose inverted sense ebpfvrrp does not carry.
func (c *kaConverter) weightOpt(n *kaNode, args []kaToken) (*int, bool) {
	if len(args) == 0 {
		return nil, true
	}
	if args[0].Text != "weight" {
		if s := kaSuggest(args[0].Text, map[string]bool{"weight": true}); s != "" {
			c.errorf(args[0].Pos, "%s: unknown option %q; did you mean %q?", n.Name(), args[0].Text, s)
		} else {
			c.errorf(args[0].Pos, "%s: unknown option %q (expected: weight N)", n.Name(), args[0].Text)
		}
		return nil, false
	}
	if len(args) < 2 {
		c.errorf(args[0].Pos, "%s: weight needs a number", n.Name())
		return nil, false
	}
	w, ok := c.intArg(n, args[1])
	if !ok {
		return nil, false
	}
	if len(args) > 2 {
		if args[2].Text == "reverse" {
			c.errorf(args[2].Pos, "%s: \"weight ... reverse\" is not supported; use the opposite sign", n.Name())
		} else {
			c.errorf(args[2].Pos, "%s: unexpected %q after weight", n.Name(), args[2].Text)
		}
		return nil, false
	}
	return &w, true
}

// splitQuotedEscaped splits s into words as keepalived's alloc_strvec_quoted_escaped
// does: whitespace separates words, '…' and "…" group (and may abut other text), and
// backslash escapes (\n, \t, \xHH, \ooo, \cX, \" …) work inside and outside quotes.
func kaSplitQuotedEscaped(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote byte
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '\\':
			i++
			if i >= len(s) {
				return nil, fmt.Errorf("missing escaped character at end of %q", s)
			}
			inWord = true
			i = kaUnescape(s, i, &cur)
		case quote != 0:
			if ch == quote {
				quote = 0
			} else {
				cur.WriteByte(ch)
			}
		case ch == '"' || ch == '\'':
			quote, inWord = ch, true
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("missing terminating %c in %q", quote, s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// unescape writes the character escaped at s[i] (just after the backslash) and
// returns the index of the last byte consumed.
func kaUnescape(s string, i int, b *strings.Builder) int {
	isHex := func(c byte) bool { return kaIsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') }
	switch c := s[i]; {
	case c == 'x' && i+1 < len(s) && isHex(s[i+1]):
		j := i + 1
		for j < len(s) && isHex(s[j]) && j < i+3 {
			j++
		}
		v, _ := strconv.ParseUint(s[i+1:j], 16, 8)
		b.WriteByte(byte(v))
		return j - 1
	case c == 'c' && i+1 < len(s):
		b.WriteByte(s[i+1] & 0x1f)
		return i + 1
	case c >= '0' && c <= '7':
		j := i
		for j < len(s) && j < i+3 && s[j] >= '0' && s[j] <= '7' {
			j++
		}
		v, _ := strconv.ParseUint(s[i:j], 8, 16)
		b.WriteByte(byte(v))
		return j - 1
	default:
		if r, ok := map[byte]byte{'a': '\a', 'b': '\b', 'E': 0x1b, 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v'}[c]; ok {
			b.WriteByte(r)
		} else {
			b.WriteByte(c)
		}
		return i
	}
}

// scriptArgv converts a script or notify line the way keepalived does: the raw line
// is split with quote and escape handling, the first word is split again into argv
// (so script "killall -0 nginx" runs killall with two arguments, no shell), and any
// further words are returned as extra (keepalived reads them as user [group]).
func (c *kaConverter) scriptArgv(n *kaNode) (argv, extra []string, ok bool) {
	if !c.noBlock(n) {
		return nil, nil, false
	}
	if len(n.Args) == 0 {
		c.errorf(n.Pos(), "%s: missing script", n.Name())
		return nil, nil, false
	}
	words, err := kaSplitQuotedEscaped(n.rawArgs())
	if err == nil && len(words) > 0 {
		argv, err = kaSplitQuotedEscaped(words[0])
	}
	if err != nil {
		c.errorf(n.Args[0].Pos, "%s: %v", n.Name(), err)
		return nil, nil, false
	}
	if len(argv) == 0 {
		c.errorf(n.Args[0].Pos, "%s: empty script", n.Name())
		return nil, nil, false
	}
	return argv, words[1:], true
}

// garp reads one garp_master_* keyword (the global vrrp_garp_master_* ones without
// their prefix) into g. keepalived takes whole seconds for the delays.
func (c *kaConverter) garp(n *kaNode, key string, g *GARP, perInstance bool) {
	v, ok := c.int1(n)
	if !ok {
		return
	}
	switch key {
	case "garp_master_delay":
		// In an instance a 0 means no second burst, not "inherit the global":
		// keepalived's instance keeps its own garp_delay whatever its value.
		g.MasterDelay, g.MasterDelaySet = time.Duration(v)*time.Second, perInstance
	case "garp_master_repeat":
		g.MasterRepeat = v
	case "garp_master_refresh":
		g.Refresh = time.Duration(v) * time.Second
	case "garp_master_refresh_repeat":
		g.RefreshRepeat = v
	}
}

func (c *kaConverter) globalDefs(block []*kaNode) {
	cfg := c.cfg
	for _, n := range block {
		if f, ok := kaGlobalPaths[n.Name()]; ok {
			c.at(f, n.Pos())
		}
		var ok bool
		switch n.Name() {
		case "router_id":
			cfg.RouterID, _ = c.str(n)
		case "vrrp_version":
			if c.version, ok = c.int1(n); ok {
				c.versionSet = true
			}
		case "vrrp_mcast_group4", "vrrp_mcast_group6":
			if !c.args(n, 1, 1, "ADDRESS") {
				continue
			}
			a, ok := c.addr(n, n.Args[0])
			if !ok {
				continue
			}
			if want6 := n.Name() == "vrrp_mcast_group6"; a.Is6() != want6 || a.Is4In6() {
				c.errorf(n.Args[0].Pos, "%s: %s is not an IPv%s address", n.Name(), a, map[bool]string{true: "6", false: "4"}[want6])
				continue
			}
			if n.Name() == "vrrp_mcast_group4" {
				cfg.McastGroup4 = a
			} else {
				cfg.McastGroup6 = a
			}
		case "vrrp_garp_master_delay", "vrrp_garp_master_repeat", "vrrp_garp_master_refresh",
			"vrrp_garp_master_refresh_repeat":
			c.garp(n, strings.TrimPrefix(n.Name(), "vrrp_"), &cfg.GARP, false)
		case "vrrp_garp_interval":
			cfg.GARP.Interval, _ = c.seconds(n)
		case "vrrp_rt_priority":
			// keepalived runs its VRRP process in SCHED_RR at this priority;
			// ebpfvrrp the thread that sends adverts (Validate checks 1-99).
			cfg.Scheduling.RTPriority, _ = c.int1(n)
		case "vrrp_garp_lower_prio_repeat", "vrrp_garp_lower_prio_delay":
			c.lowerPrioGARP(n, &cfg.GARP)
		case "script_user":
			if c.args(n, 1, 2, "USER [GROUP]") {
				cfg.ScriptUser = kaRunAs(n.Args[0].Text, n.Args[1:])
			}
		case "notify_fifo", "vrrp_notify_fifo":
			c.notifyFIFOPath(n, kaFIFO(cfg, n.Name()))
		case "notify_fifo_script", "vrrp_notify_fifo_script":
			c.notifyFIFOScript(n, kaFIFO(cfg, strings.TrimSuffix(n.Name(), "_script")))
		case "vrrp_startup_delay":
			// keepalived reads 0.001–4294.967295 s and reports anything else.
			if d, ok := c.seconds(n); ok {
				if d < time.Millisecond || d > MaxStartupDelay {
					c.errorf(n.Args[0].Pos, "vrrp_startup_delay: %s is outside 0.001–4294.967295 seconds (keepalived: \"vrrp_startup_delay '%s' is invalid\")", n.Args[0].Text, n.Args[0].Text)
					continue
				}
				cfg.StartupDelay = d
			}
		case "vrrp_strict":
			if c.flag(n) {
				c.strict = true
			}
		case "vrrp_skip_check_adv_addr":
			c.skipCheckAdvAddr, _ = c.kaBool(n)
		case "enable_script_security":
			if c.flag(n) {
				cfg.ScriptSecurity = true
				c.warnKeyword(n, kaCtxGlobal)
			}
		default:
			c.unhandled(n, "global_defs", kaGlobal, kaGlobalUnsupported)
		}
	}
}

func (c *kaConverter) addTracker(n *kaNode, name string, t Tracker) {
	if prev, dup := c.trackerSeen[name]; dup {
		c.errorf(n.Args[0].Pos, "%s %q already defined at %s", n.Name(), name, prev)
		return
	}
	c.trackerSeen[name] = n.Args[0].Pos
	c.cfg.Trackers[name] = t
}

func (c *kaConverter) vrrpScript(n *kaNode, name string) {
	var t Tracker
	haveScript := false
	c.at("trackers."+name, n.Pos())
	for _, s := range n.Block {
		if kaScript[s.Name()] {
			f := s.Name()
			if f == "script" {
				f = "command"
			}
			c.at("trackers."+name+"."+f, s.Pos())
		}
		switch s.Name() {
		case "script":
			haveScript = true // when invalid, scriptArgv has said why
			argv, extra, ok := c.scriptArgv(s)
			if !ok {
				continue
			}
			t.Command = argv
			if len(extra) > 0 {
				c.warnf(s.Pos(), "script: keepalived ignores %q after the script; quote the whole command line to pass arguments", strings.Join(extra, " "))
			}
		case "interval":
			t.Interval, _ = c.seconds(s)
		case "timeout":
			t.Timeout, _ = c.seconds(s)
		case "weight":
			if c.args(s, 1, 2, "N") {
				if len(s.Args) == 2 {
					if s.Args[1].Text == "reverse" {
						c.errorf(s.Args[1].Pos, "weight: \"reverse\" is not supported; use the opposite sign")
					} else {
						c.errorf(s.Args[1].Pos, "weight: unexpected %q", s.Args[1].Text)
					}
					continue
				}
				t.Weight, _ = c.intArg(s, s.Args[0])
			}
		case "rise":
			t.Rise, _ = c.int1(s)
		case "fall":
			t.Fall, _ = c.int1(s)
		case "init_fail":
			if c.flag(s) {
				t.InitFail = true
			}
		case "user":
			if c.args(s, 1, 2, "USER [GROUP]") {
				t.User = kaRunAs(s.Args[0].Text, s.Args[1:])
			}
		default:
			c.unhandled(s, "vrrp_script", kaScript, kaScriptUnsupported)
		}
	}
	if !haveScript {
		c.errorf(n.Pos(), "vrrp_script %s has no script", name)
		return
	}
	c.addTracker(n, name, t)
}

// trackFile converts a track_file (or its deprecated synonym vrrp_track_file) block.
// keepalived's track_file_handler starts every tracked file at weight 1, so the
// file's value is added to the priority unless a weight says otherwise
// (keepalived/trackers/track_file.c).
func (c *kaConverter) trackFile(n *kaNode, name string) {
	t := Tracker{Weight: 1}
	c.at("trackers."+name, n.Pos())
	for _, s := range n.Block {
		if kaTrackFile[s.Name()] {
			f := s.Name()
			if f == "init_file" {
				f = "file_init"
			}
			c.at("trackers."+name+"."+f, s.Pos())
		}
		switch s.Name() {
		case "file":
			t.File, _ = c.str(s)
		case "init_file":
			t.FileInit = c.initFile(s)
		case "weight":
			if w, ok := c.blockWeight(s); ok {
				t.Weight = w
			}
		default:
			c.unhandled(s, n.Name(), kaTrackFile, kaTrackFileUnsupported)
		}
	}
	if t.File == "" {
		c.errorf(n.Pos(), "%s %s has no file", n.Name(), name)
		return
	}
	c.addTracker(n, name, t)
}

// blockWeight reads a track_file or vrrp_track_process block's "weight N";
// keepalived's "weight N reverse" is refused, as ebpfvrrp does not carry its
// inverted sense.
func (c *kaConverter) blockWeight(s *kaNode) (int, bool) {
	if !c.args(s, 1, 2, "N") {
		return 0, false
	}
	if len(s.Args) == 2 {
		c.errorf(s.Args[1].Pos, "weight: %q is not supported; use the opposite sign", s.Args[1].Text)
		return 0, false
	}
	return c.intArg(s, s.Args[0])
}

// initFile reads "init_file [VALUE] [overwrite]" in either order, as keepalived's
// track_file_init_handler does: the value defaults to 0, and keepalived reports a
// value outside -254..254 but keeps it.
func (c *kaConverter) initFile(s *kaNode) *FileInit {
	if !c.noBlock(s) {
		return nil
	}
	fi := &FileInit{}
	for _, a := range s.Args {
		switch {
		case a.Text == "overwrite":
			fi.Overwrite = true
		case a.Text != "" && (kaIsDigit(a.Text[0]) || a.Text[0] == '-'):
			v, ok := c.intArg(s, a)
			if !ok {
				return nil
			}
			if v < -254 || v > 254 {
				c.warnf(a.Pos, "init_file: %d is outside the sensible range -254..254 (keepalived warns too); written as is", v)
			}
			fi.Value = v
		default:
			c.errorf(a.Pos, "init_file: unknown option %q (init_file [VALUE] [overwrite])", a.Text)
			return nil
		}
	}
	return fi
}

// kaFIFO is the config's FIFO for keepalived's notify_fifo or vrrp_notify_fifo.
func kaFIFO(cfg *Config, name string) *NotifyFIFO {
	if name == "notify_fifo" {
		return &cfg.NotifyFIFO
	}
	return &cfg.VRRPNotifyFIFO
}

// notifyFIFOPath reads "notify_fifo PATH [USER [GROUP]]"; keepalived chowns a
// FIFO it creates to USER:GROUP, which ebpfvrrp does not.
func (c *kaConverter) notifyFIFOPath(n *kaNode, f *NotifyFIFO) {
	if !c.args(n, 1, 3, "PATH [USER [GROUP]]") {
		return
	}
	f.Path = n.Args[0].Text
	if len(n.Args) > 1 {
		c.warnf(n.Args[1].Pos, "%s: the FIFO is not given to %q: it is created as the daemon's user, mode 0644, which any user can read", n.Name(), n.Args[1].Text)
	}
}

// notifyFIFOScript reads "notify_fifo_script SCRIPT [USER [GROUP]]".
func (c *kaConverter) notifyFIFOScript(n *kaNode, f *NotifyFIFO) {
	argv, extra, ok := c.scriptArgv(n)
	if !ok {
		return
	}
	if len(extra) > 2 {
		c.errorf(n.Pos(), "%s: unexpected %q after SCRIPT USER GROUP (to pass arguments, quote the whole command line)", n.Name(), strings.Join(extra[2:], " "))
		return
	}
	f.Script = argv
	if len(extra) > 0 {
		f.User = strings.Join(extra, ":")
	}
}

// kaRunAs spells keepalived's "USER [GROUP]" as the config's "USER[:GROUP]".
func kaRunAs(user string, group []kaToken) string {
	if len(group) == 0 {
		return user
	}
	return user + ":" + group[0].Text
}

func (c *kaConverter) notify(s *kaNode, nt *Notify, ctx string) {
	argv, extra, ok := c.scriptArgv(s)
	if !ok {
		return
	}
	if k, _ := kaLookup(ctx, s.Name()); k.Class == kaWarned {
		c.warnKeyword(s, ctx)
	}
	if len(extra) > 2 {
		c.errorf(s.Pos(), "%s: unexpected %q after SCRIPT USER GROUP (to pass arguments, quote the whole command line)", s.Name(), strings.Join(extra[2:], " "))
		return
	}
	if len(extra) > 0 {
		// keepalived runs this one script as USER [GROUP]; ebpfvrrp has one user
		// per notify block, so two different ones cannot both hold.
		runAs := kaRunAs(extra[0], nil)
		if len(extra) == 2 {
			runAs += ":" + extra[1]
		}
		if nt.User != "" && nt.User != runAs {
			c.errorf(s.Pos(), "%s: runs as %q, but another notify script of this block runs as %q; ebpfvrrp runs a block's notify scripts as one user", s.Name(), runAs, nt.User)
			return
		}
		nt.User = runAs
	}
	switch s.Name() {
	case "notify":
		nt.Generic = argv
	case "notify_master":
		nt.Master = argv
	case "notify_backup":
		nt.Backup = argv
	case "notify_fault":
		nt.Fault = argv
	case "notify_stop":
		nt.Stop = argv
	}
}

func (c *kaConverter) instance(n *kaNode, name string) {
	if prev, dup := c.instanceSeen[name]; dup {
		c.errorf(n.Args[0].Pos, "vrrp_instance %q already defined at %s", name, prev)
		return
	}
	c.instanceSeen[name] = n.Args[0].Pos
	idx := len(c.cfg.Instances)
	prefix := fmt.Sprintf("instances[%d]", idx)
	c.at(prefix, n.Pos())
	c.at(prefix+".name", n.Args[0].Pos)
	in := DefaultInstance()
	in.Name = name
	vipSeen := map[netip.Addr]kaPos{}
	for _, s := range n.Block {
		if f, ok := kaInstancePaths[s.Name()]; ok {
			c.at(prefix+"."+f, s.Pos())
		}
		switch s.Name() {
		case "state":
			if v, ok := c.str(s); ok {
				switch strings.ToUpper(v) {
				case "MASTER":
					in.State = "master"
				case "BACKUP":
					in.State = "backup"
				default:
					c.errorf(s.Args[0].Pos, "state: %q is not MASTER or BACKUP", v)
				}
			}
		case "interface":
			in.Interface, _ = c.str(s)
		case "virtual_router_id":
			in.VRID, _ = c.int1(s)
		case "priority":
			in.Priority, _ = c.int1(s)
		case "advert_int":
			d, ok := c.seconds(s)
			// keepalived reads advert_int as 0.01–255 seconds and refuses anything
			// else, 0 included, with a config error (keepalived -t exits non-zero);
			// a 0 here would otherwise become the 1 s default.
			if ok && (d < 10*time.Millisecond || d > 255*time.Second) {
				c.errorf(s.Args[0].Pos, "advert_int: %s is outside 0.01–255 seconds (keepalived: \"Advert interval (%s) not valid! Must be > 0\")", s.Args[0].Text, s.Args[0].Text)
				continue
			}
			in.AdvertInterval = d
		case "version":
			var ok bool
			if in.Version, ok = c.int1(s); ok {
				c.versionExplicit[idx] = true
			}
		case "authentication":
			if c.wantBlock(s, 0) {
				c.auth(s, &in.Auth, prefix+".auth")
			}
		case "virtual_ipaddress":
			if c.wantBlock(s, 0) {
				in.VIPs = append(in.VIPs, c.vips(s, prefix+".vips", len(in.VIPs), vipSeen)...)
			}
		case "virtual_ipaddress_excluded":
			if c.wantBlock(s, 0) {
				in.ExcludedVIPs = append(in.ExcludedVIPs, c.vips(s, prefix+".excluded_vips", len(in.ExcludedVIPs), vipSeen)...)
			}
		case "nopreempt":
			if c.flag(s) {
				in.Preempt = false
			}
		case "preempt":
			if c.flag(s) {
				in.Preempt = true
			}
		case "preempt_delay":
			in.PreemptDelay, _ = c.seconds(s)
		case "unicast_src_ip", "mcast_src_ip":
			// keepalived's vrrp_srcip_handler serves both: one source address.
			if c.args(s, 1, 1, "ADDRESS") {
				in.UnicastSource, _ = c.addr(s, s.Args[0])
			}
		case "unicast_peer":
			c.at(prefix+".allowed_peers", s.Pos())
			if c.wantBlock(s, 0) {
				in.UnicastPeers = append(in.UnicastPeers, c.peers(s, prefix, len(in.UnicastPeers))...)
			}
		case "track_interface":
			if c.wantBlock(s, 0) {
				in.TrackInterfaces = append(in.TrackInterfaces, c.trackInterfaces(s, prefix+".track_interfaces", len(in.TrackInterfaces))...)
			}
		case "track_script", "track_file", "track_process":
			if c.wantBlock(s, 0) {
				in.Track = append(in.Track, c.trackRefs(s, prefix+".track", len(in.Track))...)
			}
		case "notify", "notify_master", "notify_backup", "notify_fault", "notify_stop":
			c.notify(s, &in.Notify, kaCtxInstance)
		case "garp_master_delay", "garp_master_repeat", "garp_master_refresh", "garp_master_refresh_repeat":
			c.garp(s, s.Name(), &in.GARP, true)
		case "garp_lower_prio_repeat", "garp_lower_prio_delay":
			c.lowerPrioGARP(s, &in.GARP)
		case "use_vmac":
			if c.args(s, 0, 1, "[NAME]") {
				in.UseVMAC = true
				if len(s.Args) == 1 {
					c.warnf(s.Args[0].Pos, "use_vmac: interface name %q ignored; the VMAC interface is named by ebpfvrrp", s.Args[0].Text)
				}
			}
		case "dont_track_primary":
			if c.flag(s) {
				in.DontTrackPrimary = true
			}
		case "accept", "no_accept":
			if c.flag(s) {
				in.NoAccept = s.Name() == "no_accept"
			}
		case "virtual_routes", "virtual_rules":
			if c.wantBlock(s, 0) {
				c.routeLines(s, prefix, &in)
			}
		case "skip_check_adv_addr":
			if v, ok := c.kaBool(s); ok {
				in.SkipCheckAdvAddr = v
				c.skipExplicit[idx] = true
			}
		case "strict_mode":
			c.kaBool(s) // applied by strictInstances once the whole file is read
		default:
			c.unhandled(s, "vrrp_instance", kaInstance, kaInstanceUnsupported)
		}
	}
	c.cfg.Instances = append(c.cfg.Instances, in)
	c.instanceNodes = append(c.instanceNodes, n)
}

func (c *kaConverter) auth(n *kaNode, a *Auth, prefix string) {
	typ, pass := "", ""
	var passPos kaPos
	for _, s := range n.Block {
		switch s.Name() {
		case "auth_type":
			c.at(prefix+".type", s.Pos())
		case "auth_pass":
			c.at(prefix+".password", s.Pos())
		}
		switch s.Name() {
		case "auth_type":
			v, ok := c.str(s)
			if !ok {
				continue
			}
			switch strings.ToUpper(v) {
			case "PASS":
				typ = "pass"
			case "AH":
				c.errorf(s.Args[0].Pos, "auth_type AH is not supported (RFC 3768 removed it; keepalived deprecates it); use PASS or no authentication")
			default:
				c.errorf(s.Args[0].Pos, "auth_type: %q is not PASS", v)
			}
		case "auth_pass":
			// keepalived takes the rest of the line, so a password may contain spaces
			// only when quoted; a second word is most likely a mistake.
			if v, ok := c.str(s); ok {
				pass, passPos = v, s.Args[0].Pos
			}
		default:
			c.unhandled(s, "authentication", kaAuth, nil)
		}
	}
	if pass != "" && typ == "" {
		c.warnf(passPos, "auth_pass without auth_type: keepalived sends no authentication, and neither will ebpfvrrp")
		return
	}
	if typ == "pass" && pass == "" {
		c.errorf(n.Pos(), "authentication: auth_type PASS needs auth_pass")
		return
	}
	if len(pass) > 8 {
		// keepalived truncates to the 8 bytes of the VRRPv2 auth field.
		c.warnf(passPos, "auth_pass is longer than 8 bytes; only %q is used, as keepalived does", pass[:8])
		pass = pass[:8]
	}
	a.Type, a.Password = typ, pass
}

// vips parses virtual_ipaddress lines: ADDR[/LEN] [dev IFACE] [label LABEL] [...].
// An address already listed in the instance (seen, shared by virtual_ipaddress and
// virtual_ipaddress_excluded) is dropped with a warning: keepalived loads such a
// file (its own sample keepalived.conf.vrrp lists 192.168.200.18 twice, and
// keepalived -t accepts it), and the kernel holds an address once anyway.
func (c *kaConverter) vips(n *kaNode, path string, first int, seen map[netip.Addr]kaPos) []VIP {
	var out []VIP
	for _, s := range n.Block {
		if s.HasBlock {
			c.errorf(s.Open, "%s: unexpected block", n.Name())
			continue
		}
		v, ok := c.vip(n, s)
		if ok {
			a := v.Address.Addr()
			if prev, dup := seen[a]; dup {
				c.warnf(s.Pos(), "%s: %s is already listed at %s; this line is ignored, so the address is added and advertised once (remove the line on every router of this VRID so they all advertise the same addresses)", n.Name(), a, prev)
				continue
			}
			seen[a] = s.Pos()
			c.at(fmt.Sprintf("%s[%d]", path, first+len(out)), s.Pos())
			out = append(out, v)
		}
	}
	return out
}

func (c *kaConverter) vip(n, s *kaNode) (VIP, bool) {
	var v VIP
	addrText := s.Key.Text
	var p netip.Prefix
	var err error
	if strings.Contains(addrText, "/") {
		p, err = netip.ParsePrefix(addrText)
	} else {
		var a netip.Addr
		if a, err = netip.ParseAddr(addrText); err == nil {
			p = netip.PrefixFrom(a, a.BitLen())
		}
	}
	if err != nil {
		c.errorf(s.Pos(), "%s: %q is not an address or address/prefix", n.Name(), addrText)
		return v, false
	}
	v.Address = p
	args := s.Args
	for i := 0; i < len(args); i++ {
		opt := args[i]
		needValue := func() (string, bool) {
			if i+1 >= len(args) {
				c.errorf(opt.Pos, "%s: %s needs a value", n.Name(), opt.Text)
				return "", false
			}
			i++
			return args[i].Text, true
		}
		switch opt.Text {
		case "dev":
			if val, ok := needValue(); ok {
				v.Device = val
			} else {
				return v, false
			}
		case "label":
			if val, ok := needValue(); ok {
				v.Label = val
			} else {
				return v, false
			}
		default:
			row, known := kaLookup(kaCtxVIP, opt.Text)
			if !known || row.Handler {
				if sg := kaSuggest(opt.Text, kaVIPOptions, kaVIPOptionUnsupported); sg != "" {
					c.errorf(opt.Pos, "%s: unknown option %q; did you mean %q?", n.Name(), opt.Text, sg)
				} else {
					c.errorf(opt.Pos, "%s: unknown option %q (supported: dev IFACE, label LABEL)", n.Name(), opt.Text)
				}
				return v, false
			}
			what := opt.Text
			if row.TakesValue {
				val, ok := needValue()
				if !ok {
					return v, false
				}
				what += " " + val
			}
			c.warnf(opt.Pos, "%s: %q on %s is %s", n.Name(), what, addrText, row.Msg)
		}
	}
	return v, true
}

// peers parses unicast_peer lines: one ADDR per line, optionally min_ttl/max_ttl.
func (c *kaConverter) peers(n *kaNode, prefix string, first int) []netip.Addr {
	var out []netip.Addr
	for _, s := range n.Block {
		if s.HasBlock {
			c.errorf(s.Open, "unicast_peer: unexpected block")
			continue
		}
		a, ok := c.addr(n, s.Key)
		if !ok {
			continue
		}
		// AllowedPeers defaults to the unicast peers, so its problems point here too.
		c.at(fmt.Sprintf("%s.unicast_peers[%d]", prefix, first+len(out)), s.Pos())
		c.at(fmt.Sprintf("%s.allowed_peers[%d]", prefix, first+len(out)), s.Pos())
		out = append(out, a)
		for i := 0; i < len(s.Args); i++ {
			opt := s.Args[i]
			switch opt.Text {
			case "min_ttl", "max_ttl":
				i++
				c.warnf(opt.Pos, "unicast_peer: %s is %s", opt.Text, kaMsg(kaCtxPeer, opt.Text))
			default:
				if kaLooksLikeAddr(opt.Text) {
					c.errorf(opt.Pos, "unicast_peer: one peer per line (keepalived reads %q as an option of %s)", opt.Text, s.Key.Text)
				} else {
					c.errorf(opt.Pos, "unicast_peer: unknown option %q", opt.Text)
				}
				i = len(s.Args)
			}
		}
	}
	return out
}

func kaLooksLikeAddr(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

func (c *kaConverter) trackInterfaces(n *kaNode, path string, first int) []TrackInterface {
	var out []TrackInterface
	for _, s := range n.Block {
		if !c.noBlock(s) {
			continue
		}
		c.at(fmt.Sprintf("%s[%d]", path, first+len(out)), s.Pos())
		ti := TrackInterface{Name: s.Key.Text}
		w, ok := c.weightOpt(s, s.Args)
		if !ok {
			continue
		}
		if w != nil {
			ti.Weight = *w
		}
		out = append(out, ti)
	}
	return out
}

func (c *kaConverter) trackRefs(n *kaNode, path string, first int) []TrackRef {
	var out []TrackRef
	for _, s := range n.Block {
		if !c.noBlock(s) {
			continue
		}
		c.at(fmt.Sprintf("%s[%d]", path, first+len(out)), s.Pos())
		w, ok := c.weightOpt(s, s.Args)
		if !ok {
			continue
		}
		out = append(out, TrackRef{Name: s.Key.Text, Weight: w})
	}
	return out
}

func (c *kaConverter) syncGroup(n *kaNode, name string) {
	g := SyncGroup{Name: name}
	prefix := fmt.Sprintf("sync_groups[%d]", len(c.cfg.SyncGroups))
	c.at(prefix, n.Pos())
	c.at(prefix+".name", n.Args[0].Pos)
	for _, s := range n.Block {
		if f, ok := kaNotifyPaths[s.Name()]; ok {
			c.at(prefix+"."+f, s.Pos())
		}
		switch s.Name() {
		case "group":
			if c.wantBlock(s, 0) {
				c.at(prefix+".instances", s.Pos())
				for _, m := range s.Block {
					if !c.noBlock(m) {
						continue
					}
					for _, w := range m.words() {
						c.at(fmt.Sprintf("%s.instances[%d]", prefix, len(g.Instances)), w.Pos)
						g.Instances = append(g.Instances, w.Text)
					}
				}
			}
		case "notify", "notify_master", "notify_backup", "notify_fault", "notify_stop":
			c.notify(s, &g.Notify, kaCtxSyncGroup)
		case "sync_group_tracking_weight", "global_tracking":
			if c.flag(s) {
				if c.groupWeights == nil {
					c.groupWeights = map[string]bool{}
				}
				c.groupWeights[name] = true
			}
		default:
			c.unhandled(s, "vrrp_sync_group", kaSyncGroup, kaSyncGroupUnsupported)
		}
	}
	c.cfg.SyncGroups = append(c.cfg.SyncGroups, g)
}

// syncGroupWeights does what keepalived 2.2 does to the trackers of a sync
// group's members unless the group says sync_group_tracking_weight
// (keepalived/vrrp/vrrp.c, vrrp_complete_init): a tracked interface's weight
// becomes 0 (link down is FAULT); a tracked file's weight becomes 0 (a non-zero
// value is FAULT; keepalived logs "ignoring weight from tracked file ... due to
// SYNC group"); a vrrp_script with a weight is dropped from the instance
// altogether ("ignoring tracked script with weights due to SYNC group").
func (c *kaConverter) syncGroupWeights() {
	member := map[string]string{}
	for _, g := range c.cfg.SyncGroups {
		if !c.groupWeights[g.Name] {
			for _, m := range g.Instances {
				member[m] = g.Name
			}
		}
	}
	for i := range c.cfg.Instances {
		in := &c.cfg.Instances[i]
		group, ok := member[in.Name]
		if !ok {
			continue
		}
		pos := c.cfg.Positions[fmt.Sprintf("instances[%d]", i)]
		keep := in.Track[:0]
		for _, ref := range in.Track {
			tr := c.cfg.Trackers[ref.Name]
			w := tr.Weight
			if ref.Weight != nil {
				w = *ref.Weight
			}
			switch {
			case w == 0:
			case tr.File == "":
				c.warnPos(pos, "(%s) vrrp_script %s (weight %d) is not tracked because of sync group %s, as keepalived ignores a tracked script with a weight there; give it weight 0, or set sync_group_tracking_weight in the group", in.Name, ref.Name, w, group)
				continue
			default:
				c.warnPos(pos, "(%s) weight %d of tracked file %s ignored because of sync group %s, as keepalived does: a non-zero value is FAULT; set sync_group_tracking_weight in the group to keep it", in.Name, w, ref.Name, group)
				zero := 0
				ref.Weight = &zero
			}
			keep = append(keep, ref)
		}
		in.Track = keep
		for j := range in.TrackInterfaces {
			if w := in.TrackInterfaces[j].Weight; w != 0 {
				c.warnPos(pos, "(%s) weight %d of tracked interface %s ignored because of sync group %s, as keepalived does: link down is FAULT; set sync_group_tracking_weight in the group to keep it", in.Name, w, in.TrackInterfaces[j].Name, group)
				in.TrackInterfaces[j].Weight = 0
			}
		}
	}
}

// Field paths (as Problem.Path spells them) that keepalived keywords set.
var kaGlobalPaths = map[string]string{
	"router_id":                       "router_id",
	"vrrp_version":                    "version", // copied to each instance, then removed
	"vrrp_mcast_group4":               "mcast_group4",
	"vrrp_mcast_group6":               "mcast_group6",
	"vrrp_garp_master_delay":          "garp.master_delay",
	"vrrp_garp_master_repeat":         "garp.master_repeat",
	"vrrp_garp_master_refresh":        "garp.refresh",
	"vrrp_garp_master_refresh_repeat": "garp.refresh_repeat",
	"vrrp_garp_interval":              "garp.interval",
	"vrrp_garp_lower_prio_repeat":     "garp.lower_prio",
	"script_user":                     "script_user",
	"notify_fifo":                     "notify_fifo.path",
	"notify_fifo_script":              "notify_fifo.script",
	"vrrp_notify_fifo":                "vrrp_notify_fifo.path",
	"vrrp_notify_fifo_script":         "vrrp_notify_fifo.script",
	"vrrp_rt_priority":                "scheduling.rt_priority",
	"vrrp_startup_delay":              "startup_delay",
}

var kaNotifyPaths = map[string]string{
	"notify":        "notify.generic",
	"notify_master": "notify.master",
	"notify_backup": "notify.backup",
	"notify_fault":  "notify.fault",
	"notify_stop":   "notify.stop",
}

var kaInstancePaths = map[string]string{
	"state":                      "state",
	"interface":                  "interface",
	"virtual_router_id":          "vrid",
	"priority":                   "priority",
	"advert_int":                 "advert_interval",
	"version":                    "version",
	"authentication":             "auth",
	"virtual_ipaddress":          "vips",
	"virtual_ipaddress_excluded": "excluded_vips",
	"nopreempt":                  "preempt",
	"preempt":                    "preempt",
	"preempt_delay":              "preempt_delay",
	"unicast_src_ip":             "unicast_source",
	"mcast_src_ip":               "unicast_source",
	"unicast_peer":               "unicast_peers",
	"track_interface":            "track_interfaces",
	"track_script":               "track",
	"track_file":                 "track",
	"track_process":              "track",
	"notify":                     "notify.generic",
	"notify_master":              "notify.master",
	"notify_backup":              "notify.backup",
	"notify_fault":               "notify.fault",
	"notify_stop":                "notify.stop",
	"garp_master_delay":          "garp.master_delay",
	"garp_master_repeat":         "garp.master_repeat",
	"garp_master_refresh":        "garp.refresh",
	"garp_master_refresh_repeat": "garp.refresh_repeat",
	"garp_lower_prio_repeat":     "garp.lower_prio",
	"use_vmac":                   "use_vmac",
	"dont_track_primary":         "dont_track_primary",
}

// routeLines reads a virtual_routes or virtual_rules block: each line as
// written, checked here so that an error or an option not applied is reported
// at its line.
func (c *kaConverter) routeLines(n *kaNode, prefix string, in *Instance) {
	for _, s := range n.Block {
		words := []string{s.Name()}
		for _, a := range s.Args {
			words = append(words, a.Text)
		}
		line := strings.Join(words, " ")
		var ignored []string
		var err error
		dst := &in.VirtualRoutes
		if n.Name() == "virtual_routes" {
			_, ignored, err = ParseRoute(line)
		} else {
			dst = &in.VirtualRules
			_, ignored, err = ParseRule(line)
		}
		if err != nil {
			c.errorf(s.Pos(), "%s: %q: %v", n.Name(), line, err)
			continue
		}
		for _, w := range ignored {
			c.warnf(s.Pos(), "%s: %q: %s", n.Name(), line, w)
		}
		c.at(fmt.Sprintf("%s.%s[%d]", prefix, n.Name(), len(*dst)), s.Pos())
		*dst = append(*dst, line)
	}
}
