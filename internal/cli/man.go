package cli

import (
	"fmt"
	"io"
	"strings"
)

// Page is a section-8 style man page of a program with subcommands. The text
// fields are roff, escaped by the caller (Roff); the generated parts (the
// synopsis, the commands and their options) are escaped here.
type Page struct {
	Program  string // "ebpfvrrp"; the title is its upper case
	Section  string // "8"
	Date     string // YYYY-MM-DD
	Source   string // roff: "ebpfvrrp 1.2"
	Manual   string // "System Administration"
	Name     string // roff: the NAME line after "PROGRAM \-"
	Commands []Command
	// Group is the usage prefix of the flags listed in a Section of their own
	// rather than under their command (see Options).
	Group       string
	Synopsis    string // roff after the commands' synopsis lines
	Description string
	Sections    []Section // after COMMANDS
}

// Section is a man page section: its text, then its options (if any).
type Section struct {
	Title, Text string
	Options     []Option
}

// WriteMan writes p in roff.
func WriteMan(w io.Writer, p Page) error {
	fmt.Fprintf(w, ".TH %s %s %q \"%s\" \"%s\"\n", strings.ToUpper(p.Program), p.Section, p.Date, p.Source, p.Manual)
	fmt.Fprintf(w, ".SH NAME\n%s \\- %s\n.SH SYNOPSIS\n", p.Program, p.Name)
	for _, c := range p.Commands {
		fmt.Fprintf(w, ".B %s %s\n", p.Program, Roff(c.Name))
		if c.Args != "" {
			fmt.Fprintf(w, ".I %s\n", Roff(c.Args))
		}
		fmt.Fprintln(w, ".br")
	}
	fmt.Fprintf(w, "%s.SH DESCRIPTION\n%s.SH COMMANDS\n", p.Synopsis, p.Description)
	for _, c := range p.Commands {
		fmt.Fprintf(w, ".SS \"%s %s\"\n%s.\n", p.Program, Roff(strings.TrimSpace(c.Name+" "+c.Args)), Roff(c.Summary))
		if c.Flags == nil {
			continue
		}
		if own, _ := Options(c.Flags(), p.Group); len(own) > 0 {
			fmt.Fprintln(w, ".RS")
			for _, o := range own {
				writeOption(w, o)
			}
			fmt.Fprintln(w, ".RE")
		}
	}
	for _, s := range p.Sections {
		fmt.Fprintf(w, ".SH %s\n%s", s.Title, s.Text)
		for _, o := range s.Options {
			writeOption(w, o)
		}
	}
	return nil
}

// Roff escapes text for a man page: backslashes and hyphens, and a leading dot
// or quote.
func Roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// writeOption writes o as a tagged paragraph: its names (bold) with the
// argument (italic), then its usage and default.
func writeOption(w io.Writer, o Option) {
	var head []string
	for _, n := range o.Names {
		h := `\fB` + Roff(n) + `\fR`
		if o.Arg != "" {
			h += ` \fI` + Roff(o.Arg) + `\fR`
		}
		head = append(head, h)
	}
	fmt.Fprintf(w, ".TP\n%s\n%s", strings.Join(head, ", "), Roff(o.Usage))
	if o.Default != "" {
		fmt.Fprintf(w, " (default: %s)", Roff(o.Default))
	}
	fmt.Fprintln(w)
}
