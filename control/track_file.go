package control

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// FileCheck is keepalived's track_file: the file holds an integer, and the instance's
// priority changes by value × weight (with weight 0, any non-zero value means FAULT).
// An unreadable file or one that does not hold an integer counts as value 0 and the
// error is reported in the tracker status.
type FileCheck struct {
	Path string
}

func (FileCheck) valued() {}

// Check reads the file once.
func (c FileCheck) Check(ctx context.Context) CheckResult {
	b, err := os.ReadFile(c.Path)
	if err != nil {
		return CheckResult{Err: fmt.Errorf("control: track file: %w", err)}
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return CheckResult{OK: true}
	}
	v, err := strconv.Atoi(strings.Fields(s)[0])
	if err != nil {
		return CheckResult{Err: fmt.Errorf("control: track file %s: %w", c.Path, err)}
	}
	return CheckResult{OK: true, Value: v}
}
