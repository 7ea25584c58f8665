package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/config"
	"github.com/ebpfvrrp/ebpfvrrp/internal/daemon"
)

type statusFlags struct {
	json, watch bool
	interval    time.Duration
	pin, sock   string
}

func newStatusFlagSet(env Env) (*flag.FlagSet, *statusFlags) {
	fs := newFlagSet("status", "status [--json | --watch [--interval 1s]] [--pin-path DIR | --control-socket PATH]", env)
	f := &statusFlags{}
	fs.BoolVar(&f.json, "json", false, "print JSON instead of a table")
	fs.BoolVar(&f.watch, "watch", false, "redraw the table in place every --interval until Ctrl-C, as watch(1) does")
	fs.DurationVar(&f.interval, "interval", time.Second, "how often --watch redraws (a `DURATION`)")
	fs.StringVar(&f.pin, "pin-path", config.DefaultPinPath, "pin path `DIR` of the daemon to ask")
	fs.StringVar(&f.sock, "control-socket", "", "control socket `PATH` of the daemon (default: derived from --pin-path)")
	return fs, f
}

func cmdStatus(ctx context.Context, args []string, env Env) error {
	fs, f := newStatusFlagSet(env)
	asJSON, pin, sock := &f.json, &f.pin, &f.sock
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *sock == "" {
		*sock = daemon.DefaultControlSocket(*pin)
	}
	if f.watch {
		switch {
		case *asJSON:
			return fmt.Errorf("%w: --watch draws the table; for JSON, poll status --json", errUsage)
		case f.interval <= 0:
			return fmt.Errorf("%w: --interval %v: want more than 0", errUsage, f.interval)
		}
		return watchStatus(ctx, env, *sock, f.interval)
	}
	st, err := daemon.NewClient(*sock).Status(ctx)
	if err != nil {
		if errors.Is(err, daemon.ErrNoDaemon) {
			fmt.Fprintf(env.Stderr, "ebpfvrrp status: no daemon is running (nothing answers on %s)\n", *sock)
			if _, serr := os.Stat(*pin); serr == nil {
				fmt.Fprintf(env.Stderr, "pinned maps from an earlier run remain at %s; inspect them with: bpftool map dump pinned %s/peers\n", *pin, *pin)
			}
			return errQuiet
		}
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	printStatus(env.Stdout, st)
	return nil
}

// clearScreen homes the cursor and clears the terminal (ANSI), as watch(1) does
// before each redraw.
const clearScreen = "\x1b[H\x1b[2J"

// watchStatus redraws the status table every interval until ctx ends (Ctrl-C).
// A daemon that is not there (restarting, during an incident) is reported in
// the frame and asked again at the next one.
func watchStatus(ctx context.Context, env Env, sock string, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	host, _ := os.Hostname()
	for {
		var frame strings.Builder
		frame.WriteString(clearScreen)
		fmt.Fprintf(&frame, "Every %v: ebpfvrrp status    %s: %s\n\n", interval, host, time.Now().Format(time.DateTime))
		st, err := daemon.NewClient(sock).Status(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, daemon.ErrNoDaemon):
			fmt.Fprintf(&frame, "no daemon is running (nothing answers on %s); asking again every %v\n", sock, interval)
		case err != nil:
			fmt.Fprintf(&frame, "%v\n", err)
		default:
			printStatus(&frame, st)
		}
		// One write per frame: the terminal never shows half a table.
		if _, err := io.WriteString(env.Stdout, frame.String()); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func printStatus(w io.Writer, st daemon.Status) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "INSTANCE\tIFACE\tVRID\tSTATE\tPRIO(cfg/eff)\tMASTER\tLAST ADVERT\tRX\tLOSS\tTX\tSPLIT BRAIN\n")
	for _, in := range st.Instances {
		master, age := "-", "-"
		if in.Master != "" {
			master = fmt.Sprintf("%s (%d)", in.Master, in.MasterPriority)
		}
		if in.LastAdvertAge > 0 {
			age = (time.Duration(in.LastAdvertAge * float64(time.Second))).Round(time.Millisecond).String() + " ago"
		}
		sb := "no"
		if in.SplitBrain {
			sb = fmt.Sprintf("YES (%d adverts)", in.BothMasters)
		}
		if in.PathFailure {
			sb += ", path_failure"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d/%d\t%s\t%s\t%d\t%.1f%%\t%d\t%s\n", in.Name, in.Interface, in.VRID,
			in.State, in.ConfiguredPriority, in.EffectivePriority, master, age, in.AdvertsReceived,
			100*in.HeartbeatLoss, in.AdvertsSent, sb)
	}
	tw.Flush()
	if len(st.Interfaces) > 0 {
		fmt.Fprintln(w, "\nInterfaces:")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "INTERFACE\tRECEIVE PATH\tGROUPS JOINED\n")
		for _, in := range st.Interfaces {
			mode, groups := in.AttachMode, strings.Join(in.Groups, " ")
			if mode == "" {
				mode = "-"
			}
			if groups == "" {
				groups = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", in.Name, mode, groups)
		}
		tw.Flush()
	}
	if len(st.Drops) > 0 {
		fmt.Fprintln(w, "\nKernel drops:")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "INTERFACE\tREASON\tCOUNT\n")
		for _, d := range st.Drops {
			fmt.Fprintf(tw, "%s\t%s\t%d\n", d.Interface, d.Reason, d.Count)
		}
		tw.Flush()
	}
}
