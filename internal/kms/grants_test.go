package kms

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/trentkms/trent/internal/iam"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

func (e *env) grant(t *testing.T, c Caller, in *kmsapi.CreateGrantRequest) *kmsapi.CreateGrantResponse {
	t.Helper()
	out, err := e.s.CreateGrant(context.Background(), c, in)
	if err != nil {
		t.Fatalf("CreateGrant %+v: %v", in, err)
	}
	return out
}

func (e *env) grantEntry(t *testing.T, keyID, grantID string) kmsapi.GrantListEntry {
	t.Helper()
	out, err := e.s.ListGrants(context.Background(), e.caller, &kmsapi.ListGrantsRequest{KeyId: wire.Ptr(keyID), GrantId: wire.Ptr(grantID)})
	if err != nil || len(out.Grants) != 1 {
		t.Fatalf("ListGrants for %s: %+v, %v", grantID, out, err)
	}
	return out.Grants[0]
}

const testSource = "arn:aws:sqs:us-east-1:111122223333:orders"

// A SourceArn constraint allows the grant's permissions "only when the
// request is made on behalf of" that resource, as aws:SourceArn would; it is
// kept, enforced and reported (GrantConstraints, KMS API Reference; issue 9,
// hole 9a: it was accepted and dropped, and the grant worked for any request).
func TestGrantSourceArnConstraint(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	k := e.createKey(t)
	g := e.grant(t, e.caller, &kmsapi.CreateGrantRequest{KeyId: k.KeyId, GranteePrincipal: wire.Ptr("arn:aws:iam::111122223333:user/svc"),
		Operations: []string{"Encrypt", "DescribeKey"}, Constraints: &kmsapi.GrantConstraints{SourceArn: wire.Ptr(testSource)}})
	svc := userCaller(e, "svc")
	enc := func(source string) error {
		c := svc
		c.Request.SourceARN = source
		_, err := e.s.Encrypt(ctx, c, &kmsapi.EncryptRequest{KeyId: k.KeyId, Plaintext: []byte("x")})
		return err
	}
	if err := enc(""); code(err) != "AccessDeniedException" {
		t.Errorf("Encrypt on behalf of no resource: %v, want AccessDeniedException", err)
	}
	if err := enc("arn:aws:sqs:us-east-1:111122223333:other"); code(err) != "AccessDeniedException" {
		t.Errorf("Encrypt on behalf of another resource: %v, want AccessDeniedException", err)
	}
	if err := enc(testSource); err != nil {
		t.Errorf("Encrypt on behalf of the grant's resource: %v", err)
	}
	entry := e.grantEntry(t, *k.KeyId, *g.GrantId)
	if entry.Constraints == nil || wire.String(entry.Constraints.SourceArn) != testSource {
		t.Errorf("ListGrants constraints = %+v, want SourceArn %s", entry.Constraints, testSource)
	}

	// kms:GrantConstraintType reports it.
	k2 := e.keyWithPolicy(t, `,{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/admin"},"Action":"kms:CreateGrant","Resource":"*","Condition":{"StringEquals":{"kms:GrantConstraintType":"SourceArn"}}}`)
	admin := userCaller(e, "admin")
	if _, err := e.s.CreateGrant(ctx, admin, &kmsapi.CreateGrantRequest{KeyId: k2.KeyId, GranteePrincipal: wire.Ptr("arn:aws:iam::111122223333:user/svc"),
		Operations: []string{"Encrypt"}, Constraints: &kmsapi.GrantConstraints{SourceArn: wire.Ptr(testSource)}}); err != nil {
		t.Errorf("CreateGrant with a SourceArn constraint where kms:GrantConstraintType must be SourceArn: %v", err)
	}
	if _, err := e.s.CreateGrant(ctx, admin, &kmsapi.CreateGrantRequest{KeyId: k2.KeyId, GranteePrincipal: wire.Ptr("arn:aws:iam::111122223333:user/svc"),
		Operations: []string{"Encrypt"}}); code(err) != "AccessDeniedException" {
		t.Errorf("CreateGrant without a constraint where kms:GrantConstraintType must be SourceArn: %v, want AccessDeniedException", err)
	}
}

// An empty EncryptionContextEquals is a constraint: AWS counts it as
// supplied ("More than one constraint supplied" next to a subset,
// aws/aws-sdk-java#328), and what it allows is a request whose context is
// exactly the empty one. It was dropped on store, and the grantee decrypted
// under any context (issue 9, hole 9b).
func TestGrantEmptyEncryptionContextEquals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	k := e.createKey(t)
	g := e.grant(t, e.caller, &kmsapi.CreateGrantRequest{KeyId: k.KeyId, GranteePrincipal: wire.Ptr("arn:aws:iam::111122223333:user/svc"),
		Operations: []string{"Encrypt"}, Constraints: &kmsapi.GrantConstraints{EncryptionContextEquals: map[string]string{}}})
	svc := userCaller(e, "svc")
	if _, err := e.s.Encrypt(ctx, svc, &kmsapi.EncryptRequest{KeyId: k.KeyId, Plaintext: []byte("x"), EncryptionContext: map[string]string{"tenant": "a"}}); code(err) != "AccessDeniedException" {
		t.Errorf("Encrypt with a context under EncryptionContextEquals {}: %v, want AccessDeniedException", err)
	}
	if _, err := e.s.Encrypt(ctx, svc, &kmsapi.EncryptRequest{KeyId: k.KeyId, Plaintext: []byte("x")}); err != nil {
		t.Errorf("Encrypt without a context under EncryptionContextEquals {}: %v", err)
	}
	entry := e.grantEntry(t, *k.KeyId, *g.GrantId)
	b, _ := json.Marshal(entry.Constraints)
	if string(b) != `{"EncryptionContextEquals":{}}` {
		t.Errorf("ListGrants constraints = %s, want {\"EncryptionContextEquals\":{}}", b)
	}
	_, err := e.s.CreateGrant(ctx, e.caller, &kmsapi.CreateGrantRequest{KeyId: k.KeyId, GranteePrincipal: wire.Ptr("arn:aws:iam::111122223333:user/svc"),
		Operations: []string{"Encrypt"}, Constraints: &kmsapi.GrantConstraints{EncryptionContextEquals: map[string]string{}, EncryptionContextSubset: map[string]string{"a": "b"}}})
	if code(err) != "ValidationException" || !strings.Contains(err.Error(), "More than one constraint supplied") {
		t.Errorf("CreateGrant with EncryptionContextEquals {} and a subset: %v, want ValidationException More than one constraint supplied", err)
	}
}

// "The encryption context constraint is ignored for DescribeKey and
// RetireGrant operations" (create-grant-overview.md); they were denied
// (issue 9, hole 9c).
func TestConstrainedGrantAllowsOperationsWithoutContext(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	k := e.createKey(t)
	for _, c := range []*kmsapi.GrantConstraints{
		{EncryptionContextSubset: map[string]string{"Department": "IT"}},
		{EncryptionContextEquals: map[string]string{"Department": "IT"}},
	} {
		g := e.grant(t, e.caller, &kmsapi.CreateGrantRequest{KeyId: k.KeyId, GranteePrincipal: wire.Ptr("arn:aws:iam::111122223333:user/svc"),
			Operations: []string{"Decrypt", "DescribeKey", "RetireGrant"}, Constraints: c})
		svc := userCaller(e, "svc")
		if _, err := e.s.DescribeKey(ctx, svc, &kmsapi.DescribeKeyRequest{KeyId: k.KeyId}); err != nil {
			t.Errorf("DescribeKey by the grantee of a grant with %+v: %v", c, err)
		}
		if _, err := e.s.RetireGrant(ctx, svc, &kmsapi.RetireGrantRequest{KeyId: k.Arn, GrantId: g.GrantId}); err != nil {
			t.Errorf("RetireGrant by the grantee of a grant with %+v: %v", c, err)
		}
	}
}

// create-grant-overview.md, "Granting CreateGrant permission": exampleUser
// holds GenerateDataKey, Decrypt and CreateGrant with the subset
// Department=IT; it may create for anotherUser a grant of CreateGrant and
// Decrypt with EncryptionContextEquals Department=IT, and anotherUser may in
// turn pass on what it has, but no one may widen the operations or loosen
// the constraint (issue 9, hole 9c: the documented example was refused).
func TestChildGrantsFromAConstrainedGrant(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	k := e.createKey(t)
	user := func(n string) *string { return wire.Ptr("arn:aws:iam::111122223333:user/" + n) }
	e.grant(t, e.caller, &kmsapi.CreateGrantRequest{KeyId: k.KeyId, GranteePrincipal: user("exampleUser"), RetiringPrincipal: wire.Ptr("arn:aws:iam::111122223333:role/adminRole"),
		Operations: []string{"GenerateDataKey", "Decrypt", "CreateGrant"}, Constraints: &kmsapi.GrantConstraints{EncryptionContextSubset: map[string]string{"Department": "IT"}}})
	example, another := userCaller(e, "exampleUser"), userCaller(e, "anotherUser")
	it := map[string]string{"Department": "IT"}
	child := e.grant(t, example, &kmsapi.CreateGrantRequest{KeyId: k.Arn, GranteePrincipal: user("anotherUser"), RetiringPrincipal: user("exampleUser"),
		Operations: []string{"CreateGrant", "Decrypt"}, Constraints: &kmsapi.GrantConstraints{EncryptionContextEquals: it}})
	dk, err := e.s.GenerateDataKey(ctx, example, &kmsapi.GenerateDataKeyRequest{KeyId: k.KeyId, KeySpec: wire.Ptr("AES_256"), EncryptionContext: it})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Decrypt(ctx, another, &kmsapi.DecryptRequest{CiphertextBlob: dk.CiphertextBlob, EncryptionContext: it}); err != nil {
		t.Errorf("Decrypt by anotherUser through the child grant: %v", err)
	}
	if _, err := e.s.Decrypt(ctx, another, &kmsapi.DecryptRequest{CiphertextBlob: dk.CiphertextBlob, EncryptionContext: map[string]string{"Department": "IT", "Purpose": "Test"}}); code(err) != "AccessDeniedException" {
		t.Errorf("Decrypt by anotherUser with an extra pair under EncryptionContextEquals: %v", err)
	}
	if entry := e.grantEntry(t, *k.KeyId, *child.GrantId); entry.Constraints == nil || entry.Constraints.EncryptionContextEquals["Department"] != "IT" {
		t.Errorf("child grant constraints = %+v", entry.Constraints)
	}
	cases := []struct {
		what  string
		by    Caller
		ops   []string
		c     *kmsapi.GrantConstraints
		allow bool
	}{
		{"a subset that adds pairs", example, []string{"Decrypt"}, &kmsapi.GrantConstraints{EncryptionContextSubset: map[string]string{"Department": "IT", "Purpose": "Test"}}, true},
		{"the same subset", example, []string{"Decrypt", "CreateGrant"}, &kmsapi.GrantConstraints{EncryptionContextSubset: it}, true},
		{"an operation the parent lacks", example, []string{"Decrypt", "ReEncryptFrom"}, &kmsapi.GrantConstraints{EncryptionContextSubset: it}, false},
		{"no constraint", example, []string{"Decrypt"}, nil, false},
		{"a subset without the parent's pair", example, []string{"Decrypt"}, &kmsapi.GrantConstraints{EncryptionContextSubset: map[string]string{"Purpose": "Test"}}, false},
		{"another value", example, []string{"Decrypt"}, &kmsapi.GrantConstraints{EncryptionContextSubset: map[string]string{"Department": "HR"}}, false},
		{"the child's own equals", another, []string{"Decrypt"}, &kmsapi.GrantConstraints{EncryptionContextEquals: it}, true},
		{"equals loosened to a subset", another, []string{"Decrypt"}, &kmsapi.GrantConstraints{EncryptionContextSubset: it}, false},
		{"other equals", another, []string{"Decrypt"}, &kmsapi.GrantConstraints{EncryptionContextEquals: map[string]string{"Department": "IT", "Purpose": "Test"}}, false},
		{"an operation the child lacks", another, []string{"Decrypt", "GenerateDataKey"}, &kmsapi.GrantConstraints{EncryptionContextEquals: it}, false},
	}
	for _, tt := range cases {
		_, err := e.s.CreateGrant(ctx, tt.by, &kmsapi.CreateGrantRequest{KeyId: k.Arn, GranteePrincipal: user("third"), Operations: tt.ops, Constraints: tt.c})
		if tt.allow && err != nil {
			t.Errorf("%s creates a grant with %s: %v", tt.by.Identity.Name, tt.what, err)
		}
		if !tt.allow && code(err) != "AccessDeniedException" {
			t.Errorf("%s creates a grant with %s: %v, want AccessDeniedException", tt.by.Identity.Name, tt.what, err)
		}
	}
}

// A parent with a SourceArn constraint passes it on: its child must carry
// the same SourceArn, and the CreateGrant request itself must be made on
// behalf of the resource.
func TestChildGrantKeepsSourceArn(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	k := e.createKey(t)
	e.grant(t, e.caller, &kmsapi.CreateGrantRequest{KeyId: k.KeyId, GranteePrincipal: wire.Ptr("arn:aws:iam::111122223333:user/svc"),
		Operations: []string{"Decrypt", "CreateGrant"}, Constraints: &kmsapi.GrantConstraints{SourceArn: wire.Ptr(testSource)}})
	svc := userCaller(e, "svc")
	svc.Request.SourceARN = testSource
	create := func(c Caller, cons *kmsapi.GrantConstraints) error {
		_, err := e.s.CreateGrant(ctx, c, &kmsapi.CreateGrantRequest{KeyId: k.Arn, GranteePrincipal: wire.Ptr("arn:aws:iam::111122223333:user/third"), Operations: []string{"Decrypt"}, Constraints: cons})
		return err
	}
	if err := create(svc, &kmsapi.GrantConstraints{SourceArn: wire.Ptr(testSource), EncryptionContextSubset: map[string]string{"a": "b"}}); err != nil {
		t.Errorf("child with the same SourceArn: %v", err)
	}
	if err := create(svc, nil); code(err) != "AccessDeniedException" {
		t.Errorf("child without the SourceArn: %v, want AccessDeniedException", err)
	}
	if err := create(svc, &kmsapi.GrantConstraints{SourceArn: wire.Ptr("arn:aws:sqs:us-east-1:111122223333:other")}); code(err) != "AccessDeniedException" {
		t.Errorf("child with another SourceArn: %v, want AccessDeniedException", err)
	}
	svc.Request.SourceARN = ""
	if err := create(svc, &kmsapi.GrantConstraints{SourceArn: wire.Ptr(testSource)}); code(err) != "AccessDeniedException" {
		t.Errorf("CreateGrant through the grant on behalf of no resource: %v, want AccessDeniedException", err)
	}
}

// ListRetirableGrants by RetiringPrincipal is authorized on the retiring
// principal, not on "*": "The authorized resource in ListRetirableGrants
// calls is the retiring principal specified in the request" (KMS API
// Reference, ListRetirableGrants), by the caller account's IAM policies.
func TestListRetirableGrantsAuthorizedOnTheRetiringPrincipal(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	root, err := e.ids.Identity("AKIAROOT")
	if err != nil {
		t.Fatal(err)
	}
	iamUser(e.ids, "lister")
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:ListRetirableGrants","Resource":"arn:aws:iam::111122223333:role/adminRole"}]}`
	if _, err := e.ids.PutUserPolicy(ctx, iam.Call{Identity: root}, &iamapi.PutUserPolicyRequest{UserName: wire.Ptr("lister"), PolicyName: wire.Ptr("p"), PolicyDocument: wire.Ptr(doc)}); err != nil {
		t.Fatal(err)
	}
	lister := userCaller(e, "lister")
	k := e.createKey(t)
	g := e.grant(t, e.caller, &kmsapi.CreateGrantRequest{KeyId: k.KeyId, GranteePrincipal: wire.Ptr("arn:aws:iam::111122223333:user/app"),
		RetiringPrincipal: wire.Ptr("arn:aws:iam::111122223333:role/adminRole"), Operations: []string{"Decrypt"}})
	out, err := e.s.ListRetirableGrants(ctx, lister, &kmsapi.ListRetirableGrantsRequest{RetiringPrincipal: wire.Ptr("arn:aws:iam::111122223333:role/adminRole")})
	if err != nil || len(out.Grants) != 1 || *out.Grants[0].GrantId != *g.GrantId {
		t.Fatalf("ListRetirableGrants for the principal the policy names: %+v, %v", out, err)
	}
	_, err = e.s.ListRetirableGrants(ctx, lister, &kmsapi.ListRetirableGrantsRequest{RetiringPrincipal: wire.Ptr("arn:aws:iam::111122223333:user/app")})
	if code(err) != "AccessDeniedException" || !strings.Contains(err.Error(), "on resource: arn:aws:iam::111122223333:user/app ") {
		t.Fatalf("ListRetirableGrants for another principal: %v, want AccessDeniedException on that principal", err)
	}
}
