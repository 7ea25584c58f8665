package vrrp

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

var regen = flag.Bool("regen", false, "TestKeepalivedGolden: overwrite testdata/*.pcap with fresh keepalived captures")

// goldenCase is one keepalived configuration and what its adverts must decode to.
// Source is checked separately: the IPv6 link-local address changes every run.
type goldenCase struct {
	name string // testdata/keepalived-NAME.conf → testdata/NAME.pcap
	want Advertisement
}

func goldenCases(t testing.TB) []goldenCase {
	t.Helper()
	pass, err := Password("1111")
	if err != nil {
		t.Fatal(err)
	}
	addrs := func(s ...string) []netip.Addr {
		var out []netip.Addr
		for _, a := range s {
			out = append(out, netip.MustParseAddr(a))
		}
		return out
	}
	return []goldenCase{
		{"v2-pass", Advertisement{
			Version: 2, VRID: 50, Priority: 150, Interval: time.Second,
			Addresses: addrs("198.18.0.3", "198.18.0.4", "198.18.0.5"),
			AuthType:  AuthPass, AuthData: pass,
			Source: netip.MustParseAddr("198.18.0.1"), Destination: IPv4Multicast,
		}},
		{"v3-ipv4", Advertisement{
			Version: 3, VRID: 51, Priority: 200, Interval: 50 * time.Millisecond,
			Addresses: addrs("198.18.0.13", "198.18.0.14"),
			Source:    netip.MustParseAddr("198.18.0.1"), Destination: IPv4Multicast,
		}},
		{"v3-ipv6", Advertisement{
			Version: 3, VRID: 52, Priority: 100, Interval: 100 * time.Millisecond,
			Addresses:   addrs("fd00:198:18::3", "fd00:198:18::4", "fd00:198:18::5"),
			Destination: IPv6Multicast,
		}},
	}
}

// TestGolden decodes keepalived's own adverts and re-encodes them byte for byte.
func TestGolden(t *testing.T) {
	for _, tc := range goldenCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			pkts, err := readPcap(filepath.Join("testdata", tc.name+".pcap"))
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tc, pkts)
		})
	}
}

func checkGolden(t *testing.T, tc goldenCase, pkts [][]byte) {
	t.Helper()
	if len(pkts) == 0 {
		t.Fatal("capture holds no packets")
	}
	for i, pkt := range pkts {
		got, err := ParsePacket(pkt)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		want := tc.want
		want.Checksum = got.Checksum
		if !want.Source.IsValid() {
			if !got.Source.IsLinkLocalUnicast() {
				t.Errorf("packet %d: source %v, want an IPv6 link-local address (RFC 5798 §5.1.2.1)", i, got.Source)
			}
			want.Source = got.Source
		}
		if d := advDiff(&want, got); d != "" {
			t.Errorf("packet %d: decoded (-want +got):\n%s", i, d)
		}

		// The VRRP message is fully deterministic.
		hdr := ipv4HeaderLen
		if got.Is6() {
			hdr = ipv6HeaderLen
		}
		wire := pkt[hdr:]
		enc := want
		msg, err := enc.MarshalBinary()
		if err != nil {
			t.Fatalf("packet %d: marshal: %v", i, err)
		}
		if !bytes.Equal(msg, wire) {
			t.Errorf("packet %d: VRRP message (-want +got):\n-%x\n+%x", i, wire, msg)
		}
		if enc.Checksum != got.Checksum {
			t.Errorf("packet %d: computed checksum 0x%04x, keepalived sent 0x%04x", i, enc.Checksum, got.Checksum)
		}

		// The IP header too, except what keepalived or the kernel choose per
		// packet: the IPv4 ID (keepalived counts from 1) and the IPv6 flow label.
		var id uint16
		if !got.Is6() {
			id = binary.BigEndian.Uint16(pkt[4:6])
		}
		full, err := appendPacket(nil, &enc, TTL, id)
		if err != nil {
			t.Fatalf("packet %d: encode: %v", i, err)
		}
		if got.Is6() {
			full[1] = full[1]&0xf0 | pkt[1]&0x0f
			copy(full[2:4], pkt[2:4])
		}
		if !bytes.Equal(full, pkt) {
			t.Errorf("packet %d: IP packet (-want +got):\n-%x\n+%x", i, pkt, full)
		}
		if i == 0 {
			id0 := full
			if !got.Is6() {
				id0, _ = EncodePacket(&enc, TTL) // what Conn hands the kernel: ID 0
				if v := binary.BigEndian.Uint16(id0[4:6]); v != 0 {
					t.Errorf("EncodePacket IPv4 ID = %d, want 0 so the kernel picks one", v)
				}
			}
			if _, err := ParsePacket(id0); err != nil {
				t.Errorf("EncodePacket output does not parse: %v", err)
			}
		}
	}
}

// TestKeepalivedGolden runs Debian's keepalived in throwaway namespaces, captures
// its adverts with tcpdump and checks them exactly as TestGolden checks the
// committed captures. With -regen it also replaces testdata/*.pcap:
//
//	EBPFVRRP_PRIVILEGED_TESTS=1 go test -run TestKeepalivedGolden -regen ./vrrp/
func TestKeepalivedGolden(t *testing.T) {
	testutil.Privileged(t)
	testutil.Require(t, "keepalived", "tcpdump", "ip")
	for _, tc := range goldenCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			pcap := captureKeepalived(t, filepath.Join("testdata", "keepalived-"+tc.name+".conf"), 3)
			pkts, err := readPcap(pcap)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tc, pkts)
			if *regen && !t.Failed() {
				b, err := os.ReadFile(pcap)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join("testdata", tc.name+".pcap"), b, 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("wrote testdata/%s.pcap (%d packets)", tc.name, len(pkts))
			}
		})
	}
}

// captureKeepalived runs keepalived with conf in namespace A (interface gold0,
// 198.18.0.1) and returns a pcap of count adverts captured on the peer end in B.
func captureKeepalived(t *testing.T, conf string, count int) string {
	t.Helper()
	conf, err := filepath.Abs(conf)
	if err != nil {
		t.Fatal(err)
	}
	a := testutil.NewNetns(t, "vrrpga")
	b := testutil.NewNetns(t, "vrrpgb")
	// Fixed names are safe: each namespace is new and private to this test.
	testutil.Veth(t, a, "gold0", netip.MustParsePrefix("198.18.0.1/24"), b, "gold1", netip.MustParsePrefix("198.18.0.2/24"))
	dir := t.TempDir()
	pcap := filepath.Join(dir, "capture.pcap")

	tcpdump := exec.Command("ip", "netns", "exec", b.Name, "tcpdump", "-Z", "root", "-U", "-n",
		"-i", "gold1", "-w", pcap, "-c", strconv.Itoa(count), "ip proto 112 or ip6 proto 112")
	stderr, err := tcpdump.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := tcpdump.Start(); err != nil {
		t.Fatalf("start tcpdump: %v", err)
	}
	tcpdumpDone := make(chan error, 1)
	t.Cleanup(func() {
		select {
		case <-tcpdumpDone:
		default:
			_ = tcpdump.Process.Kill()
			<-tcpdumpDone
		}
	})
	// tcpdump says "listening on" once the filter is attached; start keepalived
	// only then so the first advert is not missed.
	listening := make(chan struct{})
	var errOut strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			errOut.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "listening on") {
				close(listening)
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		tcpdumpDone <- tcpdump.Wait()
	}()
	select {
	case <-listening:
	case <-time.After(10 * time.Second):
		t.Fatal("tcpdump did not start listening within 10s")
	}

	var kaOut bytes.Buffer
	ka := exec.Command("ip", "netns", "exec", a.Name, "keepalived", "-n", "-l", "-D", "-P",
		"-f", conf,
		"-p", filepath.Join(dir, "keepalived.pid"),
		"-r", filepath.Join(dir, "vrrp.pid"),
		"-c", filepath.Join(dir, "checkers.pid"))
	ka.Stdout, ka.Stderr = &kaOut, &kaOut
	if err := ka.Start(); err != nil {
		t.Fatalf("start keepalived: %v", err)
	}
	kaDone := make(chan error, 1)
	go func() { kaDone <- ka.Wait() }()
	stopKeepalived := func() {
		// `ip netns exec` execs keepalived, so this is keepalived's own pid.
		_ = ka.Process.Signal(syscall.SIGTERM)
		select {
		case <-kaDone:
		case <-time.After(10 * time.Second):
			_ = ka.Process.Kill()
			<-kaDone
		}
	}
	t.Cleanup(func() {
		select {
		case <-kaDone:
		default:
			stopKeepalived()
		}
	})

	select {
	case err := <-tcpdumpDone:
		tcpdumpDone <- err // for the cleanup
		if err != nil {
			t.Fatalf("tcpdump: %v\n%s", err, errOut.String())
		}
	case err := <-kaDone:
		kaDone <- err
		t.Fatalf("keepalived exited early: %v\n%s", err, kaOut.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("captured fewer than %d adverts in 30s\nkeepalived:\n%s", count, kaOut.String())
	}
	stopKeepalived()
	kaDone <- nil
	return pcap
}

// advDiff returns "" when want and got are equal, else both, one per line.
func advDiff(want, got *Advertisement) string {
	if reflect.DeepEqual(want, got) {
		return ""
	}
	return "-" + advString(want) + "\n+" + advString(got)
}

func advString(a *Advertisement) string {
	var sb strings.Builder
	sb.WriteString("{")
	v := reflect.ValueOf(*a)
	for i := 0; i < v.NumField(); i++ {
		if i > 0 {
			sb.WriteString(" ")
		}
		fmt.Fprintf(&sb, "%s:%v", v.Type().Field(i).Name, v.Field(i).Interface())
	}
	sb.WriteString("}")
	return sb.String()
}
