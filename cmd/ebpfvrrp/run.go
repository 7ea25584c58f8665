package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/ebpfvrrp/ebpfvrrp/config"
	"github.com/ebpfvrrp/ebpfvrrp/internal/daemon"
)

type runFlags struct {
	config, pinPath, metricsListen, logLevel, logFormat, controlSocket string
}

func cmdRun(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet("run", "run --config FILE [flags]", env)
	var f runFlags
	fs.StringVar(&f.config, "config", "", "config file: ebpfvrrp YAML/TOML/JSON or keepalived.conf (required)")
	fs.StringVar(&f.pinPath, "pin-path", "", "bpffs directory for pinned maps and links (default: config dataplane.pin_path, "+config.DefaultPinPath+")")
	fs.StringVar(&f.metricsListen, "metrics-listen", "", "Prometheus /metrics and /status listen address (default: config telemetry.listen, 127.0.0.1:9864; \"off\" disables)")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&f.controlSocket, "control-socket", "", "unix socket `ebpfvrrp status` talks to (default: derived from the pin path)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if f.config == "" {
		return fmt.Errorf("%w: run needs --config FILE", errUsage)
	}
	log, err := newLogger(env.Stderr, f.logLevel, f.logFormat)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
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
		ControlSocket: f.controlSocket, Logger: log, Version: version,
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
