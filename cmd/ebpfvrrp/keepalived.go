package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"

	"github.com/ebpfvrrp/ebpfvrrp/config"
	"github.com/ebpfvrrp/ebpfvrrp/internal/hooks"
)

// keepalived's command line, accepted beside ebpfvrrp's own so that unit files,
// Ansible roles and runbooks written for keepalived keep working. The names and
// argument shapes are keepalived 2.2's (keepalived --help).

// keepalivedDefaultConfig is where keepalived looks without -f.
const keepalivedDefaultConfig = "/etc/keepalived/keepalived.conf"

// Exit codes of `keepalived -t` (keepalived's enum keepalived_exit_t).
const (
	exitConfigTest         = 5 // KEEPALIVED_EXIT_CONFIG_TEST: the config has errors
	exitConfigTestSecurity = 6 // KEEPALIVED_EXIT_CONFIG_TEST_SECURITY: script security
)

// exitError ends the process with code after its message (if any) was printed.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// argKind is how a keepalived option takes its argument (getopt_long's has_arg).
type argKind int

const (
	noArg argKind = iota
	requiredArg
	optionalArg // only as --long=VALUE or -xVALUE, as getopt does
)

// ignoredOption is a keepalived option that has no meaning for ebpfvrrp. It is
// accepted, so a keepalived command line starts the daemon, with a warning saying
// it does nothing.
type ignoredOption struct {
	short, long string
	arg         argKind
	why         string
}

var ignoredOptions = []ignoredOption{
	{"P", "vrrp", noArg, "ebpfvrrp is only the VRRP subsystem"},
	{"C", "check", noArg, "ebpfvrrp has no health checker (LVS/IPVS)"},
	{"B", "no_bfd", noArg, "ebpfvrrp has no BFD subsystem"},
	{"", "all", noArg, "ebpfvrrp has no child processes"},
	{"S", "log-facility", requiredArg, "ebpfvrrp logs to stderr (the journal under systemd), not to syslog"},
	{"G", "no-syslog", noArg, "ebpfvrrp never logs via syslog"},
	{"u", "umask", requiredArg, "set UMask= in the unit instead"},
	{"X", "release-vips", noArg, "ebpfvrrp removes the VIPs whenever an instance stops being Master"},
	{"V", "dont-release-vrrp", noArg, "ebpfvrrp always removes its VIPs when it stops"},
	{"I", "dont-release-ipvs", noArg, "ebpfvrrp has no IPVS topology"},
	{"R", "dont-respawn", noArg, "ebpfvrrp has no child processes to respawn; use the unit's Restart="},
	{"d", "dump-conf", noArg, "use `ebpfvrrp convert FILE` to print the configuration"},
	{"c", "checkers_pid", requiredArg, "ebpfvrrp has no checker process"},
	{"a", "address-monitoring", noArg, "not implemented"},
	{"b", "bfd_pid", requiredArg, "ebpfvrrp has no BFD process"},
	{"x", "snmp", noArg, "ebpfvrrp has no SNMP agent; use the Prometheus /metrics endpoint"},
	{"A", "snmp-agent-socket", requiredArg, "ebpfvrrp has no SNMP agent"},
	{"s", "namespace", requiredArg, "run ebpfvrrp in the namespace instead (nsenter --net=/run/netns/NAME)"},
	{"m", "core-dump", noArg, "set LimitCORE= in the unit instead"},
	{"M", "core-dump-pattern", optionalArg, "set kernel.core_pattern with sysctl instead"},
	{"e", "all-config", noArg, "a missing include is always an error for ebpfvrrp"},
	{"i", "config-id", requiredArg, "config-id lines (@id) are not supported"},
	{"", "signum", requiredArg, "ebpfvrrp reloads on SIGHUP and stops on SIGTERM"},
}

// keepalivedFlags are the keepalived options ebpfvrrp honours.
type keepalivedFlags struct {
	configTest  bool
	testLog     string // -t's optional LOG_FILE
	version     bool
	logDetail   bool
	pidFiles    []string
	ignoredUsed []string // warnings for the ignored options given
}

// configTestFlag is -t/--config-test[=LOG_FILE]: a boolean flag whose optional
// value names the file the report goes to.
type configTestFlag struct{ k *keepalivedFlags }

func (f configTestFlag) IsBoolFlag() bool  { return true }
func (f configTestFlag) String() string    { return "" }
func (f configTestFlag) optionalArg() bool { return true }
func (f configTestFlag) Set(v string) error {
	f.k.configTest = true
	if v != "true" {
		f.k.testLog = v
	}
	return nil
}

// ignoredFlag records that an ignored option was given.
type ignoredFlag struct {
	o ignoredOption
	k *keepalivedFlags
}

func (f ignoredFlag) IsBoolFlag() bool  { return f.o.arg != requiredArg }
func (f ignoredFlag) String() string    { return "" }
func (f ignoredFlag) optionalArg() bool { return f.o.arg == optionalArg }
func (f ignoredFlag) Set(string) error {
	f.k.ignoredUsed = append(f.k.ignoredUsed, fmt.Sprintf("keepalived option %s does nothing in ebpfvrrp: %s", optionName(f.o.short, f.o.long), f.o.why))
	return nil
}

// pidFlag collects pid files (-p and -r both name ebpfvrrp's one process).
type pidFlag struct{ k *keepalivedFlags }

func (f pidFlag) String() string { return "" }
func (f pidFlag) Set(v string) error {
	f.k.pidFiles = append(f.k.pidFiles, v)
	return nil
}

func optionName(short, long string) string {
	switch {
	case short == "":
		return "--" + long
	case long == "":
		return "-" + short
	}
	return "-" + short + "/--" + long
}

// keepalivedUsagePrefix marks the keepalived options in the flag listing and the
// man page.
const keepalivedUsagePrefix = "keepalived: "

// registerKeepalived adds keepalived's options to fs: the honoured ones under
// their short and long names, the others as ignored.
func registerKeepalived(fs *flag.FlagSet, rf *runFlags) {
	k := &rf.keepalived
	both := func(short, long string, fn func(name string)) {
		fn(short)
		fn(long)
	}
	both("f", "use-file", func(n string) {
		fs.StringVar(&rf.config, n, "", keepalivedUsagePrefix+"the config `FILE` (same as --config; default "+keepalivedDefaultConfig+" when ebpfvrrp is called with keepalived's options and no subcommand)")
	})
	both("t", "config-test", func(n string) {
		fs.Var(configTestFlag{k}, n, keepalivedUsagePrefix+"check the config and exit as keepalived -t does: 0 if valid, 5 with the problems on stderr (or in =LOG_FILE), 6 for keepalived's script security")
	})
	both("n", "dont-fork", func(n string) {
		fs.Bool(n, false, keepalivedUsagePrefix+"stay in the foreground (ebpfvrrp never forks; accepted for keepalived's unit)")
	})
	both("l", "log-console", func(n string) {
		fs.Bool(n, false, keepalivedUsagePrefix+"log to the console (ebpfvrrp always logs to stderr)")
	})
	both("D", "log-detail", func(n string) {
		fs.BoolVar(&k.logDetail, n, false, keepalivedUsagePrefix+"detailed log messages: --log-level debug unless --log-level is given")
	})
	both("p", "pid", func(n string) {
		fs.Var(pidFlag{k}, n, keepalivedUsagePrefix+"write the daemon's pid to `FILE` (removed on a clean exit)")
	})
	both("r", "vrrp_pid", func(n string) {
		fs.Var(pidFlag{k}, n, keepalivedUsagePrefix+"write the pid of the VRRP process, which is the daemon itself, to `FILE`")
	})
	both("v", "version", func(n string) {
		fs.BoolVar(&k.version, n, false, keepalivedUsagePrefix+"print the version and exit")
	})
	for _, o := range ignoredOptions {
		usage := keepalivedUsagePrefix + "accepted and ignored with a warning: " + o.why
		if o.short != "" {
			fs.Var(ignoredFlag{o, k}, o.short, usage)
		}
		fs.Var(ignoredFlag{o, k}, o.long, usage)
	}
}

// expandShortOptions rewrites getopt-style clusters the flag package does not
// parse: "-nlD" becomes "-n -l -D", "-fFILE" becomes "-f FILE". An argument that
// is itself a defined flag (-config, -pin-path) is left alone, and so is
// everything after "--".
func expandShortOptions(fs *flag.FlagSet, args []string) []string {
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) < 3 || a[0] != '-' || a[1] == '-' || strings.Contains(a, "=") || fs.Lookup(a[1:]) != nil {
			out = append(out, a)
			continue
		}
		var expanded []string
		ok := true
		for j := 1; j < len(a); j++ {
			f := fs.Lookup(a[j : j+1])
			if f == nil {
				ok = false
				break
			}
			if b, isBool := f.Value.(interface{ IsBoolFlag() bool }); isBool && b.IsBoolFlag() {
				if o, ok := f.Value.(interface{ optionalArg() bool }); ok && o.optionalArg() && j+1 < len(a) {
					expanded = append(expanded, "-"+a[j:j+1]+"="+a[j+1:])
					break
				}
				expanded = append(expanded, "-"+a[j:j+1])
				continue
			}
			// An option with an argument takes the rest of the cluster.
			expanded = append(expanded, "-"+a[j:j+1])
			if j+1 < len(a) {
				expanded = append(expanded, a[j+1:])
			}
			break
		}
		if !ok {
			out = append(out, a)
			continue
		}
		out = append(out, expanded...)
	}
	return out
}

// configTest is `ebpfvrrp -t -f FILE`: it loads and validates FILE as the daemon
// would, then does what keepalived -t adds: the interfaces must exist, unknown
// keywords are errors, scripts must exist and be executable, and a
// keepalived.conf that runs scripts must enable script security (and then pass
// its checks). Problems go to w; the result is keepalived's exit code.
//
// keepalived also refuses the loopback interface; ebpfvrrp runs on lo, so -t
// accepts it.
//
// One deliberate difference: keepalived 2.2.7 exits 0 when FILE does not exist
// (it prints "Config files missing"); ebpfvrrp exits 5, since a unit that checks
// a config before a reload must not go ahead without one.
func configTest(path string, w io.Writer) int {
	cfg, err := config.Load(path)
	if err != nil {
		var ve *config.ValidationError
		if errors.As(err, &ve) {
			for _, p := range ve.Problems {
				fmt.Fprintf(w, "error: %s\n", p)
			}
			fmt.Fprintf(w, "%s: %d problem(s)\n", path, len(ve.Problems))
		} else {
			fmt.Fprintf(w, "error: %v\n", err)
		}
		return exitConfigTest
	}
	var probs []string
	for _, wn := range cfg.Warnings {
		if wn.UnknownKeyword {
			probs = append(probs, fmt.Sprintf("%s:%d: %s", wn.File, wn.Line, wn.Message))
			continue
		}
		fmt.Fprintf(w, "warning: %s\n", warningText(wn))
	}
	probs = append(probs, missingInterfaces(cfg)...)
	probs = append(probs, unknownUsers(cfg)...)
	scripts, missing := configScripts(cfg)
	missing = append(probs, missing...)
	if cfg.Keepalived && cfg.ScriptSecurity {
		missing = append(missing, scriptSecurityProblems(cfg, scripts)...)
	}
	for _, m := range missing {
		fmt.Fprintf(w, "error: %s\n", m)
	}
	if len(missing) > 0 {
		return exitConfigTest
	}
	if cfg.Keepalived && len(scripts) > 0 && !cfg.ScriptSecurity {
		fmt.Fprintf(w, "error: SECURITY VIOLATION - scripts are being executed but script_security not enabled (add enable_script_security to global_defs; keepalived -t fails here too)\n")
		return exitConfigTestSecurity
	}
	return 0
}

// configScripts returns the scripts cfg runs (trackers and notify hooks) and a
// problem for each one that is not an executable file, as keepalived's "not
// found/accessible".
func configScripts(cfg *config.Config) (scripts []script, missing []string) {
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
	notify := func(owner string, nf config.Notify) {
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
func unknownUsers(cfg *config.Config) []string {
	specs := map[string]string{"script_user": cfg.ScriptUser,
		"notify_fifo user": cfg.NotifyFIFO.User, "vrrp_notify_fifo user": cfg.VRRPNotifyFIFO.User}
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
			if _, err := hooks.Credential(spec); err != nil {
				probs = append(probs, fmt.Sprintf("%s %q: %v", what, spec, err))
			}
		}
	}
	return probs
}

// missingInterfaces names the interfaces cfg uses that this host (this network
// namespace) does not have: keepalived -t checks them, the daemon could not start.
func missingInterfaces(cfg *config.Config) []string {
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

// script is one script a config runs: what runs it, its resolved path ("" for
// a shell command line) and the user it runs as ("": script_user).
type script struct{ what, path, user string }

// scriptSecurityProblems applies keepalived's enable_script_security rules: every
// script needs a user to run as (script_user, its own, or an existing
// keepalived_script), and neither the script nor a directory above it may be
// writable by anyone but root (a sticky directory such as /tmp excepted).
func scriptSecurityProblems(cfg *config.Config, scripts []script) []string {
	var probs []string
	for _, sc := range scripts {
		if sc.user == "" && cfg.ScriptUser == "" {
			if _, err := user.Lookup(config.KeepalivedScriptUser); err != nil {
				probs = append(probs, fmt.Sprintf("%s: unable to set default user %s for script (set script_user in global_defs)", sc.what, config.KeepalivedScriptUser))
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
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return ""
		}
		mode := fi.Mode()
		lockedDir := mode.IsDir() && mode&os.ModeSticky != 0
		switch {
		case st.Uid != 0:
			return fmt.Sprintf("%s is owned by uid %d, not root", p, st.Uid)
		case !lockedDir && mode.Perm()&0o002 != 0:
			return fmt.Sprintf("%s is writable by everyone", p)
		case !lockedDir && st.Gid != 0 && mode.Perm()&0o020 != 0:
			return fmt.Sprintf("%s is writable by group %d", p, st.Gid)
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

// runConfigTest runs configTest for the keepalived -t flags: the report goes to
// stderr, or to -t's LOG_FILE.
func runConfigTest(path string, k keepalivedFlags, env Env) error {
	w := env.Stderr
	if k.testLog != "" {
		f, err := os.OpenFile(filepath.Clean(k.testLog), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return fmt.Errorf("--config-test=%s: %w", k.testLog, err)
		}
		defer f.Close()
		w = f
	}
	for _, msg := range k.ignoredUsed {
		fmt.Fprintf(w, "warning: %s\n", msg)
	}
	if code := configTest(path, w); code != 0 {
		return exitError{code}
	}
	return nil
}
