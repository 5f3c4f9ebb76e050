package authz_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/authz/corpus"
	"github.com/trentkms/trent/internal/policy"
)

// corpusDir holds the decision corpus; internal/kms/corpus_test.go runs the
// same files against the KMS service.
const corpusDir = "testdata/corpus"

// sharedDir is the reference material the corpus cites (README: tests read
// it beside the checkout).
const sharedDir = "../../../shared"

// TestCorpus decides every case of the corpus that authorization alone
// decides (all but level "kms") with authz.DecideKey, or authz.IdentityBased
// for actions on no key, and compares with the outcome AWS documents.
func TestCorpus(t *testing.T) {
	files, err := corpus.Load(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f.Path), ".json"), func(t *testing.T) {
			ran := 0
			for _, c := range f.Cases {
				if c.Level == "kms" {
					continue // a rule of the KMS operation: internal/kms/corpus_test.go
				}
				ran++
				t.Run(c.Name, func(t *testing.T) {
					// Every repetition must decide alike: the first that
					// differs from the expectation is the one judged.
					var got outcome
					for i := 0; i < max(c.Repeat, 1); i++ {
						o, err := decideCase(f, c)
						if err != nil {
							t.Fatal(err)
						}
						if got = o; !expected(c, o) {
							break
						}
					}
					judge(t, c, got)
				})
			}
			if ran == 0 && len(f.Cases) > 0 && !allKMS(f) {
				t.Fatal("no case ran")
			}
		})
	}
}

func allKMS(f *corpus.File) bool {
	for _, c := range f.Cases {
		if c.Level != "kms" {
			return false
		}
	}
	return true
}

// TestCorpusCitations checks that every case cites documents that exist in
// ../shared, anchors included. It fails, rather than skips, when ../shared
// is missing: the citations are the corpus's proof.
func TestCorpusCitations(t *testing.T) {
	files, err := corpus.Load(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(sharedDir, "docs")); err != nil {
		t.Fatalf("the corpus cites ../shared/docs, which is not beside the checkout: %v", err)
	}
	for _, err := range corpus.CheckCitations(sharedDir, files) {
		t.Error(err)
	}
}

// outcome is a decision in the corpus's terms.
type outcome struct {
	allowed bool
	by      string
	grant   string
	reason  authz.Reason
	sid     string
}

func (o outcome) String() string {
	if o.allowed {
		return fmt.Sprintf("allow by %s (grant %q, sid %q)", o.by, o.grant, o.sid)
	}
	return fmt.Sprintf("deny: %s (sid %q)", reasonPhrase(o.reason), o.sid)
}

// expected reports whether an outcome is the case's expectation.
func expected(c *corpus.Case, got outcome) bool { return len(mismatches(c, got)) == 0 }

// judge compares an outcome with the case's expectation; a pending case must
// still be decided otherwise, or it belongs in the main corpus.
func judge(t *testing.T, c *corpus.Case, got outcome) {
	t.Helper()
	wrong := mismatches(c, got)
	switch {
	case c.Pending != "" && len(wrong) == 0:
		t.Errorf("pending case now decided as AWS does (%s): move it to the main corpus\nrule: %s", c.Pending, c.Rule)
	case c.Pending != "":
		t.Logf("known wrong, tracked by %s: got %v (%s)", c.Pending, got, strings.Join(wrong, "; "))
	case len(wrong) > 0:
		t.Errorf("got %v: %s\nrule: %s", got, strings.Join(wrong, "; "), c.Rule)
	}
}

// mismatches lists how an outcome differs from the case's expectation.
func mismatches(c *corpus.Case, got outcome) []string {
	w := c.Want
	var wrong []string
	switch w.Decision {
	case "allow":
		if !got.allowed {
			wrong = append(wrong, "denied")
			break
		}
		if got.by != w.By {
			wrong = append(wrong, "allowed by "+got.by+", want "+w.By)
		}
		if w.Grant != "" && got.grant != w.Grant {
			wrong = append(wrong, "allowed by grant "+got.grant+", want "+w.Grant)
		}
	case "deny":
		if got.allowed {
			wrong = append(wrong, "allowed")
			break
		}
		if got.reason != corpus.Reasons[w.Because] {
			wrong = append(wrong, fmt.Sprintf("because %s, want %s", reasonPhrase(got.reason), w.Because))
		}
	}
	if w.Sid != "" && got.sid != w.Sid {
		wrong = append(wrong, fmt.Sprintf("deciding statement %q, want %q", got.sid, w.Sid))
	}
	return wrong
}

// decideCase builds the request the way KMS describes it (KMS Developer
// Guide, AWS KMS condition keys) and decides it.
func decideCase(f *corpus.File, c *corpus.Case) (outcome, error) {
	req, err := c.Request.AuthzRequest(corpus.KeyID)
	if err != nil {
		return outcome{}, err
	}
	id, err := f.Identity(c.Principal, req.Time, corpus.KeyID)
	if err != nil {
		return outcome{}, fmt.Errorf("principal %s: %w", c.Principal, err)
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

	if c.Key == "" {
		resource := or(c.Resource, "*")
		d := authz.IdentityBasedVia(id, &policy.Request{Principal: id.PolicyPrincipal(), Action: c.Action, Resource: resource, Time: req.Time, Keys: keys}, req.Endpoint)
		return outcome{allowed: d.Allowed(), by: "iam", reason: d.Reason, sid: d.Sid}, nil
	}
	k := f.Keys[c.Key]
	keyARN := "arn:aws:kms:" + corpus.Region + ":" + k.Account + ":key/" + corpus.KeyID(c.Key)
	doc := corpus.DefaultKeyPolicy(k.Account)
	if !k.IsDefault() {
		doc = corpus.Expand(k.Policy, corpus.KeyID)
	}
	// Saved key policies are bound to the entities they named then, as KMS
	// binds them (kms.PrincipalResolver).
	kp, err := policy.Compile(doc, policy.Options{Kind: policy.ResourceKind, Bound: true, Bindings: f.Bindings(doc)})
	if err != nil {
		return outcome{}, fmt.Errorf("key %s policy: %w", c.Key, err)
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
	d := authz.DecideKey(&authz.KeyRequest{
		Identity: id, Action: c.Action, Operation: strings.TrimPrefix(c.Action, "kms:"), KeyARN: keyARN, KeyAccount: k.Account,
		RCPs: f.OrgScope(k.Account).RCPs(), KeyPolicy: kp, Grants: grants, EncryptionContext: r.EncryptionContext, Keys: keys, Request: req,
	})
	return outcome{allowed: d.Allowed(), by: d.By, grant: d.GrantID, reason: d.Reason, sid: d.Sid}, nil
}

// authzGrant is a corpus grant as KMS keeps it for authorization: a grantee
// given as an account id means the account (KMS Developer Guide, grants.md);
// a user or role grantee is bound to the entity it named when the grant was
// created.
func authzGrant(f *corpus.File, g *corpus.Grant) *authz.Grant {
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
