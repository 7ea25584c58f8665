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
	var exit exitError
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "ebpfvrrp:", err)
		os.Exit(2)
	case errors.Is(err, errQuiet):
		os.Exit(1)
	case errors.As(err, &exit):
		os.Exit(exit.code)
	default:
		fmt.Fprintln(os.Stderr, "ebpfvrrp:", err)
		os.Exit(1)
	}
}

// command is one subcommand. The dispatch, the usage text, the man page and the
// bash completion are all made from this table and the commands' own flag sets,
// so none of them can drift from what the command parses.
type command struct {
	name, args, summary string
	// flags returns the flag set the command parses with (nil: none).
	flags func(env Env) *flag.FlagSet
	run   func(ctx context.Context, args []string, env Env) error
}

var commands []command

func init() {
	commands = []command{
		{"run", "--config FILE [flags]", "run the daemon (also: ebpfvrrp --config FILE, or keepalived's options)",
			func(env Env) *flag.FlagSet { fs, _ := newRunFlagSet(env); return fs }, cmdRun},
		{"validate", "--config FILE", "check a config without touching the system",
			func(env Env) *flag.FlagSet { fs, _ := newValidateFlagSet(env); return fs }, cmdValidate},
		{"convert", "FILE", "print a keepalived.conf (or any config) as ebpfvrrp YAML", newConvertFlagSet, cmdConvert},
		{"status", "[--json | --watch]", "state, priorities, master, heartbeat loss and drops of a running daemon",
			func(env Env) *flag.FlagSet { fs, _ := newStatusFlagSet(env); return fs }, cmdStatus},
		{"upgrade", "[--pin-path DIR]", "replace the running daemon by the binary now at its path, VIPs kept (as SIGUSR2)",
			func(env Env) *flag.FlagSet { fs, _ := newUpgradeFlagSet(env); return fs }, cmdUpgrade},
		{"hold", "[--config FILE]", "the next stop is a restart: leave the VIPs for the next start (systemd's ExecStop)",
			func(env Env) *flag.FlagSet { fs, _ := newHoldFlagSet(env); return fs }, cmdHold},
		{"demo", "[--keepalived] [--v3]", "the two-LB lab in network namespaces, with a live failover",
			func(env Env) *flag.FlagSet { fs, _ := newDemoFlagSet(env); return fs }, cmdDemo},
		{"version", "", "print the version", nil, func(_ context.Context, _ []string, env Env) error {
			fmt.Fprintf(env.Stdout, "ebpfvrrp %s\n", version)
			return nil
		}},
		{"help", "[--man | --bash-completion]", "this help; the man page or the bash completion, generated from the commands",
			newHelpFlagSet, cmdHelp},
	}
}

func lookupCommand(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

const usageHead = `ebpfvrrp — VRRP (v2/v3, IPv4/IPv6) for load-balancer pairs, with the receive path in the kernel.

Usage:
`

const usageTail = `
keepalived's command line works too, for units and scripts written for it:
  ebpfvrrp -t -f /etc/keepalived/keepalived.conf   check a config, exit as keepalived -t
  ebpfvrrp --dont-fork --log-console -D -f FILE    run the daemon (-p/-r write pid files)
keepalived-only options (-C/--check, -x/--snmp, -S, -G, ...) are accepted with a
warning that they do nothing. 'ebpfvrrp run --help' lists them all.

FILE may be ebpfvrrp YAML/TOML/JSON or keepalived.conf (recognised by content).
Run 'ebpfvrrp COMMAND --help' for the flags of a command, 'man ebpfvrrp' for all.
`

func usage() string {
	var b strings.Builder
	b.WriteString(usageHead)
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-42s %s\n", strings.TrimSpace("ebpfvrrp "+c.name+" "+c.args), c.summary)
	}
	b.WriteString(usageTail)
	return b.String()
}

func run(ctx context.Context, args []string, env Env) error {
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, usage())
		return fmt.Errorf("%w: no command given", errUsage)
	}
	name, rest := args[0], args[1:]
	if strings.HasPrefix(name, "-") {
		if name == "-h" || name == "--help" || name == "-help" {
			fmt.Fprint(env.Stdout, usage())
			return nil
		}
		// keepalived habit: flags straight after the program name mean "run",
		// with keepalived's options understood (keepalived.go).
		return runDaemon(ctx, args, env, true)
	}
	if c := lookupCommand(name); c != nil {
		return c.run(ctx, rest, env)
	}
	fmt.Fprint(env.Stderr, usage())
	return fmt.Errorf("%w: unknown command %q", errUsage, name)
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
