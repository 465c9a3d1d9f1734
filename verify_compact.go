package snapauth

// maxCompactDepth bounds the nesting of a body, as encoding/json does.
const maxCompactDepth = 10000

// appendCompactJSON appends src minus insignificant whitespace to dst, the
// bytes a sender hashed: strings (escapes included) and numbers are copied
// as received. It reports whether src is exactly one JSON value, with the
// grammar of encoding/json (which, like json.Compact, does not require
// strings to be valid UTF-8). It is one pass with no allocation beyond dst
// and, past 64 levels of nesting, a stack.
func appendCompactJSON(dst, src []byte) ([]byte, bool) {
	var small [64]byte
	stack := small[:0] // '{' or '[' per open container
	i := skipSpace(src, 0)
value:
	if i >= len(src) {
		return dst, false
	}
	switch c := src[i]; {
	case c == '{' || c == '[':
		if len(stack) >= maxCompactDepth {
			return dst, false
		}
		dst = append(dst, c)
		i = skipSpace(src, i+1)
		if i < len(src) && src[i] == c+2 { // '}' is '{'+2, ']' is '['+2
			dst = append(dst, c+2)
			i++
			goto next
		}
		stack = append(stack, c)
		if c == '{' {
			goto key
		}
		goto value
	case c == '"':
		end, ok := scanString(src, i)
		if !ok {
			return dst, false
		}
		dst = append(dst, src[i:end]...)
		i = end
	case c == '-' || '0' <= c && c <= '9':
		end, ok := scanNumber(src, i)
		if !ok {
			return dst, false
		}
		dst = append(dst, src[i:end]...)
		i = end
	default:
		var lit string
		switch c {
		case 't':
			lit = "true"
		case 'f':
			lit = "false"
		case 'n':
			lit = "null"
		default:
			return dst, false
		}
		if len(src)-i < len(lit) || string(src[i:i+len(lit)]) != lit {
			return dst, false
		}
		dst = append(dst, lit...)
		i += len(lit)
	}
next:
	i = skipSpace(src, i)
	if len(stack) == 0 {
		return dst, i == len(src)
	}
	if i >= len(src) {
		return dst, false
	}
	switch top := stack[len(stack)-1]; src[i] {
	case ',':
		dst = append(dst, ',')
		i = skipSpace(src, i+1)
		if top == '{' {
			goto key
		}
		goto value
	case top + 2:
		dst = append(dst, top+2)
		stack = stack[:len(stack)-1]
		i++
		goto next
	default:
		return dst, false
	}
key:
	if i >= len(src) || src[i] != '"' {
		return dst, false
	}
	{
		end, ok := scanString(src, i)
		if !ok {
			return dst, false
		}
		dst = append(dst, src[i:end]...)
		i = skipSpace(src, end)
	}
	if i >= len(src) || src[i] != ':' {
		return dst, false
	}
	dst = append(dst, ':')
	i = skipSpace(src, i+1)
	goto value
}

func skipSpace(src []byte, i int) int {
	for i < len(src) && (src[i] == ' ' || src[i] == '\n' || src[i] == '\r' || src[i] == '\t') {
		i++
	}
	return i
}

// scanString returns the end (past the closing quote) of the string
// starting at src[i] == '"', and whether it is a valid JSON string.
func scanString(src []byte, i int) (int, bool) {
	for i++; i < len(src); i++ {
		switch c := src[i]; {
		case c == '"':
			return i + 1, true
		case c < 0x20:
			return 0, false
		case c == '\\':
			i++
			if i >= len(src) {
				return 0, false
			}
			switch src[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(src)-i < 5 {
					return 0, false
				}
				for _, h := range src[i+1 : i+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return 0, false
					}
				}
				i += 4
			default:
				return 0, false
			}
		}
	}
	return 0, false
}

// scanNumber returns the end of the number starting at src[i], and whether
// it follows the JSON grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(src []byte, i int) (int, bool) {
	digits := func(i int) int {
		for i < len(src) && '0' <= src[i] && src[i] <= '9' {
			i++
		}
		return i
	}
	if src[i] == '-' {
		i++
	}
	switch {
	case i >= len(src):
		return 0, false
	case src[i] == '0':
		i++
	case '1' <= src[i] && src[i] <= '9':
		i = digits(i + 1)
	default:
		return 0, false
	}
	if i < len(src) && src[i] == '.' {
		j := digits(i + 1)
		if j == i+1 {
			return 0, false
		}
		i = j
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		i++
		if i < len(src) && (src[i] == '+' || src[i] == '-') {
			i++
		}
		j := digits(i)
		if j == i {
			return 0, false
		}
		i = j
	}
	return i, true
}
