package conf

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseProperties(t *testing.T) {
	in := "# c\n! c\n\n  a=1\nb : 2\nc 3\nd\ne=\\\n   x\\\n  y\nf=tab\\there \\u0041\\=\\\\\ng\\ key=v \n h:=x\r\nlast=\\"
	want := []propEntry{
		{"a", "1", 4}, {"b", "2", 5}, {"c", "3", 6}, {"d", "", 7}, {"e", "xy", 8},
		{"f", "tab\there A=\\", 11}, {"g key", "v", 12}, {"h", "=x", 13}, {"last", "", 14},
	}
	if got := parseProperties(in); !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}

func TestSplitWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"  -Xmx4g   -Da=b ", []string{"-Xmx4g", "-Da=b"}},
		{`-Da="x y" '-Db=$HOME z' -Dc=a\ b`, []string{"-Da=x y", "-Db=$HOME z", "-Dc=a b"}},
		{`"-Dq=\"\\\$"`, []string{`-Dq="\$`}},
		{"a\\\nb c", []string{"ab", "c"}},
		{`""`, []string{""}},
	}
	for _, tt := range tests {
		got, err := splitWords(tt.in, nil)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitWords(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{`"a`, `'a`, `a"b`} {
		if _, err := splitWords(bad, nil); err == nil {
			t.Errorf("splitWords(%q) accepted", bad)
		}
	}
}

func TestParseJavaOpts(t *testing.T) {
	props, ignored, err := parseJavaOpts(`-Xmx4g -Dalluxio.a=1 -Dalluxio.b -Dalluxio.c="x=y z" -XX:+UseG1GC -D`)
	if err != nil {
		t.Fatal(err)
	}
	if want := [][2]string{{"alluxio.a", "1"}, {"alluxio.b", ""}, {"alluxio.c", "x=y z"}}; !reflect.DeepEqual(props, want) {
		t.Errorf("props = %q", props)
	}
	if want := []string{"-Xmx4g", "-XX:+UseG1GC", "-D"}; !reflect.DeepEqual(ignored, want) {
		t.Errorf("ignored = %q", ignored)
	}
}

func TestParseEnvFile(t *testing.T) {
	in := `#!/usr/bin/env bash
# comment
A=plain
export B="double $A ${A}"
C='single $A'
D=${UNSET:-"def ault"}
E=${SETENV:-default}
F=$(hostname)
G=x # trailing comment
H=x y
I="multi
line"
J=${A}${A}
J+=" more"
export K
L=
echo hello
`
	var skipped []string
	got := parseEnvFile(in, func(n string) (string, bool) {
		if n == "SETENV" {
			return "fromenv", true
		}
		return "", false
	}, func(line int, text, why string) { skipped = append(skipped, text) })
	want := map[string]envAssign{
		"A": {"plain", 3}, "B": {"double plain plain", 4}, "C": {"single $A", 5},
		"D": {"def ault", 6}, "E": {"fromenv", 7}, "G": {"x", 9}, "I": {"multi\nline", 11},
		"J": {"plainplain more", 14}, "L": {"", 16},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	if s := strings.Join(skipped, "|"); s != "F=$(hostname)|H=x y|echo hello" {
		t.Errorf("skipped %q", s)
	}
}

func FuzzParseProperties(f *testing.F) {
	for _, s := range []string{"a=b\n", "# c\n a : b \\\n c\n", "k\\u00e9y=v\\", "\\", "a=\\u12", "x\r\ny"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, e := range parseProperties(s) {
			if e.Line < 1 || e.Line > strings.Count(s, "\n")+strings.Count(s, "\r")+1 {
				t.Fatalf("line %d out of range", e.Line)
			}
		}
	})
}

func FuzzParseJavaOpts(f *testing.F) {
	for _, s := range []string{`-Xmx4g -Da=b`, `-Da="x y" '-Db=c'`, `"`, `\`, `-D=x`, "a\\\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		props, ignored, err := parseJavaOpts(s)
		if err != nil {
			return
		}
		for _, p := range props {
			if p[0] == "" {
				t.Fatalf("empty key from %q", s)
			}
		}
		_ = ignored
		// Splitting with expansion must not panic either.
		_, _ = splitWords(s, func(string) (string, bool) { return "v", true })
		_ = parseEnvFile(s, nil, func(int, string, string) {})
	})
}
