package policy

import (
	"strings"
	"unicode/utf8"
)

// This file holds the wildcard matcher shared by Action, Resource, Principal-free
// ARN matching and the String/Arn condition operators.
//
// A pattern is compiled once into segments separated by '*'. Each segment is a
// sequence of atoms whose length is fixed once variables are resolved: a literal,
// a '?' (exactly one character) or a policy variable. Matching anchors the first
// segment at the start, the last segment at the end (matched backwards) and finds
// every middle segment at its leftmost position. Leftmost placement is always safe
// for '*' globs, so there is no backtracking: the cost is at most
// O(len(text)·len(pattern)) and hostile patterns such as "a*a*a*…b" stay linear in
// practice. See reference_policies_elements_resource.md, "Using wildcards in
// resource ARNs", and the StringLike row of reference_policies_elements_condition_operators.md.

type atomKind uint8

const (
	atomLit atomKind = iota + 1
	atomOne          // '?': exactly one character (rune)
	atomVar          // ${key} or ${key, 'default'}
)

type atom struct {
	kind atomKind
	lit  string    // atomLit
	v    *variable // atomVar
}

type segment []atom

// glob is an immutable compiled wildcard pattern.
type glob struct {
	segs []segment // len(segs)-1 stars separate them
	fold bool      // ASCII case-insensitive literals (action names)
	// lit is set when the pattern is a single literal with no wildcard or
	// variable: matching is then a plain comparison.
	lit      string
	isLit    bool
	isPrefix bool // the pattern is lit followed by one '*', as in "kms:Generate*"
	anyAll   bool // the pattern is exactly "*"
}

// compileGlob builds a glob from template parts. wild says whether '*' and '?'
// parts are wildcards (Like operators, Action, Resource) or literal text
// (Equals operators).
func compileGlob(parts []part, wild, fold bool) *glob {
	g := &glob{fold: fold}
	cur := segment{}
	var sb strings.Builder
	flush := func() {
		if sb.Len() > 0 {
			s := sb.String()
			if fold {
				s = lowerASCII(s)
			}
			cur = append(cur, atom{kind: atomLit, lit: s})
			sb.Reset()
		}
	}
	for i := range parts {
		p := &parts[i]
		switch p.kind {
		case partLit:
			sb.WriteString(p.text)
		case partStar:
			if !wild {
				sb.WriteByte('*')
				continue
			}
			flush()
			g.segs = append(g.segs, cur)
			cur = segment{}
		case partOne:
			if !wild {
				sb.WriteByte('?')
				continue
			}
			flush()
			cur = append(cur, atom{kind: atomOne})
		case partVar:
			flush()
			cur = append(cur, atom{kind: atomVar, v: p.v})
		}
	}
	flush()
	g.segs = append(g.segs, cur)
	if len(g.segs) == 1 {
		switch {
		case len(g.segs[0]) == 0:
			g.isLit = true
		case len(g.segs[0]) == 1 && g.segs[0][0].kind == atomLit:
			g.isLit, g.lit = true, g.segs[0][0].lit
		}
	}
	if len(g.segs) == 2 && len(g.segs[1]) == 0 {
		switch {
		case len(g.segs[0]) == 0:
			g.anyAll = true
		case len(g.segs[0]) == 1 && g.segs[0][0].kind == atomLit:
			g.isPrefix, g.lit = true, g.segs[0][0].lit
		}
	}
	return g
}

// compileGlobString compiles s with '*' and '?' as wildcards and no variables.
func compileGlobString(s string, fold bool) *glob {
	return compileGlob(literalParts(s), true, fold)
}

func (g *glob) match(text string, r *evalCtx) bool {
	if g.anyAll {
		return true
	}
	if g.isLit {
		if g.fold {
			return equalFoldASCII(text, g.lit)
		}
		return text == g.lit
	}
	if g.isPrefix {
		return g.hasPrefix(text, g.lit)
	}
	segs := g.segs
	if len(segs) == 1 {
		n, ok := g.matchForward(segs[0], text, r)
		return ok && n == len(text)
	}
	start, ok := g.matchForward(segs[0], text, r)
	if !ok {
		return false
	}
	end, ok := g.matchBackward(segs[len(segs)-1], text[start:], r)
	if !ok {
		return false
	}
	end += start
	rest := text[start:end]
	for _, seg := range segs[1 : len(segs)-1] {
		if len(seg) == 0 {
			continue
		}
		found := false
		for i := 0; i <= len(rest); {
			if n, ok := g.matchForward(seg, rest[i:], r); ok {
				rest = rest[i+n:]
				found = true
				break
			}
			if i == len(rest) {
				break
			}
			_, size := utf8.DecodeRuneInString(rest[i:])
			i += size
		}
		if !found {
			return false
		}
	}
	return true
}

// matchForward matches seg as a prefix of s and returns how many bytes it used.
func (g *glob) matchForward(seg segment, s string, r *evalCtx) (int, bool) {
	n := 0
	for i := range seg {
		a := &seg[i]
		switch a.kind {
		case atomLit:
			if !g.hasPrefix(s[n:], a.lit) {
				return 0, false
			}
			n += len(a.lit)
		case atomOne:
			if n >= len(s) {
				return 0, false
			}
			_, size := utf8.DecodeRuneInString(s[n:])
			n += size
		case atomVar:
			v, ok := r.resolve(a.v)
			if !ok || !g.hasPrefix(s[n:], v) {
				return 0, false
			}
			n += len(v)
		}
	}
	return n, true
}

// matchBackward matches seg as a suffix of s and returns where it starts.
func (g *glob) matchBackward(seg segment, s string, r *evalCtx) (int, bool) {
	end := len(s)
	for i := len(seg) - 1; i >= 0; i-- {
		a := &seg[i]
		switch a.kind {
		case atomLit:
			if !g.hasSuffix(s[:end], a.lit) {
				return 0, false
			}
			end -= len(a.lit)
		case atomOne:
			if end == 0 {
				return 0, false
			}
			_, size := utf8.DecodeLastRuneInString(s[:end])
			end -= size
		case atomVar:
			v, ok := r.resolve(a.v)
			if !ok || !g.hasSuffix(s[:end], v) {
				return 0, false
			}
			end -= len(v)
		}
	}
	return end, true
}

func (g *glob) hasPrefix(s, p string) bool {
	if len(s) < len(p) {
		return false
	}
	if g.fold {
		return equalFoldASCII(s[:len(p)], p)
	}
	return s[:len(p)] == p
}

func (g *glob) hasSuffix(s, p string) bool {
	if len(s) < len(p) {
		return false
	}
	if g.fold {
		return equalFoldASCII(s[len(s)-len(p):], p)
	}
	return s[len(s)-len(p):] == p
}

// equalFoldASCII compares s with lower, which is already lower case, treating
// ASCII letters without case and other bytes exactly. Action names are ASCII
// (reference_policies_elements_action.md).
func equalFoldASCII(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		x := s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if x != lower[i] {
			return false
		}
	}
	return true
}

func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// arnGlob matches an ARN segment by segment: a wildcard in one of the first
// five colon-separated segments never crosses a colon, the sixth (resource)
// segment takes the rest of the string including colons
// (reference_policies_elements_condition_operators.md, "Amazon Resource Name (ARN)
// condition operators").
type arnGlob struct {
	anyAll bool // "*": any value
	segs   []*glob
}

func compileArnGlob(parts []part) *arnGlob {
	if len(parts) == 1 && parts[0].kind == partStar {
		return &arnGlob{anyAll: true}
	}
	var segs [][]part
	cur := []part{}
	for _, p := range parts {
		if p.kind != partLit || len(segs) == 5 {
			cur = append(cur, p)
			continue
		}
		text := p.text
		for len(segs) < 5 {
			i := strings.IndexByte(text, ':')
			if i < 0 {
				break
			}
			if i > 0 {
				cur = append(cur, part{kind: partLit, text: text[:i]})
			}
			segs = append(segs, cur)
			cur = []part{}
			text = text[i+1:]
		}
		if text != "" {
			cur = append(cur, part{kind: partLit, text: text})
		}
	}
	segs = append(segs, cur)
	g := &arnGlob{segs: make([]*glob, len(segs))}
	for i, s := range segs {
		g.segs[i] = compileGlob(s, true, false)
	}
	return g
}

func (g *arnGlob) match(s string, r *evalCtx) bool {
	if g.anyAll {
		return true
	}
	for i, sg := range g.segs {
		if i == len(g.segs)-1 {
			if i < 5 && strings.IndexByte(s, ':') >= 0 {
				return false // the value has more segments than the pattern
			}
			return sg.match(s, r)
		}
		j := strings.IndexByte(s, ':')
		if j < 0 {
			return false
		}
		if !sg.match(s[:j], r) {
			return false
		}
		s = s[j+1:]
	}
	return false
}
