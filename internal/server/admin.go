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

// operator checks that the caller is the root principal of the first
// account, which operates the deployment.
func (s *Server) operator(c call) error {
	first, ok := s.ids.FirstAccount()
	if !ok || c.identity.Type != authz.RootType || c.identity.Account != first.ID {
		return wire.AccessDenied("Only the root principal of account " + first.ID + " may manage registered services.")
	}
	return nil
}

func (s *Server) registerService(ctx context.Context, c call, body []byte) (any, error) {
	if err := s.operator(c); err != nil {
		return nil, err
	}
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
	if err := s.operator(c); err != nil {
		return nil, err
	}
	names, err := s.ids.Services(ctx)
	if err != nil {
		return nil, err
	}
	return &ListServicesResponse{Services: append([]string{}, names...)}, nil
}
