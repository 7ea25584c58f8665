package lab

import (
	"fmt"
	"os/exec"
	"path/filepath"
)

// EbpfvrrpPackage is the import path of the daemon's main package.
const EbpfvrrpPackage = "github.com/ebpfvrrp/ebpfvrrp/cmd/ebpfvrrp"

// BuildEbpfvrrp builds the daemon into dir with the go command in PATH (run from
// anywhere inside the module) and returns the binary's path.
func BuildEbpfvrrp(dir string) (string, error) {
	bin := filepath.Join(dir, "ebpfvrrp")
	out, err := exec.Command("go", "build", "-o", bin, EbpfvrrpPackage).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("vm: go build %s: %w\n%s", EbpfvrrpPackage, err, out)
	}
	return bin, nil
}
