package sigv4

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Credentials is what the verifier needs to know about one access key.
type Credentials struct {
	Secret string // the secret access key
	// SessionToken is non-empty for temporary credentials: the request must
	// carry exactly this token (X-Amz-Security-Token header or query
	// parameter). It is compared in constant time.
	SessionToken string
}

// SecretLookup is implemented by the identity store.
type SecretLookup interface {
	// Secret returns the credentials of accessKeyID. It returns
	// ErrUnknownAccessKey (or an error wrapping it) when the key is unknown,
	// and an error wrapping ErrExpiredToken when its temporary credentials
	// have expired. accessKeyID may point into request memory: copy it to
	// keep it.
	Secret(ctx context.Context, accessKeyID string) (Credentials, error)
}

// Options tunes a Verifier. The zero value gives AWS's behaviour.
type Options struct {
	Now     func() time.Time // nil: time.Now
	MaxSkew time.Duration    // 0: 5 minutes
	// Scope is called with the credential scope's region and service after
	// parsing and before the signature is computed; a non-nil *Error it
	// returns goes to the client as is (see RegionScopeError and
	// ServiceScopeError), any other error is returned to Verify's caller
	// unchanged. nil: any scope accepted.
	Scope func(region, service string) error
}

// Result describes a request whose signature verified.
type Result struct {
	AccessKeyID, Region, Service string
	SignedAt                     time.Time // X-Amz-Date (or Date)
	Presigned                    bool      // signed in the query string
	SessionToken                 string    // the token the request carried, if any
	// SignedHeaders is the verified signature's list of signed headers
	// (SignedHeaders, or X-Amz-SignedHeaders when presigned): names
	// separated by ';'. Ask Signs rather than parse it.
	SignedHeaders string
}

// Signs reports whether the verified signature covers the header named
// name (in any case) as a signed header. Callers trusting a header of their
// own (not x-amz-*, which Verify already requires to be covered) must ask
// this, never the Authorization header, which may say anything beyond what
// was verified.
func (r Result) Signs(name string) bool { return listed(r.SignedHeaders, name) }

// listed reports whether name is one of the ';'-separated names of list,
// ignoring case. It hops from ';' to ';' with IndexByte: every request asks
// it for each of its x-amz-* headers.
func listed(list, name string) bool {
	for list != "" {
		item := list
		if i := strings.IndexByte(list, ';'); i >= 0 {
			item, list = list[:i], list[i+1:]
		} else {
			list = "" // (no name after a final ';', as strings.Cut splits)
		}
		// Most names differ in length: compare only those that do not.
		if len(item) == len(name) && strings.EqualFold(item, name) {
			return true
		}
	}
	return false
}

// Verifier checks AWS Signature Version 4 signatures. It is safe for
// concurrent use.
type Verifier struct {
	lookup SecretLookup
	now    func() time.Time
	skew   time.Duration
	scope  func(region, service string) error
	keys   keyCache
	// unnormalized signs the path as sent, as S3 does; only the conformance
	// suite's "normalize": false cases set it.
	unnormalized bool
}

// NewVerifier returns a Verifier that takes secrets from l. It panics if l
// is nil or o.MaxSkew is negative (programmer errors).
func NewVerifier(l SecretLookup, o Options) *Verifier {
	if l == nil {
		panic("sigv4: NewVerifier with nil SecretLookup")
	}
	if o.MaxSkew < 0 {
		panic("sigv4: negative MaxSkew")
	}
	v := &Verifier{lookup: l, now: o.Now, skew: o.MaxSkew, scope: o.Scope}
	if v.now == nil {
		v.now = time.Now
	}
	if v.skew == 0 {
		v.skew = 5 * time.Minute
	}
	v.keys.max = defaultCacheSize
	return v
}

// maxExpires is the longest X-Amz-Expires AWS accepts: a signing key is
// valid for at most seven days.
const maxExpires = 604800

// request is what Verify extracted from the HTTP request before computing
// the signature.
type request struct {
	cred          credential
	signedHeaders string
	signature     string
	amzDate       string
	signedAt      time.Time
	presigned     bool
	query         []qpair
	token         string
}

// trace records the intermediate values of a verification (tests only).
type trace struct {
	canonicalRequest, stringToSign, signature string
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// putBuf returns a buffer to the pool unless a huge request grew it.
func putBuf(bp *[]byte) {
	if cap(*bp) <= 64<<10 {
		bufPool.Put(bp)
	}
}

// Verify checks r's SigV4 signature, carried in the Authorization header or
// in a presigned query string. body is the full request body, already read
// by the caller: the payload hash is sha256(body), and an
// X-Amz-Content-Sha256 header, when present, must equal it.
//
// A client-caused failure is an *Error; an error from the SecretLookup other
// than ErrUnknownAccessKey/ErrExpiredToken is returned wrapped, and should be
// treated as an internal error.
func (v *Verifier) Verify(ctx context.Context, r *http.Request, body []byte) (Result, error) {
	return v.verify(ctx, r, body, v.now(), nil)
}

// VerifyAt is Verify with the time now given instead of read from
// Options.Now: a caller that needs the request's time anyway reads the
// clock once.
func (v *Verifier) VerifyAt(ctx context.Context, r *http.Request, body []byte, now time.Time) (Result, error) {
	return v.verify(ctx, r, body, now, nil)
}

func (v *Verifier) verify(ctx context.Context, r *http.Request, body []byte, now time.Time, tr *trace) (Result, error) {
	req, err := v.parse(r)
	if err != nil {
		return Result{}, err
	}
	if req.amzDate[:8] != req.cred.date {
		return Result{}, newError(InvalidSignature, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '"+
			req.cred.date+"' != '"+req.amzDate[:8]+"', from '"+req.amzDate+"'.")
	}
	if v.scope != nil {
		if err := v.scope(req.cred.region, req.cred.service); err != nil {
			return Result{}, err
		}
	}
	now = now.UTC()
	if req.presigned {
		// A presigned URL may be used until X-Amz-Date + X-Amz-Expires, but
		// not before X-Amz-Date (less the allowed skew).
		if req.signedAt.After(now.Add(v.skew)) {
			return Result{}, skewError(req.signedAt, now, v.skew)
		}
	} else if d := now.Sub(req.signedAt); d > v.skew || d < -v.skew {
		return Result{}, skewError(req.signedAt, now, v.skew)
	}
	if req.presigned {
		exp, _ := queryValue(req.query, "X-Amz-Expires")
		n, _ := strconv.Atoi(exp)
		if now.After(req.signedAt.Add(time.Duration(n) * time.Second)) {
			return Result{}, newError(InvalidSignature, msgPresignExpired)
		}
	}

	creds, err := v.lookup.Secret(ctx, req.cred.accessKeyID)
	switch {
	case errors.Is(err, ErrUnknownAccessKey):
		return Result{}, newError(UnrecognizedClient, msgUnknownKey)
	case errors.Is(err, ErrExpiredToken):
		return Result{}, newError(ExpiredToken, msgExpiredToken)
	case err != nil:
		return Result{}, fmt.Errorf("sigv4: look up access key %s: %w", req.cred.accessKeyID, err)
	}
	// Temporary credentials need their token; permanent ones must not carry
	// one. AWS answers both with UnrecognizedClient.
	if creds.SessionToken != "" || req.token != "" {
		if !equalStrings(creds.SessionToken, req.token) {
			return Result{}, newError(UnrecognizedClient, msgUnknownKey)
		}
	}

	if !signsHost(req.signedHeaders) {
		return Result{}, newError(IncompleteSignature, msgHostNotSigned)
	}
	if unsignedAmzHeader(r, &req) {
		return Result{}, newError(IncompleteSignature, msgUnsignedHeaders)
	}
	var provided [32]byte
	if !decodeSignature(&provided, req.signature) {
		return Result{}, newError(InvalidSignature, msgSignatureMismatch)
	}
	var payload [64]byte
	sum := sha256.Sum256(body)
	hex.Encode(payload[:], sum[:])
	if vs := r.Header["X-Amz-Content-Sha256"]; len(vs) > 0 && vs[0] != string(payload[:]) {
		return Result{}, newError(InvalidSignature, msgSignatureMismatch)
	}

	key := v.keys.signingKey(&req.cred, creds.Secret)
	bp := bufPool.Get().(*[]byte)
	defer putBuf(bp)
	// A session token added to a presigned URL after signing (the suite's
	// post-sts-header-after) is refused like any other unsigned part: every
	// SDK and the CLI sign it, and AWS leaves it unsigned only for services
	// that say so (IAM User Guide, create-signed-request, "Temporary
	// security credentials"); KMS, IAM and STS do not.
	ok, found := v.check(bp, r, &req, &key, payload[:], &provided, tr)
	if !found || !ok {
		return Result{}, newError(InvalidSignature, msgSignatureMismatch)
	}
	return Result{
		AccessKeyID:   req.cred.accessKeyID,
		Region:        req.cred.region,
		Service:       req.cred.service,
		SignedAt:      req.signedAt,
		Presigned:     req.presigned,
		SessionToken:  req.token,
		SignedHeaders: req.signedHeaders,
	}, nil
}

// unsignedAmzHeader reports whether r carries an x-amz-* header that the
// signature does not cover. SigV4 requires "any x-amz-* headers in the
// signature" (IAM User Guide, create-signed-request): such a header must be
// among the signed headers or, in a presigned request, equal the signed
// query parameter of the same name that the SDK presigners hoist it into
// (every value, in order). No header is exempt, not even those whose value
// is checked elsewhere (X-Amz-Content-Sha256 against the body,
// X-Amz-Security-Token against the credentials): the SDKs and the CLI
// always sign them, so an unsigned one is not a client this server has to
// serve, and an exemption would be one more rule to get right.
// X-Amzn-Trace-Id, which the SDKs leave unsigned, is not x-amz-*.
//
// A name net/http did not canonicalise counts as unsigned: beside the
// canonical spelling of the same name, its values would not be the ones the
// canonical request was built from, nor the ones a reader gets.
func unsignedAmzHeader(r *http.Request, req *request) bool {
	const prefix = "x-amz-"
	for k, vs := range r.Header {
		if len(k) < len(prefix) || !strings.EqualFold(k[:len(prefix)], prefix) {
			continue
		}
		if !canonicalKey(k) {
			return true
		}
		if listed(req.signedHeaders, k) || req.presigned && hoisted(req.query, k, vs) {
			continue
		}
		return true
	}
	return false
}

// canonicalKey reports whether k is spelled as
// textproto.CanonicalMIMEHeaderKey spells it: upper case at the start and
// after each '-', lower case elsewhere.
func canonicalKey(k string) bool {
	upper := true
	for i := 0; i < len(k); i++ {
		c := k[i]
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			return false
		}
		upper = c == '-'
	}
	return true
}

// hoisted reports whether the query parameters named name (in any case:
// the Go SDK lower-cases some) are exactly the header values vs. The
// signature itself is not part of what is signed, so it never counts.
func hoisted(q []qpair, name string, vs []string) bool {
	i := 0
	for _, p := range q {
		if p.key == "X-Amz-Signature" || !strings.EqualFold(p.key, name) {
			continue
		}
		if i == len(vs) || p.value != vs[i] {
			return false
		}
		i++
	}
	return i > 0 && i == len(vs)
}

// check builds the canonical request and string to sign into *bp, and
// compares the signature in constant time. found is false if a signed header
// is missing from the request.
func (v *Verifier) check(bp *[]byte, r *http.Request, req *request, key *[32]byte, payload []byte, provided *[32]byte, tr *trace) (ok, found bool) {
	b := (*bp)[:0]
	b = append(b, r.Method...)
	b = append(b, '\n')
	b = appendCanonicalURI(b, requestPath(r), !v.unnormalized)
	b = append(b, '\n')
	if req.presigned {
		b = appendCanonicalQuery(b, req.query, "X-Amz-Signature")
	} else {
		b = appendCanonicalQuery(b, req.query)
	}
	b = append(b, '\n')
	b, found = appendCanonicalHeaders(b, r, req.signedHeaders)
	if !found {
		*bp = b
		return false, false
	}
	b = append(b, '\n')
	b = append(b, req.signedHeaders...)
	b = append(b, '\n')
	b = append(b, payload...)
	crHash := sha256.Sum256(b)
	if tr != nil {
		tr.canonicalRequest = string(b)
	}

	// The string to sign goes after 64 bytes kept for HMAC's inner pad.
	b = append(b[:0], make([]byte, 64)...)
	b = append(b, algorithm...)
	b = append(b, '\n')
	b = append(b, req.amzDate...)
	b = append(b, '\n')
	b = append(b, req.cred.scope...)
	b = append(b, '\n')
	b = hex.AppendEncode(b, crHash[:])
	if tr != nil {
		tr.stringToSign = string(b[64:])
	}
	sig := hmacSHA256(key, b)
	*bp = b
	if tr != nil {
		tr.signature = hex.EncodeToString(sig[:])
	}
	return hmac.Equal(sig[:], provided[:]), true
}

// decodeSignature decodes a 64-digit lower- or upper-case hex signature.
func decodeSignature(dst *[32]byte, s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := range 32 {
		a, b := s[2*i], s[2*i+1]
		if !isHex(a) || !isHex(b) {
			return false
		}
		dst[i] = unhex(a)<<4 | unhex(b)
	}
	return true
}

// parse extracts the signature parameters from the Authorization header or
// the query string.
func (v *Verifier) parse(r *http.Request) (request, error) {
	var req request
	if r.URL != nil {
		req.query = parseQuery(r.URL.RawQuery)
	}
	_, qAlg := queryValue(req.query, "X-Amz-Algorithm")
	_, qCred := queryValue(req.query, "X-Amz-Credential")
	_, qSig := queryValue(req.query, "X-Amz-Signature")
	presigned := qAlg || qCred || qSig
	var authz string
	if vs := r.Header["Authorization"]; len(vs) > 0 {
		authz = vs[0]
	}
	switch {
	case authz != "" && presigned:
		return req, newError(IncompleteSignature, msgTwoMechanisms)
	case authz == "" && !presigned:
		return req, newError(MissingAuthenticationToken, msgMissingToken)
	}

	if presigned {
		req.presigned = true
		get := func(k string) string { s, _ := queryValue(req.query, k); return s }
		alg, cred, date, exp := get("X-Amz-Algorithm"), get("X-Amz-Credential"), get("X-Amz-Date"), get("X-Amz-Expires")
		req.signedHeaders, req.signature = get("X-Amz-SignedHeaders"), get("X-Amz-Signature")
		if alg == "" || cred == "" || date == "" || exp == "" || req.signedHeaders == "" || req.signature == "" {
			return req, newError(IncompleteSignature, msgQueryIncomplete)
		}
		if alg != algorithm {
			return req, newError(IncompleteSignature, "Unsupported AWS 'algorithm': '"+alg+"'.")
		}
		n, err := strconv.ParseInt(exp, 10, 64)
		switch {
		case err != nil:
			return req, newError(IncompleteSignature, msgExpiresNotNumber)
		case n < 0:
			return req, newError(IncompleteSignature, msgExpiresNegative)
		case n > maxExpires:
			return req, newError(IncompleteSignature, msgExpiresTooLarge)
		}
		t, err := parseAmzDate(date)
		if err != nil {
			return req, newError(IncompleteSignature, "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
		}
		req.amzDate, req.signedAt = date, t
		var e *Error
		if req.cred, e = parseCredential(cred); e != nil {
			return req, e
		}
		var inQuery bool
		req.token, inQuery = queryValue(req.query, "X-Amz-Security-Token")
		if !inQuery {
			if vs := r.Header["X-Amz-Security-Token"]; len(vs) > 0 {
				req.token = vs[0]
			}
		}
		return req, nil
	}

	// AWS looks for X-Amz-Date first and falls back to Date.
	if vs := r.Header["X-Amz-Date"]; len(vs) > 0 {
		if t, err := parseAmzDate(vs[0]); err == nil {
			req.amzDate, req.signedAt = vs[0], t
		}
	} else if vs := r.Header["Date"]; len(vs) > 0 {
		if t, err := http.ParseTime(vs[0]); err == nil {
			req.signedAt = t.UTC()
			req.amzDate = req.signedAt.Format(amzDateFormat)
		}
	}
	a, e := parseAuthorization(authz, req.amzDate != "")
	if e != nil {
		return req, e
	}
	if a.algorithm != algorithm {
		return req, newError(IncompleteSignature, "Unsupported AWS 'algorithm': '"+a.algorithm+"'.")
	}
	if req.cred, e = parseCredential(a.credential); e != nil {
		return req, e
	}
	req.signedHeaders, req.signature = a.signedHeaders, a.signature
	if vs := r.Header["X-Amz-Security-Token"]; len(vs) > 0 {
		req.token = vs[0]
	}
	return req, nil
}

// parseAmzDate is time.Parse(amzDateFormat, s), with the usual form read
// digit by digit (every request carries one); anything else, valid or not,
// goes to time.Parse.
func parseAmzDate(s string) (time.Time, error) {
	if len(s) != len("20060102T150405Z") || s[8] != 'T' || s[15] != 'Z' {
		return time.Parse(amzDateFormat, s)
	}
	var v [14]int
	for i, j := 0, 0; i < 15; i++ {
		if i == 8 {
			continue
		}
		c := s[i]
		if c < '0' || c > '9' {
			return time.Parse(amzDateFormat, s)
		}
		v[j] = int(c - '0')
		j++
	}
	year := v[0]*1000 + v[1]*100 + v[2]*10 + v[3]
	month, day := v[4]*10+v[5], v[6]*10+v[7]
	hour, minute, sec := v[8]*10+v[9], v[10]*10+v[11], v[12]*10+v[13]
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Parse(amzDateFormat, s) // its error
	}
	// time.Unix(…).UTC() is the time time.Date(…, time.UTC) makes, without
	// its normalisation of every field.
	days := daysFromCivil(year, month, day)
	return time.Unix(days*86400+int64(hour*3600+minute*60+sec), 0).UTC(), nil
}

// daysIn is the number of days of month (1–12) in year (0–9999).
func daysIn(month, year int) int {
	if month == 2 {
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	}
	return int(monthDays[month])
}

var monthDays = [13]uint8{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// daysFromCivil is the number of days from 1970-01-01 to the proleptic
// Gregorian date year-month-day, year 0–9999 (H. Hinnant, "chrono-Compatible
// Low-Level Date Algorithms", days_from_civil).
func daysFromCivil(year, month, day int) int64 {
	if month <= 2 {
		year--
	}
	era := year / 400
	if year < 0 {
		era = (year - 399) / 400
	}
	yoe := year - era*400
	mp := (month + 9) % 12 // March is 0
	doy := (153*mp+2)/5 + day - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
