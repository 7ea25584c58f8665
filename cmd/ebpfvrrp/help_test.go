package main

import (
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebpfvrrp/ebpfvrrp/internal/cli"
	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

// TestManPageCoversTheCLI: the man page names every command and every flag of
// every command (it is generated from them; this guards the generator).
func TestManPageCoversTheCLI(t *testing.T) {
	man, errOut, err := runCLI(t, "help", "--man")
	if err != nil {
		t.Fatalf("help --man: %v\n%s", err, errOut)
	}
	if !strings.HasPrefix(man, ".TH EBPFVRRP 8 ") {
		t.Fatalf("not a section 8 man page:\n%.200s", man)
	}
	discard := Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }}
	for _, c := range commands {
		if !strings.Contains(man, `.SS "ebpfvrrp `+cli.Roff(c.name)) {
			t.Errorf("man page has no section for %s", c.name)
		}
		if c.flags == nil {
			continue
		}
		c.flags(discard).VisitAll(func(f *flag.Flag) {
			name := "--" + f.Name
			if len(f.Name) == 1 {
				name = "-" + f.Name
			}
			if !strings.Contains(man, `\fB`+cli.Roff(name)+`\fR`) {
				t.Errorf("man page lacks %s %s", c.name, name)
			}
		})
	}
	// keepalived's options come as short/long pairs, never merged with another.
	_, ka := cli.Options(lookupCommand("run").flags(discard), keepalivedUsagePrefix)
	for _, o := range ka {
		if len(o.Names) > 2 || (len(o.Names) == 2 && (len(o.Names[0]) != 2 || !strings.HasPrefix(o.Names[1], "--"))) {
			t.Errorf("keepalived option entry %v: want one short and one long name", o.Names)
		}
	}
	for _, ig := range ignoredOptions {
		if !strings.Contains(man, `\fB`+cli.Roff("--"+ig.long)+`\fR`) {
			t.Errorf("man page lacks keepalived's --%s", ig.long)
		}
	}
	// man renders it without a warning.
	if _, err := exec.LookPath("man"); err != nil {
		if testutil.PrivilegedEnabled() {
			t.Fatalf("man not found (Debian package man-db, installed by `make deps`)")
		}
		t.Skip("man not installed (Debian package man-db): rendering not checked")
	}
	p := filepath.Join(t.TempDir(), "ebpfvrrp.8")
	if err := os.WriteFile(p, []byte(man), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("man", "--warnings", "-l", p)
	cmd.Env = append(os.Environ(), "MANWIDTH=80")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("man -l: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{"KEEPALIVED OPTIONS", "--use-file", "--config-test"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("rendered man page lacks %q", want)
		}
	}
}

// TestBashCompletion: the script parses, and completes commands, a command's
// flags and keepalived's options.
func TestBashCompletion(t *testing.T) {
	script, errOut, err := runCLI(t, "help", "--bash-completion")
	if err != nil {
		t.Fatalf("help --bash-completion: %v\n%s", err, errOut)
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	p := filepath.Join(t.TempDir(), "ebpfvrrp")
	if err := os.WriteFile(p, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		words string
		want  string
	}{
		{"ebpfvrrp sta", "status"},
		{"ebpfvrrp status --js", "--json"},
		{"ebpfvrrp --use-", "--use-file"},
		{"ebpfvrrp run --pin-", "--pin-path"},
	} {
		t.Run(tc.words, func(t *testing.T) {
			words := strings.Fields(tc.words)
			prog := `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _ebpfvrrp; printf '%s\n' "${COMPREPLY[@]}"`
			out, err := exec.Command("bash", append([]string{"-c", prog, "bash", p}, words...)...).CombinedOutput()
			if err != nil {
				t.Fatalf("bash: %v\n%s", err, out)
			}
			if got := strings.Fields(string(out)); len(got) != 1 || got[0] != tc.want {
				t.Errorf("completing %q: %q, want %q", tc.words, got, tc.want)
			}
		})
	}
}
