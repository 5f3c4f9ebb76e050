package server

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/iam"

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
	// The principal is resolved only once the caller is known to be allowed
	// to explain the key, and its absence is told in one way whatever is
	// missing (the account, or the user or role in it).
	subject := func() (*authz.Identity, error) {
		id, err := s.ids.IdentityForARN(in.Principal)
		if err != nil {
			return nil, wire.Validation("Principal " + in.Principal + " is not the root, a user or a role of an account of this server.")
		}
		return id, nil
	}
	x, err := s.kms.Explain(kms.Caller{Account: c.identity.Account, ARN: c.identity.ARN, Region: c.region, Identity: c.identity, Request: c.request},
		subject, in.Action, in.KeyId, in.EncryptionContext)
	if err != nil {
		return nil, err
	}
	return &ExplainResponse{Allowed: x.Decision.Allowed(), Message: x.Message, Explanation: x.String()}, nil
}

// RegisterServiceRequest registers a service principal (trent service register).
type RegisterServiceRequest struct {
	Name string // e.g. backup.example.internal
}

// RegisterServiceResponse is the new service's access key; the secret is
// never shown again.
type RegisterServiceResponse struct {
	Name            string
	AccessKeyId     string
	SecretAccessKey string
}

// ListServicesResponse lists the registered services.
type ListServicesResponse struct {
	Services []string
}

// adminOp authorizes a caller for an admin operation before the operation
// reads its request, so that a caller who may not perform it learns nothing
// from the answer about what the request names. Every admin operation is
// made with it.
func adminOp(authorize func(call) error, h jsonHandler) jsonHandler {
	return func(ctx context.Context, c call, body []byte) (any, error) {
		if err := authorize(c); err != nil {
			return nil, err
		}
		return h(ctx, c, body)
	}
}

// mayExplain admits the root principals, the only ones that may explain a
// decision (on the keys of their own account, which Explain checks).
func mayExplain(c call) error {
	if c.identity.Type != authz.RootType {
		return wire.AccessDenied("Only the root principal of the key's account may explain its authorization.")
	}
	return nil
}

// operator checks that the caller is the root principal of the first
// account, which operates the deployment. The denial does not name that
// account.
func (s *Server) operator(c call) error {
	first, ok := s.ids.FirstAccount()
	if !ok || c.identity.Type != authz.RootType || c.identity.Account != first.ID {
		return wire.AccessDenied("Only the operator, the root principal of the deployment's first account, may manage registered services.")
	}
	return nil
}

func (s *Server) registerService(ctx context.Context, c call, body []byte) (any, error) {
	var in RegisterServiceRequest
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, wire.Serialization(err.Error())
	}
	id, secret, err := s.ids.RegisterService(ctx, in.Name)
	if errors.Is(err, iam.ErrServiceExists) {
		return nil, wire.Errorf("AlreadyExistsException", 400, "Service %s is already registered.", in.Name)
	}
	if errors.Is(err, iam.ErrServiceName) {
		return nil, wire.Validation(err.Error())
	}
	if err != nil {
		return nil, err
	}
	return &RegisterServiceResponse{Name: in.Name, AccessKeyId: id, SecretAccessKey: secret}, nil
}

func (s *Server) listServices(ctx context.Context, c call, _ []byte) (any, error) {
	names, err := s.ids.Services(ctx)
	if err != nil {
		return nil, err
	}
	return &ListServicesResponse{Services: append([]string{}, names...)}, nil
}

// SetOpenIDConnectProviderKeysRequest configures the keys that verify an
// OIDC provider's tokens, for sites that cannot reach the issuer (trent
// oidc set-keys sends it). Keys is the issuer's JWKS document; empty or
// null goes back to discovering the keys from the issuer.
type SetOpenIDConnectProviderKeysRequest struct {
	OpenIDConnectProviderArn string
	Keys                     json.RawMessage `json:",omitempty"`
}

// setOIDCKeys is authorized by IAM (iam:UpdateOpenIDConnectProviderThumbprint
// on the provider, in the caller's account), before the provider is looked
// up.
func (s *Server) setOIDCKeys(ctx context.Context, c call, body []byte) (any, error) {
	var in SetOpenIDConnectProviderKeysRequest
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, wire.Serialization(err.Error())
	}
	if in.OpenIDConnectProviderArn == "" {
		return nil, wire.Validation("OpenIDConnectProviderArn is required.")
	}
	// An IAM change: temporary credentials that may not call IAM may not
	// make it here either.
	if err := iam.CheckCredentialScope(c.identity, "iam", "UpdateOpenIDConnectProviderThumbprint"); err != nil {
		return nil, err
	}
	keys := in.Keys
	if string(keys) == "null" {
		keys = nil
	}
	if err := s.ids.SetOpenIDConnectProviderKeys(ctx, c.iam(), in.OpenIDConnectProviderArn, keys); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

// byIAM admits every caller: the operation decides with the caller's IAM
// policies itself.
func byIAM(call) error { return nil }
