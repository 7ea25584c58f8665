package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ebpfvrrp/ebpfvrrp/config"
	"github.com/ebpfvrrp/ebpfvrrp/internal/cli"
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
func (f configTestFlag) OptionalArg() bool { return true }
func (f configTestFlag) Set(v string) error {
	f.k.configTest = true
	if v != "true" {
		f.k.testLog = v
	}
	return nil
}

// The getopt options with an optional argument (-tLOG_FILE, -Mcore).
var _, _ cli.OptionalArg = configTestFlag{}, ignoredFlag{}

// ignoredFlag records that an ignored option was given.
type ignoredFlag struct {
	o ignoredOption
	k *keepalivedFlags
}

func (f ignoredFlag) IsBoolFlag() bool  { return f.o.arg != requiredArg }
func (f ignoredFlag) String() string    { return "" }
func (f ignoredFlag) OptionalArg() bool { return f.o.arg == optionalArg }
func (f ignoredFlag) Set(string) error {
	f.k.ignoredUsed = append(f.k.ignoredUsed, fmt.Sprintf("keepalived option %s does nothing in ebpfvrrp: %s", cli.OptionName(f.o.short, f.o.long), f.o.why))
	return nil
}

// pidFlag collects pid files (-p and -r both name ebpfvrrp's one process).
type pidFlag struct{ k *keepalivedFlags }

func (f pidFlag) String() string { return "" }
func (f pidFlag) Set(v string) error {
	f.k.pidFiles = append(f.k.pidFiles, v)
	return nil
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

// configTest is `ebpfvrrp -t -f FILE`: it loads and validates FILE as the daemon
// would, then does what keepalived -t adds: unknown keywords are errors, and the
// config must run on this host (config.CheckHost). Problems go to w; the result
// is keepalived's exit code.
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
	var errs []string
	for _, wn := range cfg.Warnings {
		if wn.UnknownKeyword {
			errs = append(errs, fmt.Sprintf("%s:%d: %s", wn.File, wn.Line, wn.Message))
			continue
		}
		fmt.Fprintf(w, "warning: %s\n", warningText(wn))
	}
	host := config.CheckHost(cfg)
	// keepalived reports script security only for a config without errors.
	code := exitConfigTest
	if errs = append(errs, host.Of(config.HostConfigError)...); len(errs) == 0 {
		errs, code = host.Of(config.HostScriptSecurity), exitConfigTestSecurity
	}
	for _, e := range errs {
		fmt.Fprintf(w, "error: %s\n", e)
	}
	if len(errs) > 0 {
		return code
	}
	return 0
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
