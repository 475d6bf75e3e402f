package conf

import (
	"strings"
	"testing"
)

// FuzzSplitWords checks that shell word splitting never panics and that,
// on input without quoting, escapes or expansions, it agrees with a plain
// split on blanks.
func FuzzSplitWords(f *testing.F) {
	for _, s := range []string{
		`-Xmx4g -Da=b`, `"a b" 'c d' e\ f`, `${HOME:-/x}/y $A${B}`, `"unterminated`, `'x`,
		`$(date)`, "`id`", `\`, `"\$\"\\"`, `${`, `${A`, `${A:-`, `$`, "a\tb\nc\r d", `${A-${B}}`,
	} {
		f.Add(s)
	}
	vars := func(name string) (string, bool) {
		if name == "A" {
			return "a value", true
		}
		return "", false
	}
	f.Fuzz(func(t *testing.T, s string) {
		plain, err := splitWords(s, nil)
		if _, err2 := splitWords(s, vars); (err == nil) != (err2 == nil) && !strings.ContainsAny(s, "$`") {
			t.Fatalf("splitWords(%q): error %v without expansion, %v with", s, err, err2)
		}
		if err != nil || strings.ContainsAny(s, `'"\$`+"`") {
			return
		}
		want := strings.FieldsFunc(s, func(r rune) bool { return r < 0x80 && isBlank(byte(r)) })
		if strings.Join(plain, "\x00") != strings.Join(want, "\x00") || len(plain) != len(want) {
			t.Fatalf("splitWords(%q) = %q, want %q", s, plain, want)
		}
	})
}

// FuzzParseEnvFile checks that alluxio-env.sh parsing never panics and
// reports line numbers inside the file.
func FuzzParseEnvFile(f *testing.F) {
	for _, s := range []string{
		"ALLUXIO_HOME=/opt/alluxio\nexport ALLUXIO_JAVA_OPTS=\"-Da=b\"\n",
		"A=1\nB=${A}2\nA+=3\n", "if [ x ]; then\n  A=1\nfi\n", "A='multi\nline'\nB=2", "A=\"open\n", "export\n=x\n1A=b\r\n",
		"A=$(cmd)\n", "A=${B:-${C:-d}}\n", "# comment\n\n   \n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lines := strings.Count(strings.ReplaceAll(s, "\r\n", "\n"), "\n") + 1
		vars := parseEnvFile(s, nil, func(line int, text, why string) {
			if line < 1 || line > lines {
				t.Fatalf("skip reported line %d of %d", line, lines)
			}
		})
		for name, a := range vars {
			if name == "" || a.Line < 1 || a.Line > lines {
				t.Fatalf("%q assigned at line %d of %d", name, a.Line, lines)
			}
		}
	})
}
