package hooks

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/control"
	"github.com/ebpfvrrp/ebpfvrrp/internal/rtsched"
)

// FIFO is keepalived's notify_fifo / vrrp_notify_fifo: every state change of an
// instance or sync group is written to a named pipe as one line,
//
//	INSTANCE "VI_1" MASTER 100
//	GROUP "G1" BACKUP 0
//
// (TYPE "NAME" STATE PRIORITY: the instance's effective priority, 0 for a group;
// keepalived/vrrp/vrrp_notify.c, notify_fifo). As keepalived does (lib/notify.c,
// fifo_open/fifo_close), the pipe is created with mode 0644 unless it exists, the
// optional script is started with the pipe's path as its last argument before the
// pipe is opened, the pipe is opened read-write and non-blocking (a line that
// does not fit because nobody reads is dropped, the daemon never waits), and on
// Close the pipe is removed if it was created here. The script is sent SIGTERM on
// Close if it has not ended by itself on reading the end of the pipe, as
// keepalived's scripts get it when keepalived exits (PR_SET_PDEATHSIG).
// Only MASTER, BACKUP, FAULT and STOP are written: keepalived writes no
// SPLIT_BRAIN, and its priority-change lines need notify_priority_changes.
type FIFO struct {
	path    string
	log     *slog.Logger
	mu      sync.Mutex
	fd      int // -1 once closed
	created bool
	script  *exec.Cmd
	done    chan struct{}
}

// FIFOConfig says where the pipe is and what reads it.
type FIFOConfig struct {
	Path string
	// Script, when set, is started with Path appended, as RunAs ("USER[:GROUP]",
	// "" for the daemon's user).
	Script []string
	RunAs  string
}

// OpenFIFO creates (if need be) and opens the pipe, starting its script first.
// A path that exists and is not a FIFO is an error: lines written into a regular
// file would only grow it.
func OpenFIFO(cfg FIFOConfig, log *slog.Logger) (*FIFO, error) {
	if log == nil {
		log = slog.Default()
	}
	f := &FIFO{path: cfg.Path, log: log, fd: -1}
	switch err := syscall.Mkfifo(cfg.Path, 0o644); {
	case err == nil:
		f.created = true
	case errors.Is(err, fs.ErrExist):
		st, err := os.Lstat(cfg.Path)
		if err != nil {
			return nil, fmt.Errorf("hooks: notify fifo: %w", err)
		}
		if st.Mode()&fs.ModeNamedPipe == 0 {
			return nil, fmt.Errorf("hooks: notify fifo %s exists and is not a FIFO (%s)", cfg.Path, st.Mode().Type())
		}
	default:
		return nil, fmt.Errorf("hooks: notify fifo: create %s: %w", cfg.Path, err)
	}
	if len(cfg.Script) > 0 {
		if err := f.start(cfg); err != nil {
			f.removeCreated()
			return nil, err
		}
	}
	fd, err := syscall.Open(cfg.Path, syscall.O_RDWR|syscall.O_NONBLOCK|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, 0)
	if err != nil {
		f.stopScript()
		f.removeCreated()
		return nil, fmt.Errorf("hooks: notify fifo: open %s: %w", cfg.Path, err)
	}
	f.fd = fd
	return f, nil
}

func (f *FIFO) start(cfg FIFOConfig) error {
	argv := append(append([]string(nil), cfg.Script...), cfg.Path)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = []string{minimalPath}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if cfg.RunAs != "" {
		cred, err := Credential(cfg.RunAs)
		if err != nil {
			return fmt.Errorf("hooks: notify fifo script %s: %w", argv[0], err)
		}
		cmd.SysProcAttr.Credential = cred
	}
	if err := rtsched.Start(cmd); err != nil {
		return fmt.Errorf("hooks: notify fifo script: %w", err)
	}
	f.script, f.done = cmd, make(chan struct{})
	go func() {
		err := cmd.Wait()
		close(f.done)
		f.log.Info("notify fifo script ended", "fifo", f.path, "script", argv[0], "err", err)
	}()
	return nil
}

// Line is the line keepalived writes for n, and false for a state it never writes.
func Line(n control.Notification) (string, bool) {
	switch n.State {
	case control.HookMaster, control.HookBackup, control.HookFault, control.HookStop:
	default:
		return "", false
	}
	prio := int(n.Priority)
	if n.Type == "GROUP" {
		prio = 0
	}
	return n.Type + " \"" + n.Name + "\" " + n.State.String() + " " + strconv.Itoa(prio) + "\n", true
}

// Notify writes n's line; it never blocks.
func (f *FIFO) Notify(n control.Notification) {
	line, ok := Line(n)
	if !ok {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fd < 0 {
		return
	}
	if _, err := syscall.Write(f.fd, []byte(line)); err != nil {
		f.log.Warn("notify fifo: line dropped", "fifo", f.path, "err", err)
	}
}

// Close closes the pipe, removes it if OpenFIFO created it, and ends the script.
func (f *FIFO) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fd < 0 {
		return nil
	}
	err := syscall.Close(f.fd)
	f.fd = -1
	f.removeCreated()
	f.stopScript()
	return err
}

func (f *FIFO) removeCreated() {
	if f.created {
		if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			f.log.Warn("notify fifo: remove", "fifo", f.path, "err", err)
		}
		f.created = false
	}
}

// fifoScriptGrace is how long Close gives the script to finish reading (it sees
// the end of the pipe once the daemon's end is closed) before SIGTERM, and then
// to end after SIGTERM.
const fifoScriptGrace = time.Second

func (f *FIFO) stopScript() {
	if f.script == nil {
		return
	}
	defer func() { f.script = nil }()
	select {
	case <-f.done:
		return
	case <-time.After(fifoScriptGrace):
	}
	_ = syscall.Kill(-f.script.Process.Pid, syscall.SIGTERM)
	select {
	case <-f.done:
	case <-time.After(fifoScriptGrace):
		f.log.Warn("notify fifo script still running after SIGTERM", "fifo", f.path, "pid", f.script.Process.Pid)
	}
}

// Notifiers fans a notification out to several notifiers in order (the notify
// scripts, then each FIFO).
type Notifiers []control.Notifier

// Notify passes n to each.
func (ns Notifiers) Notify(n control.Notification) {
	for _, x := range ns {
		x.Notify(n)
	}
}
