package config

import "strings"

// kaNode is one statement: a keyword, the words after it on its line, and the
// statements of the block that follows it, if any.
type kaNode struct {
	Key      kaToken
	Args     []kaToken
	HasBlock bool
	Open     kaPos // position of '{' when HasBlock
	Block    []*kaNode
}

func (n *kaNode) Name() string { return n.Key.Text }
func (n *kaNode) Pos() kaPos   { return n.Key.Pos }

// words returns the statement's words, keyword first.
func (n *kaNode) words() []kaToken { return append([]kaToken{n.Key}, n.Args...) }

// rawArgs is the source text of the arguments exactly as written (quotes and
// escapes intact), which keepalived re-splits for script and notify lines.
func (n *kaNode) rawArgs() string {
	if len(n.Args) == 0 {
		return ""
	}
	first, last := n.Args[0], n.Args[len(n.Args)-1]
	if first.src == last.src && first.Pos.File == last.Pos.File && first.Pos.Line == last.Pos.Line && first.start <= last.end {
		return first.src[first.start:last.end]
	}
	parts := make([]string, len(n.Args))
	for i, a := range n.Args {
		parts[i] = a.src[a.start:a.end]
	}
	return strings.Join(parts, " ")
}

// parseKA builds the statement tree from the token stream.
func parseKA(toks []kaToken) ([]*kaNode, error) {
	p := &kaParser{toks: toks}
	nodes, err := p.block(nil)
	if err != nil {
		return nil, err
	}
	return nodes, nil
}

type kaParser struct {
	toks []kaToken
	i    int
}

// block reads statements until the '}' closing opener (or EOF at top level).
func (p *kaParser) block(opener *kaNode) ([]*kaNode, error) {
	var out []*kaNode
	var last *kaNode // statement a following '{' attaches to
	for p.i < len(p.toks) {
		t := p.toks[p.i]
		p.i++
		switch t.Kind {
		case kaEOL:
			continue
		case kaClose:
			if opener == nil {
				return nil, kaSyntaxErr(t.Pos, "unexpected '}' with no open block")
			}
			return out, nil
		case kaOpen:
			if last == nil || last.HasBlock {
				return nil, kaSyntaxErr(t.Pos, "unexpected '{': a block must follow a keyword")
			}
			last.HasBlock, last.Open = true, t.Pos
			children, err := p.block(last)
			if err != nil {
				return nil, err
			}
			last.Block = children
			continue
		case kaWord:
			n := &kaNode{Key: t}
			for p.i < len(p.toks) && p.toks[p.i].Kind == kaWord {
				n.Args = append(n.Args, p.toks[p.i])
				p.i++
			}
			out = append(out, n)
			last = n
		}
	}
	if opener != nil {
		return nil, kaSyntaxErr(opener.Open, "block of %q opened here is never closed (missing '}')", opener.Name())
	}
	return out, nil
}
