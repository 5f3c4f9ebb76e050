package audit

import (
	"bytes"
	"encoding/json"
	"slices"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// This file reads the members of a KMS request body that an allowlist of
// plain members names, without decoding the body into maps: the
// cryptographic operations, on the hot path, have only plain members. It
// gives exactly what the general path (json.Unmarshal, then decode) gives,
// up to Go types: see plainRequestParameters.

// jsonText is a JSON value in the form encoding/json writes what it decodes
// that value to (with UseNumber and without HTML escaping): compact, object
// members sorted by name with the last of duplicate names kept, strings
// escaped as encoding/json escapes them, numbers as they were written. Both
// the encoder and encoding/json write it as it is.
type jsonText []byte

// MarshalJSON returns t itself; the zero jsonText is null.
func (t jsonText) MarshalJSON() ([]byte, error) {
	if len(t) == 0 {
		return []byte("null"), nil
	}
	return t, nil
}

// maxNormalDepth bounds the nesting plainRequestParameters handles, so
// that appendNormal's cost stays linear in the body; encryption contexts
// nest 2 deep. Deeper bodies take the general path.
const maxNormalDepth = 16

// maxPlainMembers bounds the allowlists plainRequestParameters reads; the
// longest has 8 members.
const maxPlainMembers = 16

// plainRequestParameters is KMSRequestParameters for an allowlist of plain
// members (at most maxPlainMembers). A body that json.Unmarshal would reject
// gives nil, as does one that is not an object. The body is read once: only
// the allowlisted members are copied, other members are only checked to be
// JSON. As the general path, the last of duplicate members counts, and a
// member that is null is left out.
//
// A string member is a Go string and a number a json.Number, as the general
// path gives them; true and false are bools; an object or a list is its
// jsonText (the general path decodes it into a map[string]any or []any that
// encoding/json writes as the same text).
func plainRequestParameters(allowed []member, body []byte) map[string]any {
	type span struct {
		start, end int
		plain      bool // a string without escapes, valid UTF-8
	}
	var found [maxPlainMembers]span // end 0: absent
	s := scanner{b: body}
	s.ws()
	if s.i >= len(body) || body[s.i] != '{' {
		return nil // not an object, or not JSON
	}
	s.i++
	s.ws()
	if s.i < len(body) && body[s.i] == '}' {
		s.i++
	} else {
		for {
			if s.i >= len(body) || body[s.i] != '"' {
				return nil
			}
			k := s.i
			plain, ok := s.str()
			if !ok {
				return nil
			}
			key := body[k+1 : s.i-1]
			s.ws()
			if s.i >= len(body) || body[s.i] != ':' {
				return nil
			}
			s.i++
			s.ws()
			v := s.i
			vplain := false
			if s.i < len(body) && body[s.i] == '"' {
				if vplain, ok = s.str(); !ok {
					return nil
				}
			} else if !s.value(1) {
				return nil
			}
			if j := memberIndex(allowed, key, plain); j >= 0 {
				found[j] = span{v, s.i, vplain}
			}
			s.ws()
			if s.i >= len(body) {
				return nil
			}
			if body[s.i] == '}' {
				s.i++
				break
			}
			if body[s.i] != ',' {
				return nil
			}
			s.i++
			s.ws()
		}
	}
	s.ws()
	if s.i != len(body) {
		return nil
	}
	if s.depth > maxNormalDepth {
		// appendNormal rescans nested values once per level.
		return decodedRequestParameters(allowed, body)
	}

	n := 0
	for j := range allowed {
		if f := found[j]; f.end > 0 && string(body[f.start:f.end]) != "null" {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	out := make(map[string]any, n)
	for j, mb := range allowed {
		f := found[j]
		if f.end == 0 {
			continue
		}
		raw := body[f.start:f.end]
		var v any
		switch raw[0] {
		case 'n':
			continue // null: absent
		case 't':
			v = true
		case 'f':
			v = false
		case '"':
			if f.plain {
				v = string(raw[1 : len(raw)-1])
			} else {
				var buf [128]byte
				v = string(appendUnquoted(buf[:0], raw[1:len(raw)-1]))
			}
		case '{', '[':
			v = jsonText(appendNormal(make([]byte, 0, len(raw)), raw))
		default:
			v = json.Number(raw)
		}
		out[mb.eventName()] = v
	}
	return out
}

// memberIndex is the index in allowed of the member a key (as in the body,
// without quotes) names, or -1. plain says the key has no escape and is
// valid UTF-8, so that it is its own value.
func memberIndex(allowed []member, key []byte, plain bool) int {
	if !plain {
		var buf [64]byte
		key = appendUnquoted(buf[:0], key)
	}
	for j, mb := range allowed {
		if string(key) == mb.name {
			return j
		}
	}
	return -1
}

// scanner checks JSON text as encoding/json does: the same grammar and the
// same nesting limit. Strings may hold invalid UTF-8, which decoding
// replaces.
type scanner struct {
	b     []byte
	i     int
	depth int // the deepest nesting seen
}

// maxNesting is encoding/json's limit on nested objects and lists.
const maxNesting = 10000

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value skips the value at s.i, inside depth objects and lists, and reports
// whether it is JSON.
func (s *scanner) value(depth int) bool {
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; c {
	case '{':
		return s.object(depth + 1)
	case '[':
		return s.array(depth + 1)
	case '"':
		_, ok := s.str()
		return ok
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		return s.number()
	}
}

func (s *scanner) object(depth int) bool {
	if depth > maxNesting {
		return false
	}
	s.depth = max(s.depth, depth)
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return true
	}
	for {
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return false
		}
		if _, ok := s.str(); !ok {
			return false
		}
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return false
		}
		s.i++
		s.ws()
		if !s.value(depth) {
			return false
		}
		s.ws()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.ws()
		case '}':
			s.i++
			return true
		default:
			return false
		}
	}
}

func (s *scanner) array(depth int) bool {
	if depth > maxNesting {
		return false
	}
	s.depth = max(s.depth, depth)
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return true
	}
	for {
		if !s.value(depth) {
			return false
		}
		s.ws()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.ws()
		case ']':
			s.i++
			return true
		default:
			return false
		}
	}
}

// str skips the string at s.i. plain says it has no escape and is valid
// UTF-8: its text is its value.
func (s *scanner) str() (plain, ok bool) {
	s.i++
	plain = true
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return plain, true
		case c == '\\':
			plain = false
			if s.i+1 >= len(s.b) {
				return false, false
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+5 >= len(s.b) || hex4(s.b[s.i+2:s.i+6]) < 0 {
					return false, false
				}
				s.i += 6
			default:
				return false, false
			}
		case c < ' ':
			return false, false
		case c < utf8.RuneSelf:
			s.i++
		default:
			r, size := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && size == 1 {
				plain = false
			}
			s.i += size
		}
	}
	return false, false
}

func (s *scanner) number() bool {
	b, i := s.b, s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	s.i = i
	return true
}

func (s *scanner) literal(lit string) bool {
	if !bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
		return false
	}
	s.i += len(lit)
	return true
}

// hex4 is the value of four hex digits, or -1.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// appendUnquoted appends the value of a checked JSON string's text (without
// its quotes) as encoding/json decodes it: escapes resolved, a surrogate
// \u escape not in a valid pair and each byte of invalid UTF-8 as U+FFFD.
func appendUnquoted(b, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			switch e := s[i+1]; e {
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r := hex4(s[i+2:])
				i += 6
				if utf16.IsSurrogate(r) {
					r2 := rune(-1)
					if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
						r2 = hex4(s[i+2:])
					}
					if d := utf16.DecodeRune(r, r2); d != unicode.ReplacementChar {
						b = utf8.AppendRune(b, d)
						i += 6
						continue
					}
					r = unicode.ReplacementChar
				}
				b = utf8.AppendRune(b, r)
				continue
			default: // '"', '\\', '/'
				b = append(b, e)
			}
			i += 2
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRune(s[i:])
			b = utf8.AppendRune(b, r)
			i += size
		}
	}
	return b
}

// entry is an object member, for appendNormal.
type entry struct {
	key []byte // the name's value
	val []byte // the value's JSON text
}

// appendNormal appends the checked JSON value v as a jsonText: as
// encoding/json writes what it decodes v to.
func appendNormal(b, v []byte) []byte {
	s := scanner{b: v}
	s.ws()
	return s.appendNormal(b)
}

func (s *scanner) appendNormal(b []byte) []byte {
	start := s.i
	switch s.b[s.i] {
	case '{':
		return s.appendNormalObject(b)
	case '[':
		s.i++
		b = append(b, '[')
		s.ws()
		if s.b[s.i] == ']' {
			s.i++
			return append(b, ']')
		}
		for {
			b = s.appendNormal(b)
			s.ws()
			if s.b[s.i] == ']' {
				s.i++
				return append(b, ']')
			}
			b = append(b, ',')
			s.i++
			s.ws()
		}
	case '"':
		plain, _ := s.str()
		text := s.b[start+1 : s.i-1]
		if plain {
			return appendString(b, text)
		}
		var buf [128]byte
		return appendString(b, appendUnquoted(buf[:0], text))
	case 't':
		s.i += len("true")
	case 'f':
		s.i += len("false")
	case 'n':
		s.i += len("null")
	default:
		s.number()
	}
	return append(b, s.b[start:s.i]...)
}

// appendNormalObject writes an object's members sorted by name, keeping the
// last of duplicate names, as encoding/json writes the map it decodes to.
func (s *scanner) appendNormalObject(b []byte) []byte {
	var buf [16]entry
	es := buf[:0]
	s.i++
	s.ws()
	for s.b[s.i] != '}' {
		k := s.i
		plain, _ := s.str()
		key := s.b[k+1 : s.i-1]
		if !plain {
			key = appendUnquoted(nil, key)
		}
		s.ws()
		s.i++ // ':'
		s.ws()
		v := s.i
		s.value(0)
		es = append(es, entry{key: key, val: s.b[v:s.i]})
		s.ws()
		if s.b[s.i] == ',' {
			s.i++
			s.ws()
		}
	}
	s.i++
	if len(es) > 1 {
		slices.SortStableFunc(es, func(x, y entry) int { return bytes.Compare(x.key, y.key) })
	}
	b = append(b, '{')
	first := true
	for i, e := range es {
		if i+1 < len(es) && bytes.Equal(e.key, es[i+1].key) {
			continue // a later duplicate wins
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, e.key)
		b = append(b, ':')
		b = appendNormal(b, e.val)
	}
	return append(b, '}')
}
