package daemon

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ebpfvrrp/ebpfvrrp/loader"
	"github.com/ebpfvrrp/ebpfvrrp/telemetry"
)

// DefaultControlSocket derives the socket from the pin path so two daemons (in two
// network namespaces, with two pin paths) never share one.
func DefaultControlSocket(pinPath string) string {
	if pinPath == "" {
		pinPath = loader.DefaultPinPath
	}
	return filepath.Join("/run/ebpfvrrp", filepath.Base(filepath.Clean(pinPath))+".sock")
}

// serve starts the metrics listener (if enabled) and the control socket.
func (d *Daemon) serve() ([]*http.Server, error) {
	src := &telemetrySource{d: d}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(telemetry.NewRegistry(src, d.opts.Version, d.log), promhttp.HandlerOpts{}))
	mux.HandleFunc("/status", d.handleStatus)
	var srvs []*http.Server
	if l := d.opts.MetricsListen; l != "" && l != "off" {
		ln, err := net.Listen("tcp", l)
		if err != nil {
			return nil, fmt.Errorf("--metrics-listen %s: %w", l, err)
		}
		s := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go s.Serve(ln)
		srvs = append(srvs, s)
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
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	d.ctlLn = ln.(*net.UnixListener)
	os.Chmod(sock, 0o660)
	s := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go s.Serve(ln)
	srvs = append(srvs, s)
	return srvs, nil
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
