package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// cmdDemo runs ebpfvrrp-demo, the lab with a live failover, from beside this
// binary or the PATH. The lab (namespaces, nginx, keepalived, the client probe)
// is a program of its own so that none of it is linked into the daemon.
func cmdDemo(ctx context.Context, args []string, env Env) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	demo := filepath.Join(filepath.Dir(self), "ebpfvrrp-demo")
	if _, err := os.Stat(demo); err != nil {
		if demo, err = exec.LookPath("ebpfvrrp-demo"); err != nil {
			return errors.New("demo: ebpfvrrp-demo not found beside this binary or in PATH (make demo builds bin/ebpfvrrp-demo)")
		}
	}
	cmd := exec.CommandContext(ctx, demo, append([]string{"--binary", self}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, env.Stdout, env.Stderr
	// Ctrl-C reaches the demo too (same process group); it cleans up itself.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("%w: demo exited with %d", errQuiet, ee.ExitCode())
		}
		return err
	}
	return nil
}
