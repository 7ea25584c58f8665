package vm

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/lab"
	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

// tsharkPrefs are the dissector preferences the decode runs with, spelled out so a
// changed default cannot loosen the check: RFC 5798 §5.2.8 checksums v3 over a
// pseudo-header for IPv4 as well (not "as in v2"), and the IPv4 header checksum
// is verified too.
var tsharkPrefs = []string{"-o", "vrrp.v3_checksum_as_in_v2:FALSE", "-o", "ip.check_checksum:TRUE"}

// Issue 12, a decoder no one here wrote: tshark reads what each daemon sends (v2 with
// PASS, v3 IPv4, v3 IPv6, VMAC, unicast peers). Every frame captured as IP protocol
// 112 must decode as VRRP with a good checksum and without malformed or
// warning-level expert info. Both daemons run the same keepalived.conf; the capture
// covers lb-5's adverts as Master, its priority-0 advert at shutdown and lb-6's
// adverts after taking over.
func TestTsharkDecodesAdverts(t *testing.T) {
	t.Parallel()
	kinds := []struct {
		name string
		opts lab.Options
		conf func(host, conf string) string // edits the instance's keepalived.conf
		want wireWant
	}{
		{"v2-pass", lab.Options{Version: 2, AdvertInterval: time.Second}, nil, wireWant{}},
		{"v3-ipv4", lab.Options{Version: 3, AdvertInterval: 100 * time.Millisecond}, nil, wireWant{}},
		{"v3-ipv6", lab.Options{Version: 3, AdvertInterval: 100 * time.Millisecond, IPv6: true}, nil, wireWant{ipv6: true}},
		{"v3-vmac", lab.Options{Version: 3, AdvertInterval: 100 * time.Millisecond}, func(_, c string) string {
			return addToInstance(c, "    use_vmac\n")
		}, wireWant{srcMAC: fmt.Sprintf("00:00:5e:00:01:%02x", lab.TutorialVRID)}},
		// keepalived gives the VMAC the parent's link-local address and sends
		// from it (keepalived/vrrp/vrrp_vmac.c, add_link_local_address): the
		// adverts are waited for from lb-5's eth0 link-local below.
		{"v3-ipv6-vmac", lab.Options{Version: 3, AdvertInterval: 100 * time.Millisecond, IPv6: true}, func(_, c string) string {
			return addToInstance(c, "    use_vmac\n")
		}, wireWant{ipv6: true, srcMAC: fmt.Sprintf("00:00:5e:00:02:%02x", lab.TutorialVRID)}},
		{"v3-unicast", lab.Options{Version: 3, AdvertInterval: 100 * time.Millisecond}, func(h, c string) string {
			peer := lab.LB6
			if h == lab.LB6 {
				peer = lab.LB5
			}
			return addToInstance(c, fmt.Sprintf("    unicast_src_ip %s\n    unicast_peer {\n        %s\n    }\n", lab.Addr4(h), lab.Addr4(peer)))
		}, wireWant{unicast: true}},
	}
	for _, d := range []lab.Daemon{lab.Keepalived, lab.Ebpfvrrp} {
		for _, k := range kinds {
			t.Run(string(d)+"/"+k.name, func(t *testing.T) {
				t.Parallel()
				testutil.Privileged(t)
				testutil.Require(t, "tshark")
				l := newLab(t, pair{string(d), d, d}, k.opts)
				// lb-5's bridge port carries what lb-5 sends and what reaches it,
				// unicast included (the bridge device itself sees no unicast
				// between ports).
				stop, file := startCaptureFile(t, l, lab.Switch, lab.LB5, "ip proto 112 or ip6 proto 112")
				for _, h := range lab.LBHosts {
					conf := l.LBConfig(h).Keepalived()
					if k.conf != nil {
						conf = k.conf(h, conf)
					}
					if err := l.StartLB(h, conf); err != nil {
						t.Fatal(err)
					}
				}
				// Startup (VMAC creation, BPF load) takes long on a busy machine:
				// count lb-5's adverts rather than sleep, so it is Master when stopped.
				src := lab.Addr4(lab.LB5)
				if k.opts.IPv6 {
					var err error
					if src, err = l.LinkLocal(lab.LB5); err != nil {
						t.Fatal(err)
					}
				}
				waitFrames(t, file, src.String()+" > ", max(3, int(500*time.Millisecond/k.opts.AdvertInterval)))
				if err := l.StopLB(lab.LB5, syscall.SIGTERM); err != nil {
					t.Fatal(err)
				}
				time.Sleep(max(3*k.opts.AdvertInterval, 500*time.Millisecond))
				checkTshark(t, stop(), k.want)
			})
		}
	}
}

// waitFrames waits up to 15 s until a capture in progress holds n frames whose
// tcpdump line contains match.
func waitFrames(t *testing.T, file, match string, n int) {
	t.Helper()
	var got int
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		// The last frame may be half-written: tcpdump then complains, after printing
		// the whole ones.
		out, _ := exec.Command("tcpdump", "-r", file, "-n").Output()
		if got = strings.Count(string(out), match); got >= n {
			return
		}
	}
	t.Fatalf("capture %s: %d frames with %q after 15 s, want %d", file, got, match, n)
}

// The VRRP groups (RFC 5798 §5.1.1.2, §5.1.2.2), as tshark prints them.
const (
	vrrpGroup4 = "224.0.0.18"
	vrrpGroup6 = "ff02::12"
)

// addToInstance inserts lines into the vrrp_instance block of a rendered
// keepalived.conf, after its interface line.
func addToInstance(conf, lines string) string {
	return strings.Replace(conf, "    interface eth0\n", "    interface eth0\n"+lines, 1)
}

// wireWant is what a kind of advert looks like on the wire besides being VRRP.
type wireWant struct {
	ipv6    bool   // IPv6 source and destination
	srcMAC  string // every frame from this MAC (the VMAC); "" any
	unicast bool   // to a peer's address, not the VRRP group
}

// checkTshark decodes a capture of IP protocol 112 with tshark and fails for every
// frame that is not VRRP, has a checksum tshark does not call good, or carries
// malformed or warning/error expert info, printing tshark's own summary line of it.
func checkTshark(t *testing.T, file string, want wireWant) {
	t.Helper()
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		argv := append(append([]string{"-r", file, "-n"}, tsharkPrefs...), args...)
		cmd := exec.CommandContext(ctx, "tshark", argv...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("tshark %s: %v\n%s", strings.Join(argv, " "), err, stderr.String())
		}
		return string(out)
	}
	// tshark's one-line summaries, by frame number, for the failure messages.
	summary := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(run()), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			summary[f[0]] = strings.TrimSpace(line)
		}
	}
	fields := run("-T", "fields", "-E", "separator=|", "-E", "occurrence=a", "-E", "aggregator=,",
		"-e", "frame.number", "-e", "frame.protocols", "-e", "eth.src", "-e", "ip.src", "-e", "ipv6.src", "-e", "ip.dst", "-e", "ipv6.dst",
		"-e", "vrrp.version", "-e", "vrrp.prio", "-e", "vrrp.checksum.status",
		"-e", "_ws.expert.severity", "-e", "_ws.expert.message", "-e", "_ws.malformed")
	var n int
	prios := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(fields), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "|")
		if len(f) != 13 {
			t.Fatalf("tshark fields: %q", line)
		}
		n++
		num, protos, mac, src4, src6, dst := f[0], f[1], f[2], f[3], f[4], f[5]+f[6]
		ver, prio, sum, sev, msg, malformed := f[7], f[8], f[9], f[10], f[11], f[12]
		bad := func(format string, args ...any) {
			t.Helper()
			t.Errorf("frame %s: %s\n  tshark: %s", num, fmt.Sprintf(format, args...), summary[num])
		}
		if !strings.HasSuffix(protos, ":vrrp") {
			bad("not decoded as VRRP (protocols %s)", protos)
			continue
		}
		if want.ipv6 != (src6 != "") {
			bad("address family: ip.src %q ipv6.src %q, want IPv6 %v", src4, src6, want.ipv6)
		}
		if want.srcMAC != "" && mac != want.srcMAC {
			bad("source MAC %s, want the VMAC %s", mac, want.srcMAC)
		}
		if group := dst == vrrpGroup4 || dst == vrrpGroup6; group == want.unicast {
			bad("destination %s, want unicast %v", dst, want.unicast)
		}
		// checksum.status: 0 bad, 1 good, 2 unverified.
		if sum != "1" {
			bad("VRRP checksum status %q, want 1 (good)", sum)
		}
		if malformed != "" {
			bad("malformed: %s", malformed)
		}
		for i, s := range strings.Split(sev, ",") {
			// PI_WARN is 0x00600000; errors are above.
			if v, err := strconv.ParseUint(s, 0, 32); err == nil && v >= 0x00600000 {
				m := strings.Split(msg, ",")
				bad("expert info severity %#x: %s", v, m[min(i, len(m)-1)])
			}
		}
		prios[src4+src6+" v"+ver+" prio "+prio]++
	}
	t.Logf("tshark decoded %d VRRP frames: %v", n, prios)
	if n == 0 {
		t.Fatalf("no VRRP frame captured")
	}
	var zero bool
	for k := range prios {
		zero = zero || strings.HasSuffix(k, " prio 0")
	}
	if !zero {
		t.Errorf("no priority-0 advert from lb-5's shutdown in the capture: %v\n%s", prios, run())
	}
	// tshark 4.0 heads the sections "Errors (N)" and "Warns (N)".
	expert := run("-q", "-z", "expert,warn")
	if strings.Contains(expert, "Errors (") || strings.Contains(expert, "Warns (") {
		t.Errorf("tshark -z expert,warn:\n%s", expert)
	}
}
