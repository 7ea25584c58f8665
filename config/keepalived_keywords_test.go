package config

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/keepalived.md from the keyword table")

// kaDocPath is the generated keyword reference, relative to this package.
const kaDocPath = "../docs/keepalived.md"

// TestKeywordTable: every row is in a known context, once, with a class, and a
// warned or refused row says what happens instead.
func TestKeywordTable(t *testing.T) {
	ctxs := map[string]bool{}
	for _, c := range kaContexts {
		ctxs[c] = true
	}
	seen := map[string]bool{}
	for _, k := range kaKeywords {
		id := k.Ctx + " " + k.Name
		switch {
		case !ctxs[k.Ctx]:
			t.Errorf("%s: unknown context", id)
		case seen[id]:
			t.Errorf("%s: listed twice", id)
		case k.Class < kaActs || k.Class > kaRefused:
			t.Errorf("%s: no class", id)
		case k.Class != kaActs && strings.TrimSpace(k.Msg) == "":
			t.Errorf("%s: %s without a message saying what ebpfvrrp does instead", id, k.Class)
		case k.Class == kaRefused && !k.Handler:
			t.Errorf("%s: refused rows must be refused by code (Handler); unhandled only warns", id)
		case k.Class == kaWarned && (strings.HasSuffix(k.Msg, " ignored") || k.Msg == "ignored"):
			t.Errorf("%s: the warning must say what happens instead, not only that it is ignored: %q", id, k.Msg)
		}
		seen[id] = true
	}
}

// kaSnippet places line in ctx, returning the file text and the line's number.
func kaSnippet(ctx, line string) (string, int) {
	inst := "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  198.18.0.1\n }\n"
	switch ctx {
	case kaCtxTop:
		return line + "\n", 1
	case kaCtxGlobal:
		return "global_defs {\n " + line + "\n}\n", 2
	case kaCtxScript:
		return "vrrp_script s {\n script /bin/true\n " + line + "\n}\n", 3
	case kaCtxTrackFile:
		return "track_file f {\n file /run/f\n " + line + "\n}\n", 3
	case kaCtxProcess:
		return "vrrp_track_process p {\n process nginx\n " + line + "\n}\n", 3
	case kaCtxInstance:
		return inst + " " + line + "\n}\n", 7
	case kaCtxSyncGroup:
		return "vrrp_sync_group G {\n group {\n  V\n }\n " + line + "\n}\n", 5
	case kaCtxVIP:
		return "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  198.18.0.1/24 " + line + "\n }\n}\n", 5
	case kaCtxPeer:
		return inst + " unicast_peer {\n  198.18.0.2 " + line + "\n }\n}\n", 8
	}
	return "", 0
}

// TestKeywordsWarnedAsTheTableSays loads every warned row in its block and checks
// the warning at its line carries the table's text: what the documentation says is
// what the operator is told. Rows the converter handles itself need an argument,
// given in handled.
func TestKeywordsWarnedAsTheTableSays(t *testing.T) {
	handled := map[string]string{
		kaCtxGlobal + " script_user":            "script_user nobody",
		kaCtxGlobal + " enable_script_security": "enable_script_security",
		kaCtxScript + " user":                   "user nobody",
		kaCtxGlobal + " vrrp_strict":            "vrrp_strict",
		kaCtxInstance + " strict_mode":          "strict_mode",
	}
	for _, ctx := range []string{kaCtxInstance, kaCtxSyncGroup} {
		for _, n := range []string{"notify", "notify_master", "notify_backup", "notify_fault", "notify_stop"} {
			handled[ctx+" "+n] = n + " /bin/true"
		}
	}
	for _, k := range kaKeywords {
		if k.Class != kaWarned {
			continue
		}
		id := k.Ctx + " " + k.Name
		t.Run(id, func(t *testing.T) {
			line := k.Name
			if k.TakesValue {
				line += " 1"
			}
			if k.Handler {
				var ok bool
				if line, ok = handled[id]; !ok {
					t.Fatalf("a warned row the converter handles needs a sample line in this test")
				}
			}
			text, lineNo := kaSnippet(k.Ctx, line)
			if text == "" {
				t.Fatalf("no snippet for context %s", k.Ctx)
			}
			path := kaWrite(t, text)
			c, err := LoadKeepalived(path)
			if err != nil {
				t.Fatalf("LoadKeepalived: %v", err)
			}
			for _, w := range c.Warnings {
				if w.Line == lineNo && strings.Contains(w.Message, k.Msg) {
					return
				}
			}
			t.Errorf("no warning at line %d containing %q; got %+v", lineNo, k.Msg, c.Warnings)
		})
	}
}

// TestKeywordsRefusedAsTheTableSays: each refused row is an error with its reason.
func TestKeywordsRefusedAsTheTableSays(t *testing.T) {
	samples := map[string]struct{ text, name string }{
		kaCtxLine + " ~SEQ":                   {"~SEQ(i, 1, 3)\n", ""},
		kaCtxLine + " multi-line $NAME=VALUE": {"$X=a \\\n", "$X"},
	}
	for _, k := range kaKeywords {
		if k.Class != kaRefused {
			continue
		}
		id := k.Ctx + " " + k.Name
		t.Run(id, func(t *testing.T) {
			s, ok := samples[id]
			if !ok {
				t.Fatalf("a refused row needs a sample in this test")
			}
			_, err := LoadKeepalived(kaWrite(t, s.text))
			want := strings.ReplaceAll(k.Msg, "$NAME", s.name)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error = %v, want one containing %q", err, want)
			}
		})
	}
}

// A tag is a comment line of its own: "// keyword: CONTEXT NAME".
var kaTagRE = regexp.MustCompile(`^\s*// keyword: (\S+) (.+?)\s*$`)

// kaTags returns the "keyword: CONTEXT NAME" tags of this package's tests, with the
// file:line of each.
func kaTags(t *testing.T) map[string][]string {
	t.Helper()
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string][]string{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for n := 1; sc.Scan(); n++ {
			if m := kaTagRE.FindStringSubmatch(sc.Text()); m != nil {
				tags[m[1]+" "+m[2]] = append(tags[m[1]+" "+m[2]], fmt.Sprintf("%s:%d", f, n))
			}
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return tags
}

// TestKeywordsActHaveTests: every row that claims to act as keepalived does is named
// by a test ("// keyword: CONTEXT NAME" in a _test.go file), and every tag names a
// row, so a renamed keyword cannot leave a stale claim behind.
func TestKeywordsActHaveTests(t *testing.T) {
	tags := kaTags(t)
	rows := map[string]kaKeyword{}
	for _, k := range kaKeywords {
		rows[k.Ctx+" "+k.Name] = k
	}
	for _, k := range kaKeywords {
		if id := k.Ctx + " " + k.Name; k.Class == kaActs && len(tags[id]) == 0 {
			t.Errorf("%s acts as keepalived does, but no test says so: add \"// keyword: %s\" to the test that shows it", id, id)
		}
	}
	ids := make([]string, 0, len(tags))
	for id := range tags {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if _, ok := rows[id]; !ok {
			t.Errorf("%s: tag names no row of kaKeywords", strings.Join(tags[id], ", "))
		}
	}
}

// TestKeywordDoc: docs/keepalived.md is what the table renders to. Regenerate it
// with go generate ./config (go test -run TestKeywordDoc -update).
func TestKeywordDoc(t *testing.T) {
	got := kaRenderDoc()
	if *update {
		if err := os.WriteFile(kaDocPath, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(kaDocPath)
	if err != nil {
		t.Fatalf("%v (run go generate ./config)", err)
	}
	if string(want) != got {
		t.Errorf("%s is stale; run go generate ./config\n(-file +table):\n%s", kaDocPath, lineDiff(string(want), got))
	}
}

var kaCtxTitles = map[string]string{
	kaCtxLine:      "Any line (read by the lexer)",
	kaCtxTop:       "Top level",
	kaCtxGlobal:    "global_defs",
	kaCtxScript:    "vrrp_script",
	kaCtxTrackFile: "track_file / vrrp_track_file",
	kaCtxProcess:   "vrrp_track_process",
	kaCtxInstance:  "vrrp_instance",
	kaCtxSyncGroup: "vrrp_sync_group",
	kaCtxAuth:      "authentication (in vrrp_instance)",
	kaCtxVIP:       "virtual_ipaddress / virtual_ipaddress_excluded: options after an address",
	kaCtxPeer:      "unicast_peer: options after an address",
}

func kaRenderDoc() string {
	var b strings.Builder
	count := map[kaClass]int{}
	for _, k := range kaKeywords {
		count[k.Class]++
	}
	b.WriteString("<!-- Generated from config/keepalived_keywords.go by `go generate ./config`; do not edit. -->\n\n")
	b.WriteString("# keepalived.conf keywords in ebpfvrrp\n\n")
	b.WriteString("ebpfvrrp reads keepalived.conf (and the files it includes) directly. Every keyword it knows is in exactly one class:\n\n")
	b.WriteString("- **acts**: ebpfvrrp does what keepalived does; a test in `config/` names the keyword.\n")
	b.WriteString("- **warned**: accepted with a warning at its file:line; the warning, quoted below, says what ebpfvrrp does instead.\n")
	b.WriteString("- **refused**: an error at its file:line, for the reason given.\n\n")
	b.WriteString("A keyword not listed here is warned about as unknown (keepalived ignores unknown keywords too), except that a word within two edits of a listed keyword of its block is refused as a likely typo.\n\n")
	fmt.Fprintf(&b, "%d keywords: %d act as keepalived does, %d are warned about, %d are refused.\n", len(kaKeywords), count[kaActs], count[kaWarned], count[kaRefused])
	short := map[kaClass]string{kaActs: "acts", kaWarned: "warned", kaRefused: "refused"}
	for _, ctx := range kaContexts {
		fmt.Fprintf(&b, "\n## %s\n\n| Keyword | Class | What ebpfvrrp does |\n|---|---|---|\n", kaCtxTitles[ctx])
		for _, k := range kaKeywords {
			if k.Ctx != ctx {
				continue
			}
			what := k.Msg
			if k.Class == kaActs {
				what = "As keepalived." + map[bool]string{true: " " + k.Msg, false: ""}[k.Msg != ""]
			}
			name := k.Name
			if k.TakesValue {
				name += " VALUE"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", name, short[k.Class], strings.ReplaceAll(what, "|", `\|`))
		}
	}
	return b.String()
}

// TestKeepalivedAcceptPreemptVMAC: accept and preempt are ebpfvrrp's defaults and
// load without a word; use_vmac loads for IPv4 and IPv6 instances (the IPv6 VMAC
// gets the parent's link-local address, test/vm's v3-ipv6-vmac).
//
// keyword: vrrp_instance accept
// keyword: vrrp_instance preempt
// keyword: vrrp_instance use_vmac
func TestKeepalivedAcceptPreemptVMAC(t *testing.T) {
	inst := func(vip, body string) string {
		return "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  " + vip + "\n }\n" + body + "\n}\n"
	}
	tests := []struct {
		name, in string
		wantErr  string // substring, with F for the file
		check    func(t *testing.T, c *Config)
	}{
		{"accept", inst("198.18.0.1", " accept"), "", func(t *testing.T, c *Config) {}},
		{"preempt after nopreempt", inst("198.18.0.1", " nopreempt\n preempt"), "", func(t *testing.T, c *Config) {
			if !c.Instances[0].Preempt {
				t.Error("Preempt = false, want true (the later line wins, as in keepalived)")
			}
		}},
		{"use_vmac IPv4", inst("198.18.0.1", " use_vmac"), "", func(t *testing.T, c *Config) {
			if !c.Instances[0].UseVMAC {
				t.Error("UseVMAC = false")
			}
		}},
		{"use_vmac IPv6", inst("fd00::1", " use_vmac"), "", func(t *testing.T, c *Config) {
			if !c.Instances[0].UseVMAC {
				t.Error("UseVMAC = false")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := kaWrite(t, tt.in)
			c, err := Load(path)
			if tt.wantErr != "" {
				if got := strings.ReplaceAll(errString(err), path, "F"); !strings.Contains(got, tt.wantErr) {
					t.Fatalf("error = %s, want one containing %q", got, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Warnings) != 0 {
				t.Errorf("warnings = %+v, want none", c.Warnings)
			}
			tt.check(t, c)
		})
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
