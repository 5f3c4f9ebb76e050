package server

import (
	"errors"
	"net/http"

	"github.com/trentkms/trent/internal/audit"
	"github.com/trentkms/trent/internal/authn"
	"github.com/trentkms/trent/internal/trace"
	"github.com/trentkms/trent/internal/wire"
)

// record hands one audit event for a request to the audit log, after the
// response is written. Errors that are not client errors show only their
// generic text, as the client saw it.
func (s *Server) record(r *http.Request, id, service, op string, c *call, params audit.Parameters, resp map[string]any, err error) {
	if s.audit == nil {
		return
	}
	s.audit.Record(audit.NewEvent(s.auditCall(r, id, service, op, c, params, resp, err)))
}

// recordKMS is record for a KMS request, whose event's requestParameters
// are written from the request as the operation decoded it (nil when the
// body could not be decoded), into memory the event reuses.
func (s *Server) recordKMS(r *http.Request, id, service, op string, c *call, decoded audit.KMSRequest, resp map[string]any, err error) {
	if s.audit == nil {
		return
	}
	ac := s.auditCall(r, id, service, op, c, nil, resp, err)
	ac.KMSRequest = decoded
	s.audit.Record(audit.NewEvent(ac))
}

// auditCall is what the audit event of a served request is made from.
func (s *Server) auditCall(r *http.Request, id, service, op string, c *call, params audit.Parameters, resp map[string]any, err error) audit.Call {
	ac := audit.Call{
		Time: c.request.Time, RequestID: id, Service: service, Operation: op, Region: c.region,
		SourceIP: c.request.SourceIP, UserAgent: r.UserAgent(), Identity: c.identity,
		RequestParameters: params, ResponseElements: resp, VPCEndpointID: c.request.SourceVpce,
		TraceID: c.span.TraceID(),
	}
	ac.ErrorCode, ac.ErrorMessage = errorFields(err)
	if c.note != nil {
		ac.Resources = c.note.Resources
		if c.note.Decided {
			d := c.note.Decision
			ac.Decision = audit.Decision{Decided: true, By: d.By.String(), Statement: d.Statement, Sid: d.Sid, GrantID: d.GrantID}
			if !d.Allowed() {
				ac.Decision.By = "deny"
			}
		}
	}
	ac.ViaService = c.request.ViaService
	return ac
}

// recordFailure records a request that failed before its caller was known.
func (s *Server) recordFailure(r *http.Request, id string, proto protocol, op string, err error) {
	if s.audit == nil {
		return
	}
	service := proto.service()
	if proto == protoQuery {
		service = "iam"
	}
	ac := audit.Call{Time: s.now(), RequestID: id, Service: service, Operation: op, SourceIP: authn.SourceIP(r), UserAgent: r.UserAgent(),
		TraceID: trace.FromContext(r.Context()).TraceID()}
	ac.ErrorCode, ac.ErrorMessage = errorFields(authError(err))
	s.audit.Record(audit.NewEvent(ac))
}

func errorFields(err error) (code, msg string) {
	if err == nil {
		return "", ""
	}
	var we *wire.Error
	if errors.As(err, &we) {
		return we.Code, we.Message
	}
	return "InternalFailure", "An internal error occurred."
}
