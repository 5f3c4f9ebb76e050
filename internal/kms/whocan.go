package kms

import (
	"slices"
	"strings"

	"github.com/trentkms/trent/internal/arn"
	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/wire"
)

// keyActions are the KMS actions authorized on a key (KMS Developer Guide,
// kms-api-permissions-reference.md, "KMS key" resource), in the order an
// analysis lists them. ReEncrypt is two: ReEncryptFrom and ReEncryptTo.
var keyActions = []string{
	"Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
	"GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "Sign", "Verify", "GenerateMac", "VerifyMac",
	"DeriveSharedSecret", "GetPublicKey", "DescribeKey", "CreateGrant", "ListGrants", "RevokeGrant", "RetireGrant",
	"CreateAlias", "UpdateAlias", "DeleteAlias", "EnableKey", "DisableKey", "UpdateKeyDescription",
	"GetKeyPolicy", "PutKeyPolicy", "ListKeyPolicies", "TagResource", "UntagResource", "ListResourceTags",
	"ScheduleKeyDeletion", "CancelKeyDeletion", "EnableKeyRotation", "DisableKeyRotation", "GetKeyRotationStatus",
	"RotateKeyOnDemand", "ListKeyRotations", "GetParametersForImport", "ImportKeyMaterial", "DeleteImportedKeyMaterial",
	"ReplicateKey", "UpdatePrimaryRegion",
}

// actionsFor lists the actions that exist for a key of its spec, usage and
// origin (its needs, whatever its state).
func actionsFor(k *key) []string {
	var out []string
	for _, op := range keyActions {
		name := op
		if op == "ReEncryptFrom" || op == "ReEncryptTo" {
			name = "ReEncrypt"
		}
		n := needs[name]
		switch {
		case n.origins != nil && !slices.Contains(n.origins, k.rec.Origin):
		case n.usage != 0 && k.rec.Usage != n.usage:
		case n.kind != nil && n.kind(k, op) != nil:
		case (op == "ReplicateKey" || op == "UpdatePrimaryRegion") && !k.rec.multiRegion():
		default:
			out = append(out, "kms:"+op)
		}
	}
	return out
}

// WhoCan analyses, for an operator, who can perform each action on the key
// id names (or one action), through which statement or grant, with its
// findings (authz.AnalyzeKey). The candidates are the principals the
// deployment knows and its stand-ins for the rest (iam); to them the
// analysis adds any principal of each account and each service the key
// policy or a grant names. c is the operator, who must be the root
// principal of the key's account, authorized before anything is looked up.
func (s *Service) WhoCan(c Caller, id, action string, candidates []authz.Candidate) (authz.Analysis, error) {
	denied := wire.AccessDenied("Only the root principal of the key's account may analyse access to it.")
	caller := c.Identity
	if caller == nil || caller.Type != authz.RootType {
		return authz.Analysis{}, denied
	}
	own := c
	own.Account = caller.Account
	k, _, err := s.lookup(own, id, keyOrAlias)
	if err != nil {
		return authz.Analysis{}, err
	}
	if caller.Account != k.rec.Account {
		return authz.Analysis{}, denied
	}
	actions := actionsFor(k)
	if action != "" {
		if !slices.Contains(actions, action) {
			return authz.Analysis{}, wire.Validation("Action " + action + " is not an action on this key (" + k.rec.Spec.String() + ", " + k.rec.Usage.String() + ", " + k.rec.Origin.String() + ").")
		}
		actions = []string{action}
	}
	org := s.orgOf(k.rec.Account)
	orgID := ""
	if org != nil {
		orgID = org.OrgID
	}
	grants := s.view.grantsOf(k)
	// What every request of a named candidate carries; nothing of the
	// operator's own request.
	base := authz.Request{Time: c.Request.Time, Region: k.rec.Region, SecureTransport: true}
	candidates = append(slices.Clip(candidates), named(k, grants, candidates, base)...)
	request := func(cand authz.Candidate, action string) *authz.KeyRequest {
		a := access{op: strings.TrimPrefix(action, "kms:"), action: action}
		cc := Caller{Account: cand.Identity.Account, ARN: cand.Identity.ARN, Region: k.rec.Region, Identity: cand.Identity, Request: cand.Request}
		list, more := s.conditionKeys(cc, cand.Identity, k, a)
		return &authz.KeyRequest{
			Identity: cand.Identity, Action: action, Operation: a.op, KeyARN: k.arn, KeyAccount: k.rec.Account,
			RCPs: org.RCPs(), KeyPolicy: k.policy, Grants: grants, List: list, More: more, Request: cand.Request,
		}
	}
	return authz.AnalyzeKey(k.arn, k.rec.Account, orgID, k.policy, actions, candidates, request), nil
}

// named are the candidates the key's policy and grants add: the root and
// any principal of each account they name that no candidate stands for
// (an administrator of it, in no organization this deployment knows), and
// each service principal they name that is not a candidate.
func named(k *key, grants []*authz.Grant, have []authz.Candidate, base authz.Request) []authz.Candidate {
	accounts := map[string]bool{}
	services := map[string]bool{}
	for _, c := range have {
		if c.Kind == "account" {
			accounts[c.Identity.Account] = true
		}
		if c.Identity.Type == authz.ServiceType {
			services[c.Identity.ARN] = true
		}
	}
	var out []authz.Candidate
	addAccount := func(a string) {
		if a == "" || accounts[a] || !arn.IsAccountID(a) {
			return
		}
		accounts[a] = true
		root := arn.RootARN(a)
		out = append(out, authz.Candidate{Identity: &authz.Identity{Principal: authz.Principal{Account: a, ARN: root, Type: authz.RootType, UserID: a}}, Label: root, Kind: "account", Request: base},
			authz.Candidate{Identity: authz.AccountStandIn(a, "", nil), Label: "any principal of account " + a, Kind: "account", Request: base})
	}
	addService := func(svc string) {
		if svc == "" || services[svc] {
			return
		}
		services[svc] = true
		out = append(out, authz.Candidate{Identity: &authz.Identity{Principal: authz.Principal{ARN: svc, Type: authz.ServiceType, Name: svc, UserID: svc}}, Label: svc, Kind: "service", Request: base})
	}
	if k.policy != nil {
		for _, st := range k.policy.Summary() {
			for _, a := range st.Accounts {
				addAccount(a)
			}
			for _, svc := range st.Services {
				addService(svc)
			}
		}
	}
	for _, g := range grants {
		if a, err := arn.Parse(g.GranteePrincipal); err == nil {
			addAccount(a.Account)
		}
		addService(g.GranteeServicePrincipal)
	}
	return out
}
