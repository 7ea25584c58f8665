package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

// EnvPrefix prefixes every environment override: EBPFVRRP_ then the field path upper-
// cased with dots as underscores (EBPFVRRP_TELEMETRY_LISTEN, EBPFVRRP_DATAPLANE_PIN_PATH,
// EBPFVRRP_GARP_MASTER_DELAY, EBPFVRRP_SPLIT_BRAIN_ACTION). Only settings outside
// lists and maps can be overridden (instances and trackers have no stable env name).
// An empty variable is ignored, as viper ignores it.
const EnvPrefix = "EBPFVRRP"

var (
	// ErrUnsupportedFormat: Parse was given a format other than yaml, yml, toml, json.
	ErrUnsupportedFormat = errors.New("config: unsupported format")
	// ErrNoKeepalivedImport: the file is keepalived.conf but this build has no importer.
	ErrNoKeepalivedImport = errors.New("config: keepalived.conf import is not available")
)

// Load reaches the keepalived.conf importer through the package variable
// loadKeepalived (declared in keepalived_hook.go and set by keepalived.go's init), so
// the two halves of the package build independently.

// Load reads a configuration file. keepalived.conf syntax (recognised by content, see
// IsKeepalived) goes to the keepalived importer; anything else is decoded by
// viper according to the extension (.yaml/.yml, .toml, .json; YAML when unknown).
// Environment overrides (EnvPrefix) apply to both. The result is normalized and
// validated; on any problem Load returns nil and a *ValidationError (errors.Is
// ErrInvalid) naming file, line, field path, value and what is allowed.
func Load(path string) (*Config, error) {
	data, err := readConfigFile(path, &readBudget{})
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if IsKeepalived(data) {
		return loadKeepalivedFile(path)
	}
	return Parse(data, formatOf(path), path)
}

func loadKeepalivedFile(path string) (*Config, error) {
	if loadKeepalived == nil {
		return nil, fmt.Errorf("%w: %s is keepalived.conf syntax", ErrNoKeepalivedImport, path)
	}
	c, err := loadKeepalived(path)
	if err != nil {
		return nil, err
	}
	if c.Source == "" {
		c.Source = path
	}
	c.Keepalived = true
	v := newViper()
	if c.Positions == nil {
		c.Positions = map[string]Position{}
	}
	envPositions(c.Positions)
	probs := decodeInto(v.AllSettings(), c)
	return finish(c, probs)
}

// Parse decodes a configuration held in memory; format is yaml, yml, toml or json
// ("" means yaml) and source names it in problems. Environment overrides, defaults,
// Normalize and Validate apply exactly as in Load.
func Parse(data []byte, format string, source string) (*Config, error) {
	format = strings.ToLower(strings.TrimPrefix(format, "."))
	switch format {
	case "", "yml":
		format = "yaml"
	case "yaml", "toml", "json":
	default:
		return nil, fmt.Errorf("%w %q (allowed: yaml, yml, toml, json)", ErrUnsupportedFormat, format)
	}

	positions := map[string]Position{}
	literals := map[string]string{}
	var keyProbs []Problem
	var raw map[string]any
	if format == "yaml" || format == "json" {
		// JSON is YAML too, so the node tree gives JSON files line numbers as well.
		var root yaml.Node
		if err := yaml.Unmarshal(data, &root); err != nil {
			if format == "yaml" {
				return nil, syntaxProblem(source, data, err)
			}
		} else {
			ix := indexYAML(&root, source)
			positions, literals, keyProbs = ix.positions, ix.literals, ix.problems
			if format == "yaml" {
				if err := root.Decode(&raw); err != nil && root.Kind != 0 {
					return nil, syntaxProblem(source, data, err)
				}
			}
		}
	}

	v := newViper()
	v.SetConfigType(format)
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		return nil, syntaxProblem(source, data, err)
	}
	setDefaults(v)
	envPositions(positions)

	settings := v.AllSettings()
	// Top-level keys starting with "x-" are free for YAML anchors (x-common: &common),
	// as in docker-compose files.
	for k := range settings {
		if strings.HasPrefix(k, "x-") {
			delete(settings, k)
		}
	}
	// viper lower-cases keys and splits them at dots; tracker names are the operator's
	// and must keep their spelling, so they come from a plain parse of the file.
	if _, ok := settings["trackers"]; ok {
		if raw == nil {
			var err error
			if raw, err = parseRaw(data, format); err != nil {
				return nil, syntaxProblem(source, data, err)
			}
		}
		if t, ok := lookupFold(raw, "trackers"); ok {
			settings["trackers"] = t
		}
	}
	settings = stringKeys(settings).(map[string]any)
	stringifyNumbers(settings, reflect.TypeFor[Config](), "", literals)

	c := &Config{Source: source, Positions: positions}
	probs := append(keyProbs, decodeInto(settings, c)...)
	return finish(c, probs)
}

// finish normalizes and validates, merging decoding problems with validation
// problems. Validation problems at or below a path that failed to decode are dropped:
// they describe the zero value left behind, not what the operator wrote.
func finish(c *Config, decodeProbs []Problem) (*Config, error) {
	c.Normalize()
	err := c.Validate()
	if len(decodeProbs) == 0 {
		if err != nil {
			return nil, err
		}
		if len(c.Instances) == 0 {
			// As keepalived -t: valid, with nothing to run (`run` refuses it).
			c.Warnings = append(c.Warnings, Warning{File: c.Source, Message: NoInstancesWarning})
		}
		return c, nil
	}
	all := make([]Problem, 0, len(decodeProbs))
	for _, p := range decodeProbs {
		if p.File == "" {
			pos := c.positionOf(p.Path)
			p.File, p.Line = pos.File, pos.Line
		}
		all = append(all, p)
	}
	var ve *ValidationError
	if errors.As(err, &ve) {
	next:
		for _, p := range ve.Problems {
			for _, d := range decodeProbs {
				if p.Path == d.Path || strings.HasPrefix(p.Path, d.Path+".") || strings.HasPrefix(p.Path, d.Path+"[") {
					continue next
				}
			}
			all = append(all, p)
		}
	}
	sortProblems(all)
	return nil, &ValidationError{Problems: all}
}

// NoInstancesWarning is the warning for a valid config without instances.
const NoInstancesWarning = "no instances (vrrp_instance): the config is valid but there is nothing to run; ebpfvrrp run refuses it"

// newViper returns a viper with every environment override bound.
func newViper() *viper.Viper {
	v := viper.New()
	for key, env := range envBindings() {
		_ = v.BindEnv(key, env) // fails only for an empty key
	}
	return v
}

// setDefaults registers the top-level defaults with viper, so a file that omits a
// key gets the default and a file that writes 0 or "" keeps it.
func setDefaults(v *viper.Viper) {
	d := DefaultConfig()
	v.SetDefault("garp.master_delay", d.GARP.MasterDelay)
	v.SetDefault("garp.master_repeat", d.GARP.MasterRepeat)
	v.SetDefault("garp.refresh", d.GARP.Refresh)
	v.SetDefault("garp.refresh_repeat", d.GARP.RefreshRepeat)
	v.SetDefault("garp.interval", d.GARP.Interval)
	v.SetDefault("mcast_group4", d.McastGroup4.String())
	v.SetDefault("mcast_group6", d.McastGroup6.String())
	v.SetDefault("dataplane.attach_mode", d.Dataplane.AttachMode)
	v.SetDefault("dataplane.pin_path", d.Dataplane.PinPath)
	v.SetDefault("telemetry.listen", d.Telemetry.Listen)
	v.SetDefault("split_brain.action", d.SplitBrain.Action)
	v.SetDefault("split_brain.probe_interval", d.SplitBrain.ProbeInterval)
}

// envBindings maps every overridable field path to its variable name: each scalar
// (or list of strings) reachable from Config through structs only.
func envBindings() map[string]string {
	out := map[string]string{}
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := range t.NumField() {
			f := t.Field(i)
			name := tagName(f)
			if name == "" || name == "-" {
				continue
			}
			key := joinPath(prefix, name)
			switch ft := f.Type; {
			case ft == addrType || ft == prefixType:
			case ft.Kind() == reflect.Struct:
				walk(ft, key)
				continue
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.String:
			case ft.Kind() == reflect.Slice, ft.Kind() == reflect.Map, ft.Kind() == reflect.Pointer:
				continue
			}
			out[key] = EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
		}
	}
	walk(reflect.TypeFor[Config](), "")
	return out
}

// envPositions marks values that came from the environment, so a bad override is
// reported against the variable, not against a line of the file.
func envPositions(pos map[string]Position) {
	for key, env := range envBindings() {
		if val, ok := os.LookupEnv(env); ok && val != "" {
			pos[key] = Position{File: "$" + env}
		}
	}
}

// stringKeys rewrites maps with non-string keys (YAML allows `~: x` or `1: x`) into
// map[string]any, which is all mapstructure can report unknown keys of.
func stringKeys(v any) any {
	switch m := v.(type) {
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, e := range m {
			ks := "null"
			if k != nil {
				ks = fmt.Sprint(k)
			}
			out[ks] = stringKeys(e)
		}
		return out
	case map[string]any:
		for k, e := range m {
			m[k] = stringKeys(e)
		}
		return m
	case []any:
		for i, e := range m {
			m[i] = stringKeys(e)
		}
		return m
	}
	return v
}

func parseRaw(data []byte, format string) (map[string]any, error) {
	var raw map[string]any
	var err error
	switch format {
	case "toml":
		err = toml.Unmarshal(data, &raw)
	case "json":
		err = json.Unmarshal(data, &raw)
	default:
		err = yaml.Unmarshal(data, &raw)
	}
	return raw, err
}

var (
	yamlLineRE  = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)
	yamlEntryRE = regexp.MustCompile(`^line (\d+): (.*)$`)
)

// syntaxProblem turns a parser's error into a one-problem ValidationError carrying
// the line the parser reported.
func syntaxProblem(source string, data []byte, err error) error {
	var yte *yaml.TypeError
	if errors.As(err, &yte) {
		ve := &ValidationError{}
		for _, e := range yte.Errors {
			p := Problem{File: source, Msg: "yaml: " + e}
			if m := yamlEntryRE.FindStringSubmatch(e); m != nil {
				p.Line, _ = strconv.Atoi(m[1])
				p.Msg = "yaml: " + m[2]
			}
			ve.Problems = append(ve.Problems, p)
		}
		return ve
	}
	p := Problem{File: source, Msg: err.Error()}
	var cpe viper.ConfigParseError
	if errors.As(err, &cpe) {
		p.Msg = cpe.Unwrap().Error()
	}
	var tde *toml.DecodeError
	var jse *json.SyntaxError
	var jte *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tde):
		p.Line, _ = tde.Position()
		p.Msg = tde.Error()
	case errors.As(err, &jse):
		p.Msg = "json: " + jse.Error()
		p.Line = lineAt(data, jse.Offset)
	case errors.As(err, &jte):
		p.Msg = "json: " + jte.Error()
	default:
		msg := strings.ReplaceAll(p.Msg, "\n", "; ")
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			p.Line, _ = strconv.Atoi(m[1])
			msg = "yaml: " + m[2]
		}
		p.Msg = msg
	}
	return &ValidationError{Problems: []Problem{p}}
}

func lineAt(data []byte, off int64) int {
	if data == nil || off < 0 || off > int64(len(data)) {
		return 0
	}
	return bytes.Count(data[:off], []byte("\n")) + 1
}

func formatOf(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".toml":
		return "toml"
	case ".json":
		return "json"
	default:
		return "yaml"
	}
}
