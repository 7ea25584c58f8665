package configs_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/control"
	"github.com/ebpfvrrp/ebpfvrrp/internal/hooks"
	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

// envScriptChild makes this test binary a child of TestUnitLetsScriptsRun: it
// runs one script case (the variable's value) through internal/hooks, as the
// daemon would, and reports by its exit status.
const envScriptChild = "EBPFVRRP_UNIT_SCRIPT_CHILD"

// scriptCase is what keepalived users run and the unit must allow.
type scriptCase struct {
	name string
	// needs: the capabilities without which the case must fail.
	needs []string
	// env for the child (besides envScriptChild); run in the child.
	run func(env map[string]string) error
}

var scriptCases = []scriptCase{
	{
		// vrrp_script { user nobody } / script_user nobody.
		name:  "tracker as another user",
		needs: []string{"CAP_SETUID", "CAP_SETGID"},
		run: func(map[string]string) error {
			r := hooks.ExecCheck{Argv: []string{`test "$(id -u) $(id -G)" = "65534 65534"`}, Shell: true, User: "nobody"}.Check(context.Background())
			if !r.OK {
				return fmt.Errorf("tracker as nobody failed: %v", r.Err)
			}
			return nil
		},
	},
	{
		// script "killall -0 nginx": signal 0 to a process of another user.
		name:  "signal 0 to another user's process",
		needs: []string{"CAP_KILL"},
		run: func(env map[string]string) error {
			r := hooks.ExecCheck{Argv: []string{"kill", "-0", env["PID"]}, Shell: true}.Check(context.Background())
			if !r.OK {
				return fmt.Errorf("kill -0 %s failed: %v", env["PID"], r.Err)
			}
			return nil
		},
	},
	{
		// notify_master writing a state file under /etc and under /var.
		name: "notify script writing under /etc and /var",
		run: func(env map[string]string) error {
			n := hooks.NewExecNotifier(slog.New(slog.NewTextHandler(os.Stderr, nil)))
			// A file of this run's own: one an earlier run wrote proves nothing.
			file := "state." + strconv.Itoa(os.Getpid())
			var cmds []string
			for _, d := range strings.Fields(env["DIRS"]) {
				cmds = append(cmds, "echo MASTER > "+filepath.Join(d, file))
			}
			n.Notify(control.Notification{Type: "INSTANCE", Name: "VI_1", State: control.HookMaster, Priority: 100,
				Hooks: control.NotifyConfig{Master: []string{strings.Join(cmds, " && ")}, Shell: true}})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := n.Wait(ctx); err != nil {
				return err
			}
			for _, d := range strings.Fields(env["DIRS"]) {
				if b, err := os.ReadFile(filepath.Join(d, file)); err != nil || string(b) != "MASTER\n" {
					return fmt.Errorf("notify script did not write %s: %q %v", filepath.Join(d, file), b, err)
				}
			}
			return nil
		},
	},
}

// TestScriptChild is the child's entry point; it does nothing in a normal run.
func TestScriptChild(t *testing.T) {
	name := os.Getenv(envScriptChild)
	if name == "" {
		t.Skip("only run as TestUnitLetsScriptsRun's child")
	}
	env := map[string]string{"PID": os.Getenv("CHILD_PID"), "DIRS": os.Getenv("CHILD_DIRS")}
	for _, c := range scriptCases {
		if c.name == name {
			if err := c.run(env); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no script case %q", name)
}

// TestUnitLetsScriptsRun runs what keepalived users' trackers and notify scripts
// do (a check as another user, kill -0 on another user's process, a notify
// script writing under /etc and /var) through internal/hooks, in a child
// process confined as the unit confines the daemon: the unit file's
// CapabilityBoundingSet and NoNewPrivileges (setpriv) and its mount protections
// (ProtectSystem=, ProtectHome=, ReadOnlyPaths=, ReadWritePaths=, in a private
// mount namespace). Each must succeed, and fail without each capability it needs.
// A control run with ProtectSystem=strict shows the mount emulation bites.
func TestUnitLetsScriptsRun(t *testing.T) {
	testutil.Privileged(t)
	testutil.Require(t, "setpriv", "unshare", "mount", "sh", "kill")
	u, _ := parseUnit(t, string(readFile(t, unitFile)))
	svc := u["Service"]
	caps := strings.Fields(strings.Join(svc["CapabilityBoundingSet"], " "))
	if len(caps) == 0 {
		t.Fatal("unit has no CapabilityBoundingSet")
	}

	// Another user's process, as nginx's workers are www-data's.
	sleeper := exec.Command("sleep", "600")
	sleeper.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}, Pdeathsig: syscall.SIGKILL}
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })

	var dirs []string
	for _, parent := range []string{"/etc", "/var/lib"} {
		d, err := os.MkdirTemp(parent, "ebpfvrrp-unit-test-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		dirs = append(dirs, d)
	}
	env := []string{"CHILD_PID=" + strconv.Itoa(sleeper.Process.Pid), "CHILD_DIRS=" + strings.Join(dirs, " ")}

	for _, c := range scriptCases {
		t.Run(c.name, func(t *testing.T) {
			if out, err := runConfined(t, svc, caps, c.name, env); err != nil {
				t.Fatalf("under the unit's confinement: %v\n%s", err, out)
			}
			for _, drop := range c.needs {
				fewer := slices.DeleteFunc(slices.Clone(caps), func(x string) bool { return x == drop })
				if out, err := runConfined(t, svc, fewer, c.name, env); err == nil {
					t.Errorf("succeeded without %s, so the unit would not need it:\n%s", drop, out)
				}
			}
		})
	}
	t.Run("control: ProtectSystem=strict refuses the notify script", func(t *testing.T) {
		strict := map[string][]string{"ProtectSystem": {"strict"}, "NoNewPrivileges": svc["NoNewPrivileges"]}
		if out, err := runConfined(t, strict, caps, scriptCases[2].name, env); err == nil {
			t.Errorf("the notify script wrote under /etc with ProtectSystem=strict emulated: the emulation does nothing\n%s", out)
		}
	})
}

// runConfined runs the script case name in a child of this test binary, in a
// new mount namespace with svc's mount protections, under setpriv with the
// bounding set caps (root keeps them as its permitted set, as under systemd).
func runConfined(t *testing.T, svc map[string][]string, caps []string, name string, env []string) ([]byte, error) {
	t.Helper()
	priv := setpriv(caps)
	if slices.Contains(svc["NoNewPrivileges"], "yes") {
		priv = append(priv, "--no-new-privs")
	}
	priv = append(priv, "--", os.Args[0], "-test.run=^TestScriptChild$", "-test.count=1", "-test.v")
	script := strings.Join(append(mountProtections(svc), "exec "+shellJoin(priv)), "\n")
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-ec", script)
	cmd.Env = append(append(os.Environ(), envScriptChild+"="+name), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd.CombinedOutput()
}

// setpriv is the setpriv command that leaves root only the capabilities caps
// ("CAP_BPF") in its bounding set, as the unit's CapabilityBoundingSet does.
func setpriv(caps []string) []string {
	var set []string
	for _, c := range caps {
		set = append(set, "+"+strings.ToLower(strings.TrimPrefix(c, "CAP_")))
	}
	return []string{"setpriv", "--bounding-set=-all," + strings.Join(set, ","), "--inh-caps=-all"}
}

// mountProtections returns the shell commands that make the mounts look as
// systemd makes them for the unit (systemd.exec(5)): ProtectSystem= yes
// (/usr, /boot, /efi read-only), full (and /etc) or strict (all of /, but /dev,
// /proc and /sys as the API file systems they are), ProtectHome= yes or
// read-only, ReadOnlyPaths=, and ReadWritePaths= made writable again.
func mountProtections(svc map[string][]string) []string {
	last := func(k string) string {
		if v := svc[k]; len(v) > 0 {
			return v[len(v)-1]
		}
		return ""
	}
	var ro []string
	switch last("ProtectSystem") {
	case "yes", "true":
		ro = []string{"/usr", "/boot", "/efi"}
	case "full":
		ro = []string{"/usr", "/boot", "/efi", "/etc"}
	case "strict":
		ro = []string{"/"}
	}
	switch last("ProtectHome") {
	case "yes", "true", "read-only":
		ro = append(ro, "/home", "/root", "/run/user")
	}
	ro = append(ro, strings.Fields(strings.Join(svc["ReadOnlyPaths"], " "))...)
	var cmds []string
	for _, p := range ro {
		// Bind onto itself, then remount that bind read-only; absent paths
		// (/efi) are skipped, as systemd skips them.
		cmds = append(cmds, fmt.Sprintf("if [ -e %[1]s ]; then mount --rbind %[1]s %[1]s && mount -o remount,bind,ro %[1]s; fi", p))
	}
	for _, p := range strings.Fields(strings.Join(svc["ReadWritePaths"], " ")) {
		p = strings.TrimPrefix(p, "-")
		cmds = append(cmds, fmt.Sprintf("if [ -e %[1]s ]; then mount --bind %[1]s %[1]s && mount -o remount,bind,rw %[1]s; fi", p))
	}
	return cmds
}

func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}
