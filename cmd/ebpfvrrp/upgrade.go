package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/ebpfvrrp/ebpfvrrp/config"
	"github.com/ebpfvrrp/ebpfvrrp/internal/daemon"
)

type upgradeFlags struct{ pin, sock string }

func newUpgradeFlagSet(env Env) (*flag.FlagSet, *upgradeFlags) {
	fs := newFlagSet("upgrade", "upgrade [--pin-path DIR | --control-socket PATH]", env)
	f := &upgradeFlags{}
	fs.StringVar(&f.pin, "pin-path", config.DefaultPinPath, "pin path of the daemon to upgrade")
	fs.StringVar(&f.sock, "control-socket", "", "control socket of the daemon (default: derived from --pin-path)")
	return fs, f
}

func cmdUpgrade(ctx context.Context, args []string, env Env) error {
	fs, f := newUpgradeFlagSet(env)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	pin, sock := &f.pin, &f.sock
	if *sock == "" {
		*sock = daemon.DefaultControlSocket(*pin)
	}
	res, err := daemon.NewClient(*sock).Upgrade(ctx)
	if err != nil {
		if errors.Is(err, daemon.ErrNoDaemon) {
			fmt.Fprintf(env.Stderr, "ebpfvrrp upgrade: no daemon is running (nothing answers on %s)\n", *sock)
			return errQuiet
		}
		return err
	}
	if !res.OK {
		fmt.Fprintf(env.Stderr, "ebpfvrrp upgrade: failed, the running daemon goes on: %s\n", res.Error)
		return errQuiet
	}
	fmt.Fprintf(env.Stdout, "upgraded: the new daemon (pid %d) took over\n", res.PID)
	return nil
}
