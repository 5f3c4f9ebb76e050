package policy

import (
	"strings"
	"unicode"
)

// Policy variables (reference_policies_variables.md): "${key}" is replaced by
// the single value of a request context key, "${key, 'default'}" falls back to
// the default when the key has no value, and "${*}", "${?}", "${$}" stand for
// the literal characters. Variables exist only from Version 2012-10-17 on; under
// 2008-10-17 or without a Version they are literal text.

type partKind uint8

const (
	partLit  partKind = iota + 1
	partStar          // an unescaped '*'
	partOne           // an unescaped '?'
	partVar
)

type part struct {
	kind partKind
	text string    // partLit
	v    *variable // partVar
}

// variable is a reference to a request context key.
type variable struct {
	raw    string // as written, "${aws:username}"
	key    string // lower-cased key name
	def    string
	hasDef bool
}

// literalParts splits s into literal, '*' and '?' parts without recognising
// variables.
func literalParts(s string) []part {
	var out []part
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '*' && c != '?' {
			continue
		}
		if i > start {
			out = append(out, part{kind: partLit, text: s[start:i]})
		}
		if c == '*' {
			out = append(out, part{kind: partStar})
		} else {
			out = append(out, part{kind: partOne})
		}
		start = i + 1
	}
	if start < len(s) {
		out = append(out, part{kind: partLit, text: s[start:]})
	}
	return out
}

// templateParts splits s into parts, recognising policy variables when vars is
// true. A "${" with no closing "}" is literal text, as is anything that is not a
// well-formed variable. It returns the variables it found (in order) so callers
// can reject them where AWS does not allow them.
func templateParts(s string, vars bool) ([]part, []*variable) {
	if !vars || !strings.Contains(s, "${") {
		return literalParts(s), nil
	}
	var out []part
	var found []*variable
	lit := func(t string) {
		out = append(out, literalParts(t)...)
	}
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			lit(s)
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			lit(s)
			break
		}
		body := s[i+2 : i+j]
		lit(s[:i])
		switch body {
		case "*", "?", "$":
			out = append(out, part{kind: partLit, text: body})
		default:
			if v, ok := parseVariable(s[i:i+j+1], body); ok {
				out = append(out, part{kind: partVar, v: v})
				found = append(found, v)
			} else {
				out = append(out, part{kind: partLit, text: s[i : i+j+1]})
			}
		}
		s = s[i+j+1:]
	}
	return mergeLits(out), found
}

// parseVariable parses the inside of "${…}": a key name and an optional
// ", 'default'" (reference_policies_variables.md, "Specifying default values").
func parseVariable(raw, body string) (*variable, bool) {
	key, def, hasDef := body, "", false
	if k, rest, ok := strings.Cut(body, ","); ok {
		rest = strings.TrimSpace(rest)
		if len(rest) < 2 || rest[0] != '\'' || rest[len(rest)-1] != '\'' {
			return nil, false
		}
		key, def, hasDef = k, rest[1:len(rest)-1], true
	}
	if key == "" || key != strings.TrimSpace(key) || !validKeyName(key) {
		return nil, false
	}
	return &variable{raw: raw, key: strings.ToLower(key), def: def, hasDef: hasDef}, true
}

// validKeyName accepts the characters condition key names use: a service
// prefix, a colon, and a name that may carry a "/tag-key" or ":context-key"
// suffix.
func validKeyName(k string) bool {
	if !strings.Contains(k, ":") {
		return false
	}
	for _, c := range k {
		switch {
		case unicode.IsLetter(c), unicode.IsDigit(c):
		case strings.ContainsRune(":/_-.+=@ ", c): // tag keys may hold spaces
		default:
			return false
		}
	}
	return true
}

func mergeLits(ps []part) []part {
	out := ps[:0]
	for _, p := range ps {
		if p.kind == partLit && len(out) > 0 && out[len(out)-1].kind == partLit {
			out[len(out)-1].text += p.text
			continue
		}
		out = append(out, p)
	}
	return out
}
