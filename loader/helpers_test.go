package loader

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cilium/ebpf/ringbuf"

	"github.com/ebpfvrrp/ebpfvrrp/internal/testutil"
	"github.com/ebpfvrrp/ebpfvrrp/vrrp"
)

// newDataplane loads the programs with a unique pin path and removes the pins
// at cleanup.
func newDataplane(t testing.TB) *Dataplane {
	t.Helper()
	return newDataplaneWith(t, Options{})
}

// newDataplaneWith is newDataplane with opts (its PinPath is replaced).
func newDataplaneWith(t testing.TB, opts Options) *Dataplane {
	t.Helper()
	pin := filepath.Join("/sys/fs/bpf", testutil.UniqueName("evtest"))
	opts.PinPath = pin
	d, err := Load(opts)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	t.Cleanup(func() {
		err := d.Unpin()
		if errors.Is(err, ErrSuccessor) {
			return // a restart in the test: the later Dataplane removes them
		}
		if err != nil {
			t.Errorf("Unpin: %v", err)
		}
		if _, err := os.Stat(pin); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("pin path %s still there after Unpin (stat: %v)", pin, err)
			_ = os.RemoveAll(pin)
		}
	})
	return d
}

// frameOpts shape the link layer around an IP packet.
type frameOpts struct {
	vlans []uint16 // outer first: TPIDs 0x88a8 (outer, when two) and 0x8100
}

// ether wraps an IP packet in Ethernet (and VLAN tags).
func ether(ip []byte, vlans ...uint16) []byte {
	b := []byte{0x01, 0x00, 0x5e, 0x00, 0x00, 0x12, 0x00, 0x00, 0x5e, 0x00, 0x01, 0x0a}
	for i, id := range vlans {
		tpid := uint16(0x8100)
		if len(vlans) == 2 && i == 0 {
			tpid = 0x88a8
		}
		b = binary.BigEndian.AppendUint16(b, tpid)
		b = binary.BigEndian.AppendUint16(b, id)
	}
	et := uint16(0x0800)
	if ip[0]>>4 == 6 {
		et = 0x86dd
	}
	b = binary.BigEndian.AppendUint16(b, et)
	return append(b, ip...)
}

// advert encodes a VRRP advert in an IP packet with vrrp.EncodePacket.
func advert(t testing.TB, a vrrp.Advertisement, hop uint8) []byte {
	t.Helper()
	if !a.Destination.IsValid() {
		if a.Source.Is4() {
			a.Destination = netip.MustParseAddr("224.0.0.18")
		} else {
			a.Destination = netip.MustParseAddr("ff02::12")
		}
	}
	p, err := vrrp.EncodePacket(&a, hop)
	if err != nil {
		t.Fatalf("EncodePacket: %v", err)
	}
	return p
}

// vrrpOffset is where the VRRP message starts in an IP packet from advert.
func vrrpOffset(ip []byte) int {
	if ip[0]>>4 == 6 {
		return 40
	}
	return int(ip[0]&0x0f) * 4
}

// resum recomputes the VRRP checksum of an IP packet after a test mutated it
// (v3 with the pseudo-header), so only the intended defect remains.
func resum(ip []byte) []byte {
	off := vrrpOffset(ip)
	msg := ip[off:]
	msg[6], msg[7] = 0, 0
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(b[i:]))
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	if msg[0]>>4 == 3 {
		if ip[0]>>4 == 6 {
			add(ip[8:40])
			sum += uint32(len(msg)) + 112
		} else {
			add(ip[12:20])
			sum += 112 + uint32(len(msg))
		}
	}
	add(msg)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(msg[6:], ^uint16(sum))
	return ip
}

// drainEvents returns the events already in the ring buffer without waiting:
// BPF_PROG_RUN submits them before it returns.
func drainEvents(t testing.TB, d *Dataplane) []Event {
	t.Helper()
	rd, err := ringbuf.NewReader(d.objs.Events)
	if err != nil {
		t.Fatalf("ringbuf reader: %v", err)
	}
	defer rd.Close()
	rd.SetDeadline(time.Now())
	var out []Event
	for {
		rec, err := rd.Read()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return out
		}
		if err != nil {
			t.Fatalf("ringbuf read: %v", err)
		}
		var raw vrrpEvent
		if _, err := binary.Decode(rec.RawSample, binary.NativeEndian, &raw); err != nil {
			t.Fatalf("decode event: %v", err)
		}
		out = append(out, eventFromRaw(raw))
	}
}
