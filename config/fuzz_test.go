package config

import (
	"os"
	"testing"
)

// FuzzParse: Parse never panics, never returns a config together with an error, and
// whatever it accepts survives Marshal → Parse unchanged.
func FuzzParse(f *testing.F) {
	for _, p := range []string{"../configs/lb-5.yaml", "../configs/lb-5-v3.yaml", "../configs/lb-5-ipv6.yaml", "testdata/full.yaml"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(minimal))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "yaml", "f.yaml")
		if err != nil {
			if c != nil {
				t.Fatal("config returned with an error")
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted config fails Validate: %v", err)
		}
		y, err := Marshal(c)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		back, err := Parse(y, "yaml", "m.yaml")
		if err != nil {
			t.Fatalf("Parse(Marshal): %v\n%s", err, y)
		}
		if d := schemaDiff(stripMeta(c), stripMeta(back)); d != "" {
			t.Fatalf("round trip (-parsed +reparsed):\n%s\n%s", d, y)
		}
	})
}
