package vm

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ebpfvrrp/ebpfvrrp/internal/lab"
	"github.com/ebpfvrrp/ebpfvrrp/vrrp"
)

// Forgery is a kind of forged advertisement the client host floods the LBs with.
type Forgery string

// The forgeries of scenario 6. Each breaks exactly one rule and would otherwise
// beat the master (priority above 150), so a daemon that accepts it transitions.
const (
	// ForeignVRID: VRID 51, which nobody configured, from the client.
	ForeignVRID Forgery = "foreign_vrid"
	// WrongPassword: VRID 50 from lb-6's address (spoofed), PASS password wrong.
	WrongPassword Forgery = "wrong_password"
	// NonPeerSource: VRID 50, right password, from the client — not a peer.
	NonPeerSource Forgery = "non_peer_source"
	// Takeover255: VRID 50 priority 255 ("address owner") from lb-6's address,
	// wrong password.
	Takeover255 Forgery = "takeover_255"
)

// AllForgeries lists every Forgery.
var AllForgeries = []Forgery{ForeignVRID, WrongPassword, NonPeerSource, Takeover255}

// ForgedAdvert returns the IPv4 VRRP packet (no link layer) for a forgery against the
// tutorial instance (VRID 50, PASS "1111", 1 s adverts), in VRRP version 2 or 3. v3
// has no password: its WrongPassword and Takeover255 variants differ only in source
// and priority.
func ForgedAdvert(kind Forgery, version int, interval time.Duration) ([]byte, error) {
	a := &vrrp.Advertisement{
		Version:     uint8(version),
		VRID:        lab.TutorialVRID,
		Priority:    200,
		Interval:    interval,
		Addresses:   []netip.Addr{lab.VIP4},
		Source:      lab.Addr4(lab.Client),
		Destination: vrrp.IPv4Multicast,
	}
	pass, err := vrrp.Password(lab.TutorialPassword)
	if err != nil {
		return nil, err
	}
	wrong, err := vrrp.Password("hacked")
	if err != nil {
		return nil, err
	}
	switch kind {
	case ForeignVRID:
		a.VRID = lab.TutorialVRID + 1
	case WrongPassword:
		a.Source = lab.Addr4(lab.LB6)
		pass = wrong
	case NonPeerSource:
	case Takeover255:
		a.Source = lab.Addr4(lab.LB6)
		a.Priority = 255
		pass = wrong
	default:
		return nil, fmt.Errorf("vm: unknown forgery %q", kind)
	}
	if version == 2 {
		a.AuthType = vrrp.AuthPass
		a.AuthData = pass
	}
	return vrrp.EncodePacket(a, vrrp.TTL)
}

// FloodResult is what a flood sent.
type FloodResult struct {
	Sent     map[Forgery]int
	Total    int
	Errors   int
	Duration time.Duration
}

// Rate is packets per second.
func (r FloodResult) Rate() float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.Total) / r.Duration.Seconds()
}

// flood sends the given forgeries round-robin from the client's eth0 as fast as
// workers threads can (AF_PACKET, prebuilt Ethernet frames to 01:00:5e:00:00:12),
// for d or until ctx ends. The frames match the lab's VRRP version and interval.
func flood(ctx context.Context, l *lab.Lab, d time.Duration, workers int, kinds ...Forgery) (FloodResult, error) {
	if len(kinds) == 0 {
		kinds = AllForgeries
	}
	if workers <= 0 {
		workers = 1
	}
	h, err := l.HostNetwork(lab.Client)
	if err != nil {
		return FloodResult{}, err
	}
	eth, err := h.Netlink.LinkByName("eth0")
	if err != nil {
		return FloodResult{}, fmt.Errorf("vm: %w", err)
	}
	mac := eth.Attrs().HardwareAddr
	frames := make([][]byte, len(kinds))
	for i, k := range kinds {
		ip, err := ForgedAdvert(k, l.Options().Version, l.Options().AdvertInterval)
		if err != nil {
			return FloodResult{}, err
		}
		frames[i] = ethernetFrame(net.HardwareAddr{0x01, 0x00, 0x5e, 0x00, 0x00, 0x12}, mac, 0x0800, ip)
	}
	ifindex := eth.Attrs().Index
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	type tally struct {
		sent []int
		errs int
		err  error
	}
	results := make([]tally, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := &results[w]
			t.sent = make([]int, len(frames))
			var fd int
			err := lab.InNetns(h.NS, func() (err error) {
				fd, err = packetSocket(ifindex)
				return err
			})
			if err != nil {
				t.err = err
				return
			}
			defer unix.Close(fd)
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for n := 0; ; n++ {
				if n%512 == 0 && ctx.Err() != nil {
					return
				}
				i := n % len(frames)
				if _, err := unix.Write(fd, frames[i]); err != nil {
					// ENOBUFS under pressure is part of "as fast as it can".
					t.errs++
					continue
				}
				t.sent[i]++
			}
		}()
	}
	wg.Wait()
	r := FloodResult{Sent: map[Forgery]int{}, Duration: time.Since(start)}
	var errs []error
	for _, t := range results {
		errs = append(errs, t.err)
		r.Errors += t.errs
		for i, n := range t.sent {
			r.Sent[kinds[i]] += n
			r.Total += n
		}
	}
	if err := errors.Join(errs...); err != nil {
		return r, fmt.Errorf("vm: flood: %w", err)
	}
	return r, nil
}

func packetSocket(ifindex int) (int, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("packet socket: %w", err)
	}
	// Protocol 0 on bind: send only, never receive the flood back.
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: ifindex}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("bind packet socket: %w", err)
	}
	return fd, nil
}

func ethernetFrame(dst, src net.HardwareAddr, etherType uint16, payload []byte) []byte {
	b := make([]byte, 14+len(payload))
	copy(b[0:6], dst)
	copy(b[6:12], src)
	binary.BigEndian.PutUint16(b[12:14], etherType)
	copy(b[14:], payload)
	return b
}

// Reason is the drop reason ebpfvrrp's dataplane counts for this forgery.
func (f Forgery) Reason() vrrp.DropReason {
	switch f {
	case ForeignVRID:
		return vrrp.ReasonUnknownVRID
	case NonPeerSource:
		return vrrp.ReasonNotPeer
	default:
		return vrrp.ReasonWrongPassword
	}
}
