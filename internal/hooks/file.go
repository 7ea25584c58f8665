package hooks

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/ebpfvrrp/ebpfvrrp/control"
)

// FileCheck is keepalived's track_file: the file holds an integer, and the instance's
// priority changes by value × weight (with weight 0, any non-zero value means FAULT).
// An unreadable file or one that does not hold an integer counts as value 0 and the
// error is reported in the tracker status.
type FileCheck struct {
	Path string
}

// Valued marks the file's number as the result (control.Valued).
func (FileCheck) Valued() {}

// Check reads the file once.
func (c FileCheck) Check(ctx context.Context) control.CheckResult {
	b, err := os.ReadFile(c.Path)
	if err != nil {
		return control.CheckResult{Err: fmt.Errorf("hooks: track file: %w", err)}
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return control.CheckResult{OK: true}
	}
	v, err := strconv.Atoi(strings.Fields(s)[0])
	if err != nil {
		return control.CheckResult{Err: fmt.Errorf("hooks: track file %s: %w", c.Path, err)}
	}
	return control.CheckResult{OK: true, Value: v}
}
