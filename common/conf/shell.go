package conf

import (
	"errors"
	"fmt"
	"strings"
)

var (
	errUnterminated = errors.New("unterminated quote")
	errUnsupported  = errors.New("command substitution is not supported")
)

// lookupFunc returns a variable's value for $VAR expansion.
type lookupFunc func(name string) (string, bool)

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isNameByte(c byte, first bool) bool {
	return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') || (!first && c >= '0' && c <= '9')
}

// splitWords splits s into words like a POSIX shell does, without running
// anything: blanks separate words, '...' is literal, "..." allows \" \\ \$
// \` escapes, a backslash outside quotes escapes the next byte. With a nil
// expand, "$" is literal; otherwise $NAME, ${NAME}, ${NAME:-default} and
// ${NAME-default} are expanded (command substitution is an error).
func splitWords(s string, expand lookupFunc) ([]string, error) {
	var words []string
	i := 0
	for {
		for i < len(s) && isBlank(s[i]) {
			i++
		}
		if i >= len(s) {
			return words, nil
		}
		w, next, err := readWord(s, i, expand)
		if err != nil {
			return nil, err
		}
		words = append(words, w)
		i = next
	}
}

// readWord reads one word starting at s[i] (not a blank) and returns it and
// the index just after it.
func readWord(s string, i int, expand lookupFunc) (string, int, error) {
	var b strings.Builder
	for i < len(s) && !isBlank(s[i]) {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 < len(s) {
				if s[i+1] != '\n' {
					b.WriteByte(s[i+1])
				}
				i += 2
			} else {
				i++
			}
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return "", 0, errUnterminated
			}
			b.WriteString(s[i+1 : i+1+j])
			i += j + 2
		case c == '"':
			i++
			closed := false
			for i < len(s) {
				c := s[i]
				if c == '"' {
					closed = true
					i++
					break
				}
				if c == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`\n", s[i+1]) >= 0 {
					if s[i+1] != '\n' {
						b.WriteByte(s[i+1])
					}
					i += 2
					continue
				}
				if expand != nil && (c == '$' || c == '`') {
					v, next, err := expandAt(s, i, expand)
					if err != nil {
						return "", 0, err
					}
					b.WriteString(v)
					i = next
					continue
				}
				b.WriteByte(c)
				i++
			}
			if !closed {
				return "", 0, errUnterminated
			}
		case expand != nil && (c == '$' || c == '`'):
			v, next, err := expandAt(s, i, expand)
			if err != nil {
				return "", 0, err
			}
			b.WriteString(v)
			i = next
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), i, nil
}

// expandAt expands the $ form at s[i] and returns its value and the index
// after it.
func expandAt(s string, i int, expand lookupFunc) (string, int, error) {
	if s[i] == '`' || (i+1 < len(s) && s[i+1] == '(') {
		return "", 0, errUnsupported
	}
	if i+1 < len(s) && s[i+1] == '{' {
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return "", 0, fmt.Errorf("unterminated ${")
		}
		inner := s[i+2 : i+2+end]
		next := i + 3 + end
		n := 0
		for n < len(inner) && isNameByte(inner[n], n == 0) {
			n++
		}
		name, op := inner[:n], inner[n:]
		if name == "" {
			return "", 0, fmt.Errorf("bad substitution ${%s}", inner)
		}
		v, set := expand(name)
		switch {
		case op == "":
			return v, next, nil
		case strings.HasPrefix(op, ":-"), strings.HasPrefix(op, "-"):
			colon := op[0] == ':'
			def := strings.TrimPrefix(strings.TrimPrefix(op, ":"), "-")
			if set && (!colon || v != "") {
				return v, next, nil
			}
			words, err := splitWords(def, expand)
			if err != nil {
				return "", 0, err
			}
			return strings.Join(words, " "), next, nil
		default:
			return "", 0, fmt.Errorf("unsupported substitution ${%s}", inner)
		}
	}
	n := i + 1
	for n < len(s) && isNameByte(s[n], n == i+1) {
		n++
	}
	if n == i+1 {
		return "$", i + 1, nil
	}
	v, _ := expand(s[i+1 : n])
	return v, n, nil
}

// envAssign is a variable assigned in alluxio-env.sh.
type envAssign struct {
	Value string
	Line  int
}

// parseEnvFile reads simple assignments from a shell script without running
// it: "VAR=value", "export VAR=value", "VAR+=value", with quoting and $VAR
// expansion (earlier assignments in the file, then lookup). Other lines
// (conditionals, commands, functions) are skipped and reported through skip.
func parseEnvFile(data string, lookup lookupFunc, skip func(line int, text string, why string)) map[string]envAssign {
	vars := make(map[string]envAssign)
	expand := func(name string) (string, bool) {
		if a, ok := vars[name]; ok {
			return a.Value, true
		}
		if lookup != nil {
			return lookup(name)
		}
		return "", false
	}
	lines := strings.Split(strings.ReplaceAll(data, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		start := i + 1
		text := strings.TrimSpace(lines[i])
		if text == "" || text[0] == '#' {
			continue
		}
		if rest, ok := strings.CutPrefix(text, "export"); ok && rest != "" && isBlank(rest[0]) {
			text = strings.TrimSpace(rest)
		}
		n := 0
		for n < len(text) && isNameByte(text[n], n == 0) {
			n++
		}
		name := text[:n]
		appendOp := strings.HasPrefix(text[n:], "+=")
		if name == "" || (!appendOp && !strings.HasPrefix(text[n:], "=")) {
			if name != "" && n == len(text) {
				continue // "export VAR" without a value
			}
			skip(start, text, "not an assignment")
			continue
		}
		valStart := n + 1
		if appendOp {
			valStart++
		}
		// A quoted value may span lines; join until it parses.
		src := text[valStart:]
		var (
			val  string
			next int
			err  error
		)
		for {
			if src == "" || isBlank(src[0]) {
				val, next, err = "", 0, nil
			} else {
				val, next, err = readWord(src, 0, expand)
			}
			if errors.Is(err, errUnterminated) && i+1 < len(lines) {
				i++
				src += "\n" + lines[i]
				continue
			}
			break
		}
		if err != nil {
			skip(start, text, err.Error())
			continue
		}
		if tail := strings.TrimSpace(src[next:]); tail != "" && tail[0] != '#' && tail != ";" {
			skip(start, text, "more than a simple assignment")
			continue
		}
		if appendOp {
			old, _ := expand(name)
			val = old + val
		}
		vars[name] = envAssign{Value: val, Line: start}
	}
	return vars
}
