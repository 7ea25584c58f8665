package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// schemaDiff returns "" when want and got are reflect.DeepEqual, else a line diff
// (-want +got) of their indented JSON forms, followed by both Go forms when JSON
// hides the difference (nil vs empty slice).
func schemaDiff(want, got any) string {
	if reflect.DeepEqual(want, got) {
		return ""
	}
	w, _ := json.MarshalIndent(want, "", "  ")
	g, _ := json.MarshalIndent(got, "", "  ")
	if string(w) == string(g) {
		return fmt.Sprintf("-%#v\n+%#v\n", want, got)
	}
	return lineDiff(string(w), string(g))
}

func lineDiff(want, got string) string {
	a, b := strings.Split(want, "\n"), strings.Split(got, "\n")
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			i, j = i+1, j+1
		case j < len(b) && (i == len(a) || lcs[i][j+1] >= lcs[i+1][j]):
			fmt.Fprintf(&out, "+%s\n", b[j])
			j++
		default:
			fmt.Fprintf(&out, "-%s\n", a[i])
			i++
		}
	}
	return out.String()
}

// problemStrings returns the problems of a *ValidationError as strings, failing the
// test for any other error.
func problemStrings(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error is %T, not *ValidationError: %v", err, err)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("errors.Is(err, ErrInvalid) = false")
	}
	s := make([]string, len(ve.Problems))
	for i, p := range ve.Problems {
		s[i] = p.String()
	}
	return s
}

// mustParseYAML parses a config that must be valid.
func mustParseYAML(t *testing.T, text string) *Config {
	t.Helper()
	c, err := Parse([]byte(text), "yaml", "t.yaml")
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, text)
	}
	return c
}

// stripMeta clears the fields that are not part of the schema, for comparisons.
func stripMeta(c *Config) *Config {
	c.Source, c.Positions, c.Warnings = "", nil, nil
	c.Keepalived, c.ScriptSecurity = false, false
	return c
}

func intPtr(v int) *int { return &v }
