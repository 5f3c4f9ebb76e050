package authn

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/policy"
	"github.com/trentkms/trent/internal/sigv4"
	"github.com/trentkms/trent/internal/trace"
	"github.com/trentkms/trent/internal/wire"
)

// globalRegion is where AWS's global services (IAM, Organizations) are
// signed for, whatever Regions this server serves.
const globalRegion = "us-east-1"

// ErrTwoOperations is returned for a verified request that names more than
// one operation (in X-Amz-Target, its query parameter, or both).
var ErrTwoOperations = errors.New("authn: the request names more than one operation")

// Directory is what authentication reads of the identity store, all of it
// from memory: the request path's read side of iam.Directory (internal/iam's
// package doc lists it). IAM, STS and Organizations operations are not part
// of it and can grow without touching it.
type Directory interface {
	sigv4.SecretLookup
	// Identity is who holds an access key, with everything authorization
	// needs of the caller.
	Identity(accessKeyID string) (*authz.Identity, error)
	// NoteUse records an access key's use (GetAccessKeyLastUsed), in memory.
	NoteUse(accessKeyID, service, region string, t time.Time)
	// OrgID is an account's organization id (aws:PrincipalOrgID), or "".
	OrgID(account string) string
	// OrgScope is the organization's word on an account (aws:SourceOrgID,
	// aws:SourceOrgPaths of a service's source account), or nil.
	OrgScope(account string) *authz.AccountOrg
}

// Options are the optional dependencies of an Authenticator.
type Options struct {
	Now func() time.Time // nil: time.Now
}

// Authenticator authenticates requests for the Regions a server serves.
type Authenticator struct {
	ids      Directory
	verifier *sigv4.Verifier
	regions  []string
	now      func() time.Time
}

// New returns an Authenticator over ids for regions, the first of which is
// the default.
func New(ids Directory, regions []string, o Options) (*Authenticator, error) {
	if len(regions) == 0 {
		return nil, errors.New("authn: no Region to serve")
	}
	a := &Authenticator{ids: ids, regions: slices.Clone(regions), now: o.Now}
	if a.now == nil {
		a.now = time.Now
	}
	a.verifier = sigv4.NewVerifier(ids, sigv4.Options{Now: a.now, Scope: a.scope})
	return a, nil
}

// scope accepts the services this server speaks, each in the Regions where
// AWS serves it.
func (a *Authenticator) scope(region, service string) error {
	switch service {
	case "kms":
		if !slices.Contains(a.regions, region) {
			return sigv4.RegionScopeError()
		}
	case "sts":
		if region != globalRegion && !slices.Contains(a.regions, region) {
			return sigv4.RegionScopeError()
		}
	case "iam", "organizations":
		if region != globalRegion {
			return sigv4.RegionScopeError()
		}
	default:
		return sigv4.ServiceScopeError("kms")
	}
	return nil
}

// Route is what the front made of a request before authenticating it.
type Route struct {
	// Target is the X-Amz-Target the request is routed by; "" for the
	// Query protocol.
	Target string
	// Service is the signing name the routed protocol needs, or "" where
	// the signed scope chooses (IAM or STS over the Query protocol).
	Service string
	// Ambiguous is set when the request names more than one operation.
	Ambiguous bool
	// Span is the request's span (the zero Span when it is not traced): the
	// signature check is a child of it.
	Span trace.Span
}

// Caller is an authenticated request: who it is decided as, and the facts
// authorization decides on.
type Caller struct {
	Identity *authz.Identity
	// Service and Region are the signature's credential scope. When
	// Authenticate fails after the signature verified, Service is still
	// set (the request's metrics name it); nothing else is.
	Service, Region string
	Request         authz.Request
}

// Authenticate decides who r is from: the rules and their order are the
// package doc's. body is r's body, already read; r.Body is not read.
func (a *Authenticator) Authenticate(r *http.Request, body []byte, rt Route) (Caller, error) {
	ctx := r.Context()
	// One reading of the clock: the signature's skew is checked against
	// it, and it is the access key's last use and the request's time.
	now := a.now()
	sp := rt.Span.Child("sigv4.Verify")
	res, err := a.verifier.VerifyAt(ctx, r, body, now)
	endVerifySpan(sp, res, err)
	if err != nil {
		return Caller{}, err
	}
	c := Caller{Service: res.Service, Region: res.Region}
	if rt.Ambiguous {
		return c, ErrTwoOperations
	}
	if rt.Service != "" && res.Service != rt.Service {
		return c, sigv4.ServiceScopeError(rt.Service)
	}
	a.ids.NoteUse(res.AccessKeyID, res.Service, res.Region, now)
	ident, err := a.ids.Identity(res.AccessKeyID)
	if err != nil {
		// The key vanished between verification and now.
		return c, sigv4.ErrUnknownAccessKey
	}
	var svc serviceFacts
	if ident.Type == authz.ServiceType {
		if ident, svc, err = a.serviceCall(r, body, ident, res, rt); err != nil {
			return c, err
		}
	}
	c.Identity = ident
	c.Request = authz.Request{
		Time: now, SourceIP: SourceIP(r), SecureTransport: r.TLS != nil,
		Region: res.Region, OrgID: a.ids.OrgID(ident.Account),
		ViaService: svc.via, SourceARN: svc.sourceARN, SourceAccount: svc.sourceAccount,
		UserAgent: r.UserAgent(), Referer: r.Referer(),
	}
	if svc.sourceAccount != "" {
		if o := a.ids.OrgScope(svc.sourceAccount); o != nil {
			c.Request.SourceOrgID, c.Request.SourceOrgPath = o.OrgID, o.Paths[0]
		}
	}
	if e := endpointOf(ctx); e != nil {
		c.Request.SourceVpce, c.Request.SourceVpc, c.Request.Endpoint = e.ID, e.VPC, e.Policy
	}
	return c, nil
}

// Signed reports whether r carries a SigV4 signature, in its Authorization
// header or presigned in its query. One that does is authenticated as
// usual, whatever its operation.
func Signed(r *http.Request) bool {
	if r.Header.Get("Authorization") != "" {
		return true
	}
	if r.URL != nil {
		for k := range r.URL.Query() {
			switch strings.ToLower(k) {
			case "x-amz-signature", "x-amz-credential", "x-amz-algorithm":
				return true
			}
		}
	}
	return false
}

// Unsigned returns the facts of a request served without a signature (op,
// an operation whose token or assertion is its credential), in the default
// Region. Through a VPC endpoint with a policy it returns an AccessDenied
// error as well: an endpoint policy decides on a principal, and the request
// has none until its token is verified, so it is refused rather than let
// pass the endpoint unexamined.
func (a *Authenticator) Unsigned(r *http.Request, op string) (authz.Request, error) {
	req := authz.Request{Time: a.now(), SourceIP: SourceIP(r), SecureTransport: r.TLS != nil, Region: a.regions[0], UserAgent: r.UserAgent(), Referer: r.Referer()}
	if e := endpointOf(r.Context()); e != nil {
		req.SourceVpce, req.SourceVpc = e.ID, e.VPC
		if e.Policy != nil {
			return req, wire.AccessDenied("The VPC endpoint " + e.ID + " has an endpoint policy; " + op + " is not served through it.")
		}
	}
	return req, nil
}

// SourceIP is the request's aws:SourceIp: the TCP peer's address. No
// X-Forwarded-For is read: a client could write anything there.
func SourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Endpoint is a VPC endpoint: a listener of its own whose requests carry
// aws:SourceVpce and aws:SourceVpc instead of aws:SourceIp and must also be
// allowed by its endpoint policy (KMS Developer Guide: VPC endpoint policies).
type Endpoint struct {
	ID     string         // vpce-…
	VPC    string         // vpc-…
	Policy *policy.Policy // nil: the default policy, which allows everything
}

type endpointKey struct{}

// WithEndpoint returns ctx for requests that came through e.
func WithEndpoint(ctx context.Context, e *Endpoint) context.Context {
	return context.WithValue(ctx, endpointKey{}, e)
}

// endpointOf is the VPC endpoint a request's context came through, or nil.
func endpointOf(ctx context.Context) *Endpoint {
	e, _ := ctx.Value(endpointKey{}).(*Endpoint)
	return e
}

// endVerifySpan ends the signature check's span: the signature's service
// and Region scope if it verified, the AWS error code if not. The access key
// id is left out, as every credential is.
func endVerifySpan(sp trace.Span, res sigv4.Result, err error) {
	if !sp.Recording() {
		return
	}
	if err != nil {
		sp.Fail(code(err))
	} else {
		sp.String("aws.signing.service", res.Service)
		sp.String("aws.signing.region", res.Region)
	}
	sp.End()
}

// code is the AWS JSON-protocol exception name of an error Authenticate
// returns, or "InternalFailure" for an internal error.
func code(err error) string {
	var ae *sigv4.Error
	switch {
	case errors.As(err, &ae):
		return ae.Kind.String()
	case errors.Is(err, sigv4.ErrUnknownAccessKey):
		return sigv4.UnrecognizedClient.String()
	case errors.Is(err, sigv4.ErrExpiredToken):
		return sigv4.ExpiredToken.String()
	}
	return "InternalFailure"
}
