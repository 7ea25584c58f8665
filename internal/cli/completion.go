package cli

import (
	"fmt"
	"io"
	"strings"
)

// WriteBashCompletion writes a bash completion function for program: the
// commands as the first word, then each command's options (a group's too);
// after an option whose argument is a path (IsPathArg), and for other
// arguments, file names. Options straight after the program name complete as
// those of defaultCommand. The caller writes any comment line before it.
func WriteBashCompletion(w io.Writer, program string, commands []Command, group, defaultCommand string) error {
	var names []string
	for _, c := range commands {
		names = append(names, c.Name)
	}
	fmt.Fprintf(w, `_%s() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    local cmd=${COMP_WORDS[1]} opts fileopts
    case $cmd in
`, program)
	defOpts, defFileOpts := "", ""
	for _, c := range commands {
		var opts, fileOpts []string
		if c.Flags != nil {
			own, grouped := Options(c.Flags(), group)
			for _, o := range append(own, grouped...) {
				opts = append(opts, o.Names...)
				if IsPathArg(o.Arg) {
					fileOpts = append(fileOpts, o.Names...)
				}
			}
		}
		o, f := strings.Join(opts, " "), "|"+strings.Join(fileOpts, "|")+"|"
		if c.Name == defaultCommand {
			defOpts, defFileOpts = o, f
		}
		fmt.Fprintf(w, "    %s) opts=%q; fileopts=%q ;;\n", c.Name, o, f)
	}
	// No command yet, or options straight after the program name.
	fmt.Fprintf(w, "    *) opts=%q; fileopts=%q ;;\n", defOpts, defFileOpts)
	fmt.Fprintf(w, `    esac
    if [[ $fileopts == *"|$prev|"* ]]; then
        COMPREPLY=($(compgen -f -- "$cur"))
        return
    fi
    if (( COMP_CWORD == 1 )) && [[ $cur != -* ]]; then
        COMPREPLY=($(compgen -W %q -- "$cur"))
        return
    fi
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return
    fi
    COMPREPLY=($(compgen -f -- "$cur"))
}
complete -o filenames -F _%s %s
`, strings.Join(names, " "), program, program)
	return nil
}
