package server

import (
	"github.com/trentkms/trent/internal/trace"
)

// endRequestSpan names a request's span for what it turned out to be
// (kms.Encrypt, iam.CreateUser, …) and ends it with its outcome. Only the
// operation, request id and AWS error code are recorded: never a message,
// which may quote the request.
func endRequestSpan(sp trace.Span, id, service, op string, err error) {
	if service == "" {
		service = "unknown"
	}
	if op != "" {
		sp.SetName(service + "." + op)
	}
	sp.String("rpc.system", "aws-api")
	sp.String("rpc.service", service)
	sp.String("rpc.method", op)
	sp.String("aws.request_id", id)
	if err != nil {
		code, _ := errorFields(err)
		sp.Fail(code)
	}
	sp.End()
}
