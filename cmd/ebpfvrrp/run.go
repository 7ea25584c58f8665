package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/ebpfvrrp/ebpfvrrp/config"
	"github.com/ebpfvrrp/ebpfvrrp/internal/cli"
	"github.com/ebpfvrrp/ebpfvrrp/internal/daemon"
)

type runFlags struct {
	config, pinPath, metricsListen, logLevel, logFormat, controlSocket string
	keepalived                                                         keepalivedFlags
}

// newRunFlagSet defines run's flags: ebpfvrrp's own and keepalived's. The man
// page is generated from the same set.
func newRunFlagSet(env Env) (*flag.FlagSet, *runFlags) {
	fs := newFlagSet("run", "run --config FILE [flags]", env)
	f := &runFlags{}
	fs.StringVar(&f.config, "config", "", "config `FILE`: ebpfvrrp YAML/TOML/JSON or keepalived.conf (required)")
	fs.StringVar(&f.pinPath, "pin-path", "", "bpffs `DIR` for pinned maps and links (default: config dataplane.pin_path, "+config.DefaultPinPath+")")
	fs.StringVar(&f.metricsListen, "metrics-listen", "", "Prometheus /metrics and /status listen `ADDR` (default: config telemetry.listen, 127.0.0.1:9864; \"off\" disables)")
	fs.StringVar(&f.logLevel, "log-level", "info", "log `LEVEL`: debug, info, warn, error")
	fs.StringVar(&f.logFormat, "log-format", "text", "log `FORMAT`: text or json")
	fs.StringVar(&f.controlSocket, "control-socket", "", "unix socket `PATH` that `ebpfvrrp status` talks to (default: derived from the pin path)")
	registerKeepalived(fs, f)
	return fs, f
}

// cmdRun runs the daemon; runDaemon does, for it and for keepalived's command
// line. topLevel is set when ebpfvrrp was called with flags
// and no subcommand, as keepalived is: the config then defaults to keepalived's.
func cmdRun(ctx context.Context, args []string, env Env) error {
	return runDaemon(ctx, args, env, false)
}

func runDaemon(ctx context.Context, args []string, env Env, topLevel bool) error {
	fs, f := newRunFlagSet(env)
	if err := parseFlags(fs, cli.ExpandShortOptions(fs, args)); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	k := f.keepalived
	if k.version {
		fmt.Fprintf(env.Stdout, "ebpfvrrp %s\n", version)
		return nil
	}
	if f.config == "" && topLevel {
		f.config = keepalivedDefaultConfig
	}
	if k.configTest {
		if f.config == "" {
			return fmt.Errorf("%w: --config-test needs --config FILE or -f FILE", errUsage)
		}
		return runConfigTest(f.config, k, env)
	}
	if f.config == "" {
		return fmt.Errorf("%w: run needs --config FILE", errUsage)
	}
	levelSet := false
	fs.Visit(func(fl *flag.Flag) { levelSet = levelSet || fl.Name == "log-level" })
	if k.logDetail && !levelSet {
		f.logLevel = "debug"
	}
	log, err := newLogger(env.Stderr, f.logLevel, f.logFormat)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	for _, msg := range k.ignoredUsed {
		log.Warn(msg)
	}
	cfg, err := config.Load(f.config)
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings {
		log.Warn("config: not implemented, ignored", "file", w.File, "line", w.Line, "what", w.Message)
	}
	return daemon.New(daemon.Options{
		ConfigPath: f.config, Config: cfg, PinPath: f.pinPath, MetricsListen: f.metricsListen,
		ControlSocket: f.controlSocket, Logger: log, Version: version, PIDFiles: k.pidFiles,
	}).Run(ctx)
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}
