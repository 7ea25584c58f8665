package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// kaDiff returns a line diff (-want +got) of the JSON forms of want and got, or ""
// when they are equal.
func kaDiff(want, got any) string {
	w, _ := json.MarshalIndent(want, "", "  ")
	g, _ := json.MarshalIndent(got, "", "  ")
	if string(w) == string(g) {
		return ""
	}
	return lineDiff(string(w), string(g))
}

// kaLex tokenizes text as file "t.conf" and renders the stream compactly:
// words as text (quoted ones in «»), braces as { }, line ends as ";", each with
// line:col.
func kaLex(t *testing.T, text string) ([]string, error) {
	t.Helper()
	lx := newKALexer()
	if err := lx.readData("t.conf", []byte(text)); err != nil {
		return nil, err
	}
	var out []string
	for _, tk := range lx.toks {
		s := tk.Text
		switch {
		case tk.Kind == kaEOL:
			s = ";"
		case tk.Quoted:
			s = "«" + tk.Text + "»"
		}
		out = append(out, fmt.Sprintf("%s@%d:%d", s, tk.Pos.Line, tk.Pos.Col))
	}
	return out, nil
}

// keyword: any-line $NAME=VALUE
// keyword: any-line @ID / @^ID
func TestKeepalivedLexer(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // space-separated kaLex output
	}{
		{"words", "router_id lb-5\n", "router_id@1:1 lb-5@1:11 ;@1:15"},
		{"indent and tabs", "\t  priority\t150\n", "priority@1:4 150@1:13 ;@1:16"},
		{"hash comment", "# whole line\npriority 1 # trailing\n", "priority@2:1 1@2:10 ;@2:11"},
		{"bang comment", "! whole line\npriority 1 ! trailing\n", "priority@2:1 1@2:10 ;@2:11"},
		{"comment inside word", "auth_pass ab#cd\n", "auth_pass@1:1 ab@1:11 ;@1:13"},
		{"escaped comment chars", `auth_pass a\#b\!c` + "\n", "auth_pass@1:1 a#b!c@1:11 ;@1:18"},
		{"non-ASCII comment, column counts runes", "vrrp_instance VIP_1 {       # 设置VRRP路由器组组名\n  state MASTER # 角色\n}\n",
			"vrrp_instance@1:1 VIP_1@1:15 {@1:21 ;@1:22 state@2:3 MASTER@2:9 ;@2:15 }@3:1 ;@3:2"},
		{"column after non-ASCII text", "auth_pass 密码x y\n", "auth_pass@1:1 密码x@1:11 y@1:15 ;@1:16"},
		{"quoted string keeps spaces, # and braces", `script "killall -0 nginx # {x}"` + "\n",
			"script@1:1 «killall -0 nginx # {x}»@1:8 ;@1:32"},
		{"quote ends a word", `a"b c"d` + "\n", "a@1:1 «b c»@1:2 d@1:7 ;@1:8"},
		{"empty quoted string", `auth_pass ""` + "\n", "auth_pass@1:1 «»@1:11 ;@1:13"},
		{"braces split words", "unicast_peer{10.0.0.6}\n", "unicast_peer@1:1 {@1:13 10.0.0.6@1:14 }@1:22 ;@1:23"},
		{"brace on next line", "global_defs\n{\n}\n", "global_defs@1:1 ;@1:12 {@2:1 ;@2:2 }@3:1 ;@3:2"},
		{"CRLF line ends", "router_id lb-5\r\nvrrp_version 3\r\n", "router_id@1:1 lb-5@1:11 ;@1:15 vrrp_version@2:1 3@2:14 ;@2:15"},
		{"blank and comment-only lines produce nothing", "\n   \n# x\n!y\n", ""},
		{"parameter definition and expansion", "$IF=eth0\n$VRID=50\ninterface $IF\nvirtual_router_id ${VRID}\n",
			"interface@3:1 eth0@3:11 ;@3:15 virtual_router_id@4:1 50@4:19 ;@4:21"},
		{"unknown parameter left alone", "$A=1\nx $B\n", "x@2:1 $B@2:3 ;@2:5"},
		{"conditional line for another host is dropped", "@^" + newKALexer().hostID + " priority 200\n@no-such-host-xyz priority 1\n", ""},
		{"conditional line for this host is kept", "@" + newKALexer().hostID + " priority 200\n", "priority@1:" + fmt.Sprint(len(newKALexer().hostID)+3) + " 200@1:" + fmt.Sprint(len(newKALexer().hostID)+12) + " ;@1:" + fmt.Sprint(len(newKALexer().hostID)+15)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := kaLex(t, tt.in)
			if err != nil {
				t.Fatalf("lex: %v", err)
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("tokens\n got: %s\nwant: %s", g, tt.want)
			}
		})
	}
}

func TestKeepalivedSyntaxErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // exact Error()
	}{
		{"unterminated quote", "global_defs {\n  router_id \"lb-5\n}\n", `config: t.conf:2:13: unterminated quoted string`},
		{"unterminated quote after non-ASCII", "# 注释\n  notify \"/x.sh 你好\n", `config: t.conf:2:10: unterminated quoted string`},
		{"stray close brace", "global_defs {\n}\n}\n", `config: t.conf:3:1: unexpected '}' with no open block`},
		{"missing close brace", "vrrp_instance VI_1 {\n  state MASTER\n", `config: t.conf:1:20: block of "vrrp_instance" opened here is never closed (missing '}')`},
		{"nested unclosed", "vrrp_instance VI_1 {\n  virtual_ipaddress {\n    10.0.0.3\n}\n", `config: t.conf:1:20: block of "vrrp_instance" opened here is never closed (missing '}')`},
		{"brace without keyword", "{\n}\n", `config: t.conf:1:1: unexpected '{': a block must follow a keyword`},
		{"second block on one keyword", "global_defs {\n} {\n}\n", `config: t.conf:2:3: unexpected '{': a block must follow a keyword`},
		{"~SEQ", "~SEQ(i,1,3) x\n", `config: t.conf:1:1: ~SEQ is not supported; write the lines out`},
		{"multi-line definition", "$X=a \\\n", `config: t.conf:1:1: multi-line parameter definition $X is not supported; put it on one line`},
		{"include of a missing file", "include nope.conf\n", `config: t.conf:1:1: include "nope.conf": no such file`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lx := newKALexer()
			err := lx.readData("t.conf", []byte(tt.in))
			if err == nil {
				_, err = parseKA(lx.toks)
			}
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", err, tt.want)
			}
			var ke *KeepalivedError
			if !errors.As(err, &ke) {
				t.Fatalf("error %T is not a *KeepalivedError", err)
			}
			if !errors.Is(err, ErrKeepalivedSyntax) && !errors.Is(err, ErrKeepalivedConfig) {
				t.Errorf("error does not match a keepalived sentinel")
			}
		})
	}
}

func TestKeepalivedParseTree(t *testing.T) {
	lx := newKALexer()
	in := "vrrp_instance VI_1 { state MASTER\n  virtual_ipaddress { 10.0.0.3/24 dev eth0 label eth0:1 }\n}\nglobal_defs\n{\n router_id x\n}\n"
	if err := lx.readData("t.conf", []byte(in)); err != nil {
		t.Fatal(err)
	}
	nodes, err := parseKA(lx.toks)
	if err != nil {
		t.Fatal(err)
	}
	var render func(ns []*kaNode) string
	render = func(ns []*kaNode) string {
		var parts []string
		for _, n := range ns {
			s := n.Name()
			for _, a := range n.Args {
				s += " " + a.Text
			}
			if n.HasBlock {
				s += " {" + render(n.Block) + "}"
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, "; ")
	}
	want := "vrrp_instance VI_1 {state MASTER; virtual_ipaddress {10.0.0.3/24 dev eth0 label eth0:1}}; global_defs {router_id x}"
	if got := render(nodes); got != want {
		t.Errorf("tree\n got: %s\nwant: %s", got, want)
	}
}

func TestKeepalivedSplitQuotedEscaped(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: `/etc/keepalived/check_web.sh`, want: []string{"/etc/keepalived/check_web.sh"}},
		{in: `killall -0 nginx`, want: []string{"killall", "-0", "nginx"}},
		{in: `/bin/sh -c 'pidof nginx || exit 1'`, want: []string{"/bin/sh", "-c", "pidof nginx || exit 1"}},
		{in: `a"b c"d 'e'"f"`, want: []string{"ab cd", "ef"}},
		{in: `say\ hello \"q\" \x41\101\t`, want: []string{"say hello", `"q"`, "AA\t"}},
		{in: `"in \"dq\""`, want: []string{`in "dq"`}},
		{in: "  ", want: nil},
		{in: `"open`, wantErr: true},
		{in: `'open`, wantErr: true},
		{in: `end\`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := kaSplitQuotedEscaped(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if d := kaDiff(tt.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestKeepalivedEditDistanceSuggest(t *testing.T) {
	tests := []struct{ word, want string }{
		{"priorty", "priority"},
		{"virtual_router_di", "virtual_router_id"},
		{"advert_intt", "advert_int"},
		{"nopremept", "nopreempt"},
		{"stat", "state"},
		{"xyz", ""},
		{"totally_unrelated_keyword", ""},
	}
	for _, tt := range tests {
		if got := kaSuggest(tt.word, kaInstance, kaInstanceUnsupported); got != tt.want {
			t.Errorf("kaSuggest(%q) = %q, want %q", tt.word, got, tt.want)
		}
	}
}

// FuzzKeepalived feeds arbitrary text through tokenizer, parser and conversion: it
// must return a config or an error, never panic, and an error must carry a position.
func FuzzKeepalived(f *testing.F) {
	for _, seed := range []string{
		"global_defs {\n router_id lb-5 # 路由器ID\n}\n",
		"vrrp_instance V { virtual_ipaddress { 10.0.0.3/24 dev eth0 label eth0:1 } unicast_peer { 10.0.0.6 } }\n",
		"vrrp_script s {\n script \"/bin/sh -c 'a \\\"b\\\"'\" x\n weight -2 reverse\n}\n",
		"$A=${B}\n$B=$A\nx $A\n@host y\n~SEQ(i,1,2)\n",
		"vrrp_instance V {\n authentication {\n auth_type AH\n }\n track_script {\n s weight\n }\n}\n}\n{\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		lx := newKALexer()
		if err := lx.readData("f.conf", []byte(in)); err != nil {
			var ke *KeepalivedError
			if !errors.As(err, &ke) || ke.Pos.Line < 1 {
				t.Fatalf("lexer error without position: %v", err)
			}
			return
		}
		nodes, err := parseKA(lx.toks)
		if err != nil {
			return
		}
		cfg := DefaultConfig()
		cfg.Positions = map[string]Position{}
		c := &kaConverter{cfg: cfg}
		c.convert(nodes)
		for _, e := range c.errs {
			var ke *KeepalivedError
			if !errors.As(e, &ke) || ke.Pos.Line < 1 {
				t.Fatalf("conversion error without position: %v", e)
			}
		}
		IsKeepalived([]byte(in))
	})
}
