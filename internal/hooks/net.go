package hooks

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/ebpfvrrp/ebpfvrrp/control"
)

// HTTPCheck succeeds when GET URL answers ExpectStatus (default 200) before the
// tracker's timeout; a local nginx is checked without a shell script.
type HTTPCheck struct {
	URL          string
	ExpectStatus int
	// Client defaults to a client that neither follows redirects nor keeps
	// connections alive (each check is a fresh connection, as a probe should be).
	Client *http.Client
}

var defaultCheckClient = &http.Client{
	Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

// Check performs one GET.
func (c HTTPCheck) Check(ctx context.Context) control.CheckResult {
	want := c.ExpectStatus
	if want == 0 {
		want = http.StatusOK
	}
	client := c.Client
	if client == nil {
		client = defaultCheckClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL, nil)
	if err != nil {
		return control.CheckResult{Err: fmt.Errorf("hooks: http check: %w", err)}
	}
	resp, err := client.Do(req)
	if err != nil {
		return control.CheckResult{Err: fmt.Errorf("hooks: http check: %w", err)}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode != want {
		return control.CheckResult{Err: fmt.Errorf("hooks: http check %s: status %d, want %d", c.URL, resp.StatusCode, want)}
	}
	return control.CheckResult{OK: true}
}

// TCPCheck succeeds when a TCP connection to Address (host:port) is established
// before the tracker's timeout.
type TCPCheck struct {
	Address string
}

// Check connects once and closes.
func (c TCPCheck) Check(ctx context.Context) control.CheckResult {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.Address)
	if err != nil {
		return control.CheckResult{Err: fmt.Errorf("hooks: tcp check: %w", err)}
	}
	conn.Close()
	return control.CheckResult{OK: true}
}
