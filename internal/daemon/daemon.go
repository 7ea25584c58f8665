// Package daemon is the ebpfvrrp daemon's wiring: it loads the dataplane, builds
// the control Runner from a config and connects it to loader (kernel state and
// events), vip (addresses, GARP/NA, probes), vrrp (the advert sender) and
// telemetry, runs them, reloads on SIGHUP and serves the control socket. cmd/ebpfvrrp
// parses flags and calls New(Options).Run; nothing here prints for a user.
//
// It needs what loader needs: a kernel with BTF, bpf_timer and ring buffers.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"reflect"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/config"
	"github.com/ebpfvrrp/ebpfvrrp/control"
	"github.com/ebpfvrrp/ebpfvrrp/internal/hooks"
	"github.com/ebpfvrrp/ebpfvrrp/internal/rtsched"
	"github.com/ebpfvrrp/ebpfvrrp/internal/timerfd"
	"github.com/ebpfvrrp/ebpfvrrp/loader"
	"github.com/ebpfvrrp/ebpfvrrp/vip"
	"github.com/ebpfvrrp/ebpfvrrp/vrrp"
	"github.com/vishvananda/netns"
)

// vipOwner marks the addresses this daemon adds (vip.Proto), so a restart after a
// crash removes exactly what the crashed run left behind.
const vipOwner = "ebpfvrrp"

// Options configures a Daemon. Config is required; the rest default from it.
type Options struct {
	// ConfigPath is the file Config was loaded from; SIGHUP loads it again.
	ConfigPath string
	Config     *config.Config
	// PinPath is the bpffs directory for pinned maps and links (default:
	// Config.Dataplane.PinPath, then config.DefaultPinPath).
	PinPath string
	// MetricsListen is the TCP address of /metrics and /status (default:
	// Config.Telemetry.Listen); "" after defaulting, or "off", disables it.
	MetricsListen string
	// ControlSocket is the unix socket `ebpfvrrp status` asks (default:
	// DefaultControlSocket(PinPath)).
	ControlSocket string
	Logger        *slog.Logger
	// Version is reported in logs, /status and the build-info metric.
	Version string
	// PIDFiles are written with the daemon's pid when Run starts and removed when
	// it returns (keepalived's -p and -r, for scripts that read them).
	PIDFiles []string

	// layoutVersion makes the dataplane pretend another pinned-map layout
	// (loader.Options.LayoutVersion): tests of an upgrade across layouts.
	layoutVersion uint32
}

// Daemon is one running ebpfvrrp: a dataplane, a Runner and their adapters.
type Daemon struct {
	opts Options
	log  *slog.Logger

	mu  sync.Mutex
	cfg *config.Config
	// routes: the virtual_routes / virtual_rules of cfg's instances.
	routes *routesAdapter
	// trackers are those the Runner runs (set by prepare and each reload, which
	// run one after the other), so a reload can keep their stateful checks.
	trackers []control.TrackerConfig

	dp       *loader.Dataplane
	runner   *control.Runner
	addrs    *addressAdapter
	ann      *announcerAdapter
	notifier *hooks.ExecNotifier
	fifos    []*hooks.FIFO   // notify_fifo, vrrp_notify_fifo
	advClock *timerfd.Thread // closed after the Runner's Shutdown
	ifaces   map[string]bool // attached
	groups   *vrrp.Membership
	vmacs    map[string]bool // VMAC interfaces we created, removed on exit
	sd       *systemdNotifier
	stopOnce sync.Once
	ctlLn    *net.UnixListener // the control socket's
	// metricsLn is the metrics listener (nil when off).
	metricsLn net.Listener

	// Upgrade (upgrade.go). exe and args are what an upgrade executes: this
	// process's path (as it was at start) and arguments.
	exe          string
	args         []string
	inh          *inherited // set when an upgrade started this process
	tookOver     bool       // inh's predecessor was told we are ready
	handedOver   bool       // a successor took over from us
	handover     chan struct{}
	holdUntil    time.Time // see hold.go
	held         bool      // stopping within the hold: leave everything
	handoverOnce sync.Once
	upgrading    sync.Mutex
}

// New returns a Daemon for opts, with the defaults filled in. Run starts it.
func New(opts Options) *Daemon {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.PinPath == "" {
		opts.PinPath = opts.Config.Dataplane.PinPath
	}
	if opts.PinPath == "" {
		opts.PinPath = config.DefaultPinPath
	}
	if opts.MetricsListen == "" {
		opts.MetricsListen = opts.Config.Telemetry.Listen
	}
	if opts.ControlSocket == "" {
		opts.ControlSocket = DefaultControlSocket(opts.PinPath)
	}
	// sd_notify is the process's: NOTIFY_SOCKET and WATCHDOG_USEC come from its
	// environment, as systemd sets them.
	opts.Config = runningConfig(opts.Config)
	d := &Daemon{opts: opts, log: opts.Logger, cfg: opts.Config, sd: newSystemdNotifier(opts.Logger, os.Getenv),
		handover: make(chan struct{}), args: os.Args[1:]}
	// Resolved now: after a package upgrade replaced the file, the path
	// names the new binary, which is the one to run.
	if exe, err := os.Executable(); err == nil {
		d.exe = exe
	}
	return d
}

// vmac creates (or finds) an instance's VMAC and remembers it for removal on exit.
func (d *Daemon) vmac(parent string, vrid uint8, family vrrp.Family) (string, error) {
	_, name, err := vip.EnsureVMAC(parent, vrid, family)
	if err != nil {
		return "", err
	}
	d.mu.Lock()
	d.vmacs[name] = true
	d.mu.Unlock()
	return name, nil
}

func (d *Daemon) removeVMACs() {
	if d.successorPending() || d.leaving() || !d.dp.Owned() {
		return // a successor's now
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for name := range d.vmacs {
		if err := vip.RemoveVMAC(name); err != nil {
			d.log.Warn("removing VMAC", "interface", name, "err", err)
		}
	}
}

// Run loads and attaches the dataplane, starts every instance and serves until ctx
// ends (then hands over: priority-0 adverts, VIPs removed, dataplane unpinned) or
// the kernel event reader stops. A failed start leaves nothing behind.
func (d *Daemon) Run(ctx context.Context) (err error) {
	if err := runnable(d.cfg); err != nil {
		return err
	}
	if d.inh, err = takeInherited(); err != nil {
		return err
	}
	defer d.reportToPredecessor(&err)
	// SIGHUP's default action ends the process, and loading the dataplane can take
	// seconds (the verifier; the bpffs lock other loaders hold): caught from here
	// on, a SIGHUP that arrives meanwhile is one reload once running.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	removePIDs, err := writePIDFiles(d.opts.PIDFiles)
	if err != nil {
		return err
	}
	defer removePIDs()
	sdStop := make(chan struct{})
	go d.sd.run(sdStop)
	defer func() {
		close(sdStop)
		<-d.sd.done
	}()
	release, err := d.loadDataplane()
	if err != nil {
		return err
	}
	defer release()
	d.ifaces = map[string]bool{}
	d.vmacs = map[string]bool{}
	defer d.removeVMACs()
	// Left last, after the priority-0 advert and the handover wait.
	d.groups = vrrp.NewMembership()
	defer d.groups.Close()
	setup, err := d.prepare()
	if err != nil {
		return err
	}
	return d.runInstances(ctx, setup, hup)
}

// reportToPredecessor tells the process that started this one by an upgrade
// (it waits for our word) that we stopped before taking over, and why.
func (d *Daemon) reportToPredecessor(errp *error) {
	if !d.successorPending() {
		return
	}
	if *errp == nil {
		*errp = errors.New("stopped before taking over")
	}
	d.inh.report(*errp)
}

// loadDataplane loads (or adopts) the BPF programs and maps. release closes
// them at the end: a clean stop detaches and unpins; a failed start leaves
// nothing either; a hold or a pending successor leaves them in place.
func (d *Daemon) loadDataplane() (release func(), err error) {
	loadStart := time.Now()
	d.dp, err = loader.Load(loader.Options{PinPath: d.opts.PinPath, Logger: d.log, LayoutVersion: d.opts.layoutVersion,
		RequireCompatible: d.inh != nil})
	if err != nil {
		return nil, err
	}
	d.log.Info("dataplane loaded", "pin_path", d.dp.PinPath(), "programs_verified", d.dp.ProgramsLoaded(),
		"took", time.Since(loadStart).Round(time.Millisecond).String())
	if private, why := d.dp.PrivateBPFFS(); private {
		d.log.Warn("bpffs is private to this process: its pins, the programs they hold and the ghost-VIP guard end with it",
			"pin_path", d.dp.PinPath(), "why", why,
			"fix", "run in the host's mount namespace: under systemd, with nsenter --net=/run/netns/NAME rather than ip netns exec, or with the host's /sys/fs/bpf mounted into the container")
	}
	return func() {
		if d.successorPending() || d.leaving() {
			// The predecessor still runs on all of it, or a successor (the
			// next start, an upgraded process) goes on from it.
			d.dp.Close()
			return
		}
		// A clean stop releases the hooks and pins, unless a successor (an
		// upgrade, a new daemon started while this one stopped) owns them now.
		if uerr := d.dp.Unpin(); errors.Is(uerr, loader.ErrSuccessor) {
			d.log.Info("leaving pins and hooks to the daemon that took them over", "pin_path", d.dp.PinPath())
		} else if uerr != nil {
			d.log.Error("unpinning dataplane", "err", uerr)
		}
		d.dp.Close()
	}, nil
}

// prepare attaches the interfaces, initialises track files and builds the
// instances' setup, deciding which Masters the earlier run left are adopted.
func (d *Daemon) prepare() (control.Setup, error) {
	if err := d.attach(d.cfg); err != nil {
		return control.Setup{}, err
	}
	if err := initTrackFiles(d.cfg); err != nil {
		return control.Setup{}, err
	}
	setup, err := buildSetup(d.cfg, d.vmac)
	if err != nil {
		return control.Setup{}, err
	}
	d.trackers = setup.Trackers
	// Decided before anything writes the instances: the kernel's view of
	// them is what the earlier run left.
	var unadopted []string
	setup.Adopt, unadopted = d.adopt(setup)
	if d.inh != nil && len(unadopted) > 0 {
		return control.Setup{}, fmt.Errorf("cannot adopt every Master: %s", strings.Join(unadopted, "; "))
	}
	return setup, nil
}

// runInstances starts the state machines, the address, announcement and
// sending adapters, the kernel event reader, the control socket and the
// background loops, and runs until ctx ends, a successor takes over or the
// event reader stops.
func (d *Daemon) runInstances(ctx context.Context, setup control.Setup, hup <-chan os.Signal) error {
	// Pinned to this namespace, the Manager keeps one rtnetlink socket open
	// instead of opening one per request (VIP adds are on the failover path).
	selfNS, err := netns.Get()
	if err != nil {
		return fmt.Errorf("network namespace: %w", err)
	}
	defer selfNS.Close()
	// The background loops use the dataplane: they end (cancel) and are waited
	// for (bg, deferred first so it runs after cancel) before it is closed.
	var bg sync.WaitGroup
	defer bg.Wait()
	runCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d.routes = newRoutesAdapter(d.cfg)
	d.addrs = newAddressAdapter(d.newVIPManager(selfNS, keepVIPs(setup, setup.Adopt)), d.dp, d.log)
	bg.Go(func() { d.addrs.refreshLeases(runCtx) })
	d.ann = &announcerAdapter{ctx: runCtx, log: d.log, ann: map[int]*vip.Announcer{}}
	defer d.ann.Close()
	if !d.waitStartupDelay(ctx, d.cfg.StartupDelay, setup) {
		return nil
	}
	sender := newSenderAdapter()
	defer sender.Close()
	err = d.startRunner(runCtx, sender, setup)
	defer func() {
		if d.advClock != nil {
			d.advClock.Close()
		}
	}()
	if err != nil {
		return err
	}
	d.storeConfigHashes(setup)
	defer d.stop()
	readerDone, err := d.readEvents(runCtx)
	if err != nil {
		return err
	}
	closeServers, err := d.serveControl()
	if err != nil {
		return err
	}
	defer closeServers()
	bg.Go(func() { d.probeLoop(runCtx) })
	d.reloadOnHangup(hup)
	stopUpgrade := d.upgradeOnSignal()
	defer stopUpgrade()
	d.tookOverFromPredecessor()
	d.log.Info("ebpfvrrp running", "version", d.opts.Version, "config", d.opts.ConfigPath,
		"instances", len(setup.Instances), "pin_path", d.dp.PinPath(), "metrics", d.opts.MetricsListen,
		"control_socket", d.opts.ControlSocket, "systemd_watchdog", d.sd.watchdog)
	// Every interface is attached (d.attach) and every instance has started
	// (Runner.Start); the control socket and metrics answer.
	d.sd.ready(d.runner.Snapshot())
	return d.waitStop(ctx, readerDone)
}

// serveControl starts the control socket and metrics listeners; closeServers
// stops them, removing the socket file with a clean stop (also when it was
// inherited, which is not unlinked by default) unless it is a successor's now.
func (d *Daemon) serveControl() (closeServers func(), err error) {
	srvs, err := d.serve()
	if err != nil {
		return nil, err
	}
	return func() {
		if d.ctlLn != nil {
			d.ctlLn.SetUnlinkOnClose(d.dp.Owned() && !d.successorPending())
		}
		for _, s := range srvs {
			s.Close()
		}
	}, nil
}

// tookOverFromPredecessor, in a process started by an upgrade, tells the
// predecessor that we adopted, advertise and serve: it may go.
func (d *Daemon) tookOverFromPredecessor() {
	if d.inh == nil {
		return
	}
	d.inh.report(nil)
	d.mu.Lock()
	d.tookOver = true
	d.mu.Unlock()
	d.log.Info("upgrade: took over from the previous process")
}

// waitStop runs until ctx ends (a stop, or a hold before a restart), a
// successor took over, or the kernel event reader stopped.
func (d *Daemon) waitStop(ctx context.Context, readerDone <-chan struct{}) error {
	select {
	case <-ctx.Done():
		d.sd.stopping()
		if d.holding() {
			d.mu.Lock()
			d.held = true
			d.mu.Unlock()
			d.log.Info("stopping for a restart (hold): VIPs and kernel state stay for the next start")
		}
		d.stop()
		return nil
	case <-d.handover:
		d.stop()
		return nil
	case <-readerDone:
		// Without kernel events the controller would be blind; better to stop
		// (handing over with priority 0) and let the service manager restart.
		d.sd.stopping()
		return errors.New("the kernel event reader stopped")
	}
}

// newVIPManager returns the address manager for selfNS, after removing the VIPs a
// crashed run left behind, except keep (the adopted Masters'), which it takes
// over.
func (d *Daemon) newVIPManager(selfNS netns.NsHandle, keep []vip.Address) *vip.Manager {
	mgr := vip.NewManager(vipOwner, vip.WithNetns(selfNS))
	for _, a := range keep {
		if err := mgr.Add(a); err != nil {
			d.log.Warn("taking over an adopted VIP", "vip", a.String(), "err", err)
		}
	}
	if stale, err := mgr.CleanupStale(); err != nil {
		d.log.Warn("removing VIPs left by a previous run", "err", err)
	} else if len(stale) > 0 {
		d.log.Info("removed VIPs left by a previous run", "count", len(stale))
	}
	return mgr
}

// startRunner builds the Runner over the adapters for setup and starts it.
func (d *Daemon) startRunner(ctx context.Context, sender control.Sender, setup control.Setup) error {
	links, err := newLinkWatcher(ctx, d.log)
	if err != nil {
		return fmt.Errorf("watch links: %w", err)
	}
	d.notifier = hooks.NewExecNotifier(d.log)
	// Joined before the first advert is awaited: on a NIC that filters
	// multicast the peers' adverts reach the receive path only once we are
	// members.
	if err := d.joinGroups(setup); err != nil {
		return err
	}
	d.setAnnounceSettings(d.cfg, setup)
	deps := control.Deps{
		Dataplane:    dataplaneAdapter{d.dp},
		Prober:       dataplaneAdapter{d.dp},
		Addresses:    d.addrs,
		Routes:       d.routes,
		Announcer:    d.ann,
		Sender:       sender,
		Notifier:     hooks.Notifiers{d.notifier},
		Links:        links,
		Logger:       d.log,
		OnTransition: d.sd.transition,
	}
	// systemd's watchdog is fed from the Runner's own loop, so a wedged
	// controller stops feeding it and systemd restarts the daemon.
	if iv := d.sd.heartbeatInterval(); iv > 0 {
		deps.Heartbeat, deps.HeartbeatInterval = d.sd.heartbeat, iv
	}
	deps.AdvertClock = d.newAdvertClock()
	if d.fifos, err = openFIFOs(d.cfg, d.log); err != nil {
		return err
	}
	for _, f := range d.fifos {
		deps.Notifier = append(deps.Notifier.(hooks.Notifiers), f)
	}
	if d.runner, err = control.NewRunner(deps, setup); err != nil {
		d.closeFIFOs()
		return err
	}
	err = d.runner.Start()
	releaseStartupMemory()
	return err
}

// releaseStartupMemory hands the heap that loading the dataplane needed
// (parsing the kernel's BTF is most of it, tens of MB for a few seconds) back
// to the kernel now, rather than when the runtime's scavenger gets to it: the
// steady state allocates nothing per advert, so what stays is the live heap.
//
// Unless GOGC is set, the heap may also grow only a quarter past the live
// heap before a collection (Go's default lets it double): with nothing
// allocated per advert, collections are rare either way, and at 1000
// instances the difference is several MB of RSS.
func releaseStartupMemory() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(25)
	}
	debug.FreeOSMemory()
}

// daemonRTPriority is the SCHED_RR priority of the daemon's threads other
// than the advert thread when scheduling.rt_priority is set: above every
// normal-class process, below the advert thread, which preempts them.
const daemonRTPriority = 1

// spareP raises GOMAXPROCS once per process (see newAdvertClock).
var spareP sync.Once

// newAdvertClock starts the thread adverts leave from: a timerfd thread, in
// SCHED_RR at scheduling.rt_priority when set and allowed; nil (the Go
// timers) without a timerfd.
func (d *Daemon) newAdvertClock() control.AdvertClock {
	prio := d.cfg.Scheduling.RTPriority
	t, err := timerfd.New(prio)
	switch {
	case err == nil && prio > 0:
		// One P more than the runtime would use: the advert thread needs a
		// P each time its timerfd read returns, and a normal-class thread
		// that holds the last one while the CPUs are busy would make it
		// wait (the runtime's sysmon also leaves a sleeping thread its P
		// while another is idle).
		spareP.Do(func() { runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + 1) })
		// And every other thread real-time too, below the advert thread:
		// the P the advert thread waits for is handed over by one of them
		// (see package rtsched).
		if err := rtsched.Process(daemonRTPriority); err != nil {
			d.log.Warn("daemon threads: real-time priority refused; only the advert thread runs in SCHED_RR, "+
				"and a busy host may delay its adverts", "rt_priority", daemonRTPriority, "err", err)
		} else {
			d.log.Info("daemon runs in SCHED_RR", "rt_priority", prio, "other_threads_rt_priority", daemonRTPriority,
				"gomaxprocs", runtime.GOMAXPROCS(0))
		}
	case err != nil && prio > 0:
		d.log.Warn("advert thread: real-time priority refused; adverts are sent in the normal scheduling class "+
			"(grant CAP_SYS_NICE or LimitRTPRIO= in the unit)", "rt_priority", prio, "err", err)
		t, err = timerfd.New(0)
	}
	if err != nil {
		d.log.Debug("advert clock: using Go timers", "err", err)
		return nil
	}
	d.advClock = t
	return t
}

// openFIFOs opens cfg's notify FIFOs, starting their scripts, as keepalived does
// at start. A reload keeps them as they are.
func openFIFOs(cfg *config.Config, log *slog.Logger) ([]*hooks.FIFO, error) {
	var out []*hooks.FIFO
	for _, fc := range []config.NotifyFIFO{cfg.NotifyFIFO, cfg.VRRPNotifyFIFO} {
		if fc.Path == "" {
			continue
		}
		runAs := fc.User
		if runAs == "" {
			runAs = scriptUser(cfg)
		}
		f, err := hooks.OpenFIFO(hooks.FIFOConfig{Path: fc.Path, Script: fc.Script, RunAs: runAs}, log)
		if err != nil {
			for _, o := range out {
				o.Close()
			}
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

func (d *Daemon) closeFIFOs() {
	for _, f := range d.fifos {
		if err := f.Close(); err != nil {
			d.log.Warn("close notify fifo", "err", err)
		}
	}
	d.fifos = nil
}

// stop hands over, once: priority-0 adverts, VIPs removed, trackers stopped; then
// the notify hooks those transitions started get to finish. Called first thing on
// a signal (the backups' Skew_Time runs from the priority-0 advert), and deferred
// for the error paths.
func (d *Daemon) stop() {
	d.stopOnce.Do(func() {
		// A stop during an upgrade waits for its outcome (at most
		// UpgradeTimeout): the new process may be taking over right now.
		// Held for good: no upgrade starts once the daemon is stopping.
		d.upgrading.Lock()
		if d.leaving() || d.successorPending() {
			// Everything is (or stays) another process's: no priority 0, no
			// VIP removed, no hook.
			d.runner.Abandon()
			d.log.Info("ebpfvrrp stopped, leaving the instances to the other process")
			return
		}
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		if err := d.runner.Shutdown(sctx); err != nil {
			d.log.Warn("shutdown", "err", err)
		}
		// After the STOP lines; keepalived closes its FIFOs at exit too.
		d.closeFIFOs()
		handover := time.After(d.runner.HandoverWait())
		wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer wcancel()
		_ = d.notifier.Wait(wctx)
		// The dataplane (XDP/TC, VMACs) goes only after the backup had time to
		// take over; see Runner.HandoverWait.
		<-handover
		d.log.Info("ebpfvrrp stopped")
	})
}

// readEvents starts the ring-buffer reader. Kernel events go straight from it into
// the state machine: a MASTER_DOWN is a takeover, and every goroutine hop delays
// it. Events written since Load wait in the ring until the reader starts.
func (d *Daemon) readEvents(ctx context.Context) (<-chan struct{}, error) {
	return d.dp.HandleEvents(ctx, func(ev loader.Event) {
		if ce, ok := translateEvent(ev); ok {
			d.runner.HandleKernelEvent(ce)
		}
		// Logged after the event is handled: a takeover must not wait for it.
		d.log.Debug("kernel event", "type", ev.Type, "ifindex", ev.Key.Ifindex, "vrid", ev.Key.VRID, "family", ev.Key.Family,
			"addr", ev.Addr, "priority", ev.Priority, "interval", ev.Interval)
	})
}

// reloadOnHangup reloads the config on every SIGHUP hup delivers (Run stops the
// delivery when it returns).
func (d *Daemon) reloadOnHangup(hup <-chan os.Signal) {
	go func() {
		for range hup {
			d.reload()
		}
	}()
}

// attach hooks the receive path on every interface the config uses.
func (d *Daemon) attach(cfg *config.Config) error {
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
		d.mu.Lock() // status reads ifaces
		d.ifaces[name] = true
		d.mu.Unlock()
	}
	return nil
}

// reload re-reads the config file. A file that fails to load or validate is
// rejected with a log line and the running config stays; systemd's STATUS= says
// so until a reload succeeds.
func (d *Daemon) reload() {
	d.log.Info("SIGHUP: reloading config", "config", d.opts.ConfigPath)
	d.sd.reloading()
	err := d.reloadConfig()
	var problem string
	switch {
	case errors.Is(err, errApply):
		// The Runner applied what it could (Runner.Reload).
		d.log.Error("reload failed", "err", err)
		problem = "reload failed: " + err.Error()
	case err != nil:
		d.log.Error("reload rejected, keeping the running config", "err", err)
		problem = "reload rejected, running config kept: " + err.Error()
		// STATUS= is one line: the count and the first problem; the log has all.
		var ve *config.ValidationError
		if errors.As(err, &ve) && len(ve.Problems) > 1 {
			problem = fmt.Sprintf("reload rejected, running config kept: %d problems, first: %s (all in the log)", len(ve.Problems), ve.Problems[0])
		}
	}
	d.sd.reloaded(d.runner.Snapshot(), problem)
}

// runningConfig is cfg as the daemon keeps it while it runs: without the
// source positions, which only Load and Validate's messages use (each reload
// loads and validates a new file with its own). At 1000 instances they are
// about 1 MB of the heap, a tenth of all that stays live.
func runningConfig(cfg *config.Config) *config.Config {
	c := *cfg
	c.Positions = nil
	return &c
}

// errApply marks a reload that the Runner failed to apply in full.
var errApply = errors.New("applying the new config")

func (d *Daemon) reloadConfig() error {
	cfg, err := config.Load(d.opts.ConfigPath)
	if err != nil {
		return err
	}
	setup, err := buildSetup(cfg, d.vmac)
	if err != nil {
		return err
	}
	keepProcessChecks(d.trackers, setup.Trackers)
	if err := d.attach(cfg); err != nil {
		return err
	}
	d.setAnnounceSettings(cfg, setup)
	if err := d.runner.Reload(setup); err != nil {
		return fmt.Errorf("%w: %w", errApply, err)
	}
	d.routes.set(cfg)
	if err := d.joinGroups(setup); err != nil {
		d.log.Error("reload: multicast groups", "err", err)
	}
	d.storeConfigHashes(setup)
	d.trackers = setup.Trackers
	if !reflect.DeepEqual(cfg.NotifyFIFO, d.cfg.NotifyFIFO) || !reflect.DeepEqual(cfg.VRRPNotifyFIFO, d.cfg.VRRPNotifyFIFO) {
		d.log.Warn("reload: notify FIFO settings changed; they apply at the next start (the FIFOs and their scripts stay as they are)")
	}
	d.mu.Lock()
	d.cfg = runningConfig(cfg)
	d.mu.Unlock()
	d.log.Info("config reloaded", "instances", len(setup.Instances))
	return nil
}

// joinGroups makes the host a member of the VRRP group of every multicast
// instance, on the interface adverts arrive on and on its VMAC if it has one, and
// of nothing else: a group whose last instance went is left.
func (d *Daemon) joinGroups(s control.Setup) error {
	err := d.groups.Set(multicastGroups(s))
	for _, g := range d.groups.Groups() {
		d.log.Debug("multicast group joined", "interface", ifName(g.Ifindex), "group", g.Addr)
	}
	if err != nil {
		return fmt.Errorf("join VRRP multicast groups: %w", err)
	}
	return nil
}

func ifName(ifindex int) string {
	if ifi, err := net.InterfaceByIndex(ifindex); err == nil {
		return ifi.Name
	}
	return fmt.Sprintf("if%d", ifindex)
}
