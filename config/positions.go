package config

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// yamlIndex is what the yaml.Node tree tells us that viper's map does not: the line
// of every key and list element, and the literal text of every number.
type yamlIndex struct {
	file      string
	positions map[string]Position
	literals  map[string]string
	// problems: keys that differ only in case. viper folds keys to lower case, so
	// one of the two would be dropped silently.
	problems []Problem
}

// indexYAML records a position for every path in the document. Keys are lower-cased
// as viper lower-cases them, except tracker names, which are user-chosen and kept.
func indexYAML(root *yaml.Node, file string) *yamlIndex {
	ix := &yamlIndex{file: file, positions: map[string]Position{}, literals: map[string]string{}}
	ix.walk(root, "", 0)
	return ix
}

func (ix *yamlIndex) walk(n *yaml.Node, path string, depth int) {
	if n == nil || depth > 64 {
		return
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			ix.walk(c, path, depth+1)
		}
	case yaml.AliasNode:
		ix.walk(n.Alias, path, depth+1)
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			ix.set(p, c.Line)
			ix.walk(c, p, depth+1)
		}
	case yaml.MappingNode:
		folded := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" && k.ShortTag() == "!!merge" {
				ix.merge(v, path, depth+1)
				continue
			}
			key := k.Value
			if path != "trackers" {
				key = strings.ToLower(key)
				if prev, dup := folded[key]; dup {
					ix.problems = append(ix.problems, Problem{
						File: ix.file, Line: k.Line, Path: joinPath(path, key), Value: k.Value,
						Msg: fmt.Sprintf("key %q repeats %q from line %d; keys are case-insensitive", k.Value, prev.Value, prev.Line),
					})
				}
				folded[key] = k
			}
			p := joinPath(path, key)
			ix.set(p, k.Line)
			ix.walk(v, p, depth+1)
		}
	case yaml.ScalarNode:
		if t := n.ShortTag(); t == "!!int" || t == "!!float" {
			ix.literals[path] = n.Value
		}
	}
}

// merge indexes a YAML merge key (<<: *defaults). Keys written next to the merge win,
// so merged keys only fill paths not yet seen; their lines point at the anchor.
func (ix *yamlIndex) merge(v *yaml.Node, path string, depth int) {
	sub := &yamlIndex{file: ix.file, positions: map[string]Position{}, literals: map[string]string{}}
	switch v.Kind {
	case yaml.SequenceNode:
		for _, c := range v.Content {
			sub.walk(c, path, depth)
		}
	default:
		sub.walk(v, path, depth)
	}
	for p, pos := range sub.positions {
		if _, ok := ix.positions[p]; !ok {
			ix.positions[p] = pos
		}
	}
	for p, lit := range sub.literals {
		if _, ok := ix.literals[p]; !ok {
			ix.literals[p] = lit
		}
	}
}

func (ix *yamlIndex) set(path string, line int) {
	ix.positions[path] = Position{File: ix.file, Line: line}
}

// positionOf finds where path was written: its own entry, else the nearest ancestor's
// (a missing key is reported at the mapping that lacks it), else the file.
func (c *Config) positionOf(path string) Position {
	for p := path; ; {
		if pos, ok := c.Positions[p]; ok {
			return pos
		}
		if p == "" {
			break
		}
		p = parentPath(p)
	}
	return Position{File: c.Source}
}

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}
