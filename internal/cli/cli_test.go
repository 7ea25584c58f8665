package cli

import (
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// optionalBool is a boolean flag with an optional argument, as -t[LOG_FILE].
type optionalBool struct{ v *string }

func (o optionalBool) IsBoolFlag() bool   { return true }
func (o optionalBool) String() string     { return "" }
func (o optionalBool) OptionalArg() bool  { return true }
func (o optionalBool) Set(v string) error { *o.v = v; return nil }

// testFlags: the program's own flags and a group ("other: ") of another
// program's, each of those under a short and a long name.
func testFlags() *flag.FlagSet {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.String("config", "", "config `FILE`")
	fs.String("pin-path", "/sys/fs/bpf/x", "bpffs `DIR`")
	fs.Duration("interval", 0, "how often")
	fs.Int("count", 3, "a number")
	var log string
	for _, n := range []string{"n", "dont-fork"} {
		fs.Bool(n, false, "other: stay in the foreground")
	}
	for _, n := range []string{"D", "log-detail"} {
		fs.Bool(n, false, "other: detail")
	}
	for _, n := range []string{"f", "use-file"} {
		fs.String(n, "", "other: the config `FILE`")
	}
	for _, n := range []string{"t", "config-test"} {
		fs.Var(optionalBool{&log}, n, "other: check the config")
	}
	return fs
}

func TestOptions(t *testing.T) {
	own, grouped := Options(testFlags(), "other: ")
	wantOwn := []Option{
		{Names: []string{"--config"}, Arg: "FILE", Usage: "config FILE"},
		{Names: []string{"--count"}, Arg: "int", Usage: "a number", Default: "3"},
		{Names: []string{"--interval"}, Arg: "duration", Usage: "how often"},
		{Names: []string{"--pin-path"}, Arg: "DIR", Usage: "bpffs DIR", Default: "/sys/fs/bpf/x"},
	}
	wantGrouped := []Option{
		{Names: []string{"-D", "--log-detail"}, Usage: "detail"},
		{Names: []string{"-f", "--use-file"}, Arg: "FILE", Usage: "the config FILE"},
		{Names: []string{"-n", "--dont-fork"}, Usage: "stay in the foreground"},
		{Names: []string{"-t", "--config-test"}, Usage: "check the config"},
	}
	if !reflect.DeepEqual(own, wantOwn) {
		t.Errorf("own:\n got %+v\nwant %+v", own, wantOwn)
	}
	if !reflect.DeepEqual(grouped, wantGrouped) {
		t.Errorf("grouped:\n got %+v\nwant %+v", grouped, wantGrouped)
	}
	// Without a group, nothing is merged: the short and long names are two.
	if own, grouped := Options(testFlags(), ""); len(own) != 12 || len(grouped) != 0 {
		t.Errorf("no group: %d own, %d grouped, want 12 and 0", len(own), len(grouped))
	}
}

func TestRoff(t *testing.T) {
	for in, want := range map[string]string{
		"--pin-path":        `\-\-pin\-path`,
		`C:\x`:              `C:\ex`,
		".starts with dot":  `\&.starts with dot`,
		"'quoted":           `\&'quoted`,
		"plain text, no op": "plain text, no op",
	} {
		if got := Roff(in); got != want {
			t.Errorf("Roff(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWriteMan(t *testing.T) {
	var b strings.Builder
	_, other := Options(testFlags(), "other: ")
	err := WriteMan(&b, Page{
		Program: "prog", Section: "8", Date: "2024-01-02", Source: `prog 1\-0`, Manual: "Admin",
		Name:     "does things",
		Commands: []Command{{Name: "run", Args: "--config FILE", Summary: "run it", Flags: testFlags}, {Name: "version", Summary: "print the version"}},
		Group:    "other: ", Synopsis: ".B prog\n[options]\n", Description: "It runs.\n",
		Sections: []Section{{Title: "OTHER OPTIONS", Text: "Also:\n", Options: other[:1]}, {Title: "SEE ALSO", Text: ".BR other (8)\n"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `.TH PROG 8 "2024-01-02" "prog 1\-0" "Admin"
.SH NAME
prog \- does things
.SH SYNOPSIS
.B prog run
.I \-\-config FILE
.br
.B prog version
.br
.B prog
[options]
.SH DESCRIPTION
It runs.
.SH COMMANDS
.SS "prog run \-\-config FILE"
run it.
.RS
.TP
\fB\-\-config\fR \fIFILE\fR
config FILE
.TP
\fB\-\-count\fR \fIint\fR
a number (default: 3)
.TP
\fB\-\-interval\fR \fIduration\fR
how often
.TP
\fB\-\-pin\-path\fR \fIDIR\fR
bpffs DIR (default: /sys/fs/bpf/x)
.RE
.SS "prog version"
print the version.
.SH OTHER OPTIONS
Also:
.TP
\fB\-D\fR, \fB\-\-log\-detail\fR
detail
.SH SEE ALSO
.BR other (8)
`
	if got := b.String(); got != want {
		t.Errorf("WriteMan:\n%s\nwant:\n%s", got, want)
	}
}

// TestWriteBashCompletion: bash completes the commands, a command's options
// (the group's too), and file names after an option that takes a FILE; options
// before any command complete as the default command's.
func TestWriteBashCompletion(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	var b strings.Builder
	cmds := []Command{{Name: "run", Flags: testFlags}, {Name: "status", Flags: func() *flag.FlagSet {
		fs := flag.NewFlagSet("status", flag.ContinueOnError)
		fs.Bool("json", false, "JSON")
		return fs
	}}, {Name: "version"}}
	if err := WriteBashCompletion(&b, "prog", cmds, "other: ", "run"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "prog")
	if err := os.WriteFile(script, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "only.conf"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for words, want := range map[string]string{
		"prog st":                            "status",
		"prog status --j":                    "--json",
		"prog run --use":                     "--use-file",
		"prog --dont":                        "--dont-fork",
		"prog run -f " + dir + "/on":         dir + "/only.conf",
		"prog run --pin-path " + dir + "/on": dir + "/only.conf",
	} {
		t.Run(words, func(t *testing.T) {
			w := strings.Fields(words)
			if strings.HasSuffix(words, " ") {
				w = append(w, "")
			}
			prog := `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _prog; printf '%s\n' "${COMPREPLY[@]}"`
			out, err := exec.Command("bash", append([]string{"-c", prog, "bash", script}, w...)...).CombinedOutput()
			if err != nil {
				t.Fatalf("bash: %v\n%s", err, out)
			}
			if got := strings.Fields(string(out)); len(got) != 1 || got[0] != want {
				t.Errorf("completing %q: %q, want %q", words, got, want)
			}
		})
	}
	if !strings.Contains(b.String(), "\ncomplete -o filenames -F _prog prog\n") {
		t.Errorf("the function is not registered for prog:\n%s", b.String())
	}
}

func TestExpandShortOptions(t *testing.T) {
	fs := testFlags()
	fs.Bool("l", false, "other: log to the console")
	for _, tc := range []struct{ in, want string }{
		{"-nlD -f x.conf", "-n -l -D -f x.conf"},
		{"-Dnfx.conf", "-D -n -f x.conf"},
		{"-tLOG -f x", "-t=LOG -f x"},
		{"-nt", "-n -t"},
		{"-config x -pin-path y", "-config x -pin-path y"}, // Go-style long flags stay
		{"--use-file=x --dont-fork", "--use-file=x --dont-fork"},
		{"-nq", "-nq"}, // -q is no flag: left for the parser to reject
		{"-n -- -lD", "-n -- -lD"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got := strings.Join(ExpandShortOptions(fs, strings.Fields(tc.in)), " ")
			if got != tc.want {
				t.Errorf("ExpandShortOptions(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestOptionName(t *testing.T) {
	for _, tc := range []struct{ short, long, want string }{
		{"C", "check", "-C/--check"}, {"", "all", "--all"}, {"x", "", "-x"},
	} {
		if got := OptionName(tc.short, tc.long); got != tc.want {
			t.Errorf("OptionName(%q, %q) = %q, want %q", tc.short, tc.long, got, tc.want)
		}
	}
}
