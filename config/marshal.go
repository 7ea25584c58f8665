package config

import (
	"bytes"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// alwaysEmit are omitempty fields whose zero value differs from their default, so
// leaving them out would not load back to the same Config.
var alwaysEmit = map[string]bool{
	"garp.master_delay": true,
	"telemetry.listen":  true,
}

// Marshal renders c as YAML that Parse turns back into an equal Config (Source,
// Positions and Warnings aside). It is what `ebpfvrrp convert` prints: durations as
// "1s", addresses as text, VIPs and tracker references in their one-line forms, and
// per-instance values that only repeat what Normalize would derive (GARP inherited
// from the global block, allowed_peers equal to unicast_peers) left out.
func Marshal(c *Config) ([]byte, error) {
	cp := *c
	cp.Instances = slices.Clone(c.Instances)
	for i := range cp.Instances {
		in := &cp.Instances[i]
		in.GARP = omitInherited(in.GARP, c.GARP)
		if slices.Equal(in.AllowedPeers, in.UnicastPeers) {
			in.AllowedPeers = nil
		}
	}
	root, err := encodeValue(reflect.ValueOf(cp), "")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}); err != nil {
		return nil, fmt.Errorf("config: marshal: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("config: marshal: %w", err)
	}
	return buf.Bytes(), nil
}

// omitInherited zeroes the fields Normalize would fill from the global GARP block.
func omitInherited(in, global GARP) GARP {
	if in.MasterDelay == global.MasterDelay {
		in.MasterDelay = 0
		// Equal to the global: inheriting gives the same, so nothing to remember
		// unless the global is 0 too and the instance wrote its 0 (kept as written).
		in.MasterDelaySet = in.MasterDelaySet && global.MasterDelay == 0
	}
	if in.MasterRepeat == global.MasterRepeat {
		in.MasterRepeat = 0
	}
	if in.Refresh == global.Refresh {
		in.Refresh = 0
	}
	if in.RefreshRepeat == global.RefreshRepeat {
		in.RefreshRepeat = 0
	}
	if in.Interval == global.Interval {
		in.Interval = 0
	}
	return in
}

func scalar(tag, value string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
}

func str(s string) *yaml.Node { return scalar("!!str", s) }

func encodeValue(v reflect.Value, path string) (*yaml.Node, error) {
	if n := encodeSchemaType(v); n != nil {
		return n, nil
	}
	switch v.Kind() {
	case reflect.String:
		return str(v.String()), nil
	case reflect.Bool:
		return scalar("!!bool", strconv.FormatBool(v.Bool())), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return scalar("!!int", strconv.FormatInt(v.Int(), 10)), nil
	case reflect.Pointer:
		if v.IsNil() {
			return scalar("!!null", "null"), nil
		}
		return encodeValue(v.Elem(), path)
	case reflect.Slice:
		return encodeSlice(v, path)
	case reflect.Map:
		return encodeMap(v, path)
	case reflect.Struct:
		return encodeStruct(v, path)
	}
	return nil, fmt.Errorf("config: marshal %s: unsupported type %s", path, v.Type())
}

// encodeSchemaType writes the schema's own types in the short forms the
// decoder reads back (durations, addresses, prefixes, a VIP or a reference as
// one string); nil when v is not one or needs its long form.
func encodeSchemaType(v reflect.Value) *yaml.Node {
	switch v.Type() {
	case durationType:
		return str(time.Duration(v.Int()).String())
	case addrType:
		a := v.Interface().(netip.Addr)
		if !a.IsValid() {
			return str("")
		}
		return str(a.String())
	case prefixType:
		p := v.Interface().(netip.Prefix)
		if !p.IsValid() {
			return str("")
		}
		return str(p.String())
	case vipType:
		vip := v.Interface().(VIP)
		if back, err := ParseVIP(vip.String()); err == nil && back == vip {
			return str(vip.String())
		}
	case trackRefType:
		if r := v.Interface().(TrackRef); r.Weight == nil {
			return str(r.Name)
		}
	case trackIfaceType:
		if t := v.Interface().(TrackInterface); t.Weight == 0 {
			return str(t.Name)
		}
	case secondaryPathType:
		sp := v.Interface().(SecondaryPath)
		switch {
		case sp.Interface != "" && !sp.Peer.IsValid():
			if _, err := netip.ParseAddr(sp.Interface); err != nil {
				return str(sp.Interface)
			}
		case sp.Interface == "" && sp.Peer.IsValid():
			return str(sp.Peer.String())
		}
	}
	return nil
}

func encodeSlice(v reflect.Value, path string) (*yaml.Node, error) {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	if e := v.Type().Elem(); e.Kind() == reflect.String || e == addrType {
		n.Style = yaml.FlowStyle
	}
	for i := range v.Len() {
		c, err := encodeValue(v.Index(i), fmt.Sprintf("%s[%d]", path, i))
		if err != nil {
			return nil, err
		}
		n.Content = append(n.Content, c)
	}
	return n, nil
}

// encodeMap writes a map with its keys sorted, so convert is deterministic.
func encodeMap(v reflect.Value, path string) (*yaml.Node, error) {
	if v.Type().Key().Kind() != reflect.String {
		return nil, fmt.Errorf("config: marshal %s: map key %s is not a string", path, v.Type().Key())
	}
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	keys := make([]string, 0, v.Len())
	for _, k := range v.MapKeys() {
		keys = append(keys, k.String())
	}
	sort.Strings(keys)
	for _, k := range keys {
		c, err := encodeValue(v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key())), joinPath(path, k))
		if err != nil {
			return nil, err
		}
		n.Content = append(n.Content, str(k), c)
	}
	return n, nil
}

// encodeStruct writes a struct's fields by their yaml names, leaving out the
// empty omitempty ones unless they must be said (alwaysEmit, or a zero that
// would otherwise come back as a default).
func encodeStruct(v reflect.Value, path string) (*yaml.Node, error) {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fv := v.Field(i)
		p := joinPath(path, name)
		if opts == "omitempty" && isEmpty(fv) && !mustEmit(p) && !explicitZero(v, f) {
			continue
		}
		c, err := encodeValue(fv, p)
		if err != nil {
			return nil, err
		}
		n.Content = append(n.Content, str(name), c)
	}
	return n, nil
}

// explicitZero: field f of struct v is a zero that means itself, not "the
// default": an instance's garp master_delay written as 0, a file tracker's
// weight 0 (the default is 1).
func explicitZero(v reflect.Value, f reflect.StructField) bool {
	switch {
	case v.Type() == garpType && f.Name == "MasterDelay":
		return v.Interface().(GARP).MasterDelaySet
	case v.Type() == trackerType && f.Name == "Weight":
		return v.Interface().(Tracker).File != ""
	}
	return false
}

// mustEmit: p is in alwaysEmit or is a block containing such a field.
func mustEmit(p string) bool {
	for k := range alwaysEmit {
		if k == p || strings.HasPrefix(k, p+".") {
			return true
		}
	}
	return false
}

func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Slice, reflect.Map:
		return v.Len() == 0
	}
	return v.IsZero()
}
