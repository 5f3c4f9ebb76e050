package server

import (
	"context"
	"net/http"
	"net/url"

	"github.com/trentkms/trent/internal/audit"
	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/iam"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/stsapi"
)

// unsignedHandler runs an STS operation that needs no AWS credentials: the
// token or assertion it carries is the caller's credential. It returns the
// response and what the audit event says of who the caller was.
type unsignedHandler func(ctx context.Context, r authz.Request, params url.Values) (resp any, who map[string]any, err error)

// stsUnsignedOperations are the only operations served without a SigV4
// signature (STS API reference: "Calling AssumeRoleWithWebIdentity does
// not require the use of AWS security credentials", and the same of
// AssumeRoleWithSAML); the SDKs send them unsigned.
func stsUnsignedOperations(d *iam.Directory) map[string]unsignedHandler {
	return map[string]unsignedHandler{
		"AssumeRoleWithWebIdentity": unsignedOp(d.AssumeRoleWithWebIdentity, func(out *stsapi.AssumeRoleWithWebIdentityResponse) map[string]any {
			return map[string]any{"identityProvider": wire.String(out.Provider), "subject": wire.String(out.SubjectFromWebIdentityToken), "audience": wire.String(out.Audience)}
		}),
		"AssumeRoleWithSAML": unsignedOp(d.AssumeRoleWithSAML, func(out *stsapi.AssumeRoleWithSAMLResponse) map[string]any {
			return map[string]any{"issuer": wire.String(out.Issuer), "subject": wire.String(out.Subject), "nameQualifier": wire.String(out.NameQualifier)}
		}),
	}
}

func unsignedOp[I any, PI validator[I], O any](f func(context.Context, authz.Request, PI) (O, error), who func(O) map[string]any) unsignedHandler {
	return func(ctx context.Context, r authz.Request, params url.Values) (any, map[string]any, error) {
		in := PI(new(I))
		if err := wire.DecodeQuery(params, in); err != nil {
			return nil, nil, err
		}
		out, err := f(ctx, r, in)
		if err != nil {
			return nil, nil, err
		}
		return out, who(out), nil
	}
}

// signedFederatedOp serves the same operations when a client signs them
// anyway: the signature is verified like any other, and then plays no part.
func signedFederatedOp[I any, PI validator[I], O any](f func(context.Context, authz.Request, PI) (O, error)) queryHandler {
	return func(ctx context.Context, c call, params url.Values) (any, error) {
		in := PI(new(I))
		if err := wire.DecodeQuery(params, in); err != nil {
			return nil, err
		}
		return f(ctx, c.request, in)
	}
}

// serveUnsigned runs an unsigned STS operation and records it.
func (s *Server) serveUnsigned(w http.ResponseWriter, r *http.Request, id, op string, h unsignedHandler, params url.Values) error {
	var resp any
	var who map[string]any
	req, err := s.auth.Unsigned(r, op)
	if err == nil {
		resp, who, err = h(r.Context(), req, params)
	}
	if err != nil {
		s.logError(r.Context(), id, op, call{identity: &authz.Identity{}}, err)
		wire.WriteXMLError(w, id, stsapi.Namespace, err)
	} else {
		wire.WriteXML(w, id, stsapi.Namespace, op, resp)
	}
	if s.audit != nil {
		ac := audit.Call{
			Time: req.Time, RequestID: id, Service: "sts", Operation: op, Region: req.Region, SourceIP: req.SourceIP,
			UserAgent: r.UserAgent(), RequestParameters: audit.QueryRequestParameters(params), AdditionalEventData: who,
			VPCEndpointID: req.SourceVpce,
		}
		ac.ErrorCode, ac.ErrorMessage = errorFields(err)
		s.audit.Record(audit.NewEvent(ac))
	}
	return err
}
