package vm

import (
	"bufio"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/lab"
)

// startCapture runs tcpdump on iface in host's namespace (Switch: the switch), writing
// every frame matching filter to a pcap file in the lab's directory. stop ends the
// capture (SIGINT, so tcpdump flushes) and returns the file; cleanup kills tcpdump if
// the test ends first.
func startCapture(t *testing.T, l *lab.Lab, host, iface, filter string) (stop func() string) {
	t.Helper()
	stop, _ = startCaptureFile(t, l, host, iface, filter)
	return stop
}

// startCaptureFile is startCapture that also names the file while tcpdump writes it (-U: one
// frame at a time).
func startCaptureFile(t *testing.T, l *lab.Lab, host, iface, filter string) (stop func() string, file string) {
	t.Helper()
	file = filepath.Join(l.Dir, strings.ReplaceAll(t.Name(), "/", "_")+"-"+host+"-"+iface+".pcap")
	// -Z root: Debian's tcpdump drops to its own user before opening the file, and the
	// lab's directory is root's. --immediate-mode: without it frames wait in the
	// kernel's ring for a block to fill or time out, and SIGINT discards them.
	argv := []string{"tcpdump", "-i", iface, "-n", "-U", "--immediate-mode", "-s", "0", "-Z", "root", "-w", file}
	if filter != "" {
		argv = append(argv, filter)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = lab.ProcAttr()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Do(host, cmd.Start); err != nil {
		t.Fatalf("tcpdump on %s/%s: %v", host, iface, err)
	}
	done := make(chan struct{})
	var errOut strings.Builder
	listening := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		said := false
		for sc.Scan() {
			errOut.WriteString(sc.Text() + "\n")
			if !said && strings.Contains(sc.Text(), "listening on") {
				said = true
				close(listening)
			}
		}
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	select {
	case <-listening:
	case <-done:
		t.Fatalf("tcpdump on %s/%s exited: %s", host, iface, errOut.String())
	case <-time.After(10 * time.Second):
		t.Fatalf("tcpdump on %s/%s not listening within 10 s: %s", host, iface, errOut.String())
	}
	return func() string {
		t.Helper()
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		t.Logf("tcpdump on %s/%s: %s", host, iface, strings.TrimSpace(errOut.String()))
		return file
	}, file
}

// readPcap prints a capture with tcpdump -r (verbose, no name resolution).
func readPcap(t *testing.T, file string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "tcpdump", "-r", file, "-n", "-vv").CombinedOutput()
	if err != nil {
		t.Fatalf("tcpdump -r %s: %v\n%s", file, err, out)
	}
	return string(out)
}
