package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// The keepalived reader mirrors keepalived's lib/parser.c, which is line oriented:
//
//   - '#' and '!' outside double quotes start a comment, even in the middle of a word
//     (keepalived's decomment); "\#" and "\!" are a literal '#' and '!'.
//   - '{' and '}' outside quotes split a line, so "a { b }" is the four lines
//     "a", "{", "b", "}"; a block may open on the keyword's line or the next one.
//   - Double quotes group words; the quote ends the word ("a"b is two words).
//   - A line "include PATTERN" is replaced by the files PATTERN globs to, resolved
//     relative to the including file (keepalived chdir()s to the file's directory).
//   - "@id line" keeps the line only on the host whose config id (hostname) is id,
//     "@^id line" only on the others; "$NAME=value" defines a parameter that
//     "$NAME" / "${NAME}" later expand to.
//
// Positions are 1-based; columns count characters (runes), so a column in a line with
// Chinese comments before it matches what an editor shows.

// ErrKeepalivedSyntax marks a keepalived.conf that cannot be tokenized or whose
// blocks do not nest (unterminated quote, unbalanced braces, include cycle…).
var ErrKeepalivedSyntax = errors.New("keepalived syntax error")

// ErrKeepalivedConfig marks a well-formed keepalived.conf whose content ebpfvrrp
// cannot accept: a bad value, a misspelt keyword, or a feature (AH auth, "reverse"
// weights) whose meaning cannot be carried over.
var ErrKeepalivedConfig = errors.New("keepalived config error")

// maxExpandedLine bounds a line after $NAME expansion, so "$A=$A$A" cannot double
// its way through memory (keepalived's own line buffer is smaller still).
const maxExpandedLine = 64 * 1024

// maxIncludeDepth bounds include nesting even where paths differ (e.g. symlink loops).
const maxIncludeDepth = 32

// maxKATokens bounds the token stream (about 100 bytes a token), so the size limits
// on the files also bound memory: 64 MiB of one-letter lines would otherwise become
// some 3 GB of tokens. A keepalived.conf of 1000 instances is about 60 000 tokens.
const maxKATokens = 1_000_000

// KeepalivedError is a problem at one position of a keepalived.conf. Error() reads
// "config: FILE:LINE:COL: message"; errors.Is matches ErrKeepalivedSyntax or
// ErrKeepalivedConfig.
type KeepalivedError struct {
	Pos kaPos
	Msg string
	Err error
}

func (e *KeepalivedError) Error() string {
	return fmt.Sprintf("config: %s: %s", e.Pos, e.Msg)
}

func (e *KeepalivedError) Unwrap() error { return e.Err }

// File, Line and Column give the error's position for callers that print their own.
func (e *KeepalivedError) File() string { return e.Pos.File }
func (e *KeepalivedError) Line() int    { return e.Pos.Line }
func (e *KeepalivedError) Column() int  { return e.Pos.Col }

// kaPos is a position in a keepalived.conf (or a file it includes).
type kaPos struct {
	File string
	Line int
	Col  int
}

func (p kaPos) String() string {
	if p.Col > 0 {
		return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

func kaSyntaxErr(p kaPos, format string, args ...any) error {
	return &KeepalivedError{Pos: p, Msg: fmt.Sprintf(format, args...), Err: ErrKeepalivedSyntax}
}

func kaConfigErr(p kaPos, format string, args ...any) error {
	return &KeepalivedError{Pos: p, Msg: fmt.Sprintf(format, args...), Err: ErrKeepalivedConfig}
}

type kaItemKind uint8

const (
	kaWord  kaItemKind = iota
	kaOpen             // {
	kaClose            // }
	kaEOL              // end of a logical line
)

// kaToken is one word or brace. For words, src/start/end locate the raw text (quotes
// included) in its source line, because keepalived re-splits script lines from the
// raw text with its own quote and escape rules.
type kaToken struct {
	Kind   kaItemKind
	Text   string
	Quoted bool
	Pos    kaPos
	src    string
	start  int
	end    int
}

// kaLexer turns files into a flat token stream with kaEOL between logical lines.
type kaLexer struct {
	hostID   string
	defs     map[string]string
	stack    []string // absolute paths of the files being read, for the cycle guard
	budget   readBudget
	toks     []kaToken
	warnings []Warning
}

func newKALexer() *kaLexer {
	host, _ := os.Hostname()
	// keepalived's default config id is the node name up to the first dot.
	host, _, _ = strings.Cut(host, ".")
	return &kaLexer{hostID: host, defs: map[string]string{}}
}

func (lx *kaLexer) warn(p kaPos, format string, args ...any) {
	lx.warnings = append(lx.warnings, Warning{File: p.File, Line: p.Line, Message: fmt.Sprintf(format, args...)})
}

// readFile reads path (as named by the user or an include) into the token stream.
func (lx *kaLexer) readFile(path string, from kaPos) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	for _, open := range lx.stack {
		if open == abs {
			chain := append(append([]string{}, lx.stack...), abs)
			return kaSyntaxErr(from, "include cycle: %s", strings.Join(chain, " -> "))
		}
	}
	if len(lx.stack) >= maxIncludeDepth {
		return kaSyntaxErr(from, "includes nested deeper than %d", maxIncludeDepth)
	}
	data, err := readConfigFile(path, &lx.budget)
	if err != nil {
		if from.File == "" {
			return fmt.Errorf("config: read keepalived config: %w", err)
		}
		return &KeepalivedError{Pos: from, Msg: "include: " + err.Error(), Err: errors.Join(ErrKeepalivedSyntax, err)}
	}
	lx.stack = append(lx.stack, abs)
	defer func() { lx.stack = lx.stack[:len(lx.stack)-1] }()
	return lx.readData(path, data)
}

// readData tokenizes one file's contents. Lines may be of any length: the file
// size limit (readConfigFile) is what bounds them.
func (lx *kaLexer) readData(name string, data []byte) error {
	lineNo := 0
	for len(data) > 0 {
		var line []byte
		line, data = kaNextLine(data)
		lineNo++
		if err := lx.line(name, lineNo, strings.TrimRight(string(line), "\r")); err != nil {
			return err
		}
		if len(lx.toks) > maxKATokens {
			return kaConfigErr(kaPos{File: name, Line: lineNo}, "more than %d words and line ends in this configuration; ebpfvrrp stops reading here", maxKATokens)
		}
	}
	return nil
}

// kaNextLine splits data at its first newline.
func kaNextLine(data []byte) (line, rest []byte) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return data[:i], data[i+1:]
	}
	return data, nil
}

// decomment returns the byte offset where a comment starts (len(s) if none), or an
// error position for an unterminated quote.
func kaDecomment(s string) (cut int, openQuote int) {
	quote := -1
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s):
			// As in keepalived: the escaped character neither starts a comment nor
			// opens or closes a quote. The scanner turns "\#" into '#'.
			i++
		case c == '"':
			if quote < 0 {
				quote = i
			} else {
				quote = -1
			}
		case (c == '#' || c == '!') && quote < 0:
			return i, -1
		}
	}
	return len(s), quote
}

// col converts a byte offset in s to a 1-based rune column.
func kaCol(s string, off int) int {
	return utf8.RuneCountInString(s[:off]) + 1
}

func (lx *kaLexer) line(file string, lineNo int, raw string) error {
	cut, open := kaDecomment(raw)
	if open >= 0 {
		return kaSyntaxErr(kaPos{file, lineNo, kaCol(raw, open)}, "unterminated quoted string")
	}
	text := raw[:cut]
	// Offsets into raw stay valid for positions: everything below trims or slices text
	// from the left only, tracked by base.
	base := len(text) - len(strings.TrimLeft(text, " \t\f\v"))
	text = strings.TrimRight(text[base:], " \t\f\v")
	if text == "" {
		return nil
	}
	pos := func(off int) kaPos { return kaPos{file, lineNo, kaCol(raw, base+off)} }

	if text[0] == '@' {
		sp := strings.IndexAny(text, " \t")
		if sp < 0 {
			return nil // "@id" with nothing after it: keepalived drops the line
		}
		id, rest := text[1:sp], text[sp:]
		want := true
		if strings.HasPrefix(id, "^") {
			id, want = id[1:], false
		}
		if (id == lx.hostID) != want {
			return nil
		}
		trimmed := strings.TrimLeft(rest, " \t")
		base += len(text) - len(trimmed)
		text = trimmed
	}

	if text[0] == '$' {
		if name, value, ok := kaParseDefinition(text); ok {
			if strings.HasSuffix(value, "\\") {
				return kaConfigErr(pos(0), "multi-line parameter definition $%s is not supported; put it on one line", name)
			}
			lx.defs[name] = value
			return nil
		}
	}
	if strings.HasPrefix(text, "~SEQ") {
		return kaConfigErr(pos(0), "~SEQ is not supported; write the lines out")
	}

	src := raw
	if len(lx.defs) > 0 && strings.Contains(text, "$") {
		expanded, err := lx.expand(text, pos)
		if err != nil {
			return err
		}
		if expanded != text {
			// Positions after an expansion point at the expanded text, which no
			// longer matches the file byte for byte; keep columns from its start.
			src, text = strings.Repeat(" ", base)+expanded, expanded
			if c, q := kaDecomment(text); q >= 0 {
				return kaSyntaxErr(pos(q), "unterminated quoted string after parameter expansion")
			} else {
				text = strings.TrimRight(text[:c], " \t")
			}
		}
	}

	toks, err := kaScanLine(file, lineNo, src, base, text)
	if err != nil {
		return err
	}
	if len(toks) == 2 && toks[0].Kind == kaWord && toks[0].Text == "include" && !toks[0].Quoted && toks[1].Kind == kaWord {
		return lx.include(toks[0].Pos, toks[1].Text)
	}
	lx.toks = append(lx.toks, toks...)
	lx.toks = append(lx.toks, kaToken{Kind: kaEOL, Pos: kaPos{file, lineNo, kaCol(src, min(len(src), base+len(text)))}})
	return nil
}

// parseDefinition recognises keepalived's "$NAME=value" (spaces allowed before '=').
func kaParseDefinition(text string) (name, value string, ok bool) {
	i := 1
	for i < len(text) && (text[i] == '_' || kaIsAlnum(text[i])) {
		i++
	}
	if i == 1 || kaIsDigit(text[1]) {
		return "", "", false
	}
	name = text[1:i]
	rest := strings.TrimLeft(text[i:], " \t")
	if !strings.HasPrefix(rest, "=") {
		return "", "", false
	}
	return name, strings.TrimSpace(rest[1:]), true
}

func kaIsDigit(c byte) bool { return c >= '0' && c <= '9' }
func kaIsAlnum(c byte) bool {
	return kaIsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// expand replaces $NAME and ${NAME} with defined values; unknown names stay as they
// are, as in keepalived. Expansion repeats so a value may refer to another parameter.
func (lx *kaLexer) expand(text string, pos func(int) kaPos) (string, error) {
	for round := 0; ; round++ {
		if round > 32 {
			return "", kaConfigErr(pos(0), "parameter expansion does not terminate (a definition refers to itself?)")
		}
		var b strings.Builder
		changed := false
		for i := 0; i < len(text); i++ {
			if text[i] != '$' || i+1 >= len(text) {
				b.WriteByte(text[i])
				continue
			}
			j, braces := i+1, false
			if text[j] == '{' {
				j, braces = j+1, true
			}
			k := j
			for k < len(text) && (text[k] == '_' || kaIsAlnum(text[k])) {
				k++
			}
			name := text[j:k]
			v, ok := lx.defs[name]
			if name == "" || !ok || (braces && (k >= len(text) || text[k] != '}')) {
				b.WriteByte(text[i])
				continue
			}
			if braces {
				k++
			}
			b.WriteString(v)
			i = k - 1
			changed = true
		}
		if !changed {
			return text, nil
		}
		if b.Len() > maxExpandedLine {
			return "", kaConfigErr(pos(0), "parameter expansion makes this line longer than %d bytes (a definition refers to itself?)", maxExpandedLine)
		}
		text = b.String()
	}
}

// scanLine splits text (which starts at byte base of src) into words and braces.
func kaScanLine(file string, lineNo int, src string, base int, text string) ([]kaToken, error) {
	var toks []kaToken
	var cur strings.Builder
	start := -1
	flush := func(end int) {
		if start >= 0 {
			toks = append(toks, kaToken{Kind: kaWord, Text: cur.String(), Pos: kaPos{file, lineNo, kaCol(src, base+start)},
				src: src, start: base + start, end: base + end})
			cur.Reset()
			start = -1
		}
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == ' ' || c == '\t' || c == '\f' || c == '\v':
			flush(i)
		case c == '\\' && i+1 < len(text) && (text[i+1] == '#' || text[i+1] == '!'):
			if start < 0 {
				start = i
			}
			cur.WriteByte(text[i+1])
			i++
		case c == '"':
			flush(i)
			end := strings.IndexByte(text[i+1:], '"')
			if end < 0 {
				return nil, kaSyntaxErr(kaPos{file, lineNo, kaCol(src, base+i)}, "unterminated quoted string")
			}
			toks = append(toks, kaToken{Kind: kaWord, Text: text[i+1 : i+1+end], Quoted: true,
				Pos: kaPos{file, lineNo, kaCol(src, base+i)}, src: src, start: base + i, end: base + i + end + 2})
			i += end + 1
		case c == '{' || c == '}':
			flush(i)
			k := kaOpen
			if c == '}' {
				k = kaClose
			}
			toks = append(toks, kaToken{Kind: k, Text: string(c), Pos: kaPos{file, lineNo, kaCol(src, base+i)}})
		default:
			if start < 0 {
				start = i
			}
			cur.WriteByte(c)
		}
	}
	flush(len(text))
	return toks, nil
}

// include reads every file pattern matches, relative to the including file.
func (lx *kaLexer) include(at kaPos, pattern string) error {
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(filepath.Dir(at.File), pattern)
	}
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return kaSyntaxErr(at, "include %q: %v", pattern, err)
	}
	if len(matches) == 0 {
		if strings.ContainsAny(pattern, "*?[") {
			// keepalived logs this and carries on; an empty conf.d is normal.
			lx.warn(at, "include %q matched no files", pattern)
			return nil
		}
		return kaSyntaxErr(at, "include %q: no such file", pattern)
	}
	glob := strings.ContainsAny(pattern, "*?[")
	for _, m := range matches {
		fi, err := os.Stat(m)
		if err != nil {
			return kaSyntaxErr(at, "include: %v", err)
		}
		if fi.IsDir() && glob {
			continue // keepalived skips directories a glob matches; named, one is an error
		}
		if err := lx.readFile(m, at); err != nil {
			return err
		}
	}
	return nil
}
