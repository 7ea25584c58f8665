package hooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/control"
	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

func TestExecCheck(t *testing.T) {
	tests := []struct {
		name   string
		check  ExecCheck
		wantOK bool
	}{
		{"true", ExecCheck{Argv: []string{"true"}}, true},
		{"false", ExecCheck{Argv: []string{"false"}}, false},
		{"argv is not split by a shell", ExecCheck{Argv: []string{"test", "a b", "=", "a b"}}, true},
		{"shell when asked", ExecCheck{Argv: []string{"exit", "3"}, Shell: true}, false},
		{"shell pipe", ExecCheck{Argv: []string{"echo", "ok", "|", "grep", "-q", "ok"}, Shell: true}, true},
		{"missing binary", ExecCheck{Argv: []string{"/nonexistent/check"}}, false},
		{"empty argv", ExecCheck{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.check.Check(t.Context())
			if res.OK != tt.wantOK {
				t.Errorf("OK = %v (err %v), want %v", res.OK, res.Err, tt.wantOK)
			}
			if !res.OK && res.Err == nil {
				t.Errorf("failure without an error")
			}
		})
	}
}

// TestExecCheckTimeoutKillsProcessGroup: a script that leaves a child behind is
// killed with its child when the check times out.
func TestExecCheckTimeoutKillsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	check := ExecCheck{Argv: []string{"sh", "-c", "sleep 300 & echo $! > " + pidFile + "; wait"}}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan control.CheckResult, 1)
	go func() { done <- check.Check(ctx) }()
	var pid int
	testutil.Eventually(t, 10*time.Second, "the child's pid file", func() bool {
		b, err := os.ReadFile(pidFile)
		if err != nil || !strings.HasSuffix(string(b), "\n") {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	cancel() // what the tracker's timeout does
	res := <-done
	if res.OK || !errors.Is(res.Err, context.Canceled) {
		t.Errorf("result = %+v, want a cancelled failure", res)
	}
	testutil.Eventually(t, 10*time.Second, fmt.Sprintf("child %d to be killed", pid), func() bool {
		// Reaped by init or a zombie: either way no longer running.
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		return err != nil || strings.Contains(string(b), ") Z ")
	})
	_ = syscall.Kill(pid, syscall.SIGKILL) // belt and braces if the test failed
}

func TestHTTPCheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			fmt.Fprintln(w, "ok")
		case "/nocontent":
			w.WriteHeader(http.StatusNoContent)
		case "/redirect":
			http.Redirect(w, r, "/ok", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	tests := []struct {
		name   string
		check  HTTPCheck
		wantOK bool
	}{
		{"200 default", HTTPCheck{URL: srv.URL + "/ok"}, true},
		{"404", HTTPCheck{URL: srv.URL + "/missing"}, false},
		{"expected 204", HTTPCheck{URL: srv.URL + "/nocontent", ExpectStatus: 204}, true},
		{"redirect not followed", HTTPCheck{URL: srv.URL + "/redirect"}, false},
		{"redirect expected", HTTPCheck{URL: srv.URL + "/redirect", ExpectStatus: 302}, true},
		{"connection refused", HTTPCheck{URL: closedURL + "/ok"}, false},
		{"bad url", HTTPCheck{URL: "::"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.check.Check(t.Context())
			if res.OK != tt.wantOK {
				t.Errorf("OK = %v (err %v), want %v", res.OK, res.Err, tt.wantOK)
			}
		})
	}
}

func TestTCPCheck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := ln2.Addr().String()
	ln2.Close()
	if res := (TCPCheck{Address: ln.Addr().String()}).Check(t.Context()); !res.OK {
		t.Errorf("listening port: %v", res.Err)
	}
	if res := (TCPCheck{Address: closedAddr}).Check(t.Context()); res.OK {
		t.Errorf("closed port reported OK")
	}
}

func TestFileCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name      string
		path      string
		wantValue int
		wantErr   bool
	}{
		{"number", write("a", "5\n"), 5, false},
		{"negative", write("b", " -3 "), -3, false},
		{"empty", write("c", ""), 0, false},
		{"not a number", write("d", "abc"), 0, true},
		{"missing", filepath.Join(dir, "missing"), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := FileCheck{Path: tt.path}.Check(t.Context())
			if res.Value != tt.wantValue || (res.Err != nil) != tt.wantErr {
				t.Errorf("Check = %+v, want value %d err %v", res, tt.wantValue, tt.wantErr)
			}
		})
	}
}

// TestCredential: "USER[:GROUP]" resolves as keepalived's script_user / user
// USER [GROUP] (keepalived lib/notify.c, set_privileges): the named group,
// else the user's primary one, and that group as the only supplementary group.
func TestCredential(t *testing.T) {
	for _, tc := range []struct {
		spec    string
		want    *syscall.Credential
		wantErr bool
	}{
		{spec: "nobody", want: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{65534}}},
		{spec: "65534", want: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{65534}}},
		{spec: "nobody:root", want: &syscall.Credential{Uid: 65534, Gid: 0, Groups: []uint32{0}}},
		{spec: "nobody:0", want: &syscall.Credential{Uid: 65534, Gid: 0, Groups: []uint32{0}}},
		{spec: "root", want: nil},
		{spec: "no-such-user-ebpfvrrp", wantErr: true},
		{spec: "nobody:no-such-group-ebpfvrrp", wantErr: true},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			got, err := Credential(tc.spec)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Credential(%q) error %v, want error %v", tc.spec, err, tc.wantErr)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Credential(%q) = %+v, want %+v", tc.spec, got, tc.want)
			}
		})
	}
}

// TestExecCheckRunsAsUser: a tracker with a user runs with that uid, gid and no
// other groups; one without runs as the daemon (root here).
func TestExecCheckRunsAsUser(t *testing.T) {
	testutil.Privileged(t)
	for _, tc := range []struct {
		user, want string
	}{
		{"nobody", "65534 65534 65534"},
		{"nobody:root", "65534 0 0"},
		{"", "0 0 0"},
	} {
		t.Run("user="+tc.user, func(t *testing.T) {
			cmd := `test "$(id -u) $(id -g) $(id -G)" = "` + tc.want + `"`
			if r := (ExecCheck{Argv: []string{cmd}, Shell: true, User: tc.user}).Check(t.Context()); !r.OK {
				out, _ := exec.Command("sh", "-c", "id").Output()
				t.Errorf("check as %q failed (want uid gid groups %q; parent: %s): %v", tc.user, tc.want, out, r.Err)
			}
		})
	}
}
