package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Limits on what Load reads. They exist so that a mistake (an include naming
// /dev/zero, a glob that catches a log file) ends in an error naming the file, not in
// a process that reads until the OOM killer stops it: validate and a reload run on
// the very hosts whose services a runaway allocation would take down.
//
// 16 MiB per file is more than a hundred times the largest configurations seen in
// practice (a keepalived.conf of 1000 instances with 20 VIPs each is under 2 MiB;
// generated LVS configs with thousands of real servers stay in single-digit MiB),
// yet small enough to read and check in well under a second. 64 MiB in total lets
// a conf.d hold several files of that size while stopping a glob that matched a
// directory of logs.
const (
	MaxConfigFileBytes  = 16 << 20
	MaxConfigTotalBytes = 64 << 20
)

// Overridable in tests, so the limits can be exercised without writing 64 MiB.
var (
	maxFileBytes  int64 = MaxConfigFileBytes
	maxTotalBytes int64 = MaxConfigTotalBytes
)

var (
	// ErrNotRegularFile: a config file or include names a directory, device, FIFO
	// or socket. Reading one could block forever (a FIFO) or never end (/dev/zero).
	ErrNotRegularFile = errors.New("not a regular file")
	// ErrConfigTooLarge: a file exceeds MaxConfigFileBytes, or the files read for
	// one configuration together exceed MaxConfigTotalBytes.
	ErrConfigTooLarge = errors.New("configuration too large")
)

// readBudget counts the bytes read for one configuration (the file and its includes).
type readBudget struct{ used int64 }

// readConfigFile reads one configuration file: a regular file of at most
// maxFileBytes that keeps the running total within maxTotalBytes. The type is
// checked before opening (opening a device can have effects of its own), and again
// on the open descriptor, which is opened non-blocking so that a FIFO swapped in
// between cannot block; a file that grows while read is cut at the limit and
// refused.
func readConfigFile(path string, b *readBudget) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := checkConfigFile(path, fi, b); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|openNonBlock, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, err
	}
	if err := checkConfigFile(path, fi, b); err != nil {
		return nil, err
	}
	limit := min(maxFileBytes, maxTotalBytes-b.used)
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, sizeError(path, int64(len(data)), b)
	}
	b.used += int64(len(data))
	return data, nil
}

func checkConfigFile(path string, fi fs.FileInfo, b *readBudget) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is %s, %w", path, fileKind(fi.Mode()), ErrNotRegularFile)
	}
	if fi.Size() > maxFileBytes || b.used+fi.Size() > maxTotalBytes {
		return sizeError(path, fi.Size(), b)
	}
	return nil
}

func sizeError(path string, size int64, b *readBudget) error {
	if size > maxFileBytes {
		return fmt.Errorf("%s is %s; a config file may be at most %s: %w", path, mib(size), mib(maxFileBytes), ErrConfigTooLarge)
	}
	return fmt.Errorf("%s (%s) would bring the files read for this config to %s; together they may be at most %s: %w",
		path, mib(size), mib(b.used+size), mib(maxTotalBytes), ErrConfigTooLarge)
}

// mib renders a size for a message: MiB with one decimal, or bytes when small.
func mib(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d bytes", n)
	}
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "not a regular file (" + m.Type().String() + ")"
}
