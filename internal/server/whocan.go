package server

import (
	"context"
	"encoding/json"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/kms"
	"github.com/trentkms/trent/internal/wire"
)

// AnalyzeKeyAccessRequest asks who can use a key (trent authz who-can).
type AnalyzeKeyAccessRequest struct {
	KeyId  string // key id, key ARN, alias name or alias ARN
	Action string `json:",omitempty"` // one action (kms:Decrypt); empty: every action on the key
}

// AnalyzeKeyAccessResponse is the analysis, and its rendering for a
// terminal.
type AnalyzeKeyAccessResponse struct {
	Analysis authz.Analysis
	Report   string
}

// analyzeKeyAccess answers who can perform each action on a key, through
// which statement or grant, with its findings (kms.Service.WhoCan); as
// with explanations, only the root principal of the key's account may ask.
func (s *Server) analyzeKeyAccess(ctx context.Context, c call, body []byte) (any, error) {
	var in AnalyzeKeyAccessRequest
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, wire.Serialization(err.Error())
	}
	if in.KeyId == "" {
		return nil, wire.Validation("KeyId is required.")
	}
	candidates := s.ids.AnalysisCandidates(c.identity.Account, c.region, c.request.Time)
	a, err := s.kms.WhoCan(kms.Caller{Account: c.identity.Account, ARN: c.identity.ARN, Region: c.region, Identity: c.identity, Request: c.request}, in.KeyId, in.Action, candidates)
	if err != nil {
		return nil, err
	}
	return &AnalyzeKeyAccessResponse{Analysis: a, Report: a.String()}, nil
}
