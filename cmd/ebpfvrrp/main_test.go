package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var o, e bytes.Buffer
	err = run(context.Background(), args, Env{Stdout: &o, Stderr: &e, Getenv: func(string) string { return "" }})
	return o.String(), e.String(), err
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVersionAndHelp(t *testing.T) {
	out, _, err := runCLI(t, "version")
	if err != nil || !strings.HasPrefix(out, "ebpfvrrp ") {
		t.Fatalf("version: %q, %v", out, err)
	}
	out, _, err = runCLI(t, "--help")
	if err != nil || !strings.Contains(out, "ebpfvrrp run --config FILE") {
		t.Fatalf("--help: %q, %v", out, err)
	}
	_, _, err = runCLI(t, "frobnicate")
	if !errors.Is(err, errUsage) {
		t.Fatalf("unknown command: got %v, want usage error", err)
	}
	_, _, err = runCLI(t)
	if !errors.Is(err, errUsage) {
		t.Fatalf("no command: got %v, want usage error", err)
	}
}

func TestValidateExamples(t *testing.T) {
	files, _ := filepath.Glob("../../configs/*.yaml")
	kfiles, _ := filepath.Glob("../../configs/keepalived/*.conf")
	files = append(files, kfiles...)
	if len(files) < 4 {
		t.Fatalf("expected the example configs, found %v", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			out, errOut, err := runCLI(t, "validate", "--config", f)
			if err != nil {
				t.Fatalf("validate %s: %v\n%s", f, err, errOut)
			}
			if !strings.Contains(out, "OK") {
				t.Errorf("validate %s: stdout %q, want OK", f, out)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	p := writeFile(t, "bad.yaml", `instances:
  - name: VI_1
    interface: eth0
    vrid: 300
    priority: 0
    vips: [198.18.0.3]
`)
	_, errOut, err := runCLI(t, "validate", "--config", p)
	if !errors.Is(err, errQuiet) {
		t.Fatalf("validate bad config: err %v, want a reported failure", err)
	}
	for _, want := range []string{"bad.yaml:4", "instances[0].vrid", "300", "bad.yaml:5", "instances[0].priority", "nothing was applied"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}

func TestValidateKeepalivedWarnings(t *testing.T) {
	p := writeFile(t, "keepalived.conf", `global_defs {
    router_id lb-5
    notification_email { ops@example.com }
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 50
    priority 150
    advert_int 1
    virtual_ipaddress {
        198.18.0.3
    }
}
virtual_server 198.18.0.3 80 {
    delay_loop 6
}
`)
	out, errOut, err := runCLI(t, "validate", "--config", p)
	if err != nil {
		t.Fatalf("validate: %v\n%s", err, errOut)
	}
	if !strings.Contains(out, "OK (1 instance(s))") {
		t.Errorf("stdout %q", out)
	}
	for _, want := range []string{"keepalived.conf:3", "keepalived.conf:15", "virtual_server"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("warnings lack %q:\n%s", want, errOut)
		}
	}
}

func TestConvertRoundTrip(t *testing.T) {
	out, errOut, err := runCLI(t, "convert", "../../configs/keepalived/lb-5.conf")
	if err != nil {
		t.Fatalf("convert: %v\n%s", err, errOut)
	}
	for _, want := range []string{"router_id: lb-5", "vrid: 50", "priority: 150", "password: \"1111\"", "10.0.0.3/32"} {
		if !strings.Contains(out, want) {
			t.Errorf("converted YAML lacks %q:\n%s", want, out)
		}
	}
	// The YAML must itself be a valid config.
	p := writeFile(t, "converted.yaml", out)
	if _, errOut, err := runCLI(t, "validate", "--config", p); err != nil {
		t.Fatalf("converted YAML does not validate: %v\n%s", err, errOut)
	}
}

func TestStatusWithoutDaemon(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	_, errOut, err := runCLI(t, "status", "--control-socket", sock)
	if !errors.Is(err, errQuiet) {
		t.Fatalf("status without daemon: err %v", err)
	}
	if !strings.Contains(errOut, "no daemon is running") {
		t.Errorf("stderr %q, want a plain 'no daemon is running'", errOut)
	}
}

func TestRunRejectsBadInvocation(t *testing.T) {
	if _, _, err := runCLI(t, "run"); !errors.Is(err, errUsage) {
		t.Errorf("run without --config: %v", err)
	}
	p := writeFile(t, "ok.yaml", "instances: []\n")
	if _, _, err := runCLI(t, "run", "--config", p, "--log-format", "xml"); !errors.Is(err, errUsage) {
		t.Errorf("bad --log-format: %v", err)
	}
	if _, _, err := runCLI(t, "run", "--config", filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Errorf("missing config file: no error")
	}
}

// TestReadmeConfigValidates keeps the README's two-host example a working config.
func TestReadmeConfigValidates(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(b), "```yaml\n")
	if len(blocks) < 2 {
		t.Fatal("README.md has no yaml example")
	}
	for i, blk := range blocks[1:] {
		yml, _, ok := strings.Cut(blk, "```")
		if !ok {
			t.Fatalf("README yaml block %d is not closed", i)
		}
		p := writeFile(t, fmt.Sprintf("readme-%d.yaml", i), yml)
		if _, errOut, err := runCLI(t, "validate", "--config", p); err != nil {
			t.Errorf("README yaml block %d does not validate: %v\n%s", i, err, errOut)
		}
	}
}
