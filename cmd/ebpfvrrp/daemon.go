package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sys/unix"

	"github.com/ebpfvrrp/ebpfvrrp/config"
	"github.com/ebpfvrrp/ebpfvrrp/control"
	"github.com/ebpfvrrp/ebpfvrrp/loader"
	"github.com/ebpfvrrp/ebpfvrrp/telemetry"
	"github.com/ebpfvrrp/ebpfvrrp/vip"
	"github.com/ebpfvrrp/ebpfvrrp/vrrp"
	"github.com/vishvananda/netns"
)

// vipOwner marks the addresses this daemon adds (vip.Proto), so a restart after a
// crash removes exactly what the crashed run left behind.
const vipOwner = "ebpfvrrp"

type runFlags struct {
	config, pinPath, metricsListen, logLevel, logFormat, controlSocket string
}

func cmdRun(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet("run", "run --config FILE [flags]", env)
	var f runFlags
	fs.StringVar(&f.config, "config", "", "config file: ebpfvrrp YAML/TOML/JSON or keepalived.conf (required)")
	fs.StringVar(&f.pinPath, "pin-path", "", "bpffs directory for pinned maps and links (default: config dataplane.pin_path, "+loader.DefaultPinPath+")")
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
	if f.pinPath == "" {
		f.pinPath = cfg.Dataplane.PinPath
	}
	if f.metricsListen == "" {
		f.metricsListen = cfg.Telemetry.Listen
	}
	if f.controlSocket == "" {
		f.controlSocket = defaultControlSocket(f.pinPath)
	}
	d := &daemon{flags: f, log: log, cfg: cfg}
	return d.run(ctx)
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

// defaultControlSocket derives the socket from the pin path so two daemons (in two
// network namespaces, with two pin paths) never share one.
func defaultControlSocket(pinPath string) string {
	if pinPath == "" {
		pinPath = loader.DefaultPinPath
	}
	return filepath.Join("/run/ebpfvrrp", filepath.Base(filepath.Clean(pinPath))+".sock")
}

type daemon struct {
	flags runFlags
	log   *slog.Logger

	mu  sync.Mutex
	cfg *config.Config

	dp     *loader.Dataplane
	runner *control.Runner
	addrs  *addressAdapter
	ann    *announcerAdapter
	ifaces map[string]bool // attached
	groups *vrrp.Membership
	vmacs  map[string]bool // VMAC interfaces we created, removed on exit
}

// vmac creates (or finds) an instance's VMAC and remembers it for removal on exit.
func (d *daemon) vmac(parent string, vrid uint8, family int) (string, error) {
	fam := unix.AF_INET
	if family == 6 {
		fam = unix.AF_INET6
	}
	_, name, err := vip.EnsureVMAC(parent, vrid, fam)
	if err != nil {
		return "", err
	}
	d.mu.Lock()
	d.vmacs[name] = true
	d.mu.Unlock()
	return name, nil
}

func (d *daemon) removeVMACs() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for name := range d.vmacs {
		if err := vip.RemoveVMAC(name); err != nil {
			d.log.Warn("removing VMAC", "interface", name, "err", err)
		}
	}
}

func (d *daemon) run(ctx context.Context) (err error) {
	d.dp, err = loader.Load(loader.Options{PinPath: d.flags.pinPath, Logger: d.log})
	if err != nil {
		return err
	}
	// Clean shutdown detaches and unpins; a failed start leaves nothing either.
	defer func() {
		if uerr := d.dp.Unpin(); uerr != nil {
			d.log.Error("unpinning dataplane", "err", uerr)
		}
		d.dp.Close()
	}()
	if private, why := d.dp.PrivateBPFFS(); private {
		d.log.Warn("bpffs is private to this process: its pins, the programs they hold and the ghost-VIP guard end with it",
			"pin_path", d.dp.PinPath(), "why", why,
			"fix", "run in the host's mount namespace: under systemd, with nsenter --net=/run/netns/NAME rather than ip netns exec, or with the host's /sys/fs/bpf mounted into the container")
	}
	d.ifaces = map[string]bool{}
	d.vmacs = map[string]bool{}
	defer d.removeVMACs()
	if err := d.attach(d.cfg); err != nil {
		return err
	}

	// Pinned to this namespace, the Manager keeps one rtnetlink socket open
	// instead of opening one per request (VIP adds are on the failover path).
	selfNS, err := netns.Get()
	if err != nil {
		return fmt.Errorf("network namespace: %w", err)
	}
	defer selfNS.Close()
	mgr := vip.NewManager(vipOwner, vip.WithNetns(selfNS))
	if stale, err := mgr.CleanupStale(); err != nil {
		d.log.Warn("removing VIPs left by a previous run", "err", err)
	} else if len(stale) > 0 {
		d.log.Info("removed VIPs left by a previous run", "count", len(stale))
	}
	runCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d.addrs = newAddressAdapter(mgr, d.dp, d.log)
	go d.addrs.refreshLeases(runCtx)
	d.ann = &announcerAdapter{ctx: runCtx, log: d.log, ann: map[int]*vip.Announcer{}}
	defer d.ann.Close()
	sender := newSenderAdapter()
	defer sender.Close()
	links, err := newLinkWatcher(runCtx, d.log)
	if err != nil {
		return fmt.Errorf("watch links: %w", err)
	}
	notifier := control.NewExecNotifier(d.log)

	setup, err := buildSetup(d.cfg, d.vmac)
	if err != nil {
		return err
	}
	// Joined before the first advert is awaited: on a NIC that filters
	// multicast the peers' adverts reach the receive path only once we are
	// members. Left last, after the priority-0 advert and the handover wait.
	d.groups = vrrp.NewMembership()
	defer d.groups.Close()
	if err := d.joinGroups(setup); err != nil {
		return err
	}
	d.setAnnounceSettings(d.cfg, setup)
	d.runner, err = control.NewRunner(control.Deps{
		Dataplane: dataplaneAdapter{d.dp},
		Prober:    dataplaneAdapter{d.dp},
		Addresses: d.addrs,
		Announcer: d.ann,
		Sender:    sender,
		Notifier:  notifier,
		Links:     links,
		Logger:    d.log,
	}, setup)
	if err != nil {
		return err
	}

	if err := d.runner.Start(); err != nil {
		return err
	}
	// As Runner.Run: priority-0 adverts, VIPs removed, trackers stopped; then
	// the notify hooks those transitions started get to finish. Called first
	// thing on a signal (the backups' Skew_Time runs from the priority-0
	// advert), and deferred for the error paths.
	var stopOnce sync.Once
	stop := func() {
		stopOnce.Do(func() {
			sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer scancel()
			if err := d.runner.Shutdown(sctx); err != nil {
				d.log.Warn("shutdown", "err", err)
			}
			handover := time.After(d.runner.HandoverWait())
			wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer wcancel()
			_ = notifier.Wait(wctx)
			// The dataplane (XDP/TC, VMACs) goes only after the backup had time to
			// take over; see Runner.HandoverWait.
			<-handover
			d.log.Info("ebpfvrrp stopped")
		})
	}
	defer stop()
	// Kernel events go straight from the ring-buffer reader into the state
	// machine: a MASTER_DOWN is a takeover, and every goroutine hop delays it.
	// Events written since Load wait in the ring until the reader starts.
	readerDone, err := d.dp.HandleEvents(runCtx, func(ev loader.Event) {
		if ce, ok := translateEvent(ev); ok {
			d.runner.HandleKernelEvent(ce)
		}
		// Logged after the event is handled: a takeover must not wait for it.
		d.log.Debug("kernel event", "type", ev.Type, "ifindex", ev.Key.Ifindex, "vrid", ev.Key.VRID, "family", ev.Key.Family,
			"addr", ev.Addr, "priority", ev.Priority, "interval", ev.Interval)
	})
	if err != nil {
		return err
	}

	srvs, err := d.serve()
	if err != nil {
		return err
	}
	defer func() {
		for _, s := range srvs {
			s.Close()
		}
	}()
	go d.probeLoop(runCtx)

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			d.reload()
		}
	}()

	d.log.Info("ebpfvrrp running", "version", version, "config", d.flags.config,
		"instances", len(setup.Instances), "pin_path", d.dp.PinPath(), "metrics", d.flags.metricsListen,
		"control_socket", d.flags.controlSocket)
	select {
	case <-ctx.Done():
		stop()
		return nil
	case <-readerDone:
		// Without kernel events the controller would be blind; better to stop
		// (handing over with priority 0) and let the service manager restart.
		return errors.New("the kernel event reader stopped")
	}
}

// attach hooks the receive path on every interface the config uses.
func (d *daemon) attach(cfg *config.Config) error {
	mode, err := loader.ParseAttachMode(cfg.Dataplane.AttachMode)
	if err != nil {
		return fmt.Errorf("dataplane.attach_mode: %w", err)
	}
	want := map[string]bool{}
	for _, in := range cfg.Instances {
		want[in.Interface] = true
		for _, p := range in.SecondaryPaths {
			if p.Interface != "" {
				want[p.Interface] = true
			}
		}
	}
	for name := range want {
		if d.ifaces[name] {
			continue
		}
		if err := d.dp.Attach(name, mode); err != nil {
			return fmt.Errorf("attach to %s: %w", name, err)
		}
		got, _ := d.dp.Mode(name)
		d.log.Info("receive path attached", "interface", name, "mode", got.String())
		d.mu.Lock()
		d.ifaces[name] = true
		d.mu.Unlock()
	}
	return nil
}

// joinGroups makes the host a member of the VRRP group of every multicast
// instance, on the interface adverts arrive on and on its VMAC if it has one, and
// of nothing else: a group whose last instance went is left.
func (d *daemon) joinGroups(s control.Setup) error {
	want := multicastGroups(s)
	err := d.groups.Set(want)
	for _, g := range d.groups.Groups() {
		d.log.Debug("multicast group joined", "interface", ifName(g.Ifindex), "group", g.Addr)
	}
	if err != nil {
		return fmt.Errorf("join VRRP multicast groups: %w", err)
	}
	return nil
}

func multicastGroups(s control.Setup) []vrrp.Group {
	var out []vrrp.Group
	for _, in := range s.Instances {
		if len(in.Peers) > 0 {
			continue // unicast: nothing to join
		}
		g := in.Group
		if !g.IsValid() {
			g = vrrp.IPv4Multicast
			if in.Key.IPv6 {
				g = vrrp.IPv6Multicast
			}
		}
		out = append(out, vrrp.Group{Ifindex: in.Key.Ifindex, Addr: g})
		// The VMAC (if any) is what the instance sends on; keepalived joins
		// there too.
		if ifx, err := ifIndex(in.Interface); err == nil && ifx != in.Key.Ifindex {
			out = append(out, vrrp.Group{Ifindex: ifx, Addr: g})
		}
	}
	return out
}

func (d *daemon) setAnnounceSettings(cfg *config.Config, s control.Setup) {
	settings := map[string]vip.GARPSettings{}
	ifx := map[string]int{}
	for i, in := range cfg.Instances {
		g := in.GARP
		settings[in.Name] = vip.GARPSettings{Delay: g.MasterDelay, Repeat: g.MasterRepeat,
			Refresh: g.Refresh, RefreshRepeat: g.RefreshRepeat, Interval: g.Interval}
		// GARP/NA leave from the interface the instance sends on (its VMAC if any).
		ifx[in.Name] = s.Instances[i].Key.Ifindex
		if ifi, err := net.InterfaceByName(s.Instances[i].Interface); err == nil {
			ifx[in.Name] = ifi.Index
		}
	}
	d.ann.mu.Lock()
	d.ann.settings, d.ann.ifindex = settings, ifx
	d.ann.mu.Unlock()
}

// reload re-reads the config file. A file that fails to load or validate is
// rejected with a log line and the running config stays.
func (d *daemon) reload() {
	d.log.Info("SIGHUP: reloading config", "config", d.flags.config)
	cfg, err := config.Load(d.flags.config)
	if err != nil {
		d.log.Error("reload rejected, keeping the running config", "err", err)
		return
	}
	setup, err := buildSetup(cfg, d.vmac)
	if err != nil {
		d.log.Error("reload rejected, keeping the running config", "err", err)
		return
	}
	if err := d.attach(cfg); err != nil {
		d.log.Error("reload rejected, keeping the running config", "err", err)
		return
	}
	d.setAnnounceSettings(cfg, setup)
	if err := d.runner.Reload(setup); err != nil {
		d.log.Error("reload failed", "err", err)
		return
	}
	if err := d.joinGroups(setup); err != nil {
		d.log.Error("reload: multicast groups", "err", err)
	}
	d.mu.Lock()
	d.cfg = cfg
	d.mu.Unlock()
	d.log.Info("config reloaded", "instances", len(setup.Instances))
}

// probeLoop ARP/NS-probes the VIPs of every Master at split_brain.probe_interval
// (read each round, so a reload can change or disable it) and feeds every round to
// the Runner: an answer from another MAC is a VIP conflict, i.e. a split brain; a
// clean round ends it. This is what detects a split brain when the heartbeat is cut
// both ways and no advert of the other Master ever arrives.
func (d *daemon) probeLoop(ctx context.Context) {
	prober := dataplaneAdapter{d.dp}
	for {
		d.mu.Lock()
		every := d.cfg.SplitBrain.ProbeInterval
		d.mu.Unlock()
		wait := every
		if every <= 0 {
			wait = time.Second // off: look again after a possible reload
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if every <= 0 {
			continue
		}
		// One probe per interface for the VIPs of every Master on it, not one per
		// instance: 200 instances would otherwise open 200 packet sockets a
		// round. The answers are then handed to the instance owning each VIP.
		held := d.addrs.heldVIPs()
		if len(held) == 0 {
			continue
		}
		owner := map[netip.Addr]string{}
		var all []vip.Address
		for inst, addrs := range held {
			for _, a := range addrs {
				owner[a.Prefix.Addr()] = inst
			}
			all = append(all, addrs...)
		}
		conflicts, err := prober.probeAddrs(ctx, all, every/2)
		if err != nil {
			// A round that could not listen proves nothing either way.
			d.log.Debug("VIP probe failed", "err", err)
			continue
		}
		byInst := map[string][]control.VIPConflict{}
		for _, c := range conflicts {
			if inst, ok := owner[c.VIP]; ok {
				byInst[inst] = append(byInst[inst], c)
			}
		}
		for inst := range held {
			// Every instance hears its round, clean ones too: a clean round
			// ends a conflict.
			d.runner.ReportVIPProbe(inst, byInst[inst])
		}
	}
}

// serve starts the metrics listener (if enabled) and the control socket.
func (d *daemon) serve() ([]*http.Server, error) {
	src := &telemetrySource{d: d}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(telemetry.NewRegistry(src, version, d.log), promhttp.HandlerOpts{}))
	mux.HandleFunc("/status", d.handleStatus)
	var srvs []*http.Server
	if l := d.flags.metricsListen; l != "" && l != "off" {
		ln, err := net.Listen("tcp", l)
		if err != nil {
			return nil, fmt.Errorf("--metrics-listen %s: %w", l, err)
		}
		s := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go s.Serve(ln)
		srvs = append(srvs, s)
	}
	sock := d.flags.controlSocket
	if err := os.MkdirAll(filepath.Dir(sock), 0o755); err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	// A socket file left by a crashed run is stale only if nobody answers on it.
	if c, err := net.DialTimeout("unix", sock, 200*time.Millisecond); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s: another ebpfvrrp is running (use a different --pin-path or --control-socket)", sock)
	}
	os.Remove(sock)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	os.Chmod(sock, 0o660)
	s := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go s.Serve(ln)
	srvs = append(srvs, s)
	return srvs, nil
}

func ifName(ifindex int) string {
	if ifi, err := net.InterfaceByIndex(ifindex); err == nil {
		return ifi.Name
	}
	return fmt.Sprintf("if%d", ifindex)
}
