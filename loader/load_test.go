package loader

import (
	"testing"

	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
)

func TestLoadVerifies(t *testing.T) {
	testutil.Privileged(t)
	d := newDataplane(t)
	v, _, err := d.RunXDP(make([]byte, 64), 1)
	if err != nil || v != XDPPass {
		t.Fatalf("RunXDP(zero frame) = %d, %v; want XDP_PASS", v, err)
	}
}
