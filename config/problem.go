package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrInvalid is matched (errors.Is) by every *ValidationError.
var ErrInvalid = errors.New("config: invalid configuration")

// Problem is one thing wrong with a configuration.
type Problem struct {
	File string // the file the value was written in, "$EBPFVRRP_…" for the environment
	Line int    // 1-based; 0 when unknown (TOML, hand-built configs, environment)
	Path string // field path: "instances[0].vrid", "trackers.chk_nginx.interval"
	// Value is the offending value, nil when the problem is a missing value.
	Value any
	// Msg says what is wrong and what is allowed, including the value as written.
	Msg string
}

// String formats the problem the way compilers do, so editors can jump to it:
// "lb-5.yaml:12: instances[0].vrid: 300 is outside 1–255".
func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
		}
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// ValidationError carries every problem found, not just the first, so an operator
// fixes a config in one pass.
type ValidationError struct {
	Problems []Problem
}

// Error prints one problem per line.
func (e *ValidationError) Error() string {
	s := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		s[i] = p.String()
	}
	return strings.Join(s, "\n")
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// sortProblems orders by file and line; problems without a line come first in their
// file, and ties keep the order they were found in.
func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].File != ps[j].File {
			return ps[i].File < ps[j].File
		}
		return ps[i].Line < ps[j].Line
	})
}
