//go:build unix

package config

import (
	"os"
	"syscall"
)

// openNonBlock keeps open(2) of a FIFO from waiting for a writer.
const openNonBlock = syscall.O_NONBLOCK

// fileOwner returns the uid and gid that own fi.
func fileOwner(fi os.FileInfo) (uid, gid uint32, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return st.Uid, st.Gid, true
}
