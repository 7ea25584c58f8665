package control

import (
	"slices"
	"testing"
)

// fakeRoutes records Up and Down among the address operations.
type fakeRoutes struct{ addrs *fakeAddresses }

func (f fakeRoutes) Up(inst string) error   { f.addrs.record("routes up " + inst); return nil }
func (f fakeRoutes) Down(inst string) error { f.addrs.record("routes down " + inst); return nil }

// TestRunnerVirtualRoutes: an instance's virtual routes and rules go in after
// its VIPs when it becomes Master and come out before them when it stops
// (keepalived/vrrp/vrrp.c: vrrp_state_become_master, vrrp_restore_interface).
func TestRunnerVirtualRoutes(t *testing.T) {
	a := inst("A", 1, 255, "198.18.1.1/32")
	h := newHarnessWith(t, Setup{Instances: []InstanceConfig{a}}, func(d *Deps) { d.Routes = fakeRoutes{d.Addresses.(*fakeAddresses)} })
	if err := h.r.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := []string{"add A 198.18.1.1/32", "routes up A", "routes down A", "remove A 198.18.1.1/32"}
	if got := h.addrs.ops; !slices.Equal(got, want) {
		t.Errorf("operations:\n got %q\nwant %q", got, want)
	}
}
