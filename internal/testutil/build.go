package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// EbpfvrrpPackage is the import path of the daemon's main package.
const EbpfvrrpPackage = "github.com/ebpfvrrp/ebpfvrrp/cmd/ebpfvrrp"

var built struct {
	once     sync.Once
	dir, bin string
	err      error
}

// EbpfvrrpBinary builds cmd/ebpfvrrp once per test process (with the go command
// in PATH, from anywhere inside the module) and returns the binary's path;
// EBPFVRRP_BINARY names a prebuilt one instead. A package's TestMain calls
// RemoveBuilt after m.Run.
func EbpfvrrpBinary(t testing.TB) string {
	t.Helper()
	if b := os.Getenv("EBPFVRRP_BINARY"); b != "" {
		return b
	}
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "ebpfvrrp-bin-")
		if built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "ebpfvrrp")
		if out, err := exec.Command("go", "build", "-o", built.bin, EbpfvrrpPackage).CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build %s: %w\n%s", EbpfvrrpPackage, err, out)
		}
	})
	if built.err != nil {
		t.Fatalf("build ebpfvrrp: %v", built.err)
	}
	return built.bin
}

// RemoveBuilt removes what EbpfvrrpBinary built.
func RemoveBuilt() {
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
}

// Main runs m and removes what EbpfvrrpBinary built: TestMain(m) { testutil.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	RemoveBuilt()
	os.Exit(code)
}
