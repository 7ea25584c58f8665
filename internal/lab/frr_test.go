package lab

import (
	"testing"
	"time"
)

// FRRConfig renders what FRR 8.4's CLI accepts, and the options FRR would refuse (or
// that could not interoperate) are refused before a daemon starts.
func TestFRRConfig(t *testing.T) {
	l := &Lab{opts: Options{Version: 2, AdvertInterval: time.Second}}
	o := FRROptions{Priority: 150, Nopreempt: true}
	o.setDefaults(l)
	want := "hostname lb-5\nlog stdout informational\n!\ninterface eth0\n" +
		" vrrp 50 version 2\n vrrp 50 priority 150\n vrrp 50 advertisement-interval 1000\n" +
		" no vrrp 50 preempt\n vrrp 50 ip 198.18.0.3\n!\n"
	if got := FRRConfig(LB5, o); got != want {
		t.Errorf("FRRConfig (-want +got):\n-%q\n+%q", want, got)
	}
	if err := o.validate(); err != nil {
		t.Errorf("validate(%+v): %v", o, err)
	}
	if got, want := FRRVMAC(6, 50).String(), "00:00:5e:00:02:32"; got != want {
		t.Errorf("FRRVMAC(6, 50) = %s, want %s", got, want)
	}
	bad := []struct {
		name string
		edit func(*FRROptions)
	}{
		{"v2 sub-second", func(o *FRROptions) { o.AdvertInterval = 500 * time.Millisecond }},
		{"v2 IPv6", func(o *FRROptions) { o.Family, o.VIP = 6, VIP6 }},
		{"not centiseconds", func(o *FRROptions) { o.Version, o.AdvertInterval = 3, 105*time.Millisecond }},
		{"priority 255", func(o *FRROptions) { o.Priority = 255 }},
		{"VIP of the other family", func(o *FRROptions) { o.Version, o.VIP = 3, VIP6 }},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			b := o
			tc.edit(&b)
			if err := b.validate(); err == nil {
				t.Errorf("validate(%+v) accepted it", b)
			}
		})
	}
}
