package vrrp

import (
	"encoding/binary"
	"fmt"
	"os"
)

// readPcap returns the IP packets (link layer stripped) of a classic pcap file:
// just enough of the format for tcpdump's output on an Ethernet or raw-IP link.
func readPcap(path string) ([][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 24 {
		return nil, fmt.Errorf("%s: %d bytes, no pcap header", path, len(b))
	}
	var bo binary.ByteOrder
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4, 0xa1b23c4d: // µs or ns timestamps
		bo = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("%s: not a pcap file", path)
	}
	linkType := bo.Uint32(b[20:24])
	var pkts [][]byte
	for off := 24; off < len(b); {
		if len(b)-off < 16 {
			return nil, fmt.Errorf("%s: truncated record header at %d", path, off)
		}
		n := int(bo.Uint32(b[off+8:]))
		off += 16
		if len(b)-off < n {
			return nil, fmt.Errorf("%s: truncated record at %d", path, off)
		}
		frame := b[off : off+n]
		off += n
		switch linkType {
		case 1: // Ethernet
			if len(frame) < 14 {
				return nil, fmt.Errorf("%s: %d-byte Ethernet frame", path, len(frame))
			}
			hdr := 14
			if binary.BigEndian.Uint16(frame[12:14]) == 0x8100 { // 802.1Q tag
				hdr = 18
			}
			if len(frame) < hdr {
				return nil, fmt.Errorf("%s: %d-byte tagged frame", path, len(frame))
			}
			frame = frame[hdr:]
		case 101: // raw IP
		default:
			return nil, fmt.Errorf("%s: link type %d not supported", path, linkType)
		}
		pkts = append(pkts, frame)
	}
	return pkts, nil
}
