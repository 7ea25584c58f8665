package loader

import (
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/cilium/ebpf/btf"

	"github.com/ebpfvrrp/ebpfvrrp/vrrp"
)

// TestDropReasonsMatchVRRP holds the C enum drop_reason (from the BTF of the
// committed object) equal to vrrp.DropReason, name by name.
func TestDropReasonsMatchVRRP(t *testing.T) {
	spec, err := loadVrrp()
	if err != nil {
		t.Fatal(err)
	}
	var e *btf.Enum
	if err := spec.Types.TypeByName("drop_reason", &e); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range e.Values {
		if v.Name == "DROP_REASON_MAX" {
			if v.Value != uint64(vrrp.NumDropReasons) {
				t.Errorf("DROP_REASON_MAX = %d, vrrp.NumDropReasons = %d", v.Value, vrrp.NumDropReasons)
			}
			continue
		}
		n++
		want := vrrp.DropReason(v.Value).String()
		if got := strings.ToLower(strings.TrimPrefix(v.Name, "DROP_")); got != want {
			t.Errorf("C %s = %d, but vrrp.DropReason(%d) is %q", v.Name, v.Value, v.Value, want)
		}
	}
	if n != int(vrrp.NumDropReasons) {
		t.Errorf("C has %d drop reasons, vrrp %d", n, vrrp.NumDropReasons)
	}
	if got := DropReason(vrrp.ReasonBadChecksum).String(); got != "bad_checksum" {
		t.Errorf("DropReason.String() = %q", got)
	}
}

// TestEnumsMatch holds the exported Go constants equal to the C enums.
func TestEnumsMatch(t *testing.T) {
	spec, err := loadVrrp()
	if err != nil {
		t.Fatal(err)
	}
	check := func(enum string, want map[string]uint64) {
		var e *btf.Enum
		if err := spec.Types.TypeByName(enum, &e); err != nil {
			t.Fatal(err)
		}
		got := map[string]uint64{}
		for _, v := range e.Values {
			got[v.Name] = v.Value
		}
		for name, w := range want {
			if g, ok := got[name]; !ok || g != w {
				t.Errorf("%s.%s = %d (present %v), Go has %d", enum, name, g, ok, w)
			}
		}
	}
	check("vrrp_state", map[string]uint64{"STATE_INIT": uint64(StateInit), "STATE_BACKUP": uint64(StateBackup), "STATE_MASTER": uint64(StateMaster), "STATE_FAULT": uint64(StateFault)})
	check("event_type", map[string]uint64{"EVENT_MASTER_DOWN": uint64(EventMasterDown), "EVENT_NEW_MASTER": uint64(EventNewMaster),
		"EVENT_PRIO_CHANGE": uint64(EventPrioChange), "EVENT_PRIO_ZERO": uint64(EventPrioZero), "EVENT_PREEMPT": uint64(EventPreempt), "EVENT_BOTH_MASTERS": uint64(EventBothMasters)})
}

// TestStructSizes pins the layout of every shared struct: the generated Go
// type must have the C size (from BTF) and the size the C header promises.
func TestStructSizes(t *testing.T) {
	spec, err := loadVrrp()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		goV  any
		size uintptr
	}{
		{"instance_key", vrrpInstanceKey{}, 8},
		{"instance_cfg", vrrpInstanceCfg{}, 112},
		{"instance_state", vrrpInstanceState{}, 96},
		{"peer_key", vrrpPeerKey{}, 24},
		{"peer_stats", vrrpPeerStats{}, 240},
		{"drop_key", vrrpDropKey{}, 8},
		{"tx_stats", vrrpTxStats{}, 216},
		{"vip_key", vrrpVipKey{}, 24},
		{"vip_lease", vrrpVipLease{}, 16},
		{"adv_addr_key", vrrpAdvAddrKey{}, 24},
		{"no_accept_val", vrrpNoAcceptVal{}, 16},
		{"no_accept_set", vrrpNoAcceptSet{}, 168},
		{"event", vrrpEvent{}, 40},
	} {
		var s *btf.Struct
		if err := spec.Types.TypeByName(c.name, &s); err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		goSize := reflect.TypeOf(c.goV).Size()
		if uintptr(s.Size) != goSize || goSize != c.size {
			t.Errorf("struct %s: C %d bytes, Go %d bytes, want %d", c.name, s.Size, goSize, c.size)
		}
	}
	if unsafe.Sizeof(vrrpInstanceState{}.Timer) != 16 {
		t.Errorf("bpf_timer is %d bytes, want 16", unsafe.Sizeof(vrrpInstanceState{}.Timer))
	}
	if HistBuckets != 24 {
		t.Errorf("HistBuckets = %d, want 24", HistBuckets)
	}
}
