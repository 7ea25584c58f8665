package lab

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// process is a child the lab started inside a host's namespace.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	logFile *os.File
	done    chan struct{}
	waitErr error
}

// procAttr gives every child its own process group (so Close can kill what it forks,
// e.g. keepalived's VRRP child) and SIGKILL when the test binary dies.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// start forks argv inside h's namespace; output goes to h.dir/<name>.log.
func (l *Lab) start(h *host, name string, argv []string) (*process, error) {
	logPath := filepath.Join(h.dir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("vm: %w", err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout = f
	cmd.Stderr = f
	cmd.Dir = h.dir
	cmd.SysProcAttr = procAttr()
	if err := inNetns(h.ns, cmd.Start); err != nil {
		f.Close()
		return nil, fmt.Errorf("vm: start %s on %s: %w", name, h.name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, logFile: f, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	l.logf("lab %s: %s: started %s (pid %d): %s", l.Name, h.name, name, cmd.Process.Pid, strings.Join(argv, " "))
	return p, nil
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends sig and waits up to timeout for the process to exit, then kills its
// whole group. It returns the wait error when the process had to be killed.
func (p *process) stop(sig syscall.Signal, timeout time.Duration) error {
	if p.exited() {
		return nil
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
		// Children left behind in the group (none expected) must not outlive it.
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		return nil
	case <-time.After(timeout):
		p.kill()
		return fmt.Errorf("vm: %s did not exit within %v of %v; killed", p.name, timeout, sig)
	}
}

func (p *process) kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	_ = p.cmd.Process.Kill()
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
	}
}

// killPidfiles kills whatever a pid file under dir names, when that process's command
// line mentions dir: daemons the lab did not fork itself (keepalived's children,
// an nginx restarted by a check script) are found this way.
func killPidfiles(dir string) error {
	if dir == "" {
		return nil
	}
	var errs []error
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".pid") {
			return nil
		}
		if err := killPidfile(path, dir); err != nil {
			errs = append(errs, err)
		}
		return nil
	})
	return errors.Join(errs...)
}

// killPidfile kills the process a pid file names, when its command line mentions
// mention (so a recycled pid is never hit).
func killPidfile(path, mention string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return nil
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !strings.Contains(string(cmdline), mention) {
		return nil
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("vm: kill pid %d from %s: %w", pid, path, err)
	}
	return nil
}

// pidfilesAlive reports whether a process a pid file in dir names still exists
// (a zombie too) and mentions dir in its command line.
func pidfilesAlive(dir string, files []string) bool {
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 1 {
			continue
		}
		// A zombie's cmdline is empty; its stat still names it.
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			if strings.Contains(string(cmdline), dir) || strings.Contains(string(stat), "(keepalived)") {
				return true
			}
		}
	}
	return false
}

// Log returns what a process the lab started on host wrote so far; which is "lb"
// (the VRRP daemon) or "web" (nginx).
func (l *Lab) Log(hostName, which string) string {
	h, err := l.host(hostName)
	if err != nil {
		return ""
	}
	var p *process
	l.mu.Lock()
	switch which {
	case "lb":
		p = h.lb
	case "web":
		p = h.web
	}
	l.mu.Unlock()
	if p == nil {
		return ""
	}
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}
