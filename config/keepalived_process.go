package config

import "time"

// kaCommLen is the most bytes of a process name the kernel keeps (TASK_COMM_LEN
// less its NUL): keepalived compares a process without arguments against it.
const kaCommLen = 15

// trackProcess converts a vrrp_track_process block as keepalived's vrrp_parser.c
// reads it: "process NAME [ARG...]" (arguments imply full_command and exact
// parameter matching), param_match, weight (0 unless given, as alloc_vrrp_process
// leaves it: the man page's "default is 1" is not what the code does), quorum
// (default 1), quorum_max, fork_delay, terminate_delay, delay (both) and
// full_command.
func (c *kaConverter) trackProcess(n *kaNode, name string) {
	pc := &ProcessCheck{}
	t := Tracker{Process: pc}
	path := "trackers." + name
	c.at(path, n.Pos())
	var procPos kaPos
	for _, s := range n.Block {
		if f, ok := kaProcessPaths[s.Name()]; ok {
			c.at(path+"."+f, s.Pos())
		}
		switch s.Name() {
		case "process":
			if !c.args(s, 1, 1<<16, "NAME [ARG...]") {
				continue
			}
			if pc.Name != "" {
				c.errorf(s.Pos(), "process: already set at %s for vrrp_track_process %s", procPos, name)
				continue
			}
			procPos = s.Pos()
			pc.Name = s.Args[0].Text
			for _, a := range s.Args[1:] {
				pc.Args = append(pc.Args, a.Text)
			}
			if len(pc.Args) > 0 {
				pc.FullCommand = true
			}
		case "param_match":
			if v, ok := c.str(s); ok {
				switch v {
				case "exact", "partial", "initial":
					pc.ParamMatch, pc.FullCommand = v, true
				default:
					c.errorf(s.Args[0].Pos, "param_match: %q is not exact, partial or initial", v)
				}
			}
		case "weight":
			if w, ok := c.blockWeight(s); ok {
				t.Weight = w
			}
		case "quorum":
			if v, ok := c.int1(s); ok {
				if v < 1 || v > 65535 {
					c.errorf(s.Args[0].Pos, "quorum: %d is outside 1–65535 (use quorum_max 0 for \"none may run\")", v)
					continue
				}
				pc.Quorum = v
			}
		case "quorum_max":
			if v, ok := c.int1(s); ok {
				pc.QuorumMax = &v
				if v == 0 {
					pc.Quorum = 0 // keepalived: quorum_max 0 means none may run
				}
			}
		case "fork_delay", "terminate_delay", "delay":
			d, ok := c.seconds(s)
			if !ok {
				continue
			}
			if d <= 0 || d > time.Hour {
				c.errorf(s.Args[0].Pos, "%s: %s is outside 0.000001–3600 seconds (keepalived's range)", s.Name(), s.Args[0].Text)
				continue
			}
			if s.Name() == "delay" {
				c.at(path+".process.terminate_delay", s.Pos())
			}
			if s.Name() != "terminate_delay" {
				pc.ForkDelay = d
			}
			if s.Name() != "fork_delay" {
				pc.TerminateDelay = d
			}
		case "full_command":
			if c.flag(s) {
				pc.FullCommand = true
			}
		default:
			c.unhandled(s, "vrrp_track_process", kaProcess, kaProcessUnsupported)
		}
	}
	if pc.Name == "" {
		c.errorf(n.Pos(), "vrrp_track_process %s has no process", name)
		return
	}
	if !pc.FullCommand && len(pc.Name) > kaCommLen {
		c.warnf(procPos, "process: %q is longer than the %d bytes of a process name, so no process ever matches it (as in keepalived); add full_command to match the command line", pc.Name, kaCommLen)
	}
	c.addTracker(n, name, t)
}

var kaProcessPaths = map[string]string{
	"process":         "process.name",
	"param_match":     "process.param_match",
	"weight":          "weight",
	"quorum":          "process.quorum",
	"quorum_max":      "process.quorum_max",
	"fork_delay":      "process.fork_delay",
	"terminate_delay": "process.terminate_delay",
	"delay":           "process.fork_delay",
	"full_command":    "process.full_command",
}
