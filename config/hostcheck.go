package config

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// CheckHost is what keepalived -t checks beyond a valid config: whether cfg
// runs on this host (this network namespace). The interfaces it names must
// exist, and the scripts it runs (trackers, notify hooks) must be executable
// files; a keepalived.conf that runs scripts must enable script security, and
// then pass its checks (a user to run each script as, no script or directory
// above it writable by others than root).
//
// keepalived also refuses the loopback interface; ebpfvrrp runs on lo, so
// CheckHost accepts it.
func CheckHost(cfg *Config) HostReport {
	var r HostReport
	r.add(HostConfigError, missingInterfaces(cfg))
	r.add(HostConfigError, unknownUsers(cfg))
	scripts, missing := configScripts(cfg)
	r.add(HostConfigError, missing)
	switch {
	case !cfg.Keepalived || len(scripts) == 0:
	case cfg.ScriptSecurity:
		r.add(HostConfigError, scriptSecurityProblems(cfg, scripts))
	default:
		r.add(HostScriptSecurity, []string{"SECURITY VIOLATION - scripts are being executed but script_security not enabled (add enable_script_security to global_defs; keepalived -t fails here too)"})
	}
	return r
}

// HostProblemKind is the verdict of keepalived -t a HostProblem gives.
type HostProblemKind int

const (
	// HostConfigError: the config cannot run here as written (a missing
	// interface or script, a script that script security refuses). keepalived -t
	// exits 5, KEEPALIVED_EXIT_CONFIG_TEST.
	HostConfigError HostProblemKind = iota + 1
	// HostScriptSecurity: a keepalived.conf runs scripts without
	// enable_script_security. keepalived -t exits 6,
	// KEEPALIVED_EXIT_CONFIG_TEST_SECURITY, when nothing else is wrong.
	HostScriptSecurity
)

// HostProblem is one finding of CheckHost.
type HostProblem struct {
	Kind    HostProblemKind
	Message string // "instance VI_1: interface eth9 doesn't exist"
}

func (p HostProblem) String() string { return p.Message }

// HostReport is what CheckHost found, in the order keepalived -t reports it.
type HostReport struct {
	Problems []HostProblem
}

// Of returns the messages of the problems of kind k, in order.
func (r HostReport) Of(k HostProblemKind) []string {
	var out []string
	for _, p := range r.Problems {
		if p.Kind == k {
			out = append(out, p.Message)
		}
	}
	return out
}

func (r *HostReport) add(k HostProblemKind, msgs []string) {
	for _, m := range msgs {
		r.Problems = append(r.Problems, HostProblem{Kind: k, Message: m})
	}
}

// script is one script a config runs: what runs it, its resolved path ("" for
// a shell command line) and the user it runs as ("": script_user).
type script struct{ what, path, user string }

// configScripts returns the scripts cfg runs (trackers and notify hooks) and a
// problem for each one that is not an executable file, as keepalived's "not
// found/accessible".
func configScripts(cfg *Config) (scripts []script, missing []string) {
	check := func(what string, argv []string, shell bool, user string) {
		if len(argv) == 0 {
			return
		}
		sc := script{what: what, user: user}
		if !shell { // a shell command line: sh finds its own commands
			p, err := exec.LookPath(argv[0])
			if err != nil {
				missing = append(missing, fmt.Sprintf("%s: script %s not found/accessible: %v", what, argv[0], unwrapExec(err)))
				return // keepalived disables it: it no longer counts as a script
			}
			sc.path = p
		}
		scripts = append(scripts, sc)
	}
	names := make([]string, 0, len(cfg.Trackers))
	for n := range cfg.Trackers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t := cfg.Trackers[n]
		check("tracker "+n, t.Command, t.Shell, t.User)
	}
	notify := func(owner string, nf Notify) {
		for _, h := range []struct {
			name string
			argv []string
		}{{"notify_master", nf.Master}, {"notify_backup", nf.Backup}, {"notify_fault", nf.Fault}, {"notify_stop", nf.Stop}, {"notify", nf.Generic}} {
			check(owner+" "+h.name, h.argv, nf.Shell, nf.User)
		}
	}
	for _, in := range cfg.Instances {
		notify("instance "+in.Name, in.Notify)
	}
	for _, g := range cfg.SyncGroups {
		notify("sync group "+g.Name, g.Notify)
	}
	return scripts, missing
}

// unknownUsers names the users and groups scripts are to run as that this host
// does not have: keepalived -t fails on them ("Error setting global script
// uid/gid"), and the daemon could not run those scripts.
func unknownUsers(cfg *Config) []string {
	specs := map[string]string{"script_user": cfg.ScriptUser,
		"notify_fifo.user": cfg.NotifyFIFO.User, "vrrp_notify_fifo.user": cfg.VRRPNotifyFIFO.User}
	for n, t := range cfg.Trackers {
		specs["tracker "+n+" user"] = t.User
	}
	for _, in := range cfg.Instances {
		specs["instance "+in.Name+" notify user"] = in.Notify.User
	}
	for _, g := range cfg.SyncGroups {
		specs["sync group "+g.Name+" notify user"] = g.Notify.User
	}
	var probs []string
	for _, what := range slices.Sorted(maps.Keys(specs)) {
		if spec := specs[what]; spec != "" {
			if _, _, err := LookupRunAs(spec); err != nil {
				probs = append(probs, fmt.Sprintf("%s %q: %v", what, spec, err))
			}
		}
	}
	return probs
}

// LookupRunAs resolves "USER[:GROUP]" (names or numeric ids) as keepalived's
// script_user / user USER [GROUP] does: the group is GROUP, else the user's
// primary group.
func LookupRunAs(spec string) (uid, gid uint32, err error) {
	name, group, _ := strings.Cut(spec, ":")
	u, err := user.Lookup(name)
	if err != nil {
		if u, err = user.LookupId(name); err != nil {
			return 0, 0, fmt.Errorf("look up user %q: %w", name, err)
		}
	}
	gidText := u.Gid
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			if g, err = user.LookupGroupId(group); err != nil {
				return 0, 0, fmt.Errorf("look up group %q: %w", group, err)
			}
		}
		gidText = g.Gid
	}
	u64, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("user %q uid %q: %w", name, u.Uid, err)
	}
	g64, err := strconv.ParseUint(gidText, 10, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("group of %q gid %q: %w", spec, gidText, err)
	}
	return uint32(u64), uint32(g64), nil
}

// missingInterfaces names the interfaces cfg uses that this host (this network
// namespace) does not have: keepalived -t checks them, the daemon could not start.
func missingInterfaces(cfg *Config) []string {
	var probs []string
	seen := map[string]bool{}
	for _, in := range cfg.Instances {
		names := []string{in.Interface}
		for _, p := range in.SecondaryPaths {
			names = append(names, p.Interface)
		}
		for _, n := range names {
			if n == "" || seen[n] {
				continue
			}
			seen[n] = true
			if _, err := net.InterfaceByName(n); err != nil {
				probs = append(probs, fmt.Sprintf("instance %s: interface %s doesn't exist", in.Name, n))
			}
		}
	}
	return probs
}

// scriptSecurityProblems applies keepalived's enable_script_security rules: every
// script needs a user to run as (script_user, its own, or an existing
// keepalived_script), and neither the script nor a directory above it may be
// writable by anyone but root (a sticky directory such as /tmp excepted).
func scriptSecurityProblems(cfg *Config, scripts []script) []string {
	var probs []string
	for _, sc := range scripts {
		if sc.user == "" && cfg.ScriptUser == "" {
			if _, err := user.Lookup(KeepalivedScriptUser); err != nil {
				probs = append(probs, fmt.Sprintf("%s: unable to set default user %s for script (set script_user in global_defs)", sc.what, KeepalivedScriptUser))
				continue
			}
		}
		if sc.path == "" {
			continue
		}
		if why := insecurePath(sc.path); why != "" {
			probs = append(probs, fmt.Sprintf("%s: script %s is insecure with enable_script_security: %s", sc.what, sc.path, why))
		}
	}
	return probs
}

// insecurePath returns why path, or a directory above it, could be changed by
// someone other than root: keepalived's check_script_secure.
func insecurePath(path string) string {
	for p := path; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err.Error()
		}
		uid, gid, ok := fileOwner(fi)
		if !ok {
			return ""
		}
		mode := fi.Mode()
		lockedDir := mode.IsDir() && mode&os.ModeSticky != 0
		switch {
		case uid != 0:
			return fmt.Sprintf("%s is owned by uid %d, not root", p, uid)
		case !lockedDir && mode.Perm()&0o002 != 0:
			return fmt.Sprintf("%s is writable by everyone", p)
		case !lockedDir && gid != 0 && mode.Perm()&0o020 != 0:
			return fmt.Sprintf("%s is writable by group %d", p, gid)
		}
		if p == "/" || p == "." {
			return ""
		}
	}
}

func unwrapExec(err error) error {
	var ee *exec.Error
	if errors.As(err, &ee) {
		return ee.Err
	}
	return err
}
