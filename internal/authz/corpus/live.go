package corpus

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/policy"
)

// Live is a case's request as authorization sees it in a live request,
// built the way KMS describes it (KMS Developer Guide, AWS KMS condition
// keys), for the runners that decide it with the engine.
type Live struct {
	Identity *authz.Identity
	Request  authz.Request
	// Keys is the whole request context of the case.
	Keys policy.Keys
	// Key is the request on the case's key; nil for an action on no
	// particular key, whose resource is Resource.
	Key      *authz.KeyRequest
	Resource string
}

// Live builds the request of a case of f, its keys' ids made by KeyID.
func (f *File) Live(c *Case) (*Live, error) {
	req, err := c.Request.AuthzRequest(KeyID)
	if err != nil {
		return nil, err
	}
	id, err := f.Identity(c.Principal, req.Time, KeyID)
	if err != nil {
		return nil, fmt.Errorf("principal %s: %w", c.Principal, err)
	}
	keys := authz.GlobalKeys(id, req)
	r := &c.Request
	add := func(name string, values ...string) { keys.Add(name, values...) }
	switch c.Action {
	case "kms:CreateKey":
		add("kms:KeySpec", or(r.KeySpec, "SYMMETRIC_DEFAULT"))
		add("kms:KeyUsage", or(r.KeyUsage, "ENCRYPT_DECRYPT"))
		add("kms:KeyOrigin", or(r.Origin, "AWS_KMS"))
		add("kms:MultiRegion", "false")
	case "kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext":
		add("kms:EncryptionAlgorithm", or(r.EncryptionAlgorithm, "SYMMETRIC_DEFAULT"))
	case "kms:Sign", "kms:Verify":
		add("kms:SigningAlgorithm", r.SigningAlgorithm)
		add("kms:MessageType", or(r.MessageType, "RAW"))
	case "kms:GenerateMac", "kms:VerifyMac":
		add("kms:MacAlgorithm", r.MacAlgorithm)
	case "kms:ScheduleKeyDeletion":
		add("kms:ScheduleKeyDeletionPendingWindowInDays", strconv.Itoa(orInt(r.PendingWindowInDays, 30)))
	case "kms:EnableKeyRotation":
		add("kms:RotationPeriodInDays", strconv.Itoa(orInt(r.RotationPeriodInDays, 365)))
	case "kms:CreateGrant":
		g := r.Grant
		add("kms:GranteePrincipal", g.Grantee)
		add("kms:GrantIsForAWSResource", "false")
		if g.Retiring != "" {
			add("kms:RetiringPrincipal", g.Retiring)
		}
		add("kms:GrantOperations", g.Operations...)
		// kms:EncryptionContext:* and kms:EncryptionContextKeys describe
		// the grant's encryption context constraint (conditions-kms.md
		// lists CreateGrant among their operations).
		var constraint map[string]string
		switch {
		case g.Constraints == nil:
		case g.Constraints.EncryptionContextEquals != nil:
			add("kms:GrantConstraintType", "EncryptionContextEquals")
			constraint = g.Constraints.EncryptionContextEquals
		case g.Constraints.EncryptionContextSubset != nil:
			add("kms:GrantConstraintType", "EncryptionContextSubset")
			constraint = g.Constraints.EncryptionContextSubset
		}
		for ek, ev := range constraint {
			keys.SetOne("kms:EncryptionContext:"+ek, ev)
			add("kms:EncryptionContextKeys", ek)
		}
	}
	if r.Bypass {
		add("kms:BypassPolicyLockoutSafetyCheck", "true")
	}
	// Key names are not case sensitive (reference_policies_elements_condition.md),
	// so a request's tag and context keys that differ only in case are one
	// key with several candidate values: SetOne.
	for tk, tv := range r.Tags {
		keys.SetOne("aws:RequestTag/"+tk, tv)
		add("aws:TagKeys", tk)
	}
	for ek, ev := range r.EncryptionContext {
		keys.SetOne("kms:EncryptionContext:"+ek, ev)
		add("kms:EncryptionContextKeys", ek)
	}

	out := &Live{Identity: id, Request: req, Keys: keys}
	if c.Key == "" {
		out.Resource = or(c.Resource, "*")
		return out, nil
	}
	k := f.Keys[c.Key]
	keyARN := "arn:aws:kms:" + Region + ":" + k.Account + ":key/" + KeyID(c.Key)
	doc := DefaultKeyPolicy(k.Account)
	if !k.IsDefault() {
		doc = Expand(k.Policy, KeyID)
	}
	// Saved key policies are bound to the entities they named then, as KMS
	// binds them (kms.PrincipalResolver).
	kp, err := policy.Compile(doc, policy.Options{Kind: policy.ResourceKind, Bound: true, Bindings: f.Bindings(doc)})
	if err != nil {
		return nil, fmt.Errorf("key %s policy: %w", c.Key, err)
	}
	add("kms:KeySpec", or(k.Spec, "SYMMETRIC_DEFAULT"))
	add("kms:KeyUsage", or(k.Usage, "ENCRYPT_DECRYPT"))
	add("kms:KeyOrigin", "AWS_KMS")
	add("kms:MultiRegion", "false")
	for tk, tv := range k.Tags {
		keys.SetOne("aws:ResourceTag/"+tk, tv)
	}
	add("kms:ResourceAliases", k.Aliases...)
	if name := r.KeyID; strings.Contains(name, "alias/") {
		add("kms:RequestAlias", name[strings.Index(name, "alias/"):])
	}
	if r.DestinationKey != "" {
		add("kms:ReEncryptOnSameKey", strconv.FormatBool(r.DestinationKey == c.Key))
	}
	var grants []*authz.Grant
	for _, g := range f.Grants {
		if g.Key == c.Key {
			grants = append(grants, authzGrant(f, g))
		}
	}
	out.Resource = keyARN
	out.Key = &authz.KeyRequest{
		Identity: id, Action: c.Action, Operation: strings.TrimPrefix(c.Action, "kms:"), KeyARN: keyARN, KeyAccount: k.Account,
		RCPs: f.OrgScope(k.Account).RCPs(), KeyPolicy: kp, Grants: grants, EncryptionContext: r.EncryptionContext, Keys: keys, Request: req,
	}
	return out, nil
}

// authzGrant is a corpus grant as KMS keeps it for authorization: a grantee
// given as an account id means the account (KMS Developer Guide, grants.md);
// a user or role grantee is bound to the entity it named when the grant was
// created.
func authzGrant(f *File, g *Grant) *authz.Grant {
	out := &authz.Grant{ID: g.Name, GranteePrincipal: principalARN(g.Grantee), RetiringPrincipal: principalARN(g.Retiring), Operations: g.Operations}
	out.GranteeID, _ = f.PrincipalID(out.GranteePrincipal)
	out.RetiringID, _ = f.PrincipalID(out.RetiringPrincipal)
	if c := g.Constraints; c != nil {
		out.ContextEquals, out.ContextSubset, out.SourceArn = c.EncryptionContextEquals, c.EncryptionContextSubset, c.SourceArn
		out.HasConstraints = c.EncryptionContextEquals != nil || c.EncryptionContextSubset != nil || c.SourceArn != ""
	}
	return out
}

func principalARN(p string) string {
	if len(p) == 12 && strings.Trim(p, "0123456789") == "" {
		return "arn:aws:iam::" + p + ":root"
	}
	return p
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func orInt(n, def int) int {
	if n == 0 {
		return def
	}
	return n
}
