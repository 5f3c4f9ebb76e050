package kms

import (
	"slices"
	"strings"
	"testing"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// WhoCan over a real IAM directory: the account's principals, the stand-ins,
// and the accounts the key policy names; only the key account's root may
// ask; the actions are those of the key's type.
func TestWhoCan(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	out, err := e.s.CreateKey(ctx, e.caller, &kmsapi.CreateKeyRequest{Policy: wire.Ptr(`{"Version":"2012-10-17","Statement":[
		{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
		{"Sid":"Partner","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"kms:Decrypt","Resource":"*"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	id := *out.KeyMetadata.KeyId
	cands := e.ids.AnalysisCandidates("111122223333", "us-east-1", e.clock.Now())
	a, err := e.s.WhoCan(e.caller, id, "kms:Decrypt", cands)
	if err != nil {
		t.Fatal(err)
	}
	var who []string
	for _, x := range a.Actions[0].Access {
		who = append(who, x.Principal)
	}
	want := []string{"arn:aws:iam::111122223333:root", "any principal of account 111122223333", "arn:aws:iam::444455556666:root", "any principal of account 444455556666"}
	if !slices.Equal(who, want) {
		t.Fatalf("who can decrypt = %q, want %q\n%s", who, want, a)
	}
	if len(a.Findings) != 2 || a.Findings[0].Type != authz.FindingOutsideOrganization || a.Findings[0].Sid != "Partner" {
		t.Fatalf("findings = %+v", a.Findings)
	}
	// Every action of a symmetric encryption key, and none of another type.
	all, err := e.s.WhoCan(e.caller, id, "", cands)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, aa := range all.Actions {
		actions = append(actions, aa.Action)
	}
	if !slices.Contains(actions, "kms:Encrypt") || !slices.Contains(actions, "kms:ReEncryptTo") || slices.Contains(actions, "kms:Sign") || slices.Contains(actions, "kms:GetPublicKey") {
		t.Fatalf("actions of a symmetric key = %v", actions)
	}
	if _, err := e.s.WhoCan(e.caller, id, "kms:Sign", cands); code(err) != "ValidationException" {
		t.Fatalf("an action the key does not have: %v", err)
	}
	// Only the root principal of the key's account may ask.
	app := userCaller(e, "app")
	if _, err := e.s.WhoCan(app, id, "", cands); code(err) != "AccessDeniedException" || !strings.Contains(err.Error(), "root principal") {
		t.Fatalf("a user asking: %v", err)
	}
}
