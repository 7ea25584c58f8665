package cli

import (
	"flag"
	"strings"
)

// OptionalArg is implemented by a boolean flag.Value that also takes an
// optional argument, as getopt_long's optional_argument: only as --long=VALUE
// or -xVALUE.
type OptionalArg interface {
	OptionalArg() bool
}

// ExpandShortOptions rewrites getopt-style clusters the flag package does not
// parse: "-nlD" becomes "-n -l -D", "-fFILE" becomes "-f FILE", and "-tLOG",
// for a flag with an OptionalArg, "-t=LOG". An argument that is itself a
// defined flag (-config, -pin-path) is left alone, and so is everything after
// "--" and a cluster with a letter that is no flag (for the parser to reject).
func ExpandShortOptions(fs *flag.FlagSet, args []string) []string {
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) < 3 || a[0] != '-' || a[1] == '-' || strings.Contains(a, "=") || fs.Lookup(a[1:]) != nil {
			out = append(out, a)
			continue
		}
		if expanded, ok := expandCluster(fs, a); ok {
			out = append(out, expanded...)
		} else {
			out = append(out, a)
		}
	}
	return out
}

// expandCluster expands one cluster "-abc"; false if a letter is no flag.
func expandCluster(fs *flag.FlagSet, a string) ([]string, bool) {
	var expanded []string
	for j := 1; j < len(a); j++ {
		name, rest := a[j:j+1], a[j+1:]
		f := fs.Lookup(name)
		if f == nil {
			return nil, false
		}
		if isBool(f) {
			if o, ok := f.Value.(OptionalArg); ok && o.OptionalArg() && rest != "" {
				return append(expanded, "-"+name+"="+rest), true
			}
			expanded = append(expanded, "-"+name)
			continue
		}
		// An option with an argument takes the rest of the cluster.
		expanded = append(expanded, "-"+name)
		if rest != "" {
			expanded = append(expanded, rest)
		}
		return expanded, true
	}
	return expanded, true
}

// OptionName is how a getopt option is named in a message: "-s/--long", or
// the one name it has.
func OptionName(short, long string) string {
	switch {
	case short == "":
		return "--" + long
	case long == "":
		return "-" + short
	}
	return "-" + short + "/--" + long
}
