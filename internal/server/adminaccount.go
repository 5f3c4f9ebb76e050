package server

import (
	"context"

	"github.com/trentkms/trent/internal/wire"
)

// OperatorAccount is the deployment's first account, which operates it and
// manages its organization: trent account list shows it before any
// organization exists, when Organizations' ListAccounts has nothing to list.
type OperatorAccount struct {
	Id    string
	Name  string `json:",omitempty"`
	Email string `json:",omitempty"`
}

func (s *Server) describeOperatorAccount(_ context.Context, _ call, _ []byte) (any, error) {
	a, ok := s.ids.FirstAccount()
	if !ok {
		return nil, wire.Errorf("NotFoundException", 400, "This deployment has no account yet.")
	}
	return &OperatorAccount{Id: a.ID, Name: a.Name, Email: a.Email}, nil
}
