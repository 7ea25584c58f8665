package hooks

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/config"
	"github.com/ebpfvrrp/ebpfvrrp/control"
	"github.com/ebpfvrrp/ebpfvrrp/internal/rtsched"
)

// ExecCheck runs a command; exit status 0 is success. Argv is executed directly
// (no shell) unless Shell is set, when it is joined by spaces and passed to
// /bin/sh -c — the only way keepalived-style one-liners with pipes work. The command
// runs in its own process group, and the whole group is killed when the check times
// out, so a script's children cannot outlive it.
//
// The tutorial's check_web.sh ("restart nginx, else give up the VIP") is a tracker
// with weight 0 whose script restarts nginx and exits non-zero when it cannot: the
// instance goes to FAULT and releases its VIPs.
type ExecCheck struct {
	Argv  []string
	Shell bool
	// User runs the command as "USER[:GROUP]" when set (see Credential).
	User string
	// Env is the complete environment; nil means a minimal PATH only.
	Env []string
}

// ErrEmptyCommand is returned for an ExecCheck or hook without argv.
var ErrEmptyCommand = errors.New("empty command")

// Check runs the command once.
func (c ExecCheck) Check(ctx context.Context) control.CheckResult {
	err := runCommand(ctx, c.Argv, c.Shell, c.User, c.Env, nil)
	return control.CheckResult{OK: err == nil, Err: err}
}

// minimalPath is the environment of a command given none.
const minimalPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// commandWaitDelay bounds how long Wait waits for I/O after the process is killed.
const commandWaitDelay = time.Second

// runCommand runs argv (+extra args) in its own process group and kills the group
// when ctx ends. It returns nil only for exit status 0.
func runCommand(ctx context.Context, argv []string, shell bool, runAs string, env, extra []string) error {
	if len(argv) == 0 {
		return fmt.Errorf("hooks: run command: %w", ErrEmptyCommand)
	}
	var cmd *exec.Cmd
	if shell {
		line := strings.Join(append(append([]string(nil), argv...), extra...), " ")
		cmd = exec.CommandContext(ctx, "/bin/sh", "-c", line)
	} else {
		cmd = exec.CommandContext(ctx, argv[0], append(append([]string(nil), argv[1:]...), extra...)...)
	}
	if env == nil {
		env = []string{minimalPath}
	}
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if runAs != "" {
		cred, err := Credential(runAs)
		if err != nil {
			return fmt.Errorf("hooks: run %s: %w", argv[0], err)
		}
		cmd.SysProcAttr.Credential = cred
	}
	cmd.Cancel = func() error {
		// Negative pid: the whole process group the command leads.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = commandWaitDelay
	err := rtsched.Start(cmd)
	if err == nil {
		err = cmd.Wait()
	}
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("hooks: run %s: %w", argv[0], ctx.Err())
		}
		return fmt.Errorf("hooks: run %s: %w", argv[0], err)
	}
	return nil
}

// Credential resolves "USER[:GROUP]" (names or numeric ids) to the credential a
// script runs with, as keepalived's set_privileges does (lib/notify.c): the
// group is GROUP, or the user's primary group; the supplementary groups are
// cleared to that one group (setgroups(1, &gid)), so a script never keeps
// root's groups or picks up the user's others. Root ("root", "0") yields nil:
// keepalived then changes nothing. Switching needs CAP_SETUID and CAP_SETGID.
func Credential(spec string) (*syscall.Credential, error) {
	uid, gid, err := config.LookupRunAs(spec)
	if err != nil {
		return nil, err
	}
	if uid == 0 && gid == 0 {
		return nil, nil
	}
	return &syscall.Credential{Uid: uid, Gid: gid, Groups: []uint32{gid}}, nil
}
