package config

import (
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCheckHost: each of keepalived -t's host checks, and the kind (exit code)
// its problem gives. lo exists on every host; the scripts are written here.
func TestCheckHost(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "check.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	notExec := filepath.Join(dir, "plain.sh")
	if err := os.WriteFile(notExec, []byte("exit 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Without script_user, keepalived_script runs the scripts: it must exist.
	var noScriptUser []HostProblem
	if _, err := user.Lookup(KeepalivedScriptUser); err != nil {
		noScriptUser = []HostProblem{{HostConfigError, "tracker chk: unable to set default user keepalived_script for script (set script_user in global_defs)"}}
	}
	tracker := func(argv ...string) map[string]Tracker { return map[string]Tracker{"chk": {Command: argv}} }
	lo := []Instance{{Name: "VI_1", Interface: "lo"}}
	for _, tc := range []struct {
		name string
		cfg  Config
		want []HostProblem
	}{
		{"valid YAML", Config{Instances: lo, Trackers: tracker(script)}, nil},
		{"missing interfaces, each named once", Config{Instances: []Instance{
			{Name: "VI_1", Interface: "nosuchif0", SecondaryPaths: []SecondaryPath{{Interface: "lo"}, {Interface: "nosuchif1"}}},
			{Name: "VI_2", Interface: "nosuchif0"},
		}}, []HostProblem{
			{HostConfigError, "instance VI_1: interface nosuchif0 doesn't exist"},
			{HostConfigError, "instance VI_1: interface nosuchif1 doesn't exist"},
		}},
		{"missing script", Config{Instances: lo, Trackers: tracker(filepath.Join(dir, "nonexistent.sh"))}, []HostProblem{
			{HostConfigError, "tracker chk: script " + filepath.Join(dir, "nonexistent.sh") + " not found/accessible: stat " + filepath.Join(dir, "nonexistent.sh") + ": no such file or directory"},
		}},
		{"script not executable", Config{Instances: []Instance{{Name: "VI_1", Interface: "lo", Notify: Notify{Master: []string{notExec}}}}}, []HostProblem{
			{HostConfigError, "instance VI_1 notify_master: script " + notExec + " not found/accessible: permission denied"},
		}},
		{"a shell line is not looked up", Config{Instances: lo, Trackers: map[string]Tracker{"chk": {Command: []string{"nosuchcmd && true"}, Shell: true}}}, nil},
		{"keepalived.conf running scripts without script security", Config{Keepalived: true, Instances: lo,
			SyncGroups: []SyncGroup{{Name: "G", Notify: Notify{Generic: []string{script}}}}}, []HostProblem{
			{HostScriptSecurity, "SECURITY VIOLATION - scripts are being executed but script_security not enabled (add enable_script_security to global_defs; keepalived -t fails here too)"},
		}},
		{"a missing script does not count as one run", Config{Keepalived: true, Instances: lo, Trackers: tracker(filepath.Join(dir, "nonexistent.sh"))}, []HostProblem{
			{HostConfigError, "tracker chk: script " + filepath.Join(dir, "nonexistent.sh") + " not found/accessible: stat " + filepath.Join(dir, "nonexistent.sh") + ": no such file or directory"},
		}},
		{"script security, no script user", Config{Keepalived: true, ScriptSecurity: true, Instances: lo, Trackers: tracker("/bin/sh")}, noScriptUser},
		{"script security, the tracker's own user", Config{Keepalived: true, ScriptSecurity: true, Instances: lo,
			Trackers: map[string]Tracker{"chk": {Command: []string{"/bin/sh"}, User: "root"}}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := CheckHost(&tc.cfg).Problems; !slices.Equal(got, tc.want) {
				t.Errorf("CheckHost:\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}

// TestCheckHostInsecureScript: with script security, a script others may write
// (or one in a directory they may) is a config error, as keepalived's
// check_script_secure makes it.
func TestCheckHostInsecureScript(t *testing.T) {
	dir := t.TempDir()
	insecure := filepath.Join(dir, "insecure.sh")
	if err := os.WriteFile(insecure, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(insecure, 0o757); err != nil { // past the umask
		t.Fatal(err)
	}
	cfg := Config{Keepalived: true, ScriptSecurity: true, ScriptUser: "root",
		Instances: []Instance{{Name: "VI_1", Interface: "lo"}}, Trackers: map[string]Tracker{"chk": {Command: []string{insecure}}}}
	r := CheckHost(&cfg)
	errs := r.Of(HostConfigError)
	if len(errs) != 1 || len(r.Problems) != 1 || !strings.HasPrefix(errs[0], "tracker chk: script "+insecure+" is insecure with enable_script_security: ") {
		t.Fatalf("CheckHost: %v, want the one insecure script", r.Problems)
	}
	// Owned by root, it is the mode that is named; owned by another user, the owner.
	want := insecure + " is writable by everyone"
	if os.Getuid() != 0 {
		want = "is owned by uid"
	}
	if !strings.Contains(errs[0], want) {
		t.Errorf("%q does not say %q", errs[0], want)
	}
	if why := insecurePath("/bin/sh"); why != "" {
		t.Errorf("insecurePath(/bin/sh) = %q, want secure (root's, in root's directories)", why)
	}
}
