package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/ebpfvrrp/ebpfvrrp/config"
	"github.com/ebpfvrrp/ebpfvrrp/internal/daemon"
)

// cmdHold is the first half of a restart under a service manager (the unit's
// ExecStop, for a restart only): when this binary, the one about to start, can
// adopt the running daemon's pins, it asks the daemon to leave VIPs and
// kernel state in place when it is stopped next. Otherwise the stop stays the
// clean handover (priority 0) and the next start is a clean one. It never
// fails a stop: every outcome exits 0.
type holdFlags struct{ config, pin, sock string }

func newHoldFlagSet(env Env) (*flag.FlagSet, *holdFlags) {
	fs := newFlagSet("hold", "hold [--config FILE] [--pin-path DIR | --control-socket PATH]", env)
	f := &holdFlags{}
	fs.StringVar(&f.config, "config", "", "the daemon's config: its dataplane.pin_path is the default pin path")
	fs.StringVar(&f.pin, "pin-path", "", "pin path of the daemon (default: the config's, "+config.DefaultPinPath+")")
	fs.StringVar(&f.sock, "control-socket", "", "control socket of the daemon (default: derived from --pin-path)")
	return fs, f
}

func cmdHold(ctx context.Context, args []string, env Env) error {
	fs, f := newHoldFlagSet(env)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfgPath, pin, sock := &f.config, &f.pin, &f.sock
	if *pin == "" && *cfgPath != "" {
		if cfg, err := config.Load(*cfgPath); err == nil {
			*pin = cfg.Dataplane.PinPath
		}
	}
	if *pin == "" {
		*pin = config.DefaultPinPath
	}
	if *sock == "" {
		*sock = daemon.DefaultControlSocket(*pin)
	}
	if held, why := daemon.NewClient(*sock).Hold(ctx, *pin); !held {
		fmt.Fprintf(env.Stdout, "ebpfvrrp hold: %s: the stop hands over cleanly (priority 0)\n", why)
		return nil
	}
	fmt.Fprintf(env.Stdout, "ebpfvrrp hold: the next stop leaves the VIPs for the next start (within %v)\n", daemon.HoldWindow)
	return nil
}
