// Command ebpfvrrp is a VRRP daemon for Linux load-balancer hosts whose receive path
// runs in the kernel (XDP, or TC where XDP cannot attach). It reads its own YAML or
// keepalived.conf.
//
// main only parses the command line and calls run; everything else takes its
// environment (stdout, stderr, getenv) as an Env so main_test.go can drive it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// Env is what a command may touch of the outside world.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

// errUsage marks an error the user fixes by reading --help; exit code 2.
var errUsage = errors.New("usage")

// errQuiet marks a failure that has already been reported in full; exit code 1.
var errQuiet = errors.New("failed")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "ebpfvrrp:", err)
		os.Exit(2)
	case errors.Is(err, errQuiet):
		os.Exit(1)
	default:
		fmt.Fprintln(os.Stderr, "ebpfvrrp:", err)
		os.Exit(1)
	}
}

const usage = `ebpfvrrp — VRRP (v2/v3, IPv4/IPv6) for load-balancer pairs, with the receive path in the kernel.

Usage:
  ebpfvrrp run --config FILE [flags]   run the daemon (also: ebpfvrrp --config FILE)
  ebpfvrrp validate --config FILE      check a config without touching the system (like keepalived -t)
  ebpfvrrp convert FILE                print a keepalived.conf (or any config) as ebpfvrrp YAML
  ebpfvrrp status [--json]             state, priorities, master, heartbeat loss and drops of a running daemon
  ebpfvrrp upgrade                     replace the running daemon by the binary now at its path, VIPs kept (as SIGUSR2)
  ebpfvrrp hold                        the next stop is a restart: leave the VIPs for the next start (systemd's ExecStop)
  ebpfvrrp demo                        the two-LB lab in network namespaces, with a live failover
  ebpfvrrp version                     print the version

FILE may be ebpfvrrp YAML/TOML/JSON or keepalived.conf (recognised by content).
Run 'ebpfvrrp COMMAND --help' for the flags of a command.
`

func run(ctx context.Context, args []string, env Env) error {
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, usage)
		return fmt.Errorf("%w: no command given", errUsage)
	}
	cmd, rest := args[0], args[1:]
	if strings.HasPrefix(cmd, "-") {
		if cmd == "-h" || cmd == "--help" || cmd == "-help" {
			fmt.Fprint(env.Stdout, usage)
			return nil
		}
		// keepalived habit: flags straight after the program name mean "run".
		cmd, rest = "run", args
	}
	switch cmd {
	case "run":
		return cmdRun(ctx, rest, env)
	case "validate":
		return cmdValidate(rest, env)
	case "convert":
		return cmdConvert(rest, env)
	case "status":
		return cmdStatus(ctx, rest, env)
	case "upgrade":
		return cmdUpgrade(ctx, rest, env)
	case "hold":
		return cmdHold(ctx, rest, env)
	case "demo":
		return cmdDemo(ctx, rest, env)
	case "version":
		fmt.Fprintf(env.Stdout, "ebpfvrrp %s\n", version)
		return nil
	case "help":
		fmt.Fprint(env.Stdout, usage)
		return nil
	}
	fmt.Fprint(env.Stderr, usage)
	return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
}

// newFlagSet returns a FlagSet that prints its usage to env.Stderr and returns
// errors instead of exiting.
func newFlagSet(name, synopsis string, env Env) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: ebpfvrrp %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}
