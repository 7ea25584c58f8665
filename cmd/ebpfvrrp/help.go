package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

type helpFlags struct{ man, completion bool }

func newHelpFlagSet(env Env) *flag.FlagSet {
	fs, _ := newHelpFlags(env)
	return fs
}

func newHelpFlags(env Env) (*flag.FlagSet, *helpFlags) {
	fs := newFlagSet("help", "help [--man | --bash-completion]", env)
	f := &helpFlags{}
	fs.BoolVar(&f.man, "man", false, "print the man page ebpfvrrp(8), in roff")
	fs.BoolVar(&f.completion, "bash-completion", false, "print the bash completion script")
	return fs, f
}

func cmdHelp(_ context.Context, args []string, env Env) error {
	fs, f := newHelpFlags(env)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case f.man && f.completion:
		return fmt.Errorf("%w: --man or --bash-completion, not both", errUsage)
	case f.man:
		return writeMan(env.Stdout, env)
	case f.completion:
		return writeBashCompletion(env.Stdout, env)
	}
	fmt.Fprint(env.Stdout, usage())
	return nil
}

// option is one flag as the man page and the completion show it: keepalived's
// short and long names of one option are one entry.
type option struct {
	names []string // "-f", "--use-file"; ebpfvrrp's own flags: "--config"
	arg   string   // FILE, DIR...; "" for a boolean
	usage string
	def   string
}

// options lists fs's flags in order of their first name, keepalived's after
// ebpfvrrp's own.
func options(fs *flag.FlagSet) (own, keepalived []option) {
	byUsage := map[string]*option{}
	var order []*option
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			arg = ""
		} else if arg == "value" {
			arg = "VALUE"
		}
		name := "--" + f.Name
		if len(f.Name) == 1 {
			name = "-" + f.Name
		}
		key := usage + "\x00" + arg
		if o, ok := byUsage[key]; ok && strings.HasPrefix(usage, keepalivedUsagePrefix) {
			o.names = append(o.names, name)
			return
		}
		o := &option{names: []string{name}, arg: arg, usage: usage}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" {
			o.def = f.DefValue
		}
		byUsage[key] = o
		order = append(order, o)
	})
	for _, o := range order {
		// Short name first, as keepalived --help shows them.
		sort.Slice(o.names, func(i, j int) bool { return len(o.names[i]) < len(o.names[j]) })
		if strings.HasPrefix(o.usage, keepalivedUsagePrefix) {
			o.usage = strings.TrimPrefix(o.usage, keepalivedUsagePrefix)
			keepalived = append(keepalived, *o)
		} else {
			own = append(own, *o)
		}
	}
	sortOptions := func(os []option) {
		sort.SliceStable(os, func(i, j int) bool {
			return strings.TrimLeft(os[i].names[0], "-") < strings.TrimLeft(os[j].names[0], "-")
		})
	}
	sortOptions(own)
	sortOptions(keepalived)
	return own, keepalived
}

// roff escapes text for a man page: backslashes, and a leading dot or quote.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

func writeOption(w io.Writer, o option) {
	var head []string
	for _, n := range o.names {
		h := `\fB` + roff(n) + `\fR`
		if o.arg != "" {
			h += ` \fI` + roff(o.arg) + `\fR`
		}
		head = append(head, h)
	}
	fmt.Fprintf(w, ".TP\n%s\n%s", strings.Join(head, ", "), roff(o.usage))
	if o.def != "" {
		fmt.Fprintf(w, " (default: %s)", roff(o.def))
	}
	fmt.Fprintln(w)
}

// manDate is the man page's date: SOURCE_DATE_EPOCH's (make deb sets it to the
// commit's), so the package builds reproducibly; today's without it.
func manDate(env Env) string {
	if s := env.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		if sec, err := strconv.ParseInt(s, 10, 64); err == nil {
			return time.Unix(sec, 0).UTC().Format(time.DateOnly)
		}
	}
	return time.Now().UTC().Format(time.DateOnly)
}

func writeMan(w io.Writer, env Env) error {
	discard := Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: env.Getenv}
	fmt.Fprintf(w, ".TH EBPFVRRP 8 %q \"ebpfvrrp %s\" \"System Administration\"\n", manDate(env), roff(version))
	fmt.Fprint(w, `.SH NAME
ebpfvrrp \- VRRP daemon with an XDP receive path, a drop\-in for keepalived's VRRP
.SH SYNOPSIS
`)
	for _, c := range commands {
		fmt.Fprintf(w, ".B ebpfvrrp %s\n", roff(c.name))
		if c.args != "" {
			fmt.Fprintf(w, ".I %s\n", roff(c.args))
		}
		fmt.Fprintln(w, ".br")
	}
	fmt.Fprint(w, `.B ebpfvrrp
[\fIkeepalived options\fR] \fB\-f\fR \fIFILE\fR
.SH DESCRIPTION
.B ebpfvrrp
runs VRRP (RFC 3768 and RFC 5798; IPv4 and IPv6) for pairs of load\-balancer hosts.
Adverts are received, validated and authenticated by an XDP program (TC where XDP
cannot attach), which also runs the Master_Down timer; the controller in user space
adds and removes the virtual addresses, sends adverts and runs trackers and notify
scripts. It reads its own YAML, TOML or JSON, or keepalived.conf (recognised by its
content), and answers to keepalived's command line.
.SH COMMANDS
`)
	for _, c := range commands {
		fmt.Fprintf(w, ".SS \"ebpfvrrp %s\"\n%s.\n", roff(strings.TrimSpace(c.name+" "+c.args)), roff(c.summary))
		if c.flags == nil {
			continue
		}
		own, _ := options(c.flags(discard))
		if len(own) > 0 {
			fmt.Fprintln(w, ".RS")
			for _, o := range own {
				writeOption(w, o)
			}
			fmt.Fprintln(w, ".RE")
		}
	}
	_, ka := options(lookupCommand("run").flags(discard))
	fmt.Fprint(w, `.SH KEEPALIVED OPTIONS
Called with options and no command, or with
.BR run ,
ebpfvrrp takes keepalived's options beside its own, so units and scripts written for
keepalived keep working. Short options cluster as with getopt (\fB\-nlD\fR,
\fB\-f\fR\fIFILE\fR).
`)
	for _, o := range ka {
		writeOption(w, o)
	}
	fmt.Fprintf(w, `.SH SIGNALS
.TP
.B SIGTERM, SIGINT
Hand over and stop: priority\-0 adverts (the Backup takes over after Skew_Time),
the virtual addresses removed, the receive path detached.
.TP
.B SIGHUP
Reload the config. Unchanged instances keep their state; a config that does not
validate is rejected and the running one stays.
.SH SYSTEMD
Under a unit with \fBType=notify\fR the daemon sends READY=1 once the receive path
is attached on every interface and every instance has started, STATUS= with the
instances by state (and a rejected reload), and with \fBWatchdogSec=\fR WATCHDOG=1
from the controller's own advert loop.
.SH EXIT STATUS
0 on success; 1 on failure; 2 on a usage error. With \fB\-t\fR, as keepalived:
0 when the config is valid, %d with the problems on stderr, %d for keepalived's script
security.
.SH FILES
.TP
.I /etc/ebpfvrrp/ebpfvrrp.yaml
The config the systemd unit runs.
.TP
.I /etc/keepalived/keepalived.conf
keepalived's config, read as it is (\fBebpfvrrp \-f\fR without a file).
.TP
.I /sys/fs/bpf/ebpfvrrp
The pinned maps and links of the receive path.
.TP
.I /run/ebpfvrrp/ebpfvrrp.sock
The control socket \fBebpfvrrp status\fR asks.
.TP
.I /usr/share/doc/ebpfvrrp/examples
Example configs: ebpfvrrp YAML, keepalived.conf, Prometheus rules, a Grafana dashboard.
.SH SEE ALSO
.BR keepalived (8),
.BR keepalived.conf (5),
.BR systemd.service (5),
.BR bpftool (8)
`, exitConfigTest, exitConfigTestSecurity)
	return nil
}

func writeBashCompletion(w io.Writer, env Env) error {
	discard := Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: env.Getenv}
	var names []string
	for _, c := range commands {
		names = append(names, c.name)
	}
	fmt.Fprintf(w, "# bash completion for ebpfvrrp %s, generated by `ebpfvrrp help --bash-completion`.\n", version)
	fmt.Fprint(w, `_ebpfvrrp() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    local cmd=${COMP_WORDS[1]} opts fileopts
    case $cmd in
`)
	runOpts, runFileOpts := "", ""
	for _, c := range commands {
		var opts, fileOpts []string
		if c.flags != nil {
			own, ka := options(c.flags(discard))
			for _, o := range append(own, ka...) {
				opts = append(opts, o.names...)
				if isPathArg(o.arg) {
					fileOpts = append(fileOpts, o.names...)
				}
			}
		}
		if c.name == "run" {
			runOpts, runFileOpts = strings.Join(opts, " "), "|"+strings.Join(fileOpts, "|")+"|"
		}
		fmt.Fprintf(w, "    %s) opts=%q; fileopts=%q ;;\n", c.name, strings.Join(opts, " "), "|"+strings.Join(fileOpts, "|")+"|")
	}
	// No command yet, or keepalived's options straight after the program name.
	fmt.Fprintf(w, "    *) opts=%q; fileopts=%q ;;\n", runOpts, runFileOpts)
	fmt.Fprintf(w, `    esac
    if [[ $fileopts == *"|$prev|"* ]]; then
        COMPREPLY=($(compgen -f -- "$cur"))
        return
    fi
    if (( COMP_CWORD == 1 )) && [[ $cur != -* ]]; then
        COMPREPLY=($(compgen -W %q -- "$cur"))
        return
    fi
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return
    fi
    COMPREPLY=($(compgen -f -- "$cur"))
}
complete -o filenames -F _ebpfvrrp ebpfvrrp
`, strings.Join(names, " "))
	return nil
}

func isPathArg(arg string) bool {
	switch arg {
	case "FILE", "DIR", "PATH":
		return true
	}
	return false
}
