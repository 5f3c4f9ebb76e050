package server

import (
	"github.com/trentkms/trent/internal/sigv4"
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

// endVerifySpan ends the authentication span: the access key's service and
// Region scope if the signature verified, the AWS error code if not. The
// access key id is left out, as every credential is.
func endVerifySpan(sp trace.Span, res sigv4.Result, err error) {
	if !sp.Recording() {
		return
	}
	if err != nil {
		code, _ := errorFields(authError(err))
		sp.Fail(code)
	} else {
		sp.String("aws.signing.service", res.Service)
		sp.String("aws.signing.region", res.Region)
	}
	sp.End()
}
