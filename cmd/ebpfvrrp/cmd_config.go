package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/ebpfvrrp/ebpfvrrp/config"
)

func newValidateFlagSet(env Env) (*flag.FlagSet, *string) {
	fs := newFlagSet("validate", "validate --config FILE", env)
	path := fs.String("config", "", "config `FILE`: ebpfvrrp YAML/TOML/JSON or keepalived.conf")
	return fs, path
}

func cmdValidate(_ context.Context, args []string, env Env) error {
	fs, path := newValidateFlagSet(env)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *path == "" && fs.NArg() == 1 {
		*path = fs.Arg(0)
	}
	if *path == "" {
		return fmt.Errorf("%w: validate needs --config FILE", errUsage)
	}
	cfg, err := config.Load(*path)
	if err != nil {
		var ve *config.ValidationError
		if errors.As(err, &ve) {
			for _, p := range ve.Problems {
				fmt.Fprintf(env.Stderr, "error: %s\n", p)
			}
			fmt.Fprintf(env.Stderr, "%s: %d problem(s); nothing was applied\n", *path, len(ve.Problems))
			return errQuiet
		}
		return err
	}
	printWarnings(env, cfg)
	fmt.Fprintf(env.Stdout, "%s: OK (%d instance(s))\n", *path, len(cfg.Instances))
	return nil
}

func newConvertFlagSet(env Env) *flag.FlagSet {
	return newFlagSet("convert", "convert FILE  (prints ebpfvrrp YAML on stdout)", env)
}

func cmdConvert(_ context.Context, args []string, env Env) error {
	fs := newConvertFlagSet(env)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: convert takes exactly one FILE", errUsage)
	}
	cfg, err := config.Load(fs.Arg(0))
	if err != nil {
		return err
	}
	printWarnings(env, cfg)
	out, err := config.Marshal(cfg)
	if err != nil {
		return err
	}
	_, err = env.Stdout.Write(out)
	return err
}

func printWarnings(env Env, cfg *config.Config) {
	for _, w := range cfg.Warnings {
		fmt.Fprintf(env.Stderr, "warning: %s\n", warningText(w))
	}
}

// warningText is "FILE:LINE: MESSAGE", or "FILE: MESSAGE" for the whole file.
func warningText(w config.Warning) string {
	if w.Line == 0 {
		return w.File + ": " + w.Message
	}
	return fmt.Sprintf("%s:%d: %s", w.File, w.Line, w.Message)
}
