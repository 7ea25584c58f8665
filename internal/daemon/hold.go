package daemon

import (
	"fmt"
	sd "github.com/coreos/go-systemd/v22/daemon"
	"net/http"
	"strconv"
	"time"
)

// Hold: a restart that is not an upgrade (systemctl restart: the service
// manager stops the daemon, then starts it). POST /hold asks the daemon to
// treat a stop within HoldWindow as the first half of a restart: exit without
// priority 0, leaving VIPs, pins, links and VMACs in place, so that the
// daemon started next adopts them (as after a crash, but without waiting for
// a dead process's timers). The unit's ExecStop sends it only for a restart
// and only when the binary about to start can adopt the pins (`ebpfvrrp
// hold`); any other stop is the clean handover.

// HoldWindow bounds the time from POST /hold to the stop it applies to.
const HoldWindow = 30 * time.Second

// holdVerifyBudget is what a start that must verify the programs (a new
// binary: ?programs=new) is given before its first advert: about a second on a
// loaded 2-core machine (docs/benchmarks.md), with a margin. An instance whose
// peers time out sooner would see the VIP move, and held on this host
// meanwhile: the stop is then the clean handover instead.
const holdVerifyBudget = 2 * time.Second

func (d *Daemon) handleHold(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Query().Get("programs") == "new" {
		d.mu.Lock()
		cfg := d.cfg
		d.mu.Unlock()
		for _, in := range cfg.Instances {
			if mdi := 3 * in.AdvertInterval; mdi < holdVerifyBudget {
				msg := fmt.Sprintf("instance %s: the new binary verifies its programs before its first advert (about 1 s), the peers time out after %v: use ebpfvrrp upgrade (no gap), or this stop hands over cleanly", in.Name, mdi)
				d.log.Info("hold declined", "why", msg)
				http.Error(w, msg, http.StatusConflict)
				return
			}
		}
	}
	d.mu.Lock()
	d.holdUntil = time.Now().Add(HoldWindow)
	d.mu.Unlock()
	d.log.Info("hold: the next stop leaves VIPs and kernel state for the next start", "within", HoldWindow.String())
	fmt.Fprintln(w, "ok")
}

// holding reports whether a stop now is the first half of a restart.
func (d *Daemon) holding() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return !d.holdUntil.IsZero() && time.Now().Before(d.holdUntil)
}

// leaving: on its way out the daemon leaves everything in place, for a
// successor (upgrade) or the next start (hold).
func (d *Daemon) leaving() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.handedOver || d.held
}

// notifyMainPID tells systemd (Type=notify or NotifyAccess= set) that the
// service's main process is now pid: the old process of an upgrade exits,
// and systemd must not take that for the service's end.
func notifyMainPID(pid int) error {
	if _, err := sd.SdNotify(false, "MAINPID="+strconv.Itoa(pid)); err != nil {
		return fmt.Errorf("notify systemd: %w", err)
	}
	return nil
}
