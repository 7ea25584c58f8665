package vm

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/ebpfvrrp/ebpfvrrp/internal/lab"
	"github.com/ebpfvrrp/ebpfvrrp/vrrp"
)

func TestForgedAdvert(t *testing.T) {
	pass, _ := vrrp.Password(lab.TutorialPassword)
	for _, version := range []int{2, 3} {
		for _, k := range AllForgeries {
			t.Run(string(k)+"/v"+string(rune('0'+version)), func(t *testing.T) {
				pkt, err := ForgedAdvert(k, version, time.Second)
				if err != nil {
					t.Fatal(err)
				}
				a, err := vrrp.ParsePacket(pkt)
				if err != nil {
					t.Fatalf("forgery is not even wire-valid: %v", err)
				}
				pol := vrrp.Policy{VRID: lab.TutorialVRID, Version: uint8(version), Interval: time.Second, Peers: []netip.Addr{lab.Addr4(lab.LB6)}}
				if version == 2 {
					pol.AuthType, pol.Password = vrrp.AuthPass, pass
				}
				err = pol.Check(a)
				if version == 3 && k.Reason() == vrrp.ReasonWrongPassword {
					// No auth in v3: spoofed from the peer, these pass the policy and
					// only the daemon's priority handling stands in the way.
					if err != nil {
						t.Errorf("v3 %s: want accepted by policy, got %v", k, err)
					}
					return
				}
				if !errors.Is(err, k.Reason().Err()) {
					t.Errorf("%s: want %v, got %v", k, k.Reason().Err(), err)
				}
			})
		}
	}
}
