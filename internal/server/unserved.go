package server

import (
	"net/http"
	"strings"

	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
)

// served are the signing names of the services Trent answers, as an error
// names them.
const served = "kms (AWS KMS), iam, sts and organizations"

// writeUnroutable answers a request that names no operation Trent knows. When
// its credential scope names a service Trent does not serve (a client of S3
// or Secrets Manager pointed at Trent), the error says so and names the
// services it serves; the scope is read without verifying the signature, only
// to word the message. Such a request with an X-Amz-Target gets the JSON
// error, one without the XML error that Query and REST-XML clients (S3) read;
// every other request gets the JSON error as before.
func writeUnroutable(w http.ResponseWriter, r *http.Request, id string) error {
	err := wire.UnknownOperation()
	svc := signedService(r)
	if svc == "" || isServed(svc) {
		wire.WriteError(w, id, err)
		return err
	}
	err.Message = "Trent does not serve " + svc + ": it serves " + served + "."
	if r.Header.Get("X-Amz-Target") == "" {
		wire.WriteXMLError(w, id, iamapi.Namespace, err)
	} else {
		wire.WriteError(w, id, err)
	}
	return err
}

// servesSigned is false for a request whose credential scope names a service
// Trent does not serve: a Query request (SNS, SQS, EC2) that would otherwise
// be refused as scoped to the wrong service, naming only kms.
func servesSigned(r *http.Request) bool {
	svc := signedService(r)
	return svc == "" || isServed(svc)
}

func isServed(svc string) bool {
	switch svc {
	case "kms", "iam", "sts", "organizations":
		return true
	}
	return false
}

// signedService is the service of a request's SigV4 credential scope,
// <key>/<date>/<region>/<service>/aws4_request, from the Authorization header
// or the X-Amz-Credential query parameter; "" if there is none.
func signedService(r *http.Request) string {
	cred := ""
	if h := r.Header.Get("Authorization"); h != "" {
		if _, rest, ok := strings.Cut(h, "Credential="); ok {
			cred, _, _ = strings.Cut(rest, ",")
		}
	} else if r.URL != nil {
		cred = r.URL.Query().Get("X-Amz-Credential")
	}
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) != 5 || parts[4] != "aws4_request" {
		return ""
	}
	// Only a plausible signing name is repeated in the message.
	svc := parts[3]
	if svc == "" || len(svc) > 64 || strings.IndexFunc(svc, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.')
	}) >= 0 {
		return ""
	}
	return svc
}
