package hooks

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/control"
)

// DefaultHookTimeout bounds a notify hook when its config sets no timeout.
const DefaultHookTimeout = 30 * time.Second

// ExecNotifier runs notify hooks as processes. Notifications of one instance (or
// group) run one after another in order, each hook with its timeout; different
// instances run concurrently. Notify only queues, so a slow hook never delays a
// transition.
type ExecNotifier struct {
	logger *slog.Logger
	mu     sync.Mutex
	queues map[string][]control.Notification // by Type+Name; present while a worker runs
	wg     sync.WaitGroup
}

// NewExecNotifier returns a notifier logging hook failures to logger (nil: default).
func NewExecNotifier(logger *slog.Logger) *ExecNotifier {
	if logger == nil {
		logger = slog.Default()
	}
	return &ExecNotifier{logger: logger, queues: make(map[string][]control.Notification)}
}

// Notify queues n and returns at once.
func (e *ExecNotifier) Notify(n control.Notification) {
	key := n.Type + "\x00" + n.Name
	e.mu.Lock()
	defer e.mu.Unlock()
	q, running := e.queues[key]
	e.queues[key] = append(q, n)
	if running {
		return
	}
	e.wg.Add(1)
	go e.worker(key)
}

func (e *ExecNotifier) worker(key string) {
	defer e.wg.Done()
	for {
		e.mu.Lock()
		q := e.queues[key]
		if len(q) == 0 {
			delete(e.queues, key)
			e.mu.Unlock()
			return
		}
		n := q[0]
		e.queues[key] = q[1:]
		e.mu.Unlock()
		e.run(n)
	}
}

// Wait blocks until every queued hook has finished or ctx ends.
func (e *ExecNotifier) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// hookArgs returns the commands a notification runs, as keepalived does: the
// state-specific hook without arguments, then the generic one with
// TYPE NAME STATE [PRIORITY].
func hookArgs(n control.Notification) (cmds [][]string, extras [][]string) {
	var specific []string
	switch n.State {
	case control.HookMaster:
		specific = n.Hooks.Master
	case control.HookBackup:
		specific = n.Hooks.Backup
	case control.HookFault:
		specific = n.Hooks.Fault
	case control.HookStop:
		specific = n.Hooks.Stop
	}
	if len(specific) > 0 {
		cmds, extras = append(cmds, specific), append(extras, nil)
	}
	if len(n.Hooks.Generic) > 0 {
		args := []string{n.Type, n.Name, n.State.String()}
		if n.Type == "INSTANCE" {
			args = append(args, strconv.Itoa(int(n.Priority)))
		}
		cmds, extras = append(cmds, n.Hooks.Generic), append(extras, args)
	}
	if n.State == control.HookSplitBrain && len(n.Hooks.SplitBrain) > 0 {
		peer := ""
		if n.Peer.IsValid() {
			peer = n.Peer.String()
		}
		args := []string{n.Type, n.Name, n.State.String(), strconv.Itoa(int(n.Priority)), peer, strconv.Itoa(int(n.PeerPriority))}
		cmds, extras = append(cmds, n.Hooks.SplitBrain), append(extras, args)
	}
	return cmds, extras
}

func (e *ExecNotifier) run(n control.Notification) {
	timeout := n.Hooks.Timeout
	if timeout <= 0 {
		timeout = DefaultHookTimeout
	}
	cmds, extras := hookArgs(n)
	for i, argv := range cmds {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		err := runCommand(ctx, argv, n.Hooks.Shell, "", nil, extras[i])
		cancel()
		if err != nil {
			e.logger.Warn("notify hook failed", "type", n.Type, "name", n.Name, "state", n.State.String(), "hook", argv[0], "err", err)
		}
	}
}
