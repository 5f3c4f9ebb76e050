package authn

import (
	"net/http"

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

// serviceAuthHeaders carry the service's own authentication of a forwarded
// request; they are not part of what the caller signed.
var serviceAuthHeaders = []string{"Authorization", onBehalfOfHeader, "X-Amz-Date", "X-Amz-Security-Token"}

// serviceFacts are what a registered service's request adds to its facts.
type serviceFacts struct {
	via                      string // the service, when it acts for a caller
	sourceARN, sourceAccount string // what it acts for, when it acts for itself
}

// serviceCall works out who a registered service's request is for: the
// caller whose presigned request it forwards (and then via names the
// service), or the service itself with the source it acts for. res is the
// service's verified signature.
func (a *Authenticator) serviceCall(r *http.Request, body []byte, svc *authz.Identity, res sigv4.Result, rt Route) (*authz.Identity, serviceFacts, error) {
	// Which headers were signed comes from the verified signature only: the
	// Authorization header may carry more than was verified.
	for _, h := range []string{onBehalfOfHeader, sourceARNHeader, sourceAccountHeader} {
		if len(r.Header.Values(h)) > 0 && !res.Signs(h) {
			return nil, serviceFacts{}, &sigv4.Error{Kind: sigv4.IncompleteSignature, Message: "The " + h + " header must be signed."}
		}
	}
	onBehalf := r.Header.Get(onBehalfOfHeader)
	if onBehalf == "" {
		return svc, serviceFacts{sourceARN: r.Header.Get(sourceARNHeader), sourceAccount: r.Header.Get(sourceAccountHeader)}, nil
	}
	if rt.Target == "" || rt.Service == "" {
		return nil, serviceFacts{}, &sigv4.Error{Kind: sigv4.IncompleteSignature, Message: "The forwarded authorization must be a presigned request that signs X-Amz-Target."}
	}
	// Verify the caller's own signature over the same request: the same
	// method, path, headers and body, with the caller's presigned query and
	// without the service's authentication. The operation routed on goes in
	// as the X-Amz-Target header, which Verify accepts only if the caller
	// signed it, as a header or as the query parameter presigners hoist it
	// into.
	r2 := r.Clone(r.Context())
	for _, h := range serviceAuthHeaders {
		r2.Header.Del(h)
	}
	r2.Header["X-Amz-Target"] = []string{rt.Target}
	r2.URL.RawQuery = onBehalf
	r2.RequestURI = r.URL.EscapedPath() + "?" + onBehalf
	res2, err := a.verifier.Verify(r.Context(), r2, body)
	if err != nil {
		return nil, serviceFacts{}, err
	}
	// The caller's signature is scoped to a service and a Region like any
	// other: it authorizes this operation only there.
	if res2.Service != rt.Service {
		return nil, serviceFacts{}, sigv4.ServiceScopeError(rt.Service)
	}
	if res2.Region != res.Region {
		return nil, serviceFacts{}, sigv4.RegionScopeError()
	}
	caller, err := a.ids.Identity(res2.AccessKeyID)
	if err != nil {
		return nil, serviceFacts{}, sigv4.ErrUnknownAccessKey
	}
	if caller.Type == authz.ServiceType {
		return nil, serviceFacts{}, &sigv4.Error{Kind: sigv4.InvalidSignature, Message: "A service cannot act on behalf of another service."}
	}
	return caller, serviceFacts{via: svc.ARN}, nil
}
