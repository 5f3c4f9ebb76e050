package kms

import (
	"context"
	"testing"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// userCaller is an IAM user of the test account, with no identity policies:
// what it may do, the key policy (or a grant) says.
func userCaller(e *env, name string) Caller {
	id := &authz.Identity{Principal: authz.Principal{Account: "111122223333", ARN: "arn:aws:iam::111122223333:user/" + name,
		Type: authz.UserType, UserID: "AIDA" + name, Name: name}}
	return Caller{Account: id.Account, ARN: id.ARN, Region: "us-east-1", Identity: id, Request: authz.Request{Time: e.clock.Now()}}
}

// keyWithPolicy makes a key whose policy lets the account's root do
// everything and adds the given statements.
func (e *env) keyWithPolicy(t *testing.T, statements string, tags ...kmsapi.Tag) *kmsapi.KeyMetadata {
	t.Helper()
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}` + statements + `]}`
	out, err := e.s.CreateKey(context.Background(), e.caller, &kmsapi.CreateKeyRequest{Policy: wire.Ptr(doc), Tags: tags})
	if err != nil {
		t.Fatalf("CreateKey: %v\n%s", err, doc)
	}
	return out.KeyMetadata
}

// Encryption context keys that differ only in case are one condition key
// (KMS Developer Guide, conditions-kms.md: "the condition key ... is not case
// sensitive"); the decision must not depend on which of them Go's map order
// yields last. A Deny fires if any of the values makes it fire; an Allow
// holds only if it holds for all of them (issue 9, hole 8).
func TestEncryptionContextKeysDifferingInCase(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	app := userCaller(e, "app")
	k := e.keyWithPolicy(t, `,{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/app"},"Action":"kms:Encrypt","Resource":"*"},
		{"Effect":"Deny","Principal":"*","Action":"kms:Encrypt","Resource":"*","Condition":{"StringEquals":{"kms:EncryptionContext:tenant":"A"}}}`)
	for i := 0; i < 30; i++ {
		_, err := e.s.Encrypt(ctx, app, &kmsapi.EncryptRequest{KeyId: k.KeyId, Plaintext: []byte("x"), EncryptionContext: map[string]string{"tenant": "B", "TENANT": "A"}})
		if code(err) != "AccessDeniedException" {
			t.Fatalf("run %d: Encrypt with tenant=B, TENANT=A under a Deny of tenant A: %v, want AccessDeniedException", i, err)
		}
	}
	if _, err := e.s.Encrypt(ctx, app, &kmsapi.EncryptRequest{KeyId: k.KeyId, Plaintext: []byte("x"), EncryptionContext: map[string]string{"tenant": "B", "TENANT": "B"}}); err != nil {
		t.Fatalf("Encrypt with tenant=B, TENANT=B: %v", err)
	}

	// An Allow on tenant B holds only if every colliding value is B.
	k2 := e.keyWithPolicy(t, `,{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/app"},"Action":"kms:Encrypt","Resource":"*","Condition":{"StringEquals":{"kms:EncryptionContext:tenant":"B"}}}`)
	for i := 0; i < 30; i++ {
		_, err := e.s.Encrypt(ctx, app, &kmsapi.EncryptRequest{KeyId: k2.KeyId, Plaintext: []byte("x"), EncryptionContext: map[string]string{"tenant": "B", "TENANT": "A"}})
		if code(err) != "AccessDeniedException" {
			t.Fatalf("run %d: Encrypt with tenant=B, TENANT=A under an Allow of tenant B only: %v, want AccessDeniedException", i, err)
		}
	}
	if _, err := e.s.Encrypt(ctx, app, &kmsapi.EncryptRequest{KeyId: k2.KeyId, Plaintext: []byte("x"), EncryptionContext: map[string]string{"Tenant": "B"}}); err != nil {
		t.Fatalf("Encrypt with Tenant=B (the key name matched without regard to case): %v", err)
	}
}

// Tag keys are case-sensitive in KMS (tags-about.md: "both of which are
// case-sensitive strings"), so a key can carry Env and env, and a request
// can send both; aws:ResourceTag/env and aws:RequestTag/env are then one
// condition key with two values, decided as above.
func TestTagKeysDifferingInCase(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	app := userCaller(e, "app")
	tag := func(k, v string) kmsapi.Tag { return kmsapi.Tag{TagKey: wire.Ptr(k), TagValue: wire.Ptr(v)} }
	k := e.keyWithPolicy(t, `,{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/app"},"Action":["kms:DescribeKey","kms:TagResource"],"Resource":"*"},
		{"Effect":"Deny","Principal":"*","Action":"kms:DescribeKey","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/env":"prod"}}},
		{"Effect":"Deny","Principal":"*","Action":"kms:TagResource","Resource":"*","Condition":{"StringEquals":{"aws:RequestTag/owner":"security"}}}`,
		tag("Env", "prod"), tag("env", "dev"))
	// An Allow of owner=app holds only if every colliding value is app.
	k2 := e.keyWithPolicy(t, `,{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/app"},"Action":"kms:TagResource","Resource":"*","Condition":{"StringEquals":{"aws:RequestTag/owner":"app"}}}`)
	for i := 0; i < 30; i++ {
		if _, err := e.s.DescribeKey(ctx, app, &kmsapi.DescribeKeyRequest{KeyId: k.KeyId}); code(err) != "AccessDeniedException" {
			t.Fatalf("run %d: DescribeKey of a key tagged Env=prod, env=dev under a Deny of env=prod: %v, want AccessDeniedException", i, err)
		}
		_, err := e.s.TagResource(ctx, app, &kmsapi.TagResourceRequest{KeyId: k.KeyId, Tags: []kmsapi.Tag{tag("owner", "app"), tag("OWNER", "security")}})
		if code(err) != "AccessDeniedException" {
			t.Fatalf("run %d: TagResource owner=app, OWNER=security under a Deny of owner=security: %v, want AccessDeniedException", i, err)
		}
		_, err = e.s.TagResource(ctx, app, &kmsapi.TagResourceRequest{KeyId: k2.KeyId, Tags: []kmsapi.Tag{tag("owner", "app"), tag("OWNER", "security")}})
		if code(err) != "AccessDeniedException" {
			t.Fatalf("run %d: TagResource owner=app, OWNER=security under an Allow of owner=app only: %v, want AccessDeniedException", i, err)
		}
	}
	if _, err := e.s.TagResource(ctx, app, &kmsapi.TagResourceRequest{KeyId: k2.KeyId, Tags: []kmsapi.Tag{tag("Owner", "app")}}); err != nil {
		t.Fatalf("TagResource Owner=app under an Allow of owner=app: %v", err)
	}
}
