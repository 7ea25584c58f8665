package vm

import (
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"time"
	"unsafe"

	"github.com/ebpfvrrp/ebpfvrrp/internal/lab"
	"github.com/ebpfvrrp/ebpfvrrp/vrrp"
	"golang.org/x/sys/unix"
)

// The floor of the scale benchmark: what sending the Master's adverts costs
// the kernel alone. sendFloor sends pre-built Ethernet frames of exactly the
// adverts lb-5's daemon sends (same source, VRIDs, priority, VIPs) on the same
// links at the same rate, one sendmmsg per link per 10 ms tick, from one
// locked OS thread sleeping in clock_nanosleep: no encoding, no Go scheduler,
// no IP layer (packet sockets; TC egress still runs). Its CPU is that
// thread's (RUSAGE_THREAD), which like the daemon's includes the softirq work
// veth does in the sender's context (the bridge, the receivers).

type floorResult struct {
	Frames  int
	CPU     time.Duration
	Elapsed time.Duration
}

func (f floorResult) USPerFrame() float64 {
	if f.Frames == 0 {
		return 0
	}
	return float64(f.CPU.Microseconds()) / float64(f.Frames)
}

// mmsghdr is struct mmsghdr.
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
	_   [4]byte
}

// floorLink is one link's socket and its pre-built batch.
type floorLink struct {
	fd   int
	hdrs []mmsghdr
	iovs []unix.Iovec
	bufs [][]byte
}

func (fl *floorLink) add(frame []byte) {
	fl.bufs = append(fl.bufs, frame)
}

// build points the headers at the frames (after the last add).
func (fl *floorLink) build() {
	fl.hdrs = make([]mmsghdr, len(fl.bufs))
	fl.iovs = make([]unix.Iovec, len(fl.bufs))
	for i, b := range fl.bufs {
		fl.iovs[i] = unix.Iovec{Base: &b[0]}
		fl.iovs[i].SetLen(len(b))
		fl.hdrs[i].hdr.Iov, fl.hdrs[i].hdr.Iovlen = &fl.iovs[i], 1
	}
}

func (fl *floorLink) send() (int, error) {
	sent := 0
	for sent < len(fl.hdrs) {
		n, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(fl.fd), uintptr(unsafe.Pointer(&fl.hdrs[sent])), uintptr(len(fl.hdrs)-sent), 0, 0, 0)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return sent, errno
		}
		sent += int(n)
	}
	return sent, nil
}

// floorFrames builds lb-5's n adverts (as scaleConfig configures them) as
// Ethernet frames, by segment.
func floorFrames(l *lab.Lab, n int) (map[int]*floorLink, error) {
	h, err := l.HostNetwork(lab.LB5)
	if err != nil {
		return nil, err
	}
	links := map[int]*floorLink{}
	for i := range n {
		seg, vrid := scaleInstance(i, n)
		fl := links[seg]
		if fl == nil {
			fl = &floorLink{fd: -1}
			links[seg] = fl
		}
		ln, err := h.Netlink.LinkByName(lab.SegmentLink(seg))
		if err != nil {
			return links, fmt.Errorf("floor: %w", err)
		}
		adv := &vrrp.Advertisement{Version: 3, VRID: uint8(vrid), Priority: 150, Interval: 10 * time.Millisecond,
			Addresses: []netip.Addr{scaleVIP(i)}, Source: lab.SegmentAddr4(lab.LB5, seg), Destination: vrrp.IPv4Multicast}
		pkt, err := vrrp.EncodePacket(adv, vrrp.TTL)
		if err != nil {
			return links, fmt.Errorf("floor: %w", err)
		}
		fl.add(ethernetFrame(net.HardwareAddr{0x01, 0x00, 0x5e, 0x00, 0x00, 0x12}, ln.Attrs().HardwareAddr, 0x0800, pkt))
		if fl.fd < 0 {
			err := lab.InNetns(h.NS, func() (err error) {
				fl.fd, err = packetSocket(ln.Attrs().Index)
				return err
			})
			if err != nil {
				return links, fmt.Errorf("floor: %w", err)
			}
		}
	}
	for _, fl := range links {
		fl.build()
	}
	return links, nil
}

// sendFloor sends lb-5's n adverts every 10 ms for d (see above); a tick that
// cannot keep up runs the next at once (Frames then falls short of n per
// 10 ms).
func sendFloor(l *lab.Lab, n int, d time.Duration) (floorResult, error) {
	links, err := floorFrames(l, n)
	defer func() {
		for _, fl := range links {
			if fl.fd >= 0 {
				unix.Close(fl.fd)
			}
		}
	}()
	if err != nil {
		return floorResult{}, err
	}
	done := make(chan struct{})
	var res floorResult
	go func() {
		defer close(done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var ru0, ru1 unix.Rusage
		_ = unix.Getrusage(unix.RUSAGE_THREAD, &ru0)
		var ts unix.Timespec
		_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
		start := time.Duration(ts.Nano())
		next := start
		for {
			_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
			if time.Duration(ts.Nano())-start >= d {
				break
			}
			next += 10 * time.Millisecond
			at := unix.NsecToTimespec(int64(next))
			for unix.ClockNanosleep(unix.CLOCK_MONOTONIC, unix.TIMER_ABSTIME, &at, nil) == unix.EINTR {
			}
			for _, fl := range links {
				k, err := fl.send()
				res.Frames += k
				if err != nil && err != unix.ENOBUFS {
					return
				}
			}
		}
		_ = unix.Getrusage(unix.RUSAGE_THREAD, &ru1)
		_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
		res.Elapsed = time.Duration(ts.Nano()) - start
		res.CPU = time.Duration(unix.TimevalToNsec(ru1.Utime)-unix.TimevalToNsec(ru0.Utime)) +
			time.Duration(unix.TimevalToNsec(ru1.Stime)-unix.TimevalToNsec(ru0.Stime))
	}()
	<-done
	return res, nil
}
