package lab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrNotLB is returned when a VRRP operation names a host that is not an LB of the
// lab (lb-5, lb-6, and lb-7 with Options.ThirdLB).
var ErrNotLB = errors.New("vm: not an LB host")

func (l *Lab) lbHost(name string) (*host, error) {
	if !slices.Contains(l.LBs(), name) {
		return nil, fmt.Errorf("%w: %q", ErrNotLB, name)
	}
	return l.host(name)
}

// StartLB writes cfg (the daemon's config file content) into the lab's temp dir and
// starts the host's VRRP daemon on it:
//
//	keepalived -n -l -D -G -P -f DIR/keepalived.conf -p … -r … -c …   (unique pid files)
//	ebpfvrrp run --config DIR/{ebpfvrrp.yaml|keepalived.conf} --pin-path /sys/fs/bpf/ebpfvrrp-<lab>-<host>
//	         --metrics-listen 127.0.0.1:9864 --log-format json
//
// For ebpfvrrp, cfg in keepalived syntax (it contains "vrrp_instance") is written as
// keepalived.conf, anything else as YAML. The daemon is not waited for: use WaitVIP.
func (l *Lab) StartLB(hostName, cfg string) error {
	h, err := l.lbHost(hostName)
	if err != nil {
		return err
	}
	l.mu.Lock()
	running := h.lb != nil && !h.lb.exited()
	l.mu.Unlock()
	if running {
		return fmt.Errorf("vm: %s: VRRP daemon already running", hostName)
	}
	d := l.Daemon(hostName)
	var argv []string
	switch d {
	case Keepalived:
		conf := filepath.Join(h.dir, "keepalived.conf")
		if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
			return fmt.Errorf("vm: %w", err)
		}
		argv = []string{"keepalived", "-n", "-l", "-D", "-G", "-P", "-f", conf,
			"-p", filepath.Join(h.dir, "keepalived.pid"),
			"-r", filepath.Join(h.dir, "keepalived-vrrp.pid"),
			"-c", filepath.Join(h.dir, "keepalived-checkers.pid")}
	case Ebpfvrrp:
		if l.opts.EbpfvrrpBinary == "" {
			return errors.New("vm: Options.EbpfvrrpBinary not set")
		}
		name := "ebpfvrrp.yaml"
		if strings.Contains(cfg, "vrrp_instance") {
			name = "keepalived.conf"
		}
		conf := filepath.Join(h.dir, name)
		if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
			return fmt.Errorf("vm: %w", err)
		}
		h.pin = l.PinPath(hostName)
		argv = []string{l.opts.EbpfvrrpBinary, "run", "--config", conf, "--pin-path", h.pin,
			"--metrics-listen", MetricsListen, "--log-format", "json", "--log-level", "debug"}
	default:
		return fmt.Errorf("vm: unknown daemon %q", d)
	}
	p, err := l.start(h, string(d), argv)
	if err != nil {
		return err
	}
	l.mu.Lock()
	h.lb = p
	l.mu.Unlock()
	return nil
}

// lbProcess returns an LB host and its VRRP daemon's process (nil: never started).
func (l *Lab) lbProcess(name string) (*host, *process, error) {
	h, err := l.lbHost(name)
	if err != nil {
		return nil, nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return h, h.lb, nil
}

// ReloadLB rewrites host's config file (the one StartLB wrote) with cfg and sends the
// daemon SIGHUP, which both daemons take as "reload the config".
func (l *Lab) ReloadLB(hostName, cfg string) error {
	h, p, err := l.lbProcess(hostName)
	if err != nil {
		return err
	}
	if p == nil || p.exited() {
		return fmt.Errorf("vm: %s: no VRRP daemon running", hostName)
	}
	name := "keepalived.conf"
	if l.Daemon(hostName) == Ebpfvrrp && !strings.Contains(cfg, "vrrp_instance") {
		name = "ebpfvrrp.yaml"
	}
	if err := os.WriteFile(filepath.Join(h.dir, name), []byte(cfg), 0o644); err != nil {
		return fmt.Errorf("vm: %w", err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		return fmt.Errorf("vm: SIGHUP %s on %s: %w", p.name, hostName, err)
	}
	return nil
}

// StopLB sends sig to host's VRRP daemon (SIGTERM: clean stop, priority-0 advert;
// SIGKILL: the daemon dies hard) and waits up to 10 s for it to exit.
func (l *Lab) StopLB(hostName string, sig syscall.Signal) error {
	h, p, err := l.lbProcess(hostName)
	if err != nil {
		return err
	}
	if p == nil {
		return fmt.Errorf("vm: %s: no VRRP daemon started", hostName)
	}
	err = p.stop(sig, 10*time.Second)
	if sig == syscall.SIGKILL {
		// keepalived's VRRP child is its own pid and survives the parent's SIGKILL
		// only until Pdeathsig fires; make "dies hard" immediate for it too. Only
		// keepalived's pid files: the host's nginx must survive its VRRP daemon.
		files := []string{"keepalived.pid", "keepalived-vrrp.pid", "keepalived-checkers.pid"}
		for _, f := range files {
			_ = killPidfile(filepath.Join(h.dir, f), h.dir)
		}
		// Until the killed are reaped (not this process's children: pid 1 reaps
		// them) a new keepalived finds them alive behind the pid files and
		// refuses to start ("daemon is already running").
		for deadline := time.Now().Add(5 * time.Second); pidfilesAlive(h.dir, files) && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
	}
	l.logf("lab %s: %s: %s stopped with %v", l.Name, hostName, p.name, sig)
	return err
}

// LBRunning reports whether host's VRRP daemon is running.
func (l *Lab) LBRunning(hostName string) bool {
	h, err := l.lbHost(hostName)
	if err != nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return h.lb != nil && !h.lb.exited()
}

// LBPid returns the pid of host's VRRP daemon (0 if none).
func (l *Lab) LBPid(hostName string) int {
	h, err := l.lbHost(hostName)
	if err != nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if h.lb == nil || h.lb.exited() {
		return 0
	}
	return h.lb.cmd.Process.Pid
}

// Metrics fetches ebpfvrrp's Prometheus endpoint on host (from inside its namespace)
// and returns every sample as "name{labels}" → value.
func (l *Lab) Metrics(ctx context.Context, hostName string) (map[string]float64, error) {
	dial, err := l.Dialer(hostName, 2*time.Second)
	if err != nil {
		return nil, err
	}
	c := &http.Client{Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true}, Timeout: 5 * time.Second}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+MetricsListen+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("vm: metrics of %s: %w", hostName, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("vm: metrics of %s: %s", hostName, resp.Status)
	}
	return ParseMetrics(resp.Body)
}

// ParseMetrics reads the Prometheus text format into "name{labels}" → value.
func ParseMetrics(r io.Reader) (map[string]float64, error) {
	m := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		// The value follows the last space outside the label set; an optional
		// timestamp follows it.
		series, rest := line, ""
		if i := strings.LastIndexByte(line, '}'); i >= 0 {
			series, rest = line[:i+1], strings.TrimSpace(line[i+1:])
		} else if f := strings.Fields(line); len(f) >= 2 {
			series, rest = f[0], strings.Join(f[1:], " ")
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return nil, fmt.Errorf("vm: parse metrics: no value in %q", line)
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return nil, fmt.Errorf("vm: parse metrics: %q: %w", line, err)
		}
		m[series] = v
	}
	return m, sc.Err()
}

// SumMetrics adds up every sample whose metric name (before any label set) has the
// given prefix and contains every one of the given substrings in the whole series.
func SumMetrics(m map[string]float64, namePrefix string, contains ...string) float64 {
	var sum float64
	for series, v := range m {
		name := series
		if i := strings.IndexByte(series, '{'); i >= 0 {
			name = series[:i]
		}
		if !strings.HasPrefix(name, namePrefix) {
			continue
		}
		ok := true
		for _, c := range contains {
			if !strings.Contains(series, c) {
				ok = false
				break
			}
		}
		if ok {
			sum += v
		}
	}
	return sum
}
