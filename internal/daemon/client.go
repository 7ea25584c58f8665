package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/loader"
)

// ErrNoDaemon is what a Client returns when nothing answers on its socket.
var ErrNoDaemon = errors.New("no ebpfvrrp daemon is running")

// Client asks a running daemon over its control socket, as `ebpfvrrp status`,
// `ebpfvrrp upgrade` and the unit's `ebpfvrrp hold` do.
type Client struct {
	Socket string
}

// NewClient returns a Client of the control socket sock.
func NewClient(sock string) *Client { return &Client{Socket: sock} }

func (c *Client) do(ctx context.Context, method, path string, timeout time.Duration) (*http.Response, error) {
	if _, err := os.Stat(c.Socket); err != nil {
		return nil, ErrNoDaemon
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://ebpfvrrp"+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := controlHTTP(c.Socket, timeout).Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return nil, ErrNoDaemon
		}
		return nil, err
	}
	return resp, nil
}

// answer is the first part of a body that is not the expected JSON, for errors.
func answer(resp *http.Response) string {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return fmt.Sprintf("daemon answered %s: %s", resp.Status, strings.TrimSpace(string(b)))
}

// Status is GET /status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	resp, err := c.do(ctx, http.MethodGet, "/status", 5*time.Second)
	if err != nil {
		if errors.Is(err, ErrNoDaemon) {
			return st, err
		}
		return st, fmt.Errorf("status: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("status: %s", answer(resp))
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("status json: %w", err)
	}
	return st, nil
}

// Upgrade is POST /upgrade: the daemon re-executes its binary and the new
// process takes over. A refused upgrade is a result with OK false, not an error.
func (c *Client) Upgrade(ctx context.Context) (UpgradeResult, error) {
	var res UpgradeResult
	resp, err := c.do(ctx, http.MethodPost, "/upgrade", UpgradeTimeout+10*time.Second)
	if err != nil {
		if errors.Is(err, ErrNoDaemon) {
			return res, err
		}
		return res, fmt.Errorf("upgrade: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err := json.Unmarshal(b, &res); err != nil {
		return res, fmt.Errorf("upgrade: daemon answered %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return res, nil
}

// Hold is the first half of a restart under a service manager: when this
// binary can adopt the pins under pin, it asks the daemon to leave its VIPs and
// kernel state in place when it is stopped next, saying whether the programs
// would be the running ones (the daemon declines when verifying new ones would
// outlast its peers' Master_Down_Interval). held false, with why, means the
// next stop stays the clean handover (priority 0).
func (c *Client) Hold(ctx context.Context, pin string) (held bool, why string) {
	ok, why, err := loader.CompatiblePins(pin)
	if err != nil || !ok {
		if err != nil {
			why = err.Error()
		}
		return false, "this binary cannot adopt the pins (" + why + ")"
	}
	programs := "same"
	if !loader.SameObject(pin) {
		programs = "new"
	}
	resp, err := c.do(ctx, http.MethodPost, "/hold?programs="+programs, 5*time.Second)
	if errors.Is(err, ErrNoDaemon) {
		return false, "no daemon is running (nothing at " + c.Socket + ")"
	}
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, answer(resp)
	}
	return true, ""
}
