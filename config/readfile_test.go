//go:build unix

package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// withLimits lowers the read limits for one test.
func withLimits(t *testing.T, perFile, total int64) {
	t.Helper()
	oldF, oldT := maxFileBytes, maxTotalBytes
	maxFileBytes, maxTotalBytes = perFile, total
	t.Cleanup(func() { maxFileBytes, maxTotalBytes = oldF, oldT })
}

// includeTree makes a directory holding a FIFO, a subdirectory, a file of n bytes
// (big) and an instance fragment (vi.conf); it returns the directory.
func includeTree(t *testing.T, big int) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("big.log", "#"+strings.Repeat("x", big-2)+"\n")
	write("vi.conf", "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  198.18.0.1\n }\n}\n")
	return dir
}

// within fails the test if f does not return in time: reading a FIFO must never block.
func within(t *testing.T, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("still reading after 5 s")
		return nil
	}
}

// TestConfigFileKinds: a config file or include that is not a regular file, or is too
// large, is an error naming the file (and for an include, the include's line),
// never a hang or an unbounded read.
//
// keyword: any-line include
func TestConfigFileKinds(t *testing.T) {
	const perFile, total = 4096, 6000
	tests := []struct {
		name    string
		main    string // "" loads the named file itself
		load    string // file to Load, relative to the tree, when main is ""
		wantIs  error
		wantMsg string // substring; D is the tree's directory
	}{
		{"load /dev/zero", "", "/dev/zero", ErrNotRegularFile, "/dev/zero is a character device, not a regular file"},
		{"load a FIFO", "", "fifo", ErrNotRegularFile, "D/fifo is a FIFO, not a regular file"},
		{"load a directory", "", "sub.d", ErrNotRegularFile, "D/sub.d is a directory, not a regular file"},
		{"load a file over the limit", "", "big.log", ErrConfigTooLarge, "D/big.log is 5000 bytes; a config file may be at most 4096 bytes"},
		{"include /dev/zero", "include /dev/zero\n", "", ErrNotRegularFile, "D/keepalived.conf:1:1: include: /dev/zero is a character device, not a regular file"},
		{"include a FIFO", "global_defs {\n}\ninclude fifo\n", "", ErrNotRegularFile, "D/keepalived.conf:3:1: include: D/fifo is a FIFO, not a regular file"},
		{"include a directory by name", "include sub.d\n", "", ErrNotRegularFile, "D/keepalived.conf:1:1: include: D/sub.d is a directory, not a regular file"},
		{"glob catching a FIFO", "include f*\n", "", ErrNotRegularFile, "D/keepalived.conf:1:1: include: D/fifo is a FIFO"},
		{"glob catching a big file", "include *.log\n", "", ErrConfigTooLarge, "D/keepalived.conf:1:1: include: D/big.log is 5000 bytes; a config file may be at most 4096 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			withLimits(t, perFile, total)
			dir := includeTree(t, 5000)
			path := tt.load
			if tt.main != "" {
				path = "keepalived.conf"
				if err := os.WriteFile(filepath.Join(dir, path), []byte(tt.main), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if !filepath.IsAbs(path) {
				path = filepath.Join(dir, path)
			}
			err := within(t, func() error { _, err := Load(path); return err })
			if !errors.Is(err, tt.wantIs) {
				t.Errorf("Load: %v, want errors.Is %v", err, tt.wantIs)
			}
			if got := strings.ReplaceAll(errString(err), dir, "D"); !strings.Contains(got, tt.wantMsg) {
				t.Errorf("Load error\n got: %s\nwant substring: %s", got, tt.wantMsg)
			}
		})
	}
}

// TestConfigTotalLimitAcrossIncludes: includes count towards the total limit, and a
// tree within both limits loads.
func TestConfigTotalLimitAcrossIncludes(t *testing.T) {
	frag := "vrrp_instance V%d {\n interface eth0\n virtual_router_id %d\n virtual_ipaddress {\n  198.18.0.%d\n }\n}\n"
	dir := t.TempDir()
	main := ""
	for i := 1; i <= 3; i++ {
		name := filepath.Join(dir, "vi"+string(rune('0'+i))+".conf")
		if err := os.WriteFile(name, []byte(sprintf(frag, i, i, i)), 0o644); err != nil {
			t.Fatal(err)
		}
		main += "include " + filepath.Base(name) + "\n"
	}
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	withLimits(t, 4096, 4096)
	if c, err := Load(path); err != nil || len(c.Instances) != 3 {
		t.Fatalf("Load within limits: %v", err)
	}
	withLimits(t, 4096, int64(len(main))+2*int64(len(sprintf(frag, 1, 1, 1))))
	_, err := Load(path)
	if !errors.Is(err, ErrConfigTooLarge) || !strings.Contains(errString(err), "keepalived.conf:3:1: include: "+filepath.Join(dir, "vi3.conf")) {
		t.Fatalf("Load over the total: %v, want ErrConfigTooLarge at the third include", err)
	}
}

// TestLongFirstLine: the format is recognised by content however long the first
// line is, and the keepalived reader takes lines of any length within the file limit.
func TestLongFirstLine(t *testing.T) {
	long := strings.Repeat("x", 3<<20)
	tests := []struct {
		name, text string
		keepalived bool
	}{
		{"keepalived, long comment first", "# " + long + "\nvrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  198.18.0.1\n }\n}\n", true},
		{"keepalived, long first statement", "global_defs { router_id r" + long[:1<<20] + " }\nvrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  198.18.0.1\n }\n}\n", true},
		{"yaml, long comment first", "# " + long + "\ninstances:\n  - name: V\n    interface: eth0\n    vrid: 1\n    vips: [198.18.0.1]\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsKeepalived([]byte(tt.text)); got != tt.keepalived {
				t.Errorf("IsKeepalived = %v, want %v", got, tt.keepalived)
			}
			p := filepath.Join(t.TempDir(), "ebpfvrrp.conf")
			if err := os.WriteFile(p, []byte(tt.text), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := Load(p)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if len(c.Instances) != 1 || c.Instances[0].Name != "V" {
				t.Errorf("instances = %+v", c.Instances)
			}
		})
	}
}

// FuzzKeepalivedIncludes drives Load over a temporary include tree: the fuzzed main
// file and a fuzzed fragment (inc.conf), next to a FIFO, a directory, a file over
// the per-file limit and an instance fragment, with /dev/zero within reach. Load
// must return a config or an error, never both, never panic and never block, and an
// error about an include must carry the include's position.
func FuzzKeepalivedIncludes(f *testing.F) {
	for _, seed := range [][2]string{
		{"include inc.conf\n", "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  198.18.0.1\n }\n}\n"},
		{"include vi.conf\ninclude inc.conf\n", "include fifo\n"},
		{"include *\n", ""},
		{"include sub.d\n", ""},
		{"include /dev/zero\n", ""},
		{"include *.log\n", ""},
		{"include inc.conf\n", "include inc.conf\n"},
		{"include inc.conf\ninclude inc.conf\ninclude inc.conf\n", strings.Repeat("# pad\n", 100)},
		{"instances:\n  - name: V\n", ""},
	} {
		f.Add([]byte(seed[0]), []byte(seed[1]))
	}
	f.Fuzz(func(t *testing.T, main, inc []byte) {
		withLimits(t, 4096, 8192)
		dir := includeTree(t, 5000)
		for name, data := range map[string][]byte{"keepalived.conf": main, "inc.conf": inc} {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		path := filepath.Join(dir, "keepalived.conf")
		var c *Config
		err := within(t, func() error {
			var err error
			c, err = Load(path)
			return err
		})
		if err != nil {
			if c != nil {
				t.Fatal("config returned with an error")
			}
			var ke *KeepalivedError
			if errors.As(err, &ke) && ke.Pos.File != "" && ke.Pos.Line < 1 {
				t.Fatalf("keepalived error without a line: %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted config fails Validate: %v", err)
		}
	})
}
