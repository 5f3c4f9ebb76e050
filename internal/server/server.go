// Package server is Trent's HTTP front: it reads each request, routes it by
// protocol to the service that owns the operation — AWS JSON 1.1 for KMS and
// Organizations (X-Amz-Target), the AWS Query protocol for IAM and STS (Action
// and Version, dispatched by the signed service name) — once internal/authn
// has authenticated it, and writes the response or the AWS error shape of
// that protocol. It knows no operation's semantics, and decides nothing
// about who the caller is.
//
// # Concurrency
//
// A *Server is an http.Handler, safe for concurrent use.
package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/trentkms/trent/internal/audit"
	"github.com/trentkms/trent/internal/authn"
	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/iam"
	"github.com/trentkms/trent/internal/kms"
	"github.com/trentkms/trent/internal/metrics"
	"github.com/trentkms/trent/internal/quota"
	"github.com/trentkms/trent/internal/sigv4"
	"github.com/trentkms/trent/internal/trace"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
	"github.com/trentkms/trent/internal/wire/stsapi"
)

// maxBody bounds a request body. The largest KMS request (a 131072-character
// policy, or 6144 bytes of ciphertext in base64) fits well within it.
const maxBody = 1 << 20

const (
	kmsTargetPrefix = "TrentService."
	orgTargetPrefix = "AWSOrganizationsV20161128."
	// adminTargetPrefix names Trent's own operator operations, signed for
	// the kms service like KMS requests.
	adminTargetPrefix = "TrentAdmin."
)

// Options configure a Server.
type Options struct {
	Regions []string          // the Regions served; the first is the default
	Audit   *audit.Log        // nil: no audit events
	Metrics *metrics.Registry // nil: no metrics
	Log     *slog.Logger      // nil: slog.Default()
	Now     func() time.Time  // nil: time.Now
	Quota   *quota.Limiter    // nil: no request quotas (quota.go)
	// Tracer starts a span for each request (internal/trace); nil: no
	// tracing, at no cost.
	Tracer *trace.Tracer
}

// Server serves the KMS, IAM, STS and Organizations APIs.
type Server struct {
	kms    *kms.Service
	ids    *iam.Directory
	auth   *authn.Authenticator
	log    *slog.Logger
	now    func() time.Time
	kmsOps map[string]jsonHandler
	orgOps map[string]jsonHandler
	iamOps map[string]queryHandler
	stsOps map[string]queryHandler
	// stsUnsigned are the STS operations served without a signature.
	stsUnsigned map[string]unsignedHandler
	adminOps    map[string]jsonHandler
	audit       *audit.Log
	metrics     *metrics.Registry
	tracer      *trace.Tracer
	quota       *admission // nil: no request quotas
}

// New returns a Server over the given services.
func New(k *kms.Service, ids *iam.Directory, o Options) (*Server, error) {
	if len(o.Regions) == 0 {
		return nil, errors.New("server: no Region to serve")
	}
	s := &Server{kms: k, ids: ids, log: o.Log, now: o.Now, audit: o.Audit, metrics: o.Metrics, tracer: o.Tracer}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if o.Quota != nil {
		s.quota = &admission{l: o.Quota, k: k}
	}
	var err error
	if s.auth, err = authn.New(ids, o.Regions, authn.Options{Now: s.now}); err != nil {
		return nil, err
	}
	s.kmsOps = kmsOperations(k)
	s.orgOps = orgOperations(ids)
	s.iamOps = iamOperations(ids)
	s.stsOps = stsOperations(ids)
	s.stsUnsigned = stsUnsignedOperations(ids)
	s.adminOps = map[string]jsonHandler{
		"ExplainAuthorization":         adminOp(mayExplain, s.explain),
		"AnalyzeKeyAccess":             adminOp(mayExplain, s.analyzeKeyAccess),
		"RegisterService":              adminOp(s.operator, s.registerService),
		"ListServices":                 adminOp(s.operator, s.listServices),
		"SetOpenIDConnectProviderKeys": adminOp(byIAM, s.setOIDCKeys),
		// trent account list, before an organization exists.
		"DescribeOperatorAccount": adminOp(s.operator, s.describeOperatorAccount),
	}
	return s, nil
}

// newRequestID is a random (version 4) UUID, from the audit log's
// generator.
func newRequestID() string { return audit.NewUUID() }

// bufPool recycles request body buffers; bodies may hold plaintext, so a
// buffer is cleared before it goes back. A pooled buffer is all zero, and a
// request writes only its body's bytes, b[:len(b)]: clearing those keeps it
// so, without clearing the whole buffer every time.
var bufPool = make(chan []byte, 64)

func getBuf() []byte {
	select {
	case b := <-bufPool:
		return b[:0]
	default:
		return make([]byte, 0, 4096)
	}
}

func putBuf(b []byte) {
	clear(b)
	if cap(b) > 64<<10 {
		return
	}
	select {
	case bufPool <- b:
	default:
	}
}

// readBody reads at most maxBody bytes into buf.
func readBody(r io.Reader, buf []byte) ([]byte, error) {
	lr := io.LimitedReader{R: r, N: maxBody + 1}
	for {
		if len(buf) == cap(buf) {
			old := buf
			buf = append(buf, 0)[:len(buf)]
			clear(old) // the body may hold plaintext
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return buf, err
		}
	}
	if len(buf) > maxBody {
		return buf, errTooLarge
	}
	return buf, nil
}

var errTooLarge = errors.New("request body too large")

// Endpoint is a VPC endpoint (authn.Endpoint).
type Endpoint = authn.Endpoint

// Endpoint returns the handler for a VPC endpoint's listener.
func (s *Server) Endpoint(e Endpoint) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.ServeHTTP(w, r.WithContext(authn.WithEndpoint(r.Context(), &e)))
	})
}

// knownOperation reports whether op is an operation of service.
func (s *Server) knownOperation(service, op string) bool {
	var ok bool
	switch service {
	case "kms":
		_, ok = s.kmsOps[op]
		if !ok {
			_, ok = s.adminOps[op]
		}
	case "organizations":
		_, ok = s.orgOps[op]
	case "iam":
		_, ok = s.iamOps[op]
	case "sts":
		_, ok = s.stsOps[op]
	}
	return ok
}

// protocol is how a request is encoded and which service it is for.
type protocol uint8

// service is the signing name a protocol's requests must be scoped to, or
// "" where the signed scope chooses (IAM or STS over the Query protocol).
func (p protocol) service() string {
	switch p {
	case protoKMS, protoAdmin:
		return "kms"
	case protoOrg:
		return "organizations"
	}
	return ""
}

const (
	protoKMS protocol = iota + 1
	protoOrg
	protoQuery
	protoAdmin
)

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := newRequestID()
	// out is what the metrics record of this request, filled in as it goes.
	var out struct {
		service, op string
		err         error
	}
	if s.metrics != nil {
		defer func() {
			code, _ := errorFields(out.err)
			// Operation names come from clients: only known ones become
			// series, so nobody can grow the metrics without bound.
			if !s.knownOperation(out.service, out.op) {
				out.service, out.op = "unknown", "unknown"
			}
			s.metrics.Observe(out.service, out.op, code, time.Since(start))
		}()
	}
	// The request's span (trace.go); the zero Span when tracing is off.
	ctx, span := s.tracer.Request(r.Context(), "Trent")
	if span.Recording() {
		r = r.WithContext(ctx)
		defer func() { endRequestSpan(span, id, out.service, out.op, out.err) }()
	}
	buf := getBuf()
	defer func() { putBuf(buf) }()
	var err error
	buf, err = readBody(r.Body, buf)
	if err != nil {
		if err == errTooLarge {
			out.err = wire.Errorf("RequestEntityTooLargeException", http.StatusRequestEntityTooLarge, "Request body is too large")
		} else {
			out.err = wire.Serialization("Unable to read the request body")
		}
		wire.WriteError(w, id, out.err)
		return
	}
	rt, ok := routeOf(r, buf)
	if !ok {
		out.err = writeUnroutable(w, r, id)
		return
	}
	out.service, out.op = rt.proto.service(), rt.op

	// The operations that authenticate by the token they carry are served
	// unsigned; only they are, and a signed request goes the usual way.
	if h, ok := s.stsUnsigned[rt.op]; ok && rt.proto == protoQuery && rt.single && !authn.Signed(r) {
		out.service = "sts"
		out.err = s.serveUnsigned(w, r, id, rt.op, h, rt.params)
		return
	}

	caller, err := s.auth.Authenticate(r, buf, authn.Route{Target: rt.target, Service: rt.proto.service(), Ambiguous: !rt.single, Span: span})
	if caller.Service != "" {
		out.service = caller.Service
	}
	if err != nil {
		if errors.Is(err, authn.ErrTwoOperations) {
			// Verified, yet naming two operations: whichever one ran, it
			// might not be the one the signer meant.
			out.err = wire.UnknownOperation()
			wire.WriteError(w, id, out.err)
		} else {
			out.err = authError(err)
			s.writeAuthError(w, id, rt.proto, err)
		}
		s.recordFailure(r, id, rt.proto, rt.op, out.err)
		return
	}
	out.err = s.serve(w, r, id, rt, caller, span, buf)
}

// serve runs an authenticated request's operation, writes its answer and
// records its audit event.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, id string, rt route, caller authn.Caller, span trace.Span, body []byte) error {
	op := rt.op
	ident := caller.Identity
	st := states.Get().(*requestState)
	defer func() {
		*st = requestState{} // drop the request: nothing of it may outlive serve
		states.Put(st)
	}()
	c := call{
		identity:  ident,
		region:    caller.Region,
		note:      &st.note,
		decoded:   &st.decoded,
		requestID: id,
		span:      span,
		op:        op,
		quota:     s.quota,
		request:   caller.Request,
	}
	if span.Recording() {
		span.String("aws.principal.arn", ident.ARN)
		span.String("cloud.region", caller.Region)
	}
	ctx := r.Context()
	switch rt.proto {
	case protoKMS:
		resp, err := s.serveJSON(ctx, w, id, s.kmsOps, op, c, body)
		if s.audit != nil {
			s.recordKMS(r, id, caller.Service, op, &c, st.decoded, audit.KMSResponseElements(op, resp), err)
		}
		kms.Scrub(resp)
		return err
	case protoOrg:
		_, err := s.serveJSON(ctx, w, id, s.orgOps, op, c, body)
		s.record(r, id, caller.Service, op, &c, nil, nil, err)
		return err
	case protoQuery:
		err := s.serveQuery(ctx, w, id, caller.Service, op, c, rt.params)
		if s.audit != nil {
			s.record(r, id, caller.Service, op, &c, audit.QueryRequestParameters(rt.params), nil, err)
		}
		return err
	case protoAdmin:
		_, err := s.serveJSON(ctx, w, id, s.adminOps, op, c, body)
		s.record(r, id, "trent", op, &c, nil, nil, err)
		return err
	}
	// routeOf sets a protocol on every route it accepts.
	err := wire.UnknownOperation()
	wire.WriteError(w, id, err)
	return err
}

// route is what a request is for: its protocol and operation, and what the
// front read to decide them.
type route struct {
	proto  protocol
	op     string
	target string     // the X-Amz-Target routed by; "" for the Query protocol
	single bool       // the request names one operation (operationTarget)
	params url.Values // a Query request's parameters
}

// routeOf routes r by its X-Amz-Target (the JSON protocols, POST only) or,
// without one, by its Query form's Action; ok is false for a request to
// answer as unroutable, before authenticating it.
func routeOf(r *http.Request, body []byte) (rt route, ok bool) {
	rt.target, rt.single = operationTarget(r)
	switch {
	case strings.HasPrefix(rt.target, kmsTargetPrefix) && r.Method == http.MethodPost:
		rt.proto, rt.op = protoKMS, rt.target[len(kmsTargetPrefix):]
	case strings.HasPrefix(rt.target, orgTargetPrefix) && r.Method == http.MethodPost:
		rt.proto, rt.op = protoOrg, rt.target[len(orgTargetPrefix):]
	case strings.HasPrefix(rt.target, adminTargetPrefix) && r.Method == http.MethodPost:
		rt.proto, rt.op = protoAdmin, rt.target[len(adminTargetPrefix):]
	case rt.target == "":
		params, err := queryParams(r, body)
		if err != nil || params.Get("Action") == "" || !servesSigned(r) {
			return rt, false
		}
		rt.proto, rt.op, rt.params = protoQuery, params.Get("Action"), params
	default:
		return rt, false
	}
	return rt, true
}

// serveJSON runs a JSON 1.1 operation and writes its answer; the caller
// records the request and then scrubs the response.
func (s *Server) serveJSON(ctx context.Context, w http.ResponseWriter, id string, ops map[string]jsonHandler, op string, c call, body []byte) (any, error) {
	h, ok := ops[op]
	if !ok {
		err := wire.UnknownOperation()
		wire.WriteError(w, id, err)
		return nil, err
	}
	resp, err := h(ctx, c, body)
	if err != nil {
		s.logError(ctx, id, op, c, err)
		wire.WriteError(w, id, err)
		return nil, err
	}
	wire.WriteJSON(w, id, resp)
	return resp, nil
}

func (s *Server) serveQuery(ctx context.Context, w http.ResponseWriter, id, service, op string, c call, params url.Values) error {
	var ops map[string]queryHandler
	ns := iamapi.Namespace
	switch service {
	case "iam":
		ops = s.iamOps
	case "sts":
		ops, ns = s.stsOps, stsapi.Namespace
	}
	h, ok := ops[op]
	if !ok {
		err := wire.Errorf("InvalidAction", 400, "Could not find operation %s for version %s", op, params.Get("Version"))
		wire.WriteXMLError(w, id, ns, err)
		return err
	}
	// What temporary credentials may call at all depends on how they were
	// issued; this is the one place every IAM and STS operation passes.
	if err := iam.CheckCredentialScope(c.identity, service, op); err != nil {
		wire.WriteXMLError(w, id, ns, err)
		return err
	}
	resp, err := h(ctx, c, params)
	if err != nil {
		s.logError(ctx, id, op, c, err)
		wire.WriteXMLError(w, id, ns, err)
		return err
	}
	wire.WriteXML(w, id, ns, op, resp)
	return nil
}

func (s *Server) logError(ctx context.Context, id, op string, c call, err error) {
	var we *wire.Error
	if !errors.As(err, &we) {
		// With ctx, the log line carries the request's trace id.
		s.log.ErrorContext(ctx, "internal error", "requestId", id, "operation", op, "caller", c.identity.ARN, "err", err)
	}
}

// operationTarget returns the operation a request names: its X-Amz-Target
// header or, without one, the X-Amz-Target query parameter that the SDK
// presigners hoist the header into (a presigned KMS request sent as the
// presigner returned it has no such header). Both are covered by a verified
// signature: Verify refuses an x-amz-* header that is neither signed nor
// equal to the signed query parameter, and the query is always signed.
// single is false if the request names more than one operation (values
// that differ, in the header or the query or between them); the caller
// must refuse it once the signature verified, rather than pick one.
func operationTarget(r *http.Request) (target string, single bool) {
	single = true
	seen := false
	add := func(v string) {
		if !seen {
			target, seen = v, true
		} else if v != target {
			single = false
		}
	}
	for _, v := range r.Header["X-Amz-Target"] {
		add(v)
	}
	if r.URL != nil && r.URL.RawQuery != "" {
		q, _ := url.ParseQuery(r.URL.RawQuery)
		for k, vs := range q {
			if strings.EqualFold(k, "X-Amz-Target") {
				for _, v := range vs {
					add(v)
				}
			}
		}
	}
	return target, single
}

// queryParams are a Query request's parameters: the form body of a POST, or
// the URL query of a GET.
func queryParams(r *http.Request, body []byte) (url.Values, error) {
	if r.Method == http.MethodGet {
		return r.URL.Query(), nil
	}
	if r.Method != http.MethodPost {
		return nil, errors.New("method")
	}
	return url.ParseQuery(string(body))
}

func (s *Server) writeAuthError(w http.ResponseWriter, id string, proto protocol, err error) {
	var ae *sigv4.Error
	if !errors.As(err, &ae) && !errors.Is(err, sigv4.ErrUnknownAccessKey) && !errors.Is(err, sigv4.ErrExpiredToken) {
		s.log.Error("signature verification failed internally", "requestId", id, "err", err)
	}
	if proto == protoQuery {
		wire.WriteXMLError(w, id, iamapi.Namespace, queryAuthError(err))
		return
	}
	wire.WriteError(w, id, authError(err))
}

// authError maps a SigV4 failure to the error a JSON-protocol client sees.
func authError(err error) error {
	var ae *sigv4.Error
	switch {
	case errors.As(err, &ae):
		return &wire.Error{Code: ae.Kind.String(), Message: ae.Message, Status: ae.Kind.HTTPStatus()}
	case errors.Is(err, sigv4.ErrUnknownAccessKey):
		return &wire.Error{Code: "UnrecognizedClientException", Message: "The security token included in the request is invalid.", Status: 400}
	case errors.Is(err, sigv4.ErrExpiredToken):
		return &wire.Error{Code: "ExpiredTokenException", Message: "The security token included in the request is expired", Status: 400}
	}
	return err
}

// queryAuthError maps a SigV4 failure to the codes the Query services (IAM,
// STS) use for it.
func queryAuthError(err error) error {
	var ae *sigv4.Error
	switch {
	case errors.As(err, &ae):
		switch ae.Kind {
		case sigv4.InvalidSignature:
			return &wire.Error{Code: "SignatureDoesNotMatch", Message: ae.Message, Status: 403}
		case sigv4.UnrecognizedClient:
			return &wire.Error{Code: "InvalidClientTokenId", Message: ae.Message, Status: 403}
		case sigv4.ExpiredToken:
			return &wire.Error{Code: "ExpiredToken", Message: ae.Message, Status: 403}
		case sigv4.IncompleteSignature:
			return &wire.Error{Code: "IncompleteSignature", Message: ae.Message, Status: 403}
		case sigv4.MissingAuthenticationToken:
			return &wire.Error{Code: "MissingAuthenticationToken", Message: ae.Message, Status: 403}
		}
	case errors.Is(err, sigv4.ErrUnknownAccessKey):
		return &wire.Error{Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid.", Status: 403}
	case errors.Is(err, sigv4.ErrExpiredToken):
		return &wire.Error{Code: "ExpiredToken", Message: "The security token included in the request is expired", Status: 403}
	}
	return err
}

// call is one authenticated request, as the handlers see it.
type call struct {
	identity  *authz.Identity
	region    string
	request   authz.Request
	note      *kms.Note // what the operation reports to the audit log
	decoded   *audit.KMSRequest
	requestID string
	op        string     // the operation's name
	quota     *admission // nil: no request quotas
	span      trace.Span // the request's; the zero Span when not traced
}

// requestState is what a request's handler reports back for its audit
// event, in one allocation.
type requestState struct {
	note kms.Note
	// decoded is the KMS request as the operation decoded it: the audit
	// event's requestParameters are written from it, so they name what the
	// operation used. nil when the body could not be decoded.
	decoded audit.KMSRequest
}

// states recycles requestStates: nothing keeps one after serve returns
// (the audit event copies what it shows of the note and the request).
var states = sync.Pool{New: func() any { return new(requestState) }}

func (c call) iam() iam.Call { return iam.Call{Identity: c.identity, Request: c.request} }

// jsonHandler runs one JSON 1.1 operation on a request body.
type jsonHandler func(ctx context.Context, c call, body []byte) (any, error)

// queryHandler runs one Query operation on its parameters.
type queryHandler func(ctx context.Context, c call, params url.Values) (any, error)

type validator[I any] interface {
	*I
	Validate() error
}

// kmsOp adapts a KMS operation: decode and validate the request as the API
// model says, then call it.
func kmsOp[I any, PI validator[I], O any](f func(context.Context, kms.Caller, PI) (O, error)) jsonHandler {
	return func(ctx context.Context, c call, body []byte) (any, error) {
		in := PI(new(I))
		err := wire.DecodeJSON(body, in)
		if err == nil || !wire.IsSerializationError(err) {
			// Valid or not, this is the request as decoded, and the
			// operation sees exactly this.
			if r, ok := any(in).(audit.KMSRequest); ok && c.decoded != nil {
				*c.decoded = r
			}
		}
		if err != nil {
			return nil, err
		}
		if c.quota != nil {
			if err := c.quota.admit(c, in); err != nil {
				return nil, err
			}
		}
		return f(ctx, kms.Caller{Account: c.identity.Account, ARN: c.identity.ARN, Region: c.region, Identity: c.identity, Request: c.request, Note: c.note, RequestID: c.requestID, Trace: c.span}, in)
	}
}

// jsonOp adapts an Organizations operation.
func jsonOp[I any, PI validator[I], O any](f func(context.Context, iam.Call, PI) (O, error)) jsonHandler {
	return func(ctx context.Context, c call, body []byte) (any, error) {
		in := PI(new(I))
		if err := wire.DecodeJSON(body, in); err != nil {
			return nil, err
		}
		return f(ctx, c.iam(), in)
	}
}

// queryOp adapts an IAM or STS operation; an empty response (*struct{})
// becomes a response with no Result element.
func queryOp[I any, PI validator[I], O any](f func(context.Context, iam.Call, PI) (O, error)) queryHandler {
	return func(ctx context.Context, c call, params url.Values) (any, error) {
		in := PI(new(I))
		if err := wire.DecodeQuery(params, in); err != nil {
			return nil, err
		}
		out, err := f(ctx, c.iam(), in)
		if err != nil {
			return nil, err
		}
		if _, empty := any(out).(*struct{}); empty {
			return nil, nil
		}
		return out, nil
	}
}
