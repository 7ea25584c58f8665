package config

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
)

var (
	durationType      = reflect.TypeFor[time.Duration]()
	addrType          = reflect.TypeFor[netip.Addr]()
	prefixType        = reflect.TypeFor[netip.Prefix]()
	vipType           = reflect.TypeFor[VIP]()
	trackRefType      = reflect.TypeFor[TrackRef]()
	trackIfaceType    = reflect.TypeFor[TrackInterface]()
	secondaryPathType = reflect.TypeFor[SecondaryPath]()
	trackerType       = reflect.TypeFor[Tracker]()
	notifyType        = reflect.TypeFor[Notify]()
	instanceType      = reflect.TypeFor[Instance]()
	garpType          = reflect.TypeFor[GARP]()
)

// decodeInto decodes settings (viper's view of the file plus environment and
// defaults) into a Config and returns every decoding problem keyed by field path.
// WeaklyTypedInput stays off: decodeHook does the few conversions an operator
// expects (numbers as seconds, strings from environment variables) and nothing else,
// so `preempt: 1` or `vrid: 50.5` is an error rather than a guess.
func decodeInto(settings map[string]any, cfg *Config) []Problem {
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook:  decodeHook,
		ErrorUnused: true,
		Result:      cfg,
		TagName:     "mapstructure",
	})
	if err != nil {
		return []Problem{{Msg: err.Error()}}
	}
	err = dec.Decode(settings)
	var probs []Problem
	collectDecodeErrors(err, &probs)
	return append(probs, explicitZeros(settings, cfg)...)
}

// explicitZeros handles instance keys whose written 0 would look like an omitted
// key once decoded: a garp master_delay of 0 is kept (GARP.MasterDelaySet), and an
// advert_interval of 0, which Normalize would turn into the 1 s default, is a
// problem, as keepalived refuses advert_int 0.
func explicitZeros(settings map[string]any, cfg *Config) []Problem {
	fileWeights(settings, cfg)
	list, ok := lookupFold(settings, "instances")
	if !ok {
		return nil
	}
	var probs []Problem
	items, _ := list.([]any)
	for i, item := range items {
		if i >= len(cfg.Instances) {
			break
		}
		m, _ := item.(map[string]any)
		g, _ := lookupFold(m, "garp")
		gm, _ := g.(map[string]any)
		if _, set := lookupFold(gm, "master_delay"); set {
			cfg.Instances[i].GARP.MasterDelaySet = true
		}
		if v, set := lookupFold(m, "advert_interval"); set && cfg.Instances[i].AdvertInterval == 0 {
			if d, err := toDuration(v); err == nil && d == 0 {
				probs = append(probs, Problem{Path: fmt.Sprintf("instances[%d].advert_interval", i), Value: v,
					Msg: "0 is not an advert interval (keepalived refuses advert_int 0 too); leave the key out for the 1s default"})
			}
		}
	}
	return probs
}

// fileWeights gives a file tracker written without weight keepalived's default
// weight 1 (track_file_handler, keepalived/trackers/track_file.c): the file's
// value is added to the priority. A written weight, 0 included, stays.
func fileWeights(settings map[string]any, cfg *Config) {
	raw, _ := lookupFold(settings, "trackers")
	trackers, _ := raw.(map[string]any)
	if trackers == nil {
		return // e.g. only the environment over a keepalived.conf, which says its weights
	}
	for name, t := range cfg.Trackers {
		if t.File == "" {
			continue
		}
		m, _ := trackers[name].(map[string]any)
		if _, set := lookupFold(m, "weight"); !set {
			t.Weight = 1
			cfg.Trackers[name] = t
		}
	}
}

// decodeHook converts the loose forms an operator writes into schema types. It must
// not guess: every conversion here is one the documentation promises.
func decodeHook(from, to reflect.Value) (any, error) {
	data := from.Interface()
	if from.Type() == to.Type() {
		return data, nil
	}
	if v, ok, err := decodeSchemaType(data, to.Type()); ok {
		return v, err
	}
	return decodeKind(data, to.Type())
}

// decodeSchemaType converts data into one of the schema's own types (durations,
// addresses, prefixes, VIPs, references written as a bare string, trackers and
// notify scripts whose shell strings stay whole, instance defaults). ok false:
// not one of them, or not a form this type takes; decodeKind goes on.
func decodeSchemaType(data any, to reflect.Type) (v any, ok bool, err error) {
	switch to {
	case durationType:
		v, err = toDuration(data)
		return v, true, err
	case addrType:
		v, err = decodeAddr(data)
		return v, true, err
	case prefixType:
		s, isString := data.(string)
		if !isString {
			return nil, true, fmt.Errorf("%s must be an address or address/prefix-length string", describe(data))
		}
		v, err = ParseHostPrefix(strings.TrimSpace(s))
		return v, true, err
	case vipType:
		if s, isString := data.(string); isString {
			v, err = ParseVIP(s)
			return v, true, err
		}
	case trackRefType:
		if s, isString := data.(string); isString {
			return TrackRef{Name: s}, true, nil
		}
	case trackIfaceType:
		if s, isString := data.(string); isString {
			return TrackInterface{Name: s}, true, nil
		}
	case secondaryPathType:
		if s, isString := data.(string); isString {
			if a, err := netip.ParseAddr(s); err == nil {
				return SecondaryPath{Peer: a}, true, nil
			}
			return SecondaryPath{Interface: s}, true, nil
		}
	case trackerType:
		if m, isMap := data.(map[string]any); isMap {
			return keepShellStrings(m, "command"), true, nil
		}
	case notifyType:
		if m, isMap := data.(map[string]any); isMap {
			return keepShellStrings(m, "master", "backup", "fault", "stop", "generic"), true, nil
		}
	case instanceType:
		if m, isMap := data.(map[string]any); isMap {
			if m2 := withInstanceDefaults(m); m2 != nil {
				return m2, true, nil
			}
		}
	}
	return nil, false, nil
}

func decodeAddr(data any) (netip.Addr, error) {
	s, ok := data.(string)
	if !ok {
		return netip.Addr{}, fmt.Errorf("%s must be an IP address string", describe(data))
	}
	if s == "" {
		return netip.Addr{}, nil
	}
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%q is not an IP address", s)
	}
	return a, nil
}

// withInstanceDefaults fills in preempt (default true) and priority (100),
// which zero values cannot say, before decoding, so an explicit `preempt:
// false` survives and an explicit `priority: 0` is reported, not replaced.
// nil: both are set already.
func withInstanceDefaults(m map[string]any) map[string]any {
	defaults := map[string]any{"preempt": DefaultPreempt, "priority": DefaultPriority}
	var m2 map[string]any
	for key, def := range defaults {
		if _, set := lookupFold(m, key); set {
			continue
		}
		if m2 == nil {
			m2 = make(map[string]any, len(m)+len(defaults))
			for k, v := range m {
				m2[k] = v
			}
		}
		m2[key] = def
	}
	return m2
}

// decodeKind converts the loose scalar forms into the kind to has: whole
// numbers from floats and strings, booleans from strings, argv from a string.
func decodeKind(data any, to reflect.Type) (any, error) {
	switch to.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		switch v := data.(type) {
		case float64:
			if v != math.Trunc(v) {
				return nil, fmt.Errorf("%v is not a whole number", v)
			}
			return int64(v), nil
		case float32:
			return toInt(float64(v))
		case string:
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%q is not a whole number", v)
			}
			return n, nil
		case bool:
			return nil, fmt.Errorf("%v is a boolean; expected a whole number", v)
		}
	case reflect.Bool:
		if s, ok := data.(string); ok {
			b, err := strconv.ParseBool(strings.TrimSpace(s))
			if err != nil {
				return nil, fmt.Errorf("%q is not a boolean (true or false)", s)
			}
			return b, nil
		}
	case reflect.Slice:
		if s, ok := data.(string); ok && to.Elem().Kind() == reflect.String {
			return splitArgv(s)
		}
	}
	return data, nil
}

func toInt(f float64) (any, error) {
	if f != math.Trunc(f) {
		return nil, fmt.Errorf("%v is not a whole number", f)
	}
	return int64(f), nil
}

// toDuration accepts Go duration syntax ("1s", "10ms") and plain numbers meaning
// seconds, because keepalived users write advert_interval: 1 or 0.01.
func toDuration(data any) (time.Duration, error) {
	var secs float64
	switch v := data.(type) {
	case int:
		secs = float64(v)
	case int64:
		secs = float64(v)
	case uint64:
		secs = float64(v)
	case float64:
		secs = v
	case string:
		s := strings.TrimSpace(v)
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			secs = f
			break
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration (write 1s, 10ms, or a number of seconds)", v)
		}
		return d, nil
	default:
		return 0, fmt.Errorf("%s is not a duration (write 1s, 10ms, or a number of seconds)", describe(data))
	}
	if math.IsNaN(secs) || math.IsInf(secs, 0) || math.Abs(secs) > math.MaxInt64/1e9 {
		return 0, fmt.Errorf("%v seconds is not a usable duration", secs)
	}
	return time.Duration(math.Round(secs * 1e9)), nil
}

// splitArgv turns a command string into argv by splitting on whitespace. There is no
// quoting: a string with quotes would be split in surprising places, so it is an
// error; write a list, or set shell: true to hand the string to /bin/sh -c.
func splitArgv(s string) ([]string, error) {
	if strings.ContainsAny(s, `"'`) {
		return nil, fmt.Errorf("%q contains quotes, which are not interpreted; write the command as a list, or set shell: true", s)
	}
	return strings.Fields(s), nil
}

// keepShellStrings: with shell: true a command string is one /bin/sh -c argument, so
// it must reach the []string field whole instead of being split on whitespace.
func keepShellStrings(m map[string]any, keys ...string) map[string]any {
	sh, _ := lookupFold(m, "shell")
	if b, ok := sh.(bool); !ok || !b {
		if s, ok := sh.(string); !ok || s != "true" {
			return m
		}
	}
	m2 := make(map[string]any, len(m))
	for k, v := range m {
		m2[k] = v
		for _, want := range keys {
			if s, ok := v.(string); ok && strings.EqualFold(k, want) {
				m2[k] = []any{s}
			}
		}
	}
	return m2
}

func lookupFold(m map[string]any, key string) (any, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// describe renders a decoded value for a message: strings quoted, others as YAML
// would show them, with their kind when that is the problem.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(x)
	case map[string]any, map[any]any:
		return "a mapping"
	case []any:
		return "a list"
	case bool:
		return fmt.Sprintf("%v (a boolean)", x)
	default:
		return fmt.Sprint(x)
	}
}

// collectDecodeErrors flattens mapstructure's error tree (errors.Join of
// *DecodeError, each naming the field path) into Problems.
func collectDecodeErrors(err error, out *[]Problem) {
	var de *mapstructure.DecodeError
	switch e := err.(type) {
	case nil:
		return
	case *mapstructure.DecodeError:
		de = e
	case interface{ Unwrap() []error }:
		for _, e := range e.Unwrap() {
			collectDecodeErrors(e, out)
		}
		return
	case interface{ Unwrap() error }:
		// mapstructure wraps the joined tree in "decoding failed due to…".
		if errors.As(err, &de) {
			collectDecodeErrors(e.Unwrap(), out)
			return
		}
		*out = append(*out, Problem{Msg: err.Error()})
		return
	default:
		*out = append(*out, Problem{Msg: err.Error()})
		return
	}
	inner := de.Unwrap()
	var nested *mapstructure.DecodeError
	if errors.As(inner, &nested) {
		collectDecodeErrors(inner, out)
		return
	}
	path := msPath(de.Name())
	msg := inner.Error()
	if keys, ok := strings.CutPrefix(msg, "has invalid keys: "); ok {
		for _, k := range strings.Split(keys, ", ") {
			*out = append(*out, Problem{
				Path:  joinPath(path, k),
				Value: k,
				Msg:   unknownKeyMsg(path, k),
			})
		}
		return
	}
	*out = append(*out, Problem{Path: path, Msg: friendlyDecodeMsg(inner)})
}

// friendlyDecodeMsg rewrites mapstructure's type errors in the schema's words.
func friendlyDecodeMsg(err error) string {
	var ut *mapstructure.UnconvertibleTypeError
	if errors.As(err, &ut) {
		return fmt.Sprintf("%s is not %s", describe(ut.Value), typeWords(ut.Expected.Type()))
	}
	var pe *mapstructure.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("%s is not %s", describe(pe.Value), typeWords(pe.Expected.Type()))
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "source data must be an array or slice, got ") {
		return "expected a list, got " + strings.TrimPrefix(msg, "source data must be an array or slice, got ")
	}
	if strings.HasPrefix(msg, "expected a map or struct, got ") {
		return "expected a mapping, got " + strings.TrimPrefix(msg, "expected a map or struct, got ")
	}
	return msg
}

func typeWords(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean (true or false)"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Slice:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	}
	return t.String()
}

var msMapKey = regexp.MustCompile(`\[([^\]]*)\]`)

// msPath turns mapstructure's field name ("trackers[chk].interval",
// "instances[0].vrid") into the path the schema documents ("trackers.chk.interval",
// "instances[0].vrid").
func msPath(name string) string {
	return msMapKey.ReplaceAllStringFunc(name, func(m string) string {
		k := m[1 : len(m)-1]
		if _, err := strconv.Atoi(k); err == nil {
			return m
		}
		return "." + k
	})
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// unknownKeyMsg names the key and what is allowed there, suggesting the nearest
// allowed key when the unknown one looks like a typo.
func unknownKeyMsg(parent, key string) string {
	allowed := allowedKeys(typeAtPath(parent))
	if len(allowed) == 0 {
		return fmt.Sprintf("unknown key %q", key)
	}
	best, bestDist := "", 3
	for _, a := range allowed {
		if d := editDistance(strings.ToLower(key), a); d < bestDist {
			best, bestDist = a, d
		}
	}
	if best != "" {
		return fmt.Sprintf("unknown key %q (did you mean %q?)", key, best)
	}
	return fmt.Sprintf("unknown key %q; allowed: %s", key, strings.Join(allowed, ", "))
}

// typeAtPath walks the schema to the struct type a field path points into.
func typeAtPath(path string) reflect.Type {
	t := reflect.TypeFor[Config]()
	if path == "" {
		return t
	}
	for _, seg := range splitPath(path) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch {
		case strings.HasPrefix(seg, "["):
			if t.Kind() != reflect.Slice {
				return nil
			}
			t = t.Elem()
		case t.Kind() == reflect.Map:
			t = t.Elem()
		case t.Kind() == reflect.Struct:
			f, ok := fieldByTag(t, seg)
			if !ok {
				return nil
			}
			t = f.Type
		default:
			return nil
		}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// splitPath splits "instances[0].vips[1].dev" into instances, [0], vips, [1], dev.
func splitPath(path string) []string {
	var segs []string
	for _, part := range strings.Split(path, ".") {
		for {
			i := strings.IndexByte(part, '[')
			if i < 0 {
				break
			}
			if i > 0 {
				segs = append(segs, part[:i])
			}
			j := strings.IndexByte(part[i:], ']')
			if j < 0 {
				break
			}
			segs = append(segs, part[i:i+j+1])
			part = part[i+j+1:]
		}
		if part != "" {
			segs = append(segs, part)
		}
	}
	return segs
}

func fieldByTag(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if tagName(f) == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func tagName(f reflect.StructField) string {
	tag, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
	return tag
}

func allowedKeys(t reflect.Type) []string {
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	var keys []string
	for i := range t.NumField() {
		if n := tagName(t.Field(i)); n != "" && n != "-" {
			keys = append(keys, n)
		}
	}
	sort.Strings(keys)
	return keys
}

// editDistance is the Levenshtein distance between a and b in bytes (keys and
// keywords are ASCII); both the YAML and the keepalived.conf typo hints use it.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// stringifyNumbers rewrites numbers that sit where the schema wants a string (a
// password written as 1111) into the text the operator typed. For YAML the literal
// comes from the source, because YAML reads 0111 as the octal number 73 and the
// password "0111" must not silently become "73".
func stringifyNumbers(v any, t reflect.Type, path string, literals map[string]string) any {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return v
	}
	switch t.Kind() {
	case reflect.String:
		switch n := v.(type) {
		case int, int64, uint64, float64:
			if lit, ok := literals[path]; ok {
				return lit
			}
			if f, ok := n.(float64); ok {
				return strconv.FormatFloat(f, 'f', -1, 64)
			}
			return fmt.Sprint(n)
		}
	case reflect.Slice:
		if l, ok := v.([]any); ok {
			for i := range l {
				l[i] = stringifyNumbers(l[i], t.Elem(), fmt.Sprintf("%s[%d]", path, i), literals)
			}
		}
	case reflect.Map:
		if m, ok := v.(map[string]any); ok {
			for k, e := range m {
				m[k] = stringifyNumbers(e, t.Elem(), joinPath(path, k), literals)
			}
		}
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok || t == addrType || t == prefixType {
			return v
		}
		for k, e := range m {
			if f, ok := fieldByTag(t, strings.ToLower(k)); ok {
				m[k] = stringifyNumbers(e, f.Type, joinPath(path, strings.ToLower(k)), literals)
			}
		}
	}
	return v
}
