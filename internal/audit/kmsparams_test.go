package audit

import (
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// decodeRequest decodes body as the server does for op: into op's request
// type with wire.DecodeJSON. A request that decodes but fails validation is
// returned (the server records it too); one that does not decode is nil.
func decodeRequest(op string, body []byte) KMSRequest {
	o, ok := kmsapi.Operations[op]
	if !ok || o.NewInput == nil {
		return nil
	}
	in := o.NewInput()
	if err := wire.DecodeJSON(body, in.(interface{ Validate() error })); err != nil && wire.IsSerializationError(err) {
		return nil
	}
	return in.(KMSRequest)
}

// requestParams are the requestParameters of op's request with this body,
// as the server builds them.
func requestParams(op string, body []byte, resources ...string) Parameters {
	return KMSRequestParameters(decodeRequest(op, body), resources)
}
