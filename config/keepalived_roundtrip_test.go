package config

import (
	"path/filepath"
	"testing"
)

// TestKeepalivedConvertRoundTrip is `ebpfvrrp convert` end to end: for every
// keepalived example, the YAML that Marshal prints loads (Parse) into the same
// Config as loading the keepalived file directly (Load).
func TestKeepalivedConvertRoundTrip(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "configs", "keepalived", "*.conf"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files,
		filepath.Join("testdata", "keepalived", "full.conf"),
		filepath.Join("testdata", "keepalived", "include", "main.conf"),
		filepath.Join("testdata", "keepalived", "process_strict.conf"),
	)
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			direct, err := Load(f)
			if err != nil {
				t.Fatalf("Load(%s): %v", f, err)
			}
			imported, err := LoadKeepalived(f)
			if err != nil {
				t.Fatalf("LoadKeepalived: %v", err)
			}
			y, err := Marshal(imported)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			converted, err := Parse(y, "yaml", "converted.yaml")
			if err != nil {
				t.Fatalf("Parse(Marshal(LoadKeepalived)): %v\nYAML:\n%s", err, y)
			}
			for _, c := range []*Config{direct, converted} {
				stripMeta(c)
			}
			if d := kaDiff(direct, converted); d != "" {
				t.Errorf("Load(keepalived) vs Parse(convert) (-keepalived +yaml):\n%s\nYAML:\n%s", d, y)
			}
		})
	}
}
