package server

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/sigv4"
)

// Headers of registered services (docs/SERVICES.md). Each must be among the
// headers the service signed.
const (
	// onBehalfOfHeader carries the caller's own presigned authorization (the
	// query of a SigV4 presigned request) when a service forwards the
	// caller's request; the caller must have signed X-Amz-Target, as a header
	// or a query parameter, so the service can forward only the very
	// operation and body the caller asked for.
	onBehalfOfHeader = "X-Trent-On-Behalf-Of"
	// sourceARNHeader and sourceAccountHeader say what a service acting for
	// itself acts for: aws:SourceArn and aws:SourceAccount.
	sourceARNHeader     = "X-Trent-Source-Arn"
	sourceAccountHeader = "X-Trent-Source-Account"
)

// serviceCall works out who a registered service's request is for: the
// caller whose presigned request it forwards (and then via names the
// service), or the service itself with the source it acts for.
func (s *Server) serviceCall(r *http.Request, body []byte, svc *authz.Identity) (caller *authz.Identity, via, sourceARN, sourceAccount string, err error) {
	signed := signedHeaders(r.Header.Get("Authorization"))
	for _, h := range []string{onBehalfOfHeader, sourceARNHeader, sourceAccountHeader} {
		if r.Header.Get(h) != "" && !signed[strings.ToLower(h)] {
			return nil, "", "", "", &sigv4.Error{Kind: sigv4.IncompleteSignature, Message: "The " + h + " header must be signed."}
		}
	}
	onBehalf := r.Header.Get(onBehalfOfHeader)
	if onBehalf == "" {
		return svc, "", r.Header.Get(sourceARNHeader), r.Header.Get(sourceAccountHeader), nil
	}
	// The caller's signature must cover the operation: X-Amz-Target signed
	// as a header, or (as SDK presigners hoist X-Amz-* headers) as a query
	// parameter equal to the request's.
	q, perr := url.ParseQuery(onBehalf)
	bound := strings.Contains(";"+strings.ToLower(q.Get("X-Amz-SignedHeaders"))+";", ";x-amz-target;")
	if t := q.Get("X-Amz-Target"); t != "" {
		bound = t == r.Header.Get("X-Amz-Target")
	}
	if perr != nil || !bound {
		return nil, "", "", "", &sigv4.Error{Kind: sigv4.IncompleteSignature, Message: "The forwarded authorization must be a presigned request that signs X-Amz-Target."}
	}
	// Verify the caller's own signature over the same request: the same
	// method, path, headers and body, with the caller's presigned query.
	r2 := r.Clone(r.Context())
	r2.Header.Del("Authorization")
	r2.Header.Del(onBehalfOfHeader)
	r2.URL.RawQuery = onBehalf
	r2.RequestURI = r.URL.EscapedPath() + "?" + onBehalf
	res, verr := s.verifier.Verify(r.Context(), r2, body)
	if verr != nil {
		return nil, "", "", "", verr
	}
	caller, ierr := s.ids.Identity(res.AccessKeyID)
	if ierr != nil {
		return nil, "", "", "", sigv4.ErrUnknownAccessKey
	}
	if caller.Type == authz.ServiceType {
		return nil, "", "", "", &sigv4.Error{Kind: sigv4.InvalidSignature, Message: "A service cannot act on behalf of another service."}
	}
	return caller, svc.ARN, "", "", nil
}

// signedHeaders returns the lower-case names in an Authorization header's
// SignedHeaders.
func signedHeaders(auth string) map[string]bool {
	out := map[string]bool{}
	_, rest, ok := strings.Cut(auth, "SignedHeaders=")
	if !ok {
		return out
	}
	if i := strings.IndexByte(rest, ','); i >= 0 {
		rest = rest[:i]
	}
	for _, h := range strings.Split(strings.TrimSpace(rest), ";") {
		out[strings.ToLower(h)] = true
	}
	return out
}
