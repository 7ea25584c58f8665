package hooks

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/control"
)

// ParamMatch is how a ProcessMatch compares a process's arguments (keepalived's
// param_match).
type ParamMatch uint8

const (
	// ParamNone: arguments are not looked at.
	ParamNone ParamMatch = iota
	// ParamExact: the arguments are exactly Args (none when Args is empty).
	ParamExact
	// ParamPartial: the first len(Args) arguments are Args.
	ParamPartial
	// ParamInitial: as ParamPartial, but the last of them need only start with
	// Args' last.
	ParamInitial
)

// ProcessMatch says which processes count, as keepalived's vrrp_track_process
// matches them (keepalived/core/track_process.c, read_procs and check_params):
// Name exactly equal to the process name (/proc/PID/stat's comm, zombies
// excluded), or with FullCommand to the first word of /proc/PID/cmdline, whose
// following words are then compared with Args as Params says.
type ProcessMatch struct {
	Name        string
	Args        []string
	Params      ParamMatch
	FullCommand bool
}

// ProcessCheck is keepalived's vrrp_track_process: up while the number of
// matching processes is within [Quorum, QuorumMax]. It scans /proc on each
// Check: keepalived's proc connector (NETLINK_CONNECTOR, CN_IDX_PROC) only exists
// in the initial network namespace, where a daemon run in a namespace of its own
// never gets its events. A poll cannot tell a fork from an exec, so ForkDelay
// holds back every gained quorum and TerminateDelay every lost one; the first
// scan, like keepalived's at start, reports the count as it is.
type ProcessCheck struct {
	Match ProcessMatch
	// Quorum, QuorumMax: the accepted count; QuorumMax < 0 means no maximum.
	Quorum, QuorumMax         int
	ForkDelay, TerminateDelay time.Duration
	// Proc is the proc filesystem to scan ("/proc" when empty); Now the clock
	// (time.Now when nil). Tests set both.
	Proc string
	Now  func() time.Time

	mu      sync.Mutex
	started bool
	up      bool
	since   time.Time // when the count first disagreed with up; zero: it agrees
}

// SameAs says whether o checks what c checks: its settings, not its state;
// false when either is nil.
func (c *ProcessCheck) SameAs(o *ProcessCheck) bool {
	if c == nil || o == nil {
		return false
	}
	return c.Match.Name == o.Match.Name && slices.Equal(c.Match.Args, o.Match.Args) &&
		c.Match.Params == o.Match.Params && c.Match.FullCommand == o.Match.FullCommand &&
		c.Quorum == o.Quorum && c.QuorumMax == o.QuorumMax &&
		c.ForkDelay == o.ForkDelay && c.TerminateDelay == o.TerminateDelay && c.proc() == o.proc()
}

// Check counts the matching processes once and returns the (delayed) verdict.
func (c *ProcessCheck) Check(ctx context.Context) control.CheckResult {
	n, err := CountProcesses(ctx, c.proc(), c.Match)
	if err != nil {
		return control.CheckResult{Err: fmt.Errorf("hooks: track process %s: %w", c.Match.Name, err)}
	}
	ok := n >= c.Quorum && (c.QuorumMax < 0 || n <= c.QuorumMax)
	c.mu.Lock()
	defer c.mu.Unlock()
	up := c.settle(ok)
	if !up {
		return control.CheckResult{Err: fmt.Errorf("hooks: track process %s: %d running, want %s", c.Match.Name, n, c.quorum())}
	}
	return control.CheckResult{OK: true}
}

// settle applies the delays to a raw verdict and returns the one to report.
func (c *ProcessCheck) settle(ok bool) bool {
	now := c.now()
	if !c.started {
		c.started, c.up = true, ok
		return ok
	}
	if ok == c.up {
		c.since = time.Time{}
		return ok
	}
	if c.since.IsZero() {
		c.since = now
	}
	delay := c.TerminateDelay
	if ok {
		delay = c.ForkDelay
	}
	if now.Sub(c.since) >= delay {
		c.up, c.since = ok, time.Time{}
	}
	return c.up
}

func (c *ProcessCheck) quorum() string {
	if c.QuorumMax < 0 {
		return fmt.Sprintf("at least %d", c.Quorum)
	}
	return fmt.Sprintf("%d–%d", c.Quorum, c.QuorumMax)
}

func (c *ProcessCheck) proc() string {
	if c.Proc == "" {
		return "/proc"
	}
	return c.Proc
}

func (c *ProcessCheck) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

// CountProcesses returns how many processes under the proc filesystem at root
// match m. A process that ends while it is read does not count.
func CountProcesses(ctx context.Context, root string, m ProcessMatch) (int, error) {
	ents, err := os.ReadDir(root)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range ents {
		if !e.IsDir() || !isPID(e.Name()) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if m.matches(filepath.Join(root, e.Name())) {
			n++
		}
	}
	return n, nil
}

func isPID(s string) bool {
	if s == "" || s[0] < '1' || s[0] > '9' {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) < 0
}

// matches reads one /proc/PID directory.
func (m ProcessMatch) matches(dir string) bool {
	if !m.FullCommand {
		b, err := os.ReadFile(filepath.Join(dir, "stat"))
		if err != nil {
			return false
		}
		comm, state, ok := parseStat(b)
		return ok && state != 'Z' && comm == m.Name
	}
	b, err := os.ReadFile(filepath.Join(dir, "cmdline"))
	if err != nil || len(b) == 0 {
		return false
	}
	words := strings.Split(string(bytes.TrimSuffix(b, []byte{0})), "\x00")
	return words[0] == m.Name && m.argsMatch(words[1:])
}

// parseStat returns the comm and state fields of /proc/PID/stat: "PID (COMM) S …".
// The comm may itself hold parentheses, so it ends at the last ')'.
func parseStat(b []byte) (comm string, state byte, ok bool) {
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open || end+2 >= len(b) {
		return "", 0, false
	}
	return string(b[open+1 : end]), b[end+2], true
}

// argsMatch is keepalived's check_params over whole words.
func (m ProcessMatch) argsMatch(got []string) bool {
	want := m.Args
	switch m.Params {
	case ParamNone:
		return true
	case ParamExact:
		return slices.Equal(got, want)
	}
	if len(got) < len(want) {
		return false
	}
	if len(want) == 0 {
		return true
	}
	if m.Params == ParamPartial {
		return slices.Equal(got[:len(want)], want)
	}
	last := len(want) - 1
	return slices.Equal(got[:last], want[:last]) && strings.HasPrefix(got[last], want[last])
}
