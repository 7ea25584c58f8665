package daemon

import (
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	sd "github.com/coreos/go-systemd/v22/daemon"

	"github.com/ebpfvrrp/ebpfvrrp/control"
)

// systemdNotifier speaks systemd's notify protocol (sd_notify(3)) for a unit with
// Type=notify: READY=1 once the receive path is attached everywhere and every
// instance has started, STATUS= with the instances by state, WATCHDOG=1 from the
// Runner's heartbeat, RELOADING=1/READY=1 around a reload. Without NOTIFY_SOCKET
// (not under systemd) it does nothing.
//
// Messages leave from one goroutine: the Runner calls in under its lock, and a
// datagram to a full socket would block it. The heartbeat and status are
// coalesced (the latest wins), so a slow reader never queues them up.
type systemdNotifier struct {
	log      *slog.Logger
	enabled  bool
	watchdog time.Duration // WATCHDOG_USEC; 0: no watchdog

	beat chan struct{}
	msg  chan string // READY, RELOADING, STOPPING: never dropped
	kick chan struct{}

	mu       sync.Mutex
	states   map[string]control.State
	rejected string // what went wrong in the last reload, until one succeeds
	status   string // latest STATUS= not yet sent
	done     chan struct{}
}

func newSystemdNotifier(log *slog.Logger, getenv func(string) string) *systemdNotifier {
	n := &systemdNotifier{
		log: log, enabled: getenv("NOTIFY_SOCKET") != "",
		beat: make(chan struct{}, 1), msg: make(chan string, 8), kick: make(chan struct{}, 1),
		states: map[string]control.State{}, done: make(chan struct{}),
	}
	if n.enabled {
		w, err := sd.SdWatchdogEnabled(false)
		if err != nil {
			log.Warn("systemd watchdog: ignoring WATCHDOG_USEC", "err", err)
		}
		n.watchdog = w
	}
	return n
}

// heartbeatInterval is how often WATCHDOG=1 should go: half the watchdog
// timeout, as sd_watchdog_enabled(3) recommends. 0: no watchdog.
func (n *systemdNotifier) heartbeatInterval() time.Duration { return n.watchdog / 2 }

// run sends until stop; call it in its own goroutine.
func (n *systemdNotifier) run(stop <-chan struct{}) {
	defer close(n.done)
	if !n.enabled {
		<-stop
		return
	}
	for {
		select {
		case <-stop:
			// What was queued before the stop (STOPPING=1) still goes.
			for {
				select {
				case m := <-n.msg:
					n.send(m)
				default:
					return
				}
			}
		case m := <-n.msg:
			n.send(m)
		case <-n.beat:
			n.send(sd.SdNotifyWatchdog)
		case <-n.kick:
			n.mu.Lock()
			st := n.status
			n.status = ""
			n.mu.Unlock()
			if st != "" {
				n.send("STATUS=" + st)
			}
		}
	}
}

func (n *systemdNotifier) send(m string) {
	if _, err := sd.SdNotify(false, m); err != nil {
		n.log.Warn("systemd notify", "message", strings.SplitN(m, "\n", 2)[0], "err", err)
	}
}

func (n *systemdNotifier) queue(m string) {
	if !n.enabled {
		return
	}
	select {
	case n.msg <- m:
	case <-n.done: // Run has returned: nobody sends any more
	}
}

// heartbeat is control.Deps.Heartbeat: it never blocks.
func (n *systemdNotifier) heartbeat() {
	select {
	case n.beat <- struct{}{}:
	default:
	}
}

// ready sends READY=1 with the status of snap.
func (n *systemdNotifier) ready(snap []control.InstanceStatus) {
	n.mu.Lock()
	n.states = map[string]control.State{}
	for _, in := range snap {
		n.states[in.Name] = in.State
	}
	st := n.statusLocked()
	n.mu.Unlock()
	n.queue(sd.SdNotifyReady + "\nSTATUS=" + st)
}

// transition is control.Deps.OnTransition: under the Runner's lock, never blocks.
func (n *systemdNotifier) transition(rec control.TransitionRecord) {
	n.mu.Lock()
	n.states[rec.Instance] = rec.To
	n.status = n.statusLocked()
	n.mu.Unlock()
	if n.enabled {
		select {
		case n.kick <- struct{}{}:
		default:
		}
	}
}

// reloading is sent when a SIGHUP reload starts.
func (n *systemdNotifier) reloading() {
	n.queue(sd.SdNotifyReloading + "\n" + strings.TrimSuffix(sd.SdNotifyMonotonicUsec(), "\n"))
}

// reloaded ends a reload: READY=1 with the new status, or with what went wrong
// ("" if nothing), which stays in STATUS= until a reload succeeds.
func (n *systemdNotifier) reloaded(snap []control.InstanceStatus, problem string) {
	n.mu.Lock()
	n.rejected = oneLine(problem, 300)
	n.mu.Unlock()
	n.ready(snap)
}

func (n *systemdNotifier) stopping() {
	n.queue(sd.SdNotifyStopping + "\nSTATUS=stopping: handing over")
}

// statusLocked is the one-line summary: "2 instances: 1 MASTER, 1 BACKUP".
func (n *systemdNotifier) statusLocked() string {
	count := map[string]int{}
	for _, s := range n.states {
		count[s.String()]++
	}
	names := make([]string, 0, len(count))
	for s := range count {
		names = append(names, s)
	}
	// MASTER first: what an operator looks for.
	order := map[string]int{"MASTER": 0, "BACKUP": 1, "FAULT": 2, "INIT": 3}
	sort.Slice(names, func(i, j int) bool { return order[names[i]] < order[names[j]] })
	parts := make([]string, 0, len(names))
	for _, s := range names {
		parts = append(parts, fmt.Sprintf("%d %s", count[s], s))
	}
	st := fmt.Sprintf("%d instance(s)", len(n.states))
	if len(parts) > 0 {
		st += ": " + strings.Join(parts, ", ")
	}
	if n.rejected != "" {
		st = n.rejected + " | " + st
	}
	return st
}

// oneLine joins a multi-line message with "; " and cuts it at max bytes.
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ; ")), " ")
	if len(s) > max {
		for max > 0 && !utf8.RuneStart(s[max]) {
			max--
		}
		s = s[:max] + "…"
	}
	return s
}
