package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ebpfvrrp/ebpfvrrp/config"
	"github.com/ebpfvrrp/ebpfvrrp/telemetry"
)

// DefaultControlSocket derives the socket from the pin path so two daemons (in two
// network namespaces, with two pin paths) never share one.
func DefaultControlSocket(pinPath string) string {
	if pinPath == "" {
		pinPath = config.DefaultPinPath
	}
	return filepath.Join("/run/ebpfvrrp", filepath.Base(filepath.Clean(pinPath))+".sock")
}

// controlHTTP talks HTTP to a daemon's control socket sock (its requests'
// host part is ignored: "http://ebpfvrrp/status").
func controlHTTP(sock string, timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
}

// serve starts the metrics listener (if enabled) and the control socket.
func (d *Daemon) serve() ([]*http.Server, error) {
	src := &telemetrySource{d: d}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(telemetry.NewRegistry(src, d.opts.Version, d.log), promhttp.HandlerOpts{}))
	mux.HandleFunc("/status", d.handleStatus)
	var srvs []*http.Server
	if l := d.opts.MetricsListen; l != "" && l != "off" {
		ln := net.Listener(nil)
		if d.inh != nil && d.inh.metrics != nil {
			ln = d.inh.metrics // an upgrade: the predecessor's, never closed
		} else {
			var err error
			if ln, err = net.Listen("tcp", l); err != nil {
				return nil, fmt.Errorf("--metrics-listen %s: %w", l, err)
			}
		}
		d.metricsLn = ln
		s := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go s.Serve(ln)
		srvs = append(srvs, s)
	}
	// The control socket also takes commands that change the daemon; only
	// root and the socket's group may send those (privileged).
	ctl := http.NewServeMux()
	ctl.Handle("/", mux)
	ctl.HandleFunc("/upgrade", d.privileged(d.handleUpgrade))
	ctl.HandleFunc("/hold", d.privileged(d.handleHold))
	ln, err := d.controlListener()
	if err != nil {
		return nil, err
	}
	d.ctlLn = ln
	s := &http.Server{Handler: ctl, ReadHeaderTimeout: 5 * time.Second, ConnContext: withPeerCred}
	go s.Serve(ln)
	srvs = append(srvs, s)
	return srvs, nil
}

// controlSocketMode: the owner (root) and the socket's group may connect.
const controlSocketMode = 0o660

func (d *Daemon) controlListener() (*net.UnixListener, error) {
	if d.inh != nil && d.inh.control != nil {
		return d.inh.control, nil
	}
	sock := d.opts.ControlSocket
	if err := os.MkdirAll(filepath.Dir(sock), 0o755); err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	// A socket file left by a crashed run is stale only if nobody answers on it.
	if c, err := net.DialTimeout("unix", sock, 200*time.Millisecond); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s: another ebpfvrrp is running (use a different --pin-path or --control-socket)", sock)
	}
	os.Remove(sock)
	// Created with its mode: a chmod after bind leaves a window in which
	// anyone may connect. The umask is the process's; nothing else creates
	// files while the daemon starts.
	old := syscall.Umask(0o777 &^ controlSocketMode)
	ln, err := net.Listen("unix", sock)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	return ln.(*net.UnixListener), nil
}

func (d *Daemon) handleStatus(w http.ResponseWriter, r *http.Request) {
	st, err := d.status()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(st)
}
