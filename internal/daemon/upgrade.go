package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/rtsched"
)

// Upgrade: SIGUSR2 (or POST /upgrade on the control socket, `ebpfvrrp
// upgrade`) re-executes the binary at the daemon's own path with the same
// arguments. The new process takes over the pins (it must find them of its
// layout), adopts every instance, starts advertising, and then says so on a
// pipe it inherited; only then does the old one exit, without priority 0 and
// leaving pins, links, VMACs, VIPs and the control socket to it. The
// listeners (metrics, control socket) are inherited as file descriptors, so
// they never close. A new process that fails, says it cannot adopt, or takes
// longer than UpgradeTimeout is killed before it took over anything: the old
// one goes on and logs why.

// EnvUpgrade names, in an upgraded process's environment, the descriptors it
// inherited: "ready=3,metrics=4,control=5" (metrics only when it listens).
const EnvUpgrade = "EBPFVRRP_UPGRADE_FDS"

// UpgradeTimeout bounds the time from exec to the new process's readiness.
const UpgradeTimeout = 15 * time.Second

// ErrUpgradeInProgress: a second upgrade was asked for while one runs.
var ErrUpgradeInProgress = errors.New("an upgrade is already in progress")

// inherited is what an upgraded process got from its predecessor.
type inherited struct {
	ready   *os.File
	metrics net.Listener
	control *net.UnixListener
}

// takeInherited reads EnvUpgrade (and removes it, so hooks and a later
// upgrade do not see it); nil when the process was not started by an upgrade.
func takeInherited() (*inherited, error) {
	v, ok := os.LookupEnv(EnvUpgrade)
	if !ok {
		return nil, nil
	}
	os.Unsetenv(EnvUpgrade)
	inh := &inherited{}
	for _, kv := range strings.Split(v, ",") {
		name, fdStr, _ := strings.Cut(kv, "=")
		fd, err := strconv.Atoi(fdStr)
		if err != nil || fd < 3 {
			return nil, fmt.Errorf("%s: bad entry %q", EnvUpgrade, kv)
		}
		// Inherited without close-on-exec: hooks must not get them.
		syscall.CloseOnExec(fd)
		f := os.NewFile(uintptr(fd), name)
		switch name {
		case "ready":
			inh.ready = f
		case "metrics", "control":
			ln, err := net.FileListener(f)
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("%s: inherited %s listener: %w", EnvUpgrade, name, err)
			}
			if name == "metrics" {
				inh.metrics = ln
			} else if ul, ok := ln.(*net.UnixListener); ok {
				inh.control = ul
			} else {
				ln.Close()
				return nil, fmt.Errorf("%s: inherited control socket is not a unix listener", EnvUpgrade)
			}
		default:
			f.Close()
		}
	}
	if inh.ready == nil {
		return nil, fmt.Errorf("%s: no ready pipe", EnvUpgrade)
	}
	return inh, nil
}

// report tells the predecessor the outcome: "ready", or why not.
func (inh *inherited) report(err error) {
	if inh == nil || inh.ready == nil {
		return
	}
	msg := "ready\n"
	if err != nil {
		msg = "failed: " + strings.ReplaceAll(err.Error(), "\n", " ") + "\n"
	}
	inh.ready.WriteString(msg)
	inh.ready.Close()
	inh.ready = nil
}

// successorPending: this process was started by an upgrade and has not
// taken over yet; until it has, its predecessor owns everything, so a failure
// must leave it all in place.
func (d *Daemon) successorPending() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.inh != nil && !d.tookOver
}

// upgrade re-executes the binary and waits for the new process to take over.
// It returns the new process's pid; on error the new process is gone and this
// one owns the pins again.
func (d *Daemon) upgrade() (int, error) {
	if !d.upgrading.TryLock() {
		return 0, ErrUpgradeInProgress
	}
	defer d.upgrading.Unlock()
	if d.exe == "" {
		return 0, errors.New("upgrade: the daemon's executable is unknown")
	}
	r, w, err := os.Pipe()
	if err != nil {
		return 0, fmt.Errorf("upgrade: %w", err)
	}
	defer r.Close()
	files := []*os.File{w}
	names := []string{"ready=3"}
	if d.metricsLn != nil {
		f, err := d.metricsLn.(*net.TCPListener).File()
		if err != nil {
			w.Close()
			return 0, fmt.Errorf("upgrade: metrics listener: %w", err)
		}
		files = append(files, f)
		names = append(names, fmt.Sprintf("metrics=%d", 2+len(files)))
	}
	if d.ctlLn != nil {
		f, err := d.ctlLn.File()
		if err != nil {
			for _, f := range files {
				f.Close()
			}
			return 0, fmt.Errorf("upgrade: control socket: %w", err)
		}
		files = append(files, f)
		names = append(names, fmt.Sprintf("control=%d", 2+len(files)))
	}
	cmd := exec.Command(d.exe, d.args...)
	cmd.Env = append(upgradeEnv(os.Environ()), EnvUpgrade+"="+strings.Join(names, ","))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.ExtraFiles = files
	d.log.Info("upgrade: starting the new binary", "exe", d.exe)
	err = rtsched.Start(cmd)
	for _, f := range files {
		f.Close()
	}
	if err != nil {
		return 0, fmt.Errorf("upgrade: start %s: %w", d.exe, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	fail := func(why error) (int, error) {
		_ = cmd.Process.Kill()
		<-exited
		// A new process that got as far as its Load took the pins over.
		if err := d.dp.Reclaim(); err != nil {
			d.log.Error("upgrade: reclaiming the pins", "err", err)
		}
		return 0, why
	}
	select {
	case s := <-line:
		if s == "ready" {
			// Marked before the lock goes: a stop waiting for it must
			// find the instances handed over.
			d.mu.Lock()
			d.handedOver = true
			d.mu.Unlock()
			d.stopAccepting()
			return cmd.Process.Pid, nil
		}
		if s == "" {
			return fail(errors.New("upgrade: the new process exited before it was ready (see its log)"))
		}
		return fail(fmt.Errorf("upgrade: the new process %s", s))
	case <-time.After(UpgradeTimeout):
		return fail(fmt.Errorf("upgrade: the new process was not ready within %v", UpgradeTimeout))
	}
}

// stopAccepting closes this process's copies of the listeners it handed to
// its successor, so that a client connecting from now on is served by the
// successor, never accepted by this exiting process and dropped. The sockets
// stay open in the successor, and the control socket's file stays.
func (d *Daemon) stopAccepting() {
	if d.ctlLn != nil {
		d.ctlLn.SetUnlinkOnClose(false)
		d.ctlLn.Close()
	}
	if d.metricsLn != nil {
		d.metricsLn.Close()
	}
}

// handOver makes Run return, leaving everything to the new process (upgrade
// marked the instances handed over already).
func (d *Daemon) handOver(pid int) {
	if err := notifyMainPID(pid); err != nil {
		d.log.Warn("upgrade: telling systemd the new main pid", "pid", pid, "err", err)
	}
	d.log.Info("upgrade: the new process took over; exiting without priority 0", "pid", pid)
	d.handoverOnce.Do(func() { close(d.handover) })
}

// upgradeOnSignal runs an upgrade on every SIGUSR2 until the returned func is
// called.
func (d *Daemon) upgradeOnSignal() func() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR2)
	go func() {
		for range ch {
			d.log.Info("SIGUSR2: upgrading")
			pid, err := d.upgrade()
			if err != nil {
				d.log.Error("upgrade failed; this process goes on", "err", err)
				continue
			}
			d.handOver(pid)
		}
	}()
	return func() { signal.Stop(ch) }
}

// UpgradeResult is the answer to POST /upgrade.
type UpgradeResult struct {
	OK    bool   `json:"ok"`
	PID   int    `json:"pid,omitempty"`
	Error string `json:"error,omitempty"`
}

func (d *Daemon) handleUpgrade(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	pid, err := d.upgrade()
	res := UpgradeResult{OK: err == nil, PID: pid}
	code := http.StatusOK
	if err != nil {
		d.log.Error("upgrade failed; this process goes on", "err", err)
		res.Error = err.Error()
		code = http.StatusInternalServerError
		if errors.Is(err, ErrUpgradeInProgress) {
			code = http.StatusConflict
		}
	}
	// With its length, so the answer is complete once flushed: the
	// connection closes with this process.
	body, _ := json.Marshal(res)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	w.Write(body)
	if err == nil {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		d.handOver(pid)
	}
}

// peerCred is the credentials of a control-socket client (SO_PEERCRED).
type peerCredKey struct{}

func withPeerCred(ctx context.Context, c net.Conn) context.Context {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return ctx
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return ctx
	}
	var cred *syscall.Ucred
	raw.Control(func(fd uintptr) {
		cred, _ = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	})
	if cred == nil {
		return ctx
	}
	return context.WithValue(ctx, peerCredKey{}, *cred)
}

// mayChange says whether the client may send a command that changes the
// daemon: root, or a member of the control socket's group.
func (d *Daemon) mayChange(r *http.Request) error {
	cred, ok := r.Context().Value(peerCredKey{}).(syscall.Ucred)
	if !ok {
		return errors.New("no peer credentials")
	}
	if cred.Uid == 0 {
		return nil
	}
	var st syscall.Stat_t
	if err := syscall.Stat(d.opts.ControlSocket, &st); err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	if cred.Gid == st.Gid || inGroups(cred.Pid, st.Gid) {
		return nil
	}
	return fmt.Errorf("uid %d is neither root nor in the control socket's group %d", cred.Uid, st.Gid)
}

// inGroups reads pid's supplementary groups (the peer credentials carry the
// primary group only).
func inGroups(pid int32, gid uint32) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Groups:"); ok {
			for _, g := range strings.Fields(rest) {
				if n, err := strconv.ParseUint(g, 10, 32); err == nil && uint32(n) == gid {
					return true
				}
			}
		}
	}
	return false
}

// privileged wraps a handler of a command that changes the daemon.
func (d *Daemon) privileged(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := d.mayChange(r); err != nil {
			d.log.Warn("control socket: command refused", "path", r.URL.Path, "why", err)
			http.Error(w, "forbidden: "+err.Error(), http.StatusForbidden)
			return
		}
		h(w, r)
	}
}

// upgradeEnv is the new process's environment: ours, less WATCHDOG_PID. systemd
// sets it to the main PID, which the new process becomes (MAINPID=), and a
// watchdog whose WATCHDOG_PID is not the reader's own pid is read as off
// (sd_watchdog_enabled(3)): the new process would never ping, and systemd would
// kill the service WatchdogSec after every upgrade.
func upgradeEnv(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, "WATCHDOG_PID=") })
}
