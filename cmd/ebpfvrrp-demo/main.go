// Command ebpfvrrp-demo is the two-LB lab with a live failover (`make demo`,
// `ebpfvrrp demo`). It is a binary of its own so that the lab — namespaces, nginx,
// keepalived and the client probe — is never linked into the daemon.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/lab"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := demo(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "ebpfvrrp demo:", err)
		os.Exit(1)
	}
}

// demo builds the tutorial's two-LB lab in network namespaces, runs ebpfvrrp on
// lb-5 and lb-6 with the built-in default config, shows the VIP and the client's
// replies live, cuts the master, measures the outage, restores it and shows the
// failback. Ctrl-C at any point removes everything it built.
func demo(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(errOut)
	withKeepalived := fs.Bool("keepalived", false, "run Debian's keepalived on lb-6 instead of ebpfvrrp (a mixed pair)")
	v3 := fs.Bool("v3", false, "VRRPv3 with 50 ms adverts instead of the tutorial's v2 at 1 s")
	hold := fs.Duration("hold", 4*time.Second, "how long to watch each phase")
	binary := fs.String("binary", "", "the ebpfvrrp binary to run on the LB hosts (default: ebpfvrrp beside this program)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return errors.New("needs root (it creates network namespaces and loads BPF programs)")
	}
	self := *binary
	if self == "" {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		self = filepath.Join(filepath.Dir(exe), "ebpfvrrp")
	}
	if _, err := os.Stat(self); err != nil {
		return fmt.Errorf("the ebpfvrrp binary: %w (make build, or --binary PATH)", err)
	}
	say := func(format string, a ...any) { fmt.Fprintf(out, format+"\n", a...) }
	opts := lab.Options{Prefix: "demo", LBDaemon: lab.Ebpfvrrp, EbpfvrrpBinary: self, Version: 2, AdvertInterval: time.Second}
	if *v3 {
		opts.Version, opts.AdvertInterval = 3, 50*time.Millisecond
	}
	if *withKeepalived {
		opts.Daemons = map[string]lab.Daemon{lab.LB6: lab.Keepalived}
	}
	say("== building the lab: lb-5, lb-6, web-7, web-8 and a client in network namespaces on one bridge (198.18.0.0/24, VIP %s)", "198.18.0.3")
	l, err := lab.New(ctx, opts)
	if err != nil {
		return fmt.Errorf("build lab: %w", err)
	}
	stopSig := l.CloseOnSignal()
	defer stopSig()
	defer func() {
		say("== cleaning up: namespaces, processes and pins removed")
		l.Close()
	}()

	for _, h := range []string{lab.LB5, lab.LB6} {
		say("== starting %s on %s (priority %d)", l.Daemon(h), h, l.LBConfig(h).Instances[0].Priority)
		if err := l.StartLB(h, l.DefaultConfig(h)); err != nil {
			return fmt.Errorf("start %s: %w", h, err)
		}
	}
	wait := func(want ...string) error {
		wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		got, err := l.WaitVIP(wctx, want...)
		if err != nil {
			return fmt.Errorf("waiting for the VIP on %v (now on %v): %w", want, got, err)
		}
		return nil
	}
	if err := wait(lab.LB5); err != nil {
		return err
	}
	say("== the VIP is on %v; the client requests http://198.18.0.3/ every 10 ms", l.VIPHolder())
	probe := l.StartProbe(10 * time.Millisecond)
	defer probe.Stop()
	watch(ctx, out, l, probe, *hold)

	say("\n== cutting lb-5's link (its bridge port goes down: to everyone else it has died)")
	cut := time.Now()
	if err := l.CutLink(lab.LB5); err != nil {
		return err
	}
	if err := wait(lab.LB6); err != nil {
		return err
	}
	say("== lb-6 took the VIP %s after the cut", time.Since(cut).Round(time.Millisecond))
	watch(ctx, out, l, probe, *hold)
	r := probe.Snapshot()
	say("== measured by the client: longest outage %s, %d failed of %d requests",
		r.LongestOutage.Round(time.Millisecond), r.Failures, r.Requests)
	mdi := 3*opts.AdvertInterval + opts.AdvertInterval*(256-100)/256
	if opts.Version == 2 {
		mdi = 3*opts.AdvertInterval + time.Second*(256-100)/256
	}
	say("   (RFC Master_Down_Interval for lb-6, priority 100: %s)", mdi.Round(time.Millisecond))

	say("\n== restoring lb-5's link: with preempt it takes the VIP back")
	before := r.Failures
	if err := l.RestoreLink(lab.LB5); err != nil {
		return err
	}
	if err := wait(lab.LB5); err != nil {
		return err
	}
	watch(ctx, out, l, probe, *hold)
	r = probe.Stop()
	say("== failback done: %d more failed requests; whole run: %d requests, %d failed, longest outage %s",
		r.Failures-before, r.Requests, r.Failures, r.LongestOutage.Round(time.Millisecond))
	for _, h := range []string{lab.LB5, lab.LB6} {
		if l.Daemon(h) != lab.Ebpfvrrp {
			continue
		}
		st, err := l.Exec(h, self, "status", "--pin-path", l.PinPath(h))
		if err == nil {
			say("\n== ebpfvrrp status on %s\n%s", h, strings.TrimRight(string(st), "\n"))
		}
	}
	return nil
}

// watch prints, every half second for d, who holds the VIP and which web servers
// answered the client since the last line.
func watch(ctx context.Context, out io.Writer, l *lab.Lab, probe *lab.Probe, d time.Duration) {
	prev := probe.Snapshot()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
		cur := probe.Snapshot()
		var parts []string
		for b, n := range cur.Backends {
			if diff := n - prev.Backends[b]; diff > 0 {
				parts = append(parts, fmt.Sprintf("%s×%d", b, diff))
			}
		}
		sort.Strings(parts)
		fails := cur.Failures - prev.Failures
		fmt.Fprintf(out, "  t=%5.1fs  VIP on %-12v replies: %-26s failed: %d\n",
			cur.Duration.Seconds(), l.VIPHolder(), strings.Join(parts, " "), fails)
		prev = cur
	}
}
