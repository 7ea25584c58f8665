// Package cli renders a program's command line, as its flag.FlagSets define it,
// for people and shells: the options listing of a man page, the man page itself
// (roff) and a bash completion script. It also accepts getopt's short-option
// clusters the flag package does not parse.
//
// A program may accept another program's options for compatibility (ebpfvrrp
// takes keepalived's). Their usage strings start with a common prefix, the
// group: Options lists them apart from the program's own, with a short and a
// long name of one option as one entry.
package cli

import (
	"flag"
	"sort"
	"strings"
)

// Command is one subcommand as the man page and the completion show it.
type Command struct {
	Name, Args, Summary string
	// Flags returns the flag set the command parses with (nil: none).
	Flags func() *flag.FlagSet
}

// Option is one flag as a man page and a completion show it.
type Option struct {
	Names   []string // "--config"; a group's option: "-f", "--use-file"
	Arg     string   // FILE, DIR...; "" for a boolean
	Usage   string   // without the group prefix
	Default string   // "" when the zero value
}

// Options lists fs's flags in order of their first name: those whose usage
// starts with group (own) and those that do (grouped, prefix removed). Grouped
// flags with the same usage and argument are one Option, short name first.
// An empty group puts every flag in own.
func Options(fs *flag.FlagSet, group string) (own, grouped []Option) {
	inGroup := func(usage string) bool { return group != "" && strings.HasPrefix(usage, group) }
	byUsage := map[string]*Option{}
	var order []*Option
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		if isBool(f) {
			arg = ""
		} else if arg == "value" {
			arg = "VALUE"
		}
		key := usage + "\x00" + arg
		if o, ok := byUsage[key]; ok && inGroup(usage) {
			o.Names = append(o.Names, flagName(f.Name))
			return
		}
		o := &Option{Names: []string{flagName(f.Name)}, Arg: arg, Usage: usage}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" {
			o.Default = f.DefValue
		}
		byUsage[key] = o
		order = append(order, o)
	})
	for _, o := range order {
		sort.Slice(o.Names, func(i, j int) bool { return len(o.Names[i]) < len(o.Names[j]) })
		if inGroup(o.Usage) {
			o.Usage = strings.TrimPrefix(o.Usage, group)
			grouped = append(grouped, *o)
		} else {
			own = append(own, *o)
		}
	}
	byName := func(os []Option) {
		sort.SliceStable(os, func(i, j int) bool {
			return strings.TrimLeft(os[i].Names[0], "-") < strings.TrimLeft(os[j].Names[0], "-")
		})
	}
	byName(own)
	byName(grouped)
	return own, grouped
}

// flagName is how a flag is written: "-f" for a one-letter name, "--config" for
// the others.
func flagName(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// IsPathArg reports whether an option's argument names a file or directory
// (FILE, DIR, PATH), which the completion completes as file names.
func IsPathArg(arg string) bool {
	switch arg {
	case "FILE", "DIR", "PATH":
		return true
	}
	return false
}
