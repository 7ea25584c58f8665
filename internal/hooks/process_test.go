package hooks

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

// fakeProc writes a proc filesystem with one directory per process: its stat
// line (comm and state) and its NUL-separated cmdline.
type fakeProc struct {
	t    *testing.T
	root string
	next int
}

func newFakeProc(t *testing.T) *fakeProc {
	t.Helper()
	root := t.TempDir()
	// Entries that are not processes must be skipped.
	for _, d := range []string{"self", "sys", "0"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "42"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return &fakeProc{t: t, root: root, next: 100}
}

// add adds a process and returns its pid.
func (f *fakeProc) add(comm string, state byte, argv ...string) int {
	f.t.Helper()
	f.next++
	dir := filepath.Join(f.root, strconv.Itoa(f.next))
	if err := os.Mkdir(dir, 0o755); err != nil {
		f.t.Fatal(err)
	}
	stat := strconv.Itoa(f.next) + " (" + comm + ") " + string(state) + " 1 1 1 0 -1\n"
	cmdline := ""
	if len(argv) > 0 {
		cmdline = strings.Join(argv, "\x00") + "\x00"
	}
	for name, body := range map[string]string{"stat": stat, "cmdline": cmdline} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			f.t.Fatal(err)
		}
	}
	return f.next
}

func (f *fakeProc) remove(pid int) {
	f.t.Helper()
	if err := os.RemoveAll(filepath.Join(f.root, strconv.Itoa(pid))); err != nil {
		f.t.Fatal(err)
	}
}

// TestCountProcesses: matching as keepalived's read_procs/check_params do
// (keepalived/core/track_process.c): the name exactly, no pattern ("ssh" is not
// "sshd"); zombies never count; arguments (full_command) against the cmdline,
// exact, partial or initial.
func TestCountProcesses(t *testing.T) {
	f := newFakeProc(t)
	f.add("nginx", 'S', "nginx: master process /usr/sbin/nginx")
	f.add("nginx", 'S', "nginx: worker process")
	f.add("nginx", 'Z')
	f.add("sshd", 'S', "/usr/sbin/sshd", "-D")
	f.add("haproxy", 'S', "/usr/sbin/haproxy", "-f", "/etc/haproxy/haproxy.cfg")
	f.add("haproxy", 'R', "/usr/sbin/haproxy", "-f", "/etc/haproxy/other.cfg", "-d")
	f.add("weird) (name", 'S', "x")
	tests := []struct {
		name string
		m    ProcessMatch
		want int
	}{
		{"comm, zombies excluded", ProcessMatch{Name: "nginx"}, 2},
		{"exact name, not a pattern", ProcessMatch{Name: "ssh"}, 0},
		{"comm with parentheses", ProcessMatch{Name: "weird) (name"}, 1},
		{"full_command compares the first word", ProcessMatch{Name: "/usr/sbin/sshd", FullCommand: true}, 1},
		{"full_command does not look at comm", ProcessMatch{Name: "sshd", FullCommand: true}, 0},
		{"exact args", ProcessMatch{Name: "/usr/sbin/haproxy", Args: []string{"-f", "/etc/haproxy/haproxy.cfg"}, Params: ParamExact, FullCommand: true}, 1},
		{"exact with no args wants none", ProcessMatch{Name: "/usr/sbin/haproxy", Params: ParamExact, FullCommand: true}, 0},
		{"partial: first args", ProcessMatch{Name: "/usr/sbin/haproxy", Args: []string{"-f"}, Params: ParamPartial, FullCommand: true}, 2},
		{"partial: whole words", ProcessMatch{Name: "/usr/sbin/haproxy", Args: []string{"-f", "/etc/haproxy/"}, Params: ParamPartial, FullCommand: true}, 0},
		{"initial: last is a prefix", ProcessMatch{Name: "/usr/sbin/haproxy", Args: []string{"-f", "/etc/haproxy/"}, Params: ParamInitial, FullCommand: true}, 2},
		{"initial: earlier words exact", ProcessMatch{Name: "/usr/sbin/haproxy", Args: []string{"-", "/etc"}, Params: ParamInitial, FullCommand: true}, 0},
		{"too few args", ProcessMatch{Name: "/usr/sbin/sshd", Args: []string{"-D", "-e"}, Params: ParamPartial, FullCommand: true}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CountProcesses(t.Context(), f.root, tt.m)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("CountProcesses = %d, want %d", got, tt.want)
			}
		})
	}
	if _, err := CountProcesses(t.Context(), filepath.Join(f.root, "missing"), ProcessMatch{Name: "x"}); err == nil {
		t.Error("a missing proc root counted without error")
	}
}

// TestProcessCheckQuorumAndDelays: up within [quorum, quorum_max]; a lost quorum
// is reported only after terminate_delay, a gained one after fork_delay, and a
// change that undoes itself within the delay is never reported (keepalived's
// terminate/fork timers). The first scan reports the count at once.
func TestProcessCheckQuorumAndDelays(t *testing.T) {
	f := newFakeProc(t)
	now := time.Unix(1000, 0)
	c := &ProcessCheck{
		Match: ProcessMatch{Name: "nginx"}, Quorum: 2, QuorumMax: 3,
		ForkDelay: 2 * time.Second, TerminateDelay: 5 * time.Second,
		Proc: f.root, Now: func() time.Time { return now },
	}
	check := func(step string, want bool) {
		t.Helper()
		if got := c.Check(t.Context()); got.OK != want {
			t.Fatalf("%s: OK = %v (%v), want %v", step, got.OK, got.Err, want)
		}
	}
	a := f.add("nginx", 'S')
	check("one of quorum 2 at start: down at once", false)
	b := f.add("nginx", 'S')
	check("quorum gained: held by fork_delay", false)
	now = now.Add(2 * time.Second)
	check("fork_delay over", true)
	f.remove(a)
	check("quorum lost: held by terminate_delay", true)
	now = now.Add(3 * time.Second)
	a = f.add("nginx", 'S')
	check("back within the delay", true)
	now = now.Add(10 * time.Second)
	check("no change was pending", true)
	f.add("nginx", 'S')
	f.add("nginx", 'S')
	check("4 > quorum_max 3: held", true)
	now = now.Add(5 * time.Second)
	check("above quorum_max after terminate_delay", false)
	f.remove(a)
	f.remove(b)
	now = now.Add(2 * time.Second)
	check("2 again, fork_delay since the first scan that saw it", false)
	now = now.Add(2 * time.Second)
	check("2 again after fork_delay", true)

	none := &ProcessCheck{Match: ProcessMatch{Name: "nginx"}, Quorum: 0, QuorumMax: 0, Proc: f.root}
	if none.Check(t.Context()).OK {
		t.Error("quorum_max 0 with nginx running: OK")
	}
}

// TestProcessCheckRealProcesses counts processes this test starts, in the real
// /proc: a copy of sleep under a name no other process has. Reading /proc needs
// no privilege, so this runs in every tier.
func TestProcessCheckRealProcesses(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	name := testutil.UniqueName("evt") // 9 bytes: within a comm's 15
	bin := filepath.Join(t.TempDir(), name)
	data, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	start := func(args ...string) *exec.Cmd {
		t.Helper()
		cmd := exec.Command(bin, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}
	c := &ProcessCheck{Match: ProcessMatch{Name: name}, Quorum: 2, QuorumMax: -1}
	full := &ProcessCheck{Match: ProcessMatch{Name: bin, Args: []string{"300"}, Params: ParamExact, FullCommand: true}, Quorum: 1, QuorumMax: -1}
	if c.Check(t.Context()).OK {
		t.Fatal("OK before any process runs")
	}
	one := start("300")
	start("301")
	testutil.Eventually(t, 5*time.Second, "two processes counted", func() bool { return c.Check(t.Context()).OK })
	if r := full.Check(t.Context()); !r.OK {
		t.Errorf("full command %s 300: %v", bin, r.Err)
	}
	one.Process.Kill()
	one.Wait() // reaped: a zombie would not count either
	testutil.Eventually(t, 5*time.Second, "quorum lost after a kill", func() bool { return !c.Check(t.Context()).OK })
	if full.Check(t.Context()).OK {
		t.Error("full command still matches after its process was killed")
	}
}
