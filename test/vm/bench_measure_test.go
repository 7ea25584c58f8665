package vm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/ebpfvrrp/ebpfvrrp/internal/lab"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// This file holds the instruments of TestBenchmarks: an advert sniffer on the client,
// a VIP watcher on netlink, process CPU and RSS from /proc, transition counts from the
// daemons' logs, and order statistics.

// advertSeen is one VRRP advertisement the client host saw on the wire.
type advertSeen struct {
	T    time.Time
	Src  netip.Addr
	VRID uint8
	Prio uint8
}

// sniffer records every IPv4 VRRP advert arriving at a host's eth0. Adverts reach the
// client because the lab's bridge floods 224.0.0.18 (multicast snooping off).
//
// It reads a TPACKET_V3 ring: the kernel fills blocks of frames and wakes the
// reader once per block (full, or sniffRetire after its first frame), not once per
// frame. On veth the receiver's work runs in the sender's context, so a socket
// woken for every frame charged each sender a wake-up per advert (16 % of an
// ebpfvrrp master's samples at 1000 × 10 ms in perf) and fell behind at 100,000
// adverts/s; a ring keeps up and costs the senders a copy.
type sniffer struct {
	fd     int
	ring   []byte
	stop   chan struct{}
	done   chan struct{}
	notify chan advertSeen

	mu  sync.Mutex
	ads []wireAdvert
}

// wireAdvert is an advertSeen as the sniffer keeps it: 16 bytes and no pointers,
// so a million adverts are 16 MB the garbage collector never scans (netip.Addr
// holds a pointer; stored as advertSeen, the 100,000 adverts/s of the scale
// benchmark grew to gigabytes the test process spent a core collecting).
type wireAdvert struct {
	ns   int64
	src  [4]byte
	vrid uint8
	prio uint8
}

func (w wireAdvert) seen() advertSeen {
	return advertSeen{T: time.Unix(0, w.ns), Src: netip.AddrFrom4(w.src), VRID: w.vrid, Prio: w.prio}
}

// The ring: sniffBlocks blocks of sniffBlock bytes (16 MiB). A block is handed
// over when full (about 500 adverts in their 128-byte slots) or sniffRetire ms
// after its first frame (next, which aligns a fault with an advert, learns of
// it that late at most), so at 100,000 adverts/s the ring holds over a quarter
// of a second of a descheduled reader's backlog, and more at lower rates.
const (
	sniffBlock  = 64 << 10
	sniffBlocks = 256
	sniffFrame  = 2048
	sniffRetire = 1
)

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func startSniffer(t *testing.T, l *lab.Lab, hostName string) *sniffer {
	t.Helper()
	h, err := l.HostNetwork(hostName)
	if err != nil {
		t.Fatal(err)
	}
	eth, err := h.Netlink.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sniffer{fd: -1, stop: make(chan struct{}), done: make(chan struct{}), notify: make(chan advertSeen, 4096)}
	err = lab.InNetns(h.NS, func() error {
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_IP)))
		if err != nil {
			return fmt.Errorf("sniffer socket: %w", err)
		}
		s.fd = fd
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
			return fmt.Errorf("sniffer TPACKET_V3: %w", err)
		}
		req := unix.TpacketReq3{Block_size: sniffBlock, Block_nr: sniffBlocks, Frame_size: sniffFrame,
			Frame_nr: sniffBlock / sniffFrame * sniffBlocks, Retire_blk_tov: sniffRetire}
		if err := unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
			return fmt.Errorf("sniffer ring: %w", err)
		}
		s.ring, err = unix.Mmap(fd, 0, sniffBlock*sniffBlocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			return fmt.Errorf("sniffer mmap: %w", err)
		}
		ifindex := eth.Attrs().Index
		if l.Options().Segments > 1 {
			ifindex = 0 // every segment's link
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_IP), Ifindex: ifindex}); err != nil {
			return fmt.Errorf("sniffer bind: %w", err)
		}
		return nil
	})
	if err != nil {
		if s.ring != nil {
			unix.Munmap(s.ring)
		}
		if s.fd >= 0 {
			unix.Close(s.fd)
		}
		t.Fatal(err)
	}
	go s.loop()
	t.Cleanup(func() {
		close(s.stop)
		<-s.done
		unix.Munmap(s.ring)
		unix.Close(s.fd)
	})
	return s
}

// loop hands the ring's blocks back one by one, in order, as the kernel
// releases them; the poll timeout lets it notice stop.
func (s *sniffer) loop() {
	defer close(s.done)
	var batch []wireAdvert
	for blk := 0; ; {
		select {
		case <-s.stop:
			return
		default:
		}
		b := s.ring[blk*sniffBlock : (blk+1)*sniffBlock]
		// struct tpacket_block_desc: version, offset_to_priv, then tpacket_hdr_v1
		// (block_status, num_pkts, offset_to_first_pkt, ...).
		status := (*uint32)(unsafe.Pointer(&b[8]))
		if atomic.LoadUint32(status)&unix.TP_STATUS_USER == 0 {
			fds := []unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLIN | unix.POLLERR}}
			_, _ = unix.Poll(fds, 100)
			continue
		}
		num := binary.NativeEndian.Uint32(b[12:16])
		off := binary.NativeEndian.Uint32(b[16:20])
		batch = batch[:0]
		for range num {
			hdr := (*unix.Tpacket3Hdr)(unsafe.Pointer(&b[off]))
			// struct sockaddr_ll follows the header: sll_pkttype at byte 10.
			ll := b[off+uint32(unsafe.Sizeof(*hdr)):]
			frame := b[off+uint32(hdr.Mac) : off+uint32(hdr.Mac)+hdr.Snaplen]
			if ll[10] != unix.PACKET_OUTGOING {
				if w, ok := parseWire4(frame); ok {
					w.ns = int64(hdr.Sec)*1e9 + int64(hdr.Nsec)
					batch = append(batch, w)
				}
			}
			off += hdr.Next_offset
		}
		atomic.StoreUint32(status, unix.TP_STATUS_KERNEL)
		blk = (blk + 1) % sniffBlocks
		if len(batch) == 0 {
			continue
		}
		s.mu.Lock()
		s.ads = append(s.ads, batch...)
		s.mu.Unlock()
		for _, w := range batch {
			select {
			case s.notify <- w.seen():
			default:
			}
		}
	}
}

// parseAdvert4 reads source, VRID and priority of an IPv4 VRRP packet behind an
// untagged Ethernet header. Validity is not checked: the sniffer records what was on
// the wire.
func parseAdvert4(b []byte) (advertSeen, bool) {
	w, ok := parseWire4(b)
	a := w.seen()
	a.T = time.Time{}
	return a, ok
}

func parseWire4(b []byte) (wireAdvert, bool) {
	if len(b) < 14+20+8 || binary.BigEndian.Uint16(b[12:14]) != unix.ETH_P_IP {
		return wireAdvert{}, false
	}
	ip := b[14:]
	ihl := int(ip[0]&0x0f) * 4
	if ip[0]>>4 != 4 || ihl < 20 || ip[9] != 112 || len(ip) < ihl+4 {
		return wireAdvert{}, false
	}
	v := ip[ihl:]
	return wireAdvert{src: [4]byte(ip[12:16]), vrid: v[1], prio: v[2]}, true
}

// next waits up to timeout for the next advert from src that arrives after the call.
func (s *sniffer) next(src netip.Addr, timeout time.Duration) (advertSeen, bool) {
	for drained := false; !drained; {
		select {
		case <-s.notify:
		default:
			drained = true
		}
	}
	deadline := time.After(timeout)
	for {
		select {
		case a := <-s.notify:
			if a.Src == src {
				return a, true
			}
		case <-deadline:
			return advertSeen{}, false
		}
	}
}

// between returns the adverts seen in [from, to].
func (s *sniffer) between(from, to time.Time) []advertSeen {
	var out []advertSeen
	s.each(from, to, func(w wireAdvert) { out = append(out, w.seen()) })
	return out
}

// each calls f with every advert seen in [from, to], in order, under the lock.
func (s *sniffer) each(from, to time.Time, f func(wireAdvert)) {
	lo, hi := from.UnixNano(), to.UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range s.ads {
		if w.ns >= lo && w.ns <= hi {
			f(w)
		}
	}
}

// inWindow returns the elements of xs whose time is in [from, to].
func inWindow[T any](xs []T, at func(T) time.Time, from, to time.Time) []T {
	var out []T
	for _, x := range xs {
		if t := at(x); !t.Before(from) && !t.After(to) {
			out = append(out, x)
		}
	}
	return out
}

// maxGap is the longest silence between consecutive adverts from src in [from, to].
func (s *sniffer) maxGap(src netip.Addr, from, to time.Time) (gap time.Duration, n int) {
	var last int64
	s.each(from, to, func(w wireAdvert) {
		if netip.AddrFrom4(w.src) != src {
			return
		}
		n++
		if last != 0 {
			gap = max(gap, time.Duration(w.ns-last))
		}
		last = w.ns
	})
	return gap, n
}

// dropped returns how many packets the socket dropped since the last call.
func (s *sniffer) dropped() uint32 {
	st, err := unix.GetsockoptTpacketStats(s.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return 0
	}
	return st.Drops
}

// worstVRIDGap is the longest silence of any one instance (source address and
// VRID: each segment has its own VRIDs 1-N) from srcs in [from, to], the VRID
// it happened to, how many of srcs' adverts were seen, and how many silences of
// one instance were longer than late.
func (s *sniffer) worstVRIDGap(srcs []netip.Addr, from, to time.Time, late time.Duration) (gap time.Duration, vrid uint8, n, lateGaps int) {
	type stream struct {
		src  [4]byte
		vrid uint8
	}
	last := map[stream]int64{}
	s.each(from, to, func(w wireAdvert) {
		if !slices.Contains(srcs, netip.AddrFrom4(w.src)) {
			return
		}
		n++
		k := stream{w.src, w.vrid}
		if p, ok := last[k]; ok {
			d := time.Duration(w.ns - p)
			if d > gap {
				gap, vrid = d, w.vrid
			}
			if d > late {
				lateGaps++
			}
		}
		last[k] = w.ns
	})
	return gap, vrid, n, lateGaps
}

// vipEvent is the VIP appearing on or leaving an LB's eth0, as netlink reported it.
type vipEvent struct {
	T     time.Time
	Host  string
	Added bool
}

// vipWatch follows the VIP on both LBs through netlink address notifications, so a
// takeover is timed to the moment the daemon added the address, not to a poll.
type vipWatch struct {
	vip    netip.Addr
	notify chan vipEvent
	mu     sync.Mutex
	events []vipEvent
}

func watchVIP(t *testing.T, l *lab.Lab) *vipWatch {
	t.Helper()
	w := &vipWatch{vip: l.VIP(), notify: make(chan vipEvent, 4096)}
	for _, name := range l.LBs() {
		h, err := l.HostNetwork(name)
		if err != nil {
			t.Fatal(err)
		}
		ch := make(chan netlink.AddrUpdate, 4096)
		done := make(chan struct{})
		ns := h.NS
		if err := netlink.AddrSubscribeWithOptions(ch, done, netlink.AddrSubscribeOptions{Namespace: &ns}); err != nil {
			t.Fatalf("subscribe to addresses on %s: %v", name, err)
		}
		t.Cleanup(func() { close(done) })
		go func() {
			for u := range ch {
				a, ok := netip.AddrFromSlice(u.LinkAddress.IP)
				if !ok || a.Unmap() != w.vip {
					continue
				}
				e := vipEvent{T: time.Now(), Host: name, Added: u.NewAddr}
				w.mu.Lock()
				w.events = append(w.events, e)
				w.mu.Unlock()
				select {
				case w.notify <- e:
				default:
				}
			}
		}()
	}
	return w
}

// added returns when the VIP was added on host at or after since, waiting up to
// timeout for it.
func (w *vipWatch) added(host string, since time.Time, timeout time.Duration) (time.Time, bool) {
	deadline := time.After(timeout)
	for {
		w.mu.Lock()
		for _, e := range w.events {
			if e.Host == host && e.Added && !e.T.Before(since) {
				w.mu.Unlock()
				return e.T, true
			}
		}
		w.mu.Unlock()
		select {
		case <-w.notify:
		case <-time.After(time.Millisecond):
		case <-deadline:
			return time.Time{}, false
		}
	}
}

func (w *vipWatch) between(from, to time.Time) []vipEvent {
	w.mu.Lock()
	defer w.mu.Unlock()
	return inWindow(w.events, func(e vipEvent) time.Time { return e.T }, from, to)
}

// procUsage is CPU time and memory of a daemon: every process in its process group
// (the lab starts each daemon as a group leader, so keepalived's VRRP child counts).
type procUsage struct {
	Ticks uint64 // utime+stime, clock ticks
	RSSKB uint64
	// FileKB is the part of RSSKB that is file pages (RssFile: the binary's
	// and libraries' code and read-only data, shared by every process that maps them).
	FileKB uint64
	Procs  int
	// FDs counts the open file descriptors of every process counted.
	FDs int
	// Detail lists "comm[pid]=ticks" of every process counted.
	Detail []string
}

// clkTck is USER_HZ, 100 on every Linux architecture Go supports.
const clkTck = 100

func groupUsage(pgid int) (procUsage, error) {
	var u procUsage
	if pgid <= 0 {
		return u, errors.New("no process")
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return u, err
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		st, err := parseStat(string(b))
		if err != nil || st.pgrp != pgid {
			continue
		}
		u.Ticks += st.utime + st.stime
		u.Procs++
		if i, j := strings.IndexByte(string(b), '('), strings.LastIndexByte(string(b), ')'); i >= 0 && j > i {
			u.Detail = append(u.Detail, fmt.Sprintf("%s[%d]=%d", b[i+1:j], pid, st.utime+st.stime))
		}
		if sb, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
			u.RSSKB += parseRSS(string(sb))
			u.FileKB += statusKB(string(sb), "RssFile:")
		}
		if fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
			u.FDs += len(fds)
		}
	}
	if u.Procs == 0 {
		return u, fmt.Errorf("no process in group %d", pgid)
	}
	return u, nil
}

type procStat struct {
	pgrp         int
	utime, stime uint64
}

// parseStat reads /proc/<pid>/stat. The command name may contain spaces and
// parentheses, so fields are counted from the last ')'.
func parseStat(s string) (procStat, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, errors.New("stat: no ')'")
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state): pgrp is field 5, utime 14, stime 15.
	if len(f) < 13 {
		return procStat{}, fmt.Errorf("stat: %d fields", len(f))
	}
	var st procStat
	var err error
	if st.pgrp, err = strconv.Atoi(f[2]); err != nil {
		return procStat{}, fmt.Errorf("stat: pgrp: %w", err)
	}
	if st.utime, err = strconv.ParseUint(f[11], 10, 64); err != nil {
		return procStat{}, fmt.Errorf("stat: utime: %w", err)
	}
	if st.stime, err = strconv.ParseUint(f[12], 10, 64); err != nil {
		return procStat{}, fmt.Errorf("stat: stime: %w", err)
	}
	return st, nil
}

func parseRSS(status string) uint64 { return statusKB(status, "VmRSS:") }

// statusKB reads field (with its colon) of /proc/PID/status, in kB.
func statusKB(status, field string) uint64 {
	for line := range strings.Lines(status) {
		if v, ok := strings.CutPrefix(line, field); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, _ := strconv.ParseUint(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// cpuPercent is the share of one core used between two readings.
func cpuPercent(a, b procUsage, d time.Duration) float64 {
	if d <= 0 || b.Ticks < a.Ticks {
		return math.NaN()
	}
	return float64(b.Ticks-a.Ticks) / clkTck / d.Seconds() * 100
}

// softirqTicks is the machine's total softirq time (/proc/stat): where XDP programs
// and the kernel's receive path run, charged to no process. 0 if unreadable.
func softirqTicks() uint64 {
	n, _ := procStatCPU(procStatSoftirq)
	return n
}

// Fields of /proc/stat's "cpu" line (after the name), in clock ticks.
const (
	procStatSoftirq = 7
	procStatSteal   = 8
)

// procStatCPU returns field i of /proc/stat's "cpu" line: the machine's total
// over every CPU.
func procStatCPU(i int) (uint64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) > i && f[0] == "cpu" {
			return strconv.ParseUint(f[i], 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/stat: no cpu line with field %d", i)
}

// Transition lines: ebpfvrrp logs one JSON "transition" line per state change,
// keepalived one "Entering <STATE> STATE" line.
var (
	ebpfvrrpTransition   = regexp.MustCompile(`"msg":"transition"`)
	keepalivedTransition = regexp.MustCompile(`Entering (MASTER|BACKUP|FAULT) STATE`)
)

// transitions counts the state changes host's daemon has logged so far (across
// restarts: the log is appended to).
func transitions(l *lab.Lab, host string) int {
	re := keepalivedTransition
	if l.Daemon(host) == lab.Ebpfvrrp {
		re = ebpfvrrpTransition
	}
	return len(re.FindAllStringIndex(l.Log(host, "lb"), -1))
}

var (
	logFrom   = regexp.MustCompile(`"from":"([^"]*)"`)
	logTo     = regexp.MustCompile(`"to":"([^"]*)"`)
	logReason = regexp.MustCompile(`"reason":"([^"]*)"`)
	logHost   = regexp.MustCompile(`Entering (MASTER|BACKUP|FAULT) STATE`)
)

// transitionKinds counts the transitions host logged after byte offset off of its
// log, by "from→to (reason)" (keepalived: by the state entered).
func transitionKinds(l *lab.Lab, host string, off int) map[string]int {
	log := l.Log(host, "lb")
	if off > len(log) {
		off = 0
	}
	out := map[string]int{}
	for line := range strings.Lines(log[off:]) {
		if l.Daemon(host) == lab.Ebpfvrrp {
			if !ebpfvrrpTransition.MatchString(line) {
				continue
			}
			k := sub(logFrom, line) + "→" + sub(logTo, line) + " (" + sub(logReason, line) + ")"
			out[host+": "+k]++
		} else if m := logHost.FindStringSubmatch(line); m != nil {
			out[host+": entering "+m[1]]++
		}
	}
	return out
}

func sub(re *regexp.Regexp, s string) string {
	if m := re.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return "?"
}

func pairTransitions(l *lab.Lab) int {
	var n int
	for _, h := range lab.LBHosts {
		n += transitions(l, h)
	}
	return n
}

// quantile is the nearest-rank q-quantile (q in (0,1]) of ds.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// medianDiffInterval is the 95 % bootstrap interval of median(a) − median(b)
// (2000 resamples of each, seeded: the report is reproducible from its trials).
// Outages are measured at the probe's resolution, so two daemons that take over
// at the same moment still differ by up to a probe interval from trial to
// trial; the interval says whether a difference of medians is more than that.
func medianDiffInterval(a, b []time.Duration) (lo, hi time.Duration) {
	if len(a) == 0 || len(b) == 0 {
		return 0, 0
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 2000
	diffs := make([]time.Duration, n)
	ra, rb := make([]time.Duration, len(a)), make([]time.Duration, len(b))
	for i := range diffs {
		for j := range ra {
			ra[j] = a[rng.IntN(len(a))]
		}
		for j := range rb {
			rb[j] = b[rng.IntN(len(b))]
		}
		diffs[i] = quantile(ra, 0.5) - quantile(rb, 0.5)
	}
	return quantile(diffs, 0.025), quantile(diffs, 0.975)
}

// masterDown is the RFC's Master_Down_Interval for a backup of priority prio
// (RFC 5798 §6.1; RFC 3768 computes the same in seconds).
func masterDown(interval time.Duration, prio int) time.Duration {
	return 3*interval + skewTime(interval, prio)
}

func skewTime(interval time.Duration, prio int) time.Duration {
	return time.Duration((256 - int64(prio)) * int64(interval) / 256)
}

// hostAddrs counts the addresses in prefix on host's eth0.
func benchCountAddrs(l *lab.Lab, hostName string, prefix netip.Prefix) (int, error) {
	h, err := l.HostNetwork(hostName)
	if err != nil {
		return 0, err
	}
	// Every link: the scale benchmark's VIPs sit on each segment's interface.
	addrs, err := h.Netlink.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return 0, err
	}
	var n int
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok && prefix.Contains(ip.Unmap()) {
			n++
		}
	}
	return n, nil
}
