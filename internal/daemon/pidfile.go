package daemon

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// writePIDFiles writes this process's pid to each path (via a rename, so a reader
// never sees a half-written file) and returns a func removing them again, each
// only if it still holds our pid: a newer daemon may have taken it over.
func writePIDFiles(paths []string) (remove func(), err error) {
	pid := []byte(strconv.Itoa(os.Getpid()) + "\n")
	var written []string
	remove = func() {
		for _, p := range written {
			if b, err := os.ReadFile(p); err == nil && bytes.Equal(b, pid) {
				os.Remove(p)
			}
		}
	}
	for _, p := range paths {
		if err := writeAtomic(p, pid); err != nil {
			remove()
			return func() {}, fmt.Errorf("pid file: %w", err)
		}
		written = append(written, p)
	}
	return remove, nil
}

func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
