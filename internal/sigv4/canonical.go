package sigv4

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// qpair is one decoded query parameter.
type qpair struct{ key, value string }

// parseQuery splits a raw query string into decoded pairs, in order. '+' is
// a space, as in HTML forms and as the AWS SDKs read it; an invalid percent
// escape is kept literally rather than failing the request. A parameter
// without '=' has an empty value.
func parseQuery(raw string) []qpair {
	if raw == "" {
		return nil
	}
	ps := make([]qpair, 0, strings.Count(raw, "&")+1)
	for raw != "" {
		var seg string
		seg, raw, _ = strings.Cut(raw, "&")
		if seg == "" {
			continue
		}
		k, v, _ := strings.Cut(seg, "=")
		ps = append(ps, qpair{key: unescape(k), value: unescape(v)})
	}
	return ps
}

func unescape(s string) string {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

func queryValue(ps []qpair, key string) (string, bool) {
	for _, p := range ps {
		if p.key == key {
			return p.value, true
		}
	}
	return "", false
}

// isUnreserved reports the RFC 3986 unreserved characters, the only ones
// SigV4 leaves unencoded.
func isUnreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

const upperHex = "0123456789ABCDEF"

// appendURIEncode percent-encodes every byte of s but the unreserved ones
// (and '/' when keepSlash), with upper-case hex digits.
func appendURIEncode(dst []byte, s string, keepSlash bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) || keepSlash && c == '/' {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
	}
	return dst
}

// appendCanonicalQuery writes the canonical query string: every parameter
// but those skip names, each name and value URI-encoded, sorted by encoded
// name and then encoded value, joined with '&'.
func appendCanonicalQuery(dst []byte, ps []qpair, skip ...string) []byte {
	if len(ps) == 0 {
		return dst
	}
	type enc struct{ k, v string }
	es := make([]enc, 0, len(ps))
	var scratch []byte
outer:
	for _, p := range ps {
		for _, s := range skip {
			if p.key == s {
				continue outer
			}
		}
		scratch = appendURIEncode(scratch[:0], p.key, false)
		k := string(scratch)
		scratch = appendURIEncode(scratch[:0], p.value, false)
		es = append(es, enc{k, string(scratch)})
	}
	sort.Slice(es, func(i, j int) bool {
		if es[i].k != es[j].k {
			return es[i].k < es[j].k
		}
		return es[i].v < es[j].v
	})
	for i, e := range es {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = append(dst, e.k...)
		dst = append(dst, '=')
		dst = append(dst, e.v...)
	}
	return dst
}

// requestPath is the path as the client sent it, still escaped: the client
// signed the bytes it put on the wire, so the canonical URI is built from
// those, not from a decoded and re-escaped URL.Path.
func requestPath(r *http.Request) string {
	if u := r.RequestURI; u != "" && u[0] == '/' {
		if i := strings.IndexByte(u, '?'); i >= 0 {
			u = u[:i]
		}
		return u
	}
	if r.URL == nil {
		return "/"
	}
	return r.URL.EscapedPath()
}

// appendCanonicalURI writes the canonical URI of path. With normalize (every
// AWS service but S3) dot segments are removed and runs of '/' collapse, as
// RFC 3986 section 5.2.4 does, then the result is URI-encoded once more;
// since the path is already escaped on the wire this is the "encode twice"
// of the SigV4 specification.
func appendCanonicalURI(dst []byte, path string, normalize bool) []byte {
	if path == "" || path == "/" {
		return append(dst, '/')
	}
	if !normalize {
		return appendURIEncode(dst, path, true)
	}
	// Segments are kept as offsets into path in a small stack array; deep
	// paths fall back to the heap.
	var segsArr [16][2]int
	segs := segsArr[:0]
	last := ""
	for i := 0; i < len(path); {
		for i < len(path) && path[i] == '/' {
			i++
		}
		j := i
		for j < len(path) && path[j] != '/' {
			j++
		}
		switch seg := path[i:j]; seg {
		case "", ".":
		case "..":
			if len(segs) > 0 {
				segs = segs[:len(segs)-1]
			}
		default:
			segs = append(segs, [2]int{i, j})
		}
		if i < j {
			last = path[i:j]
		}
		i = j
	}
	trailing := path[len(path)-1] == '/' || last == "." || last == ".."
	if len(segs) == 0 {
		return append(dst, '/')
	}
	for _, s := range segs {
		dst = append(dst, '/')
		dst = appendURIEncode(dst, path[s[0]:s[1]], false)
	}
	if trailing {
		dst = append(dst, '/')
	}
	return dst
}

// headerValues returns the values of the header named name (lower case, as
// in SignedHeaders).
func headerValues(r *http.Request, name string) ([]string, bool) {
	var buf [64]byte
	if len(name) <= len(buf) {
		k := buf[:len(name)]
		upper := true
		for i := 0; i < len(name); i++ {
			c := name[i]
			if upper && 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			} else if !upper && 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			k[i] = c
			upper = c == '-'
		}
		if vs, ok := r.Header[string(k)]; ok {
			return vs, true
		}
	}
	// A header whose name net/textproto did not canonicalise (it has bytes
	// outside the token set) is stored as sent.
	for k, vs := range r.Header {
		if strings.EqualFold(k, name) {
			return vs, true
		}
	}
	return nil, false
}

// appendHeaderValue writes v with leading and trailing white space removed
// and each inner run of white space (including folded line breaks) replaced
// by one space.
func appendHeaderValue(dst []byte, v string) []byte {
	if trimmed(v) {
		return append(dst, v...) // the usual value, in one copy
	}
	return appendTrimmed(dst, v)
}

// trimmed reports whether appendHeaderValue leaves v as it is: no white
// space at either end, none but single spaces inside. Each test is one
// IndexByte (or Index) scan, not a switch on every byte.
func trimmed(v string) bool {
	if v == "" {
		return true
	}
	if v[0] == ' ' || v[len(v)-1] == ' ' {
		return false
	}
	return strings.IndexByte(v, '\t') < 0 && strings.IndexByte(v, '\n') < 0 &&
		strings.IndexByte(v, '\r') < 0 && !strings.Contains(v, "  ")
}

// appendTrimmed is appendHeaderValue byte by byte.
func appendTrimmed(dst []byte, v string) []byte {
	space := false
	start := len(dst)
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			space = true
			continue
		}
		if space && len(dst) > start {
			dst = append(dst, ' ')
		}
		space = false
		dst = append(dst, c)
	}
	return dst
}

// appendCanonicalHeaders writes "name:value\n" for each name of the
// semicolon-separated signed list, in the order given. It reports false if a
// signed header is absent from the request.
func appendCanonicalHeaders(dst []byte, r *http.Request, signed string) ([]byte, bool) {
	for rest := signed; rest != ""; {
		name := rest
		if i := strings.IndexByte(rest, ';'); i >= 0 {
			name, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		if name == "" {
			continue
		}
		if name == "host" {
			// net/http moves Host out of the header map into r.Host (a
			// client-side request may have it only in r.URL).
			host := r.Host
			if host == "" && r.URL != nil {
				host = r.URL.Host
			}
			if host != "" {
				dst = append(dst, "host:"...)
				dst = appendHeaderValue(dst, host)
				dst = append(dst, '\n')
				continue
			}
		}
		vs, ok := headerValues(r, name)
		if !ok {
			// A client-side request may carry its length only in
			// r.ContentLength.
			if name != "content-length" || r.ContentLength <= 0 {
				return dst, false
			}
			dst = append(dst, name...)
			dst = append(dst, ':')
			dst = strconv.AppendInt(dst, r.ContentLength, 10)
			dst = append(dst, '\n')
			continue
		}
		dst = append(dst, name...)
		dst = append(dst, ':')
		for i, v := range vs {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendHeaderValue(dst, v)
		}
		dst = append(dst, '\n')
	}
	return dst, true
}

// signsHost reports whether host is among the signed headers.
func signsHost(signed string) bool {
	for rest := signed; rest != ""; {
		name := rest
		if i := strings.IndexByte(rest, ';'); i >= 0 {
			name, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		if name == "host" {
			return true
		}
	}
	return false
}
