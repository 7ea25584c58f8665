package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/cli"
	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

// TestKeepalivedCommandLine drives keepalived's options in-process, on lo (which
// every host has), without keepalived itself.
func TestKeepalivedCommandLine(t *testing.T) {
	ok := writeFile(t, "ok.conf", kaInstance("lo", 50))
	bad := writeFile(t, "bad.conf", kaInstance("lo", 300))
	t.Run("-t valid", func(t *testing.T) {
		if _, errOut, err := runCLI(t, "-t", "-f", ok); err != nil {
			t.Fatalf("err %v\n%s", err, errOut)
		}
		if _, errOut, err := runCLI(t, "--config-test", "--use-file", ok); err != nil {
			t.Fatalf("long names: err %v\n%s", err, errOut)
		}
	})
	t.Run("-t invalid", func(t *testing.T) {
		_, errOut, err := runCLI(t, "-t", "-f", bad)
		var ee exitError
		if !errors.As(err, &ee) || ee.code != exitConfigTest {
			t.Fatalf("err %v, want exit %d", err, exitConfigTest)
		}
		if !strings.Contains(errOut, "bad.conf:4") || !strings.Contains(errOut, "300") {
			t.Errorf("stderr lacks the problem:\n%s", errOut)
		}
	})
	t.Run("-t=LOG_FILE", func(t *testing.T) {
		log := filepath.Join(t.TempDir(), "test.log")
		_, errOut, err := runCLI(t, "--config-test="+log, "-f", bad)
		if !errors.As(err, new(exitError)) {
			t.Fatalf("err %v", err)
		}
		if b, _ := os.ReadFile(log); !strings.Contains(string(b), "300") || strings.Contains(errOut, "300") {
			t.Errorf("report not in the log file only: log %q, stderr %q", b, errOut)
		}
	})
	t.Run("ignored options warn", func(t *testing.T) {
		_, errOut, err := runCLI(t, "-C", "--snmp", "-S", "0", "-GmD", "-t", "-f", ok)
		if err != nil {
			t.Fatalf("err %v\n%s", err, errOut)
		}
		for _, want := range []string{"-C/--check does nothing", "-x/--snmp does nothing", "-S/--log-facility does nothing", "-G/--no-syslog does nothing", "-m/--core-dump does nothing"} {
			if !strings.Contains(errOut, want) {
				t.Errorf("stderr lacks %q:\n%s", want, errOut)
			}
		}
	})
	t.Run("-v", func(t *testing.T) {
		out, _, err := runCLI(t, "-v")
		if err != nil || !strings.HasPrefix(out, "ebpfvrrp ") {
			t.Errorf("-v: %q, %v", out, err)
		}
	})
	t.Run("unknown option", func(t *testing.T) {
		if _, _, err := runCLI(t, "--frobnicate", "-f", ok); !errors.Is(err, errUsage) {
			t.Errorf("err %v, want a usage error", err)
		}
	})
}

func kaInstance(iface string, vrid int) string {
	return fmt.Sprintf(`vrrp_instance VI_1 {
    state MASTER
    interface %s
    virtual_router_id %d
    priority 150
    advert_int 1
    virtual_ipaddress {
        198.18.0.3
    }
}
`, iface, vrid)
}

// TestConfigTestAgreesWithKeepalived runs `keepalived -t -f` and `ebpfvrrp -t -f`
// on the tutorial's files and on broken ones, in a network namespace whose one
// link is called eth0 (as in the tutorial), and requires the same exit code.
func TestConfigTestAgreesWithKeepalived(t *testing.T) {
	testutil.Privileged(t)
	testutil.Require(t, "keepalived", "nsenter", "ip")
	bin := testutil.EbpfvrrpBinary(t)
	ns, peer := testutil.NewNetns(t, "kat"), testutil.NewNetns(t, "katp")
	testutil.Veth(t, ns, "eth0", netip.MustParsePrefix("198.18.0.5/24"), peer, "eth0", netip.MustParsePrefix("198.18.0.6/24"))

	exitCode := func(t *testing.T, name string, args ...string) (int, string) {
		t.Helper()
		cmd := exec.Command("nsenter", append([]string{"--net=/run/netns/" + ns.Name, name}, args...)...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		switch {
		case err == nil:
			return 0, string(out)
		case errors.As(err, &ee):
			return ee.ExitCode(), string(out)
		}
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		return 0, ""
	}

	type tc struct {
		name, file string
		// ebpfvrrpWant overrides "same as keepalived" for a documented difference.
		ebpfvrrpWant *int
	}
	var cases []tc
	tutorial, _ := filepath.Glob("../../configs/keepalived/*.conf")
	if len(tutorial) < 4 {
		t.Fatalf("the tutorial's files are missing: %v", tutorial)
	}
	for _, f := range tutorial {
		cases = append(cases, tc{name: f, file: f})
	}
	// And every keepalived.conf the tutorial itself shows, where it is beside
	// the repository (shared/ is, in CI).
	if md, err := os.ReadFile(tutorialDoc); err == nil {
		for i, c := range tutorialConfigs(string(md)) {
			name := fmt.Sprintf("tutorial block %d", i)
			cases = append(cases, tc{name: name, file: writeFile(t, fmt.Sprintf("tutorial-%d.conf", i), c)})
		}
	} else {
		t.Logf("%s not found: only the copies in configs/keepalived are compared", tutorialDoc)
	}

	// The tutorial's check_web variant with its script where the config says, in
	// a root-owned directory: as written (no script security), with it, without a
	// script user, and with a script others may write.
	dir := t.TempDir()
	script := filepath.Join(dir, "check_web.sh")
	if err := os.WriteFile(script, readTestFile(t, "../../configs/keepalived/check_web.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	insecure := filepath.Join(dir, "insecure.sh")
	if err := os.WriteFile(insecure, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(insecure, 0o757) // past the umask
	checkWeb := string(readTestFile(t, "../../configs/keepalived/lb-5-check_web.conf"))
	variant := func(name, scriptPath, globals string) {
		c := strings.Replace(checkWeb, "/etc/keepalived/check_web.sh", scriptPath, 1)
		c = strings.Replace(c, "global_defs {", "global_defs {\n"+globals, 1)
		cases = append(cases, tc{name: name, file: writeFile(t, strings.ReplaceAll(name, " ", "_")+".conf", c)})
	}
	variant("check_web installed", script, "")
	variant("check_web with script security", script, "    enable_script_security\n    script_user root\n")
	variant("check_web with script security, no script_user", script, "    enable_script_security\n")
	variant("check_web insecure script", insecure, "    enable_script_security\n    script_user root\n")
	variant("check_web missing script", filepath.Join(dir, "nonexistent.sh"), "")
	fifo := "    vrrp_notify_fifo " + filepath.Join(dir, "notify.fifo") + "\n    vrrp_notify_fifo_script "
	variant("notify fifo script installed", script, fifo+script+"\n")
	variant("script_user unknown", script, "    script_user no-such-user-ebpfvrrp\n")

	broken := []struct{ name, old, new string }{
		{"vrid 300", "virtual_router_id 50", "virtual_router_id 300"},
		{"vrid 0", "virtual_router_id 50", "virtual_router_id 0"},
		{"priority 256", "priority 150", "priority 256"},
		{"advert_int 0", "advert_int 1", "advert_int 0"},
		{"bad auth_type", "auth_type PASS", "auth_type FOO"},
		{"bad VIP", "10.0.0.3", "10.0.0.300"},
		{"no such interface", "interface eth0", "interface nosuchif0"},
		{"unknown keyword", "advert_int 1", "advert_int 1\n    bogus_keyword 1"},
		{"no virtual_router_id", "virtual_router_id 50", ""},
		{"unclosed block", "}\n", ""},
	}
	lb5 := string(readTestFile(t, "../../configs/keepalived/lb-5.conf"))
	for _, b := range broken {
		if !strings.Contains(lb5, b.old) {
			t.Fatalf("%s: lb-5.conf has no %q (update the table)", b.name, b.old)
		}
		c := strings.Replace(lb5, b.old, b.new, 1)
		if b.name == "unclosed block" {
			c = lb5[:strings.LastIndex(lb5, "}")]
		}
		cases = append(cases, tc{name: "broken: " + b.name, file: writeFile(t, strings.ReplaceAll(b.name, " ", "_")+".conf", c)})
	}
	// keepalived 2.2.7 exits 0 on a file that does not exist; ebpfvrrp fails it
	// (keepalived.go, configTest).
	five := exitConfigTest
	cases = append(cases, tc{name: "missing file", file: filepath.Join(dir, "nonexistent.conf"), ebpfvrrpWant: &five})

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			kaCode, kaOut := exitCode(t, "keepalived", "-t", "-f", c.file)
			ebCode, ebOut := exitCode(t, bin, "-t", "-f", c.file)
			want := kaCode
			if c.ebpfvrrpWant != nil {
				want = *c.ebpfvrrpWant
			}
			if ebCode != want {
				t.Errorf("ebpfvrrp -t exits %d, want %d (keepalived -t exits %d)\nkeepalived:\n%s\nebpfvrrp:\n%s", ebCode, want, kaCode, kaOut, ebOut)
			}
			if ebCode != 0 && strings.TrimSpace(ebOut) == "" {
				t.Errorf("ebpfvrrp -t exits %d without saying why", ebCode)
			}
			t.Logf("exit %d (keepalived %d)", ebCode, kaCode)
		})
	}
	// Sanity: the table covers both outcomes, so agreement is not trivial.
	codes := map[int]bool{}
	for _, c := range cases {
		code, _ := exitCode(t, bin, "-t", "-f", c.file)
		codes[code] = true
	}
	for _, want := range []int{0, exitConfigTest, exitConfigTestSecurity} {
		if !codes[want] {
			t.Errorf("no case exits %d: %v", want, slices.Sorted(maps.Keys(codes)))
		}
	}
}

// tutorialDoc is the tutorial the lb-5/lb-6 files come from.
const tutorialDoc = "../../../shared/tutorial/keepalived-ha-lb.md"

// tutorialConfigs returns the keepalived.conf files shown in the tutorial's code
// blocks: from the first global_defs/vrrp_script/vrrp_instance line to the last
// closing brace (dropping the shell prompt or heredoc around them).
func tutorialConfigs(md string) []string {
	var out []string
	parts := strings.Split(md, "```")
	for i := 1; i < len(parts); i += 2 {
		b := parts[i]
		if !strings.Contains(b, "vrrp_instance") {
			continue
		}
		lines := strings.Split(b, "\n")
		start := slices.IndexFunc(lines, func(l string) bool {
			return strings.HasPrefix(l, "global_defs") || strings.HasPrefix(l, "vrrp_script") || strings.HasPrefix(l, "vrrp_instance")
		})
		end := len(lines) - 1
		for end >= 0 && !strings.HasPrefix(lines[end], "}") {
			end--
		}
		if start < 0 || end < start {
			continue
		}
		out = append(out, strings.Join(lines[start:end+1], "\n")+"\n")
	}
	return out
}

func readTestFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPIDFiles: -p and -r are written with the daemon's pid once it runs, and
// removed when it stops cleanly.
func TestPIDFiles(t *testing.T) {
	testutil.Privileged(t)
	testutil.Require(t, "nsenter")
	bin := testutil.EbpfvrrpBinary(t)
	ns, peer := testutil.NewNetns(t, "kap"), testutil.NewNetns(t, "kapp")
	testutil.Veth(t, ns, "eth0", netip.MustParsePrefix("198.18.0.5/24"), peer, "eth0", netip.MustParsePrefix("198.18.0.6/24"))
	dir := t.TempDir()
	pin := filepath.Join("/sys/fs/bpf", testutil.UniqueName("kapid"))
	t.Cleanup(func() { os.RemoveAll(pin) })
	cfg := writeFile(t, "keepalived.conf", "global_defs {\n    router_id kapid\n}\n"+kaInstance("eth0", 50))
	pidFile, vrrpPID := filepath.Join(dir, "keepalived.pid"), filepath.Join(dir, "vrrp.pid")
	log := &testutil.SyncBuffer{}
	cmd := exec.Command("nsenter", "--net=/run/netns/"+ns.Name, bin, "--dont-fork", "--log-console", "-D",
		"-p", pidFile, "-r", vrrpPID, "-f", cfg, "--pin-path", pin, "--metrics-listen", "off",
		"--control-socket", filepath.Join(dir, "ctl.sock"))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("daemon:\n%s", log.String())
		}
	})
	// nsenter execs the daemon: its pid is the one started.
	want := strconv.Itoa(cmd.Process.Pid) + "\n"
	testutil.WaitFor(t, 20*time.Second, "pid files", func() (bool, string) {
		for _, p := range []string{pidFile, vrrpPID} {
			b, err := os.ReadFile(p)
			if err != nil || string(b) != want {
				return false, fmt.Sprintf("%s: %q %v, want %q", p, b, err, want)
			}
		}
		return len(log.Lines("ebpfvrrp running")) > 0, "daemon not running yet"
	})
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("daemon exited: %v", err)
	}
	done <- nil // for the cleanup
	for _, p := range []string{pidFile, vrrpPID} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left after a clean exit: %v", p, err)
		}
	}
}

func TestMain(m *testing.M) { testutil.Main(m) }

// TestReadmeUnitRecipe: the command lines of the README's override for
// keepalived's unit are ones ebpfvrrp takes: the -t lines pass on a valid
// config, and ExecStart parses as a daemon run of that config, with the
// options distributions put in $DAEMON_ARGS.
func TestReadmeUnitRecipe(t *testing.T) {
	b := readTestFile(t, "../../README.md")
	var lines []string
	for _, blk := range strings.Split(string(b), "```ini\n")[1:] {
		body, _, _ := strings.Cut(blk, "```")
		for _, l := range strings.Split(body, "\n") {
			if _, cmd, ok := strings.Cut(l, "=/usr/sbin/ebpfvrrp"); ok && strings.HasPrefix(l, "Exec") {
				lines = append(lines, strings.TrimSpace(cmd))
			}
		}
	}
	if len(lines) < 3 {
		t.Fatalf("README's unit recipe: %d ebpfvrrp command lines, want ExecStartPre, ExecStart and ExecReload", len(lines))
	}
	cfg := writeFile(t, "keepalived.conf", kaInstance("lo", 50))
	for _, daemonArgs := range []string{"", "-D", "-D -S 0 --vrrp"} {
		for _, l := range lines {
			l = strings.ReplaceAll(l, "$DAEMON_ARGS", daemonArgs)
			l = strings.ReplaceAll(l, keepalivedDefaultConfig, cfg)
			args := strings.Fields(l)
			t.Run(l, func(t *testing.T) {
				fs, f := newRunFlagSet(Env{Stdout: io.Discard, Stderr: io.Discard})
				if err := parseFlags(fs, cli.ExpandShortOptions(fs, args)); err != nil {
					t.Fatalf("does not parse: %v", err)
				}
				if f.config != cfg {
					t.Errorf("config %q, want %q", f.config, cfg)
				}
				if f.keepalived.configTest {
					if _, errOut, err := runCLI(t, args...); err != nil {
						t.Errorf("%v\n%s", err, errOut)
					}
				}
			})
		}
	}
}
