package daemon

import (
	"context"
	"log/slog"
	"net"
	"sync"

	"github.com/vishvananda/netlink"
)

// linkWatcher implements control.LinkWatcher with one netlink link subscription
// shared by every watcher.
type linkWatcher struct {
	log *slog.Logger

	mu     sync.Mutex
	nextID int
	subs   map[string]map[int]func(bool) // ifname → id → callback
	last   map[string]bool
}

func newLinkWatcher(ctx context.Context, log *slog.Logger) (*linkWatcher, error) {
	w := &linkWatcher{log: log, subs: map[string]map[int]func(bool){}, last: map[string]bool{}}
	updates := make(chan netlink.LinkUpdate, 64)
	done := make(chan struct{})
	if err := netlink.LinkSubscribeWithOptions(updates, done, netlink.LinkSubscribeOptions{
		ErrorCallback: func(err error) {
			if ctx.Err() == nil { // closing the subscription also reports an error
				log.Warn("link subscription error", "err", err)
			}
		},
	}); err != nil {
		return nil, err
	}
	go func() {
		<-ctx.Done()
		close(done)
	}()
	go func() {
		for u := range updates {
			w.deliver(u.Attrs().Name, linkUp(u.Attrs()))
		}
	}()
	return w, nil
}

// linkUp is "usable for VRRP": administratively up and carrier present.
func linkUp(a *netlink.LinkAttrs) bool {
	return a.Flags&net.FlagUp != 0 && a.OperState != netlink.OperDown && a.OperState != netlink.OperLowerLayerDown
}

func (w *linkWatcher) deliver(name string, up bool) {
	w.mu.Lock()
	if prev, ok := w.last[name]; ok && prev == up {
		w.mu.Unlock()
		return
	}
	w.last[name] = up
	fns := make([]func(bool), 0, len(w.subs[name]))
	for _, fn := range w.subs[name] {
		fns = append(fns, fn)
	}
	w.mu.Unlock()
	for _, fn := range fns {
		fn(up)
	}
}

// WatchLink calls fn with the current state and on every change of ifname.
func (w *linkWatcher) WatchLink(ifname string, fn func(up bool)) (func(), error) {
	l, err := netlink.LinkByName(ifname)
	if err != nil {
		return nil, err
	}
	up := linkUp(l.Attrs())
	w.mu.Lock()
	w.nextID++
	id := w.nextID
	if w.subs[ifname] == nil {
		w.subs[ifname] = map[int]func(bool){}
	}
	w.subs[ifname][id] = fn
	w.last[ifname] = up
	w.mu.Unlock()
	fn(up)
	return func() {
		w.mu.Lock()
		delete(w.subs[ifname], id)
		w.mu.Unlock()
	}, nil
}
