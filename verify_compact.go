package snapauth

// appendCompactJSON appends src minus insignificant whitespace to dst, the
// bytes a sender hashed: strings (escapes included) and numbers are copied
// as received. It reports whether src is exactly one JSON value, with the
// grammar of encoding/json (which, like json.Compact, does not require
// strings to be valid UTF-8). It is one pass with no allocation beyond dst
// and, past 64 levels of nesting, a stack. Its scanners are Minify's
// (minify_parse.go).
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
		if len(stack) >= maxNestingDepth {
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
		end, _, ok, _ := scanString(src, i)
		if !ok {
			return dst, false
		}
		dst = append(dst, src[i:end]...)
		i = end
	case c == '-' || '0' <= c && c <= '9':
		end := scanNumber(src, i)
		if end < 0 {
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
		end, _, ok, _ := scanString(src, i)
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
