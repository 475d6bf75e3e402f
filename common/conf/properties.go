package conf

import (
	"strings"
	"unicode/utf8"
)

// propEntry is one key=value of a properties file; Line is where its
// logical line starts (1-based).
type propEntry struct {
	Key, Value string
	Line       int
}

// parseProperties parses Java properties syntax: "key=value", "key: value"
// and "key value"; "#" and "!" comment lines; leading whitespace ignored; a
// line ending in an odd number of backslashes continues on the next line;
// escapes \t \n \r \f \uXXXX and \x (= x). Trailing whitespace of values is
// dropped, as Alluxio trims values. It never fails: Java accepts any text.
func parseProperties(data string) []propEntry {
	var out []propEntry
	lines := strings.Split(strings.ReplaceAll(strings.ReplaceAll(data, "\r\n", "\n"), "\r", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		start := i + 1
		line := strings.TrimLeft(lines[i], " \t\f")
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		// Join continuation lines.
		var logical strings.Builder
		for {
			if n := trailingBackslashes(line); n%2 == 1 && i+1 < len(lines) {
				logical.WriteString(line[:len(line)-1])
				i++
				line = strings.TrimLeft(lines[i], " \t\f")
				continue
			} else if n%2 == 1 {
				line = line[:len(line)-1] // continuation at end of file
			}
			logical.WriteString(line)
			break
		}
		k, v := splitProperty(logical.String())
		out = append(out, propEntry{Key: k, Value: strings.TrimRight(v, " \t\f"), Line: start})
	}
	return out
}

func trailingBackslashes(s string) int {
	n := 0
	for n < len(s) && s[len(s)-1-n] == '\\' {
		n++
	}
	return n
}

// splitProperty splits a logical line into its unescaped key and value.
func splitProperty(s string) (key, value string) {
	i := 0
	for i < len(s) {
		c := s[i]
		if c == '\\' {
			i += 2
			continue
		}
		if c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\f' {
			break
		}
		i++
	}
	if i > len(s) {
		i = len(s)
	}
	key = unescape(s[:i])
	rest := s[i:]
	rest = strings.TrimLeft(rest, " \t\f")
	if rest != "" && (rest[0] == '=' || rest[0] == ':') {
		rest = strings.TrimLeft(rest[1:], " \t\f")
	}
	return key, unescape(rest)
}

func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch c = s[i]; c {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			if r, ok := hex4(s[i+1:]); ok {
				b.WriteRune(r)
				i += 4
			} else {
				b.WriteByte('u')
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func hex4(s string) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for i := 0; i < 4; i++ {
		c := s[i]
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	if !utf8.ValidRune(r) {
		r = utf8.RuneError
	}
	return r, true
}
