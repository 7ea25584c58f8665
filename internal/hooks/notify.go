package hooks

import (
	"context"
	"log/slog"
	"strconv"
	"sync"

	"github.com/ebpfvrrp/ebpfvrrp/control"
)

// ExecNotifier runs notify hooks as processes, as keepalived does: every hook
// starts at once, concurrently with the others (a notify_master that calls a
// cloud API does not hold back the notify_backup after it), and runs to
// completion unless the config sets a timeout. Notify never waits, so a slow hook
// never delays a transition.
type ExecNotifier struct {
	logger *slog.Logger
	wg     sync.WaitGroup
}

// NewExecNotifier returns a notifier logging hook failures to logger (nil: default).
func NewExecNotifier(logger *slog.Logger) *ExecNotifier {
	if logger == nil {
		logger = slog.Default()
	}
	return &ExecNotifier{logger: logger}
}

// Notify starts n's hooks and returns at once.
func (e *ExecNotifier) Notify(n control.Notification) {
	cmds, extras := hookArgs(n)
	for i, argv := range cmds {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			e.run(n, argv, extras[i])
		}()
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
// TYPE NAME STATE PRIORITY (SPLIT_BRAIN and SPLIT_BRAIN_END only when opted in),
// and for SPLIT_BRAIN the split-brain action script.
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
	splitBrain := n.State == control.HookSplitBrain || n.State == control.HookSplitBrainEnd
	if len(n.Hooks.Generic) > 0 && (!splitBrain || n.Hooks.SplitBrainNotify) {
		// keepalived's notify_script_exec: "GROUP|INSTANCE NAME STATE PRIO",
		// the priority 0 for a group (keepalived/vrrp/vrrp_notify.c).
		prio := int(n.Priority)
		if n.Type == "GROUP" {
			prio = 0
		}
		args := []string{n.Type, n.Name, n.State.String(), strconv.Itoa(prio)}
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

func (e *ExecNotifier) run(n control.Notification, argv, extra []string) {
	ctx := context.Background()
	if n.Hooks.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, n.Hooks.Timeout)
		defer cancel()
	}
	if err := runCommand(ctx, argv, n.Hooks.Shell, n.Hooks.User, nil, extra); err != nil {
		e.logger.Warn("notify hook failed", "type", n.Type, "name", n.Name, "state", n.State.String(), "hook", argv[0], "err", err)
	}
}
