package sigv4

import "strings"

const (
	algorithm  = "AWS4-HMAC-SHA256"
	terminator = "aws4_request"
)

// authorization is a parsed Authorization header. Every field is a substring
// of the header value: parsing allocates nothing unless it fails.
type authorization struct {
	algorithm     string
	credential    string
	signedHeaders string
	signature     string
}

// parseAuthorization splits an Authorization header of the form
//
//	AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=…
//
// The first token is the algorithm; the rest are key=value pairs separated by
// commas and/or white space, as AWS tokenises them (a stray space inside a
// value makes its tail a pair without '='), so ", " (the SDKs and the CLI),
// "," and a header folded over lines all parse. Each of Credential,
// SignedHeaders and Signature must appear exactly once and nothing else may:
// a parser that skipped unknown or repeated components would let a header
// tell it one thing and any other reader another (a "Foo=SignedHeaders=…"
// component once made the server believe in headers nobody signed). hasDate
// reports whether the request carries an X-Amz-Date or Date header; AWS
// lists its absence with the missing parameters.
func parseAuthorization(h string, hasDate bool) (authorization, *Error) {
	var a authorization
	rest := h
	for rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
		rest = rest[1:]
	}
	if i := indexAuthSep(rest); i >= 0 {
		a.algorithm, rest = rest[:i], rest[i:]
	} else {
		a.algorithm, rest = rest, ""
	}
	var seen [3]bool // Credential, SignedHeaders, Signature
	for rest != "" {
		i := indexAuthSep(rest)
		var tok string
		if i < 0 {
			tok, rest = rest, ""
		} else {
			tok, rest = rest[:i], rest[i+1:]
		}
		if tok == "" {
			continue
		}
		eq := strings.IndexByte(tok, '=')
		if eq < 0 {
			return a, newError(IncompleteSignature, "'"+tok+"' not a valid key=value pair (missing equal-sign) in Authorization header: '"+h+"'.")
		}
		var n int
		k, val := tok[:eq], tok[eq+1:]
		switch k {
		case "Credential":
			n, a.credential = 0, val
		case "SignedHeaders":
			n, a.signedHeaders = 1, val
		case "Signature":
			n, a.signature = 2, val
		default:
			return a, newError(IncompleteSignature, msgHeaderMalformed+"the authorization component \""+tok+"\" is malformed.")
		}
		if seen[n] {
			return a, newError(IncompleteSignature, msgHeaderMalformed+msgThreeComponents)
		}
		seen[n] = true
	}
	if a.credential == "" || a.signature == "" || a.signedHeaders == "" || !hasDate {
		var b strings.Builder
		if a.credential == "" {
			b.WriteString("Authorization header requires 'Credential' parameter. ")
		}
		if a.signature == "" {
			b.WriteString("Authorization header requires 'Signature' parameter. ")
		}
		if a.signedHeaders == "" {
			b.WriteString("Authorization header requires 'SignedHeaders' parameter. ")
		}
		if !hasDate {
			b.WriteString("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ")
		}
		b.WriteString("Authorization=")
		b.WriteString(h)
		return a, newError(IncompleteSignature, b.String())
	}
	return a, nil
}

// indexAuthSep is strings.IndexAny(s, ", \t"): the first ',' and then the
// first blank before it, each found with IndexByte rather than by testing
// every byte of the header against three separators.
func indexAuthSep(s string) int {
	i := strings.IndexByte(s, ',')
	t := s
	if i >= 0 {
		t = s[:i]
	}
	if j := strings.IndexByte(t, ' '); j >= 0 {
		i, t = j, t[:j]
	}
	if j := strings.IndexByte(t, '\t'); j >= 0 {
		i = j
	}
	return i
}

// credential is a parsed Credential value: keyid/date/region/service/term.
// scope is date/region/service/term, the credential scope of the string to
// sign; every field is a substring of the value.
type credential struct {
	accessKeyID, date, region, service, scope string
}

func parseCredential(c string) (credential, *Error) {
	var cr credential
	if strings.Count(c, "/") != 4 {
		return cr, newError(IncompleteSignature, "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '"+c+"'")
	}
	// Four '/' are there: each IndexByte finds one.
	i := strings.IndexByte(c, '/')
	cr.accessKeyID, c = c[:i], c[i+1:]
	cr.scope = c
	i = strings.IndexByte(c, '/')
	cr.date, c = c[:i], c[i+1:]
	i = strings.IndexByte(c, '/')
	cr.region, c = c[:i], c[i+1:]
	i = strings.IndexByte(c, '/')
	cr.service = c[:i]
	term := c[i+1:]
	if term != terminator {
		return cr, newError(InvalidSignature, "Credential should be scoped with a valid terminator: 'aws4_request', not '"+term+"'. ")
	}
	return cr, nil
}
