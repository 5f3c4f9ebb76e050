package server

import (
	"context"
	"encoding/json"

	"github.com/trentkms/trent/internal/kms"
	"github.com/trentkms/trent/internal/wire"
)

// ExplainRequest asks why a principal may or may not perform a KMS action on
// a key: trent authz explain sends it.
type ExplainRequest struct {
	Principal         string            // an IAM principal ARN: root, user or role
	Action            string            // kms:Decrypt
	KeyId             string            // key id, key ARN, alias name or alias ARN
	EncryptionContext map[string]string `json:",omitempty"`
}

// ExplainResponse is the decision and its explanation.
type ExplainResponse struct {
	Allowed     bool
	Message     string `json:",omitempty"` // the AccessDenied text the principal would get
	Explanation string // the statements and grants that took part, for a terminal
}

func (s *Server) explain(ctx context.Context, c call, body []byte) (any, error) {
	var in ExplainRequest
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, wire.Serialization(err.Error())
	}
	if in.Principal == "" || in.Action == "" || in.KeyId == "" {
		return nil, wire.Validation("Principal, Action and KeyId are required.")
	}
	subject, err := s.ids.IdentityForARN(in.Principal)
	if err != nil {
		return nil, wire.Validation(err.Error())
	}
	x, err := s.kms.Explain(kms.Caller{Account: c.identity.Account, ARN: c.identity.ARN, Region: c.region, Identity: c.identity, Request: c.request},
		subject, in.Action, in.KeyId, in.EncryptionContext)
	if err != nil {
		return nil, err
	}
	return &ExplainResponse{Allowed: x.Decision.Allowed(), Message: x.Message, Explanation: x.String()}, nil
}
