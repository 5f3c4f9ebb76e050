package kms

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/policy"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// userCaller is an IAM user of the test account (created in IAM if it does
// not exist), with no identity policies: what it may do, the key policy (or
// a grant) says.
func userCaller(e *env, name string) Caller {
	id := iamUser(e.ids, name)
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

// A Caller without an identity is refused, as any unauthenticated request
// is: it does not run as its account's root (issue 9, hole 12: fail closed).
func TestCallerWithoutIdentityIsRefused(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	k := e.createKey(t)
	anon := Caller{Account: "111122223333", ARN: "arn:aws:iam::111122223333:root", Region: "us-east-1"}
	checks := map[string]error{}
	_, checks["CreateKey"] = e.s.CreateKey(ctx, anon, &kmsapi.CreateKeyRequest{})
	_, checks["ListKeys"] = e.s.ListKeys(ctx, anon, &kmsapi.ListKeysRequest{})
	_, checks["DescribeKey"] = e.s.DescribeKey(ctx, anon, &kmsapi.DescribeKeyRequest{KeyId: k.KeyId})
	_, checks["DescribeKey of a missing key"] = e.s.DescribeKey(ctx, anon, &kmsapi.DescribeKeyRequest{KeyId: wire.Ptr("00000000-0000-0000-0000-000000000000")})
	_, checks["Encrypt"] = e.s.Encrypt(ctx, anon, &kmsapi.EncryptRequest{KeyId: k.KeyId, Plaintext: []byte("x")})
	_, checks["ScheduleKeyDeletion"] = e.s.ScheduleKeyDeletion(ctx, anon, &kmsapi.ScheduleKeyDeletionRequest{KeyId: k.KeyId})
	_, checks["CreateGrant"] = e.s.CreateGrant(ctx, anon, &kmsapi.CreateGrantRequest{KeyId: k.KeyId, GranteePrincipal: wire.Ptr("arn:aws:iam::111122223333:user/g"), Operations: []string{"Decrypt"}})
	g, err := e.s.CreateGrant(ctx, e.caller, &kmsapi.CreateGrantRequest{KeyId: k.KeyId, GranteePrincipal: wire.Ptr("arn:aws:iam::111122223333:user/g"),
		RetiringPrincipal: wire.Ptr("111122223333"), Operations: []string{"Decrypt"}})
	if err != nil {
		t.Fatal(err)
	}
	_, checks["RetireGrant"] = e.s.RetireGrant(ctx, anon, &kmsapi.RetireGrantRequest{GrantToken: g.GrantToken})
	for op, err := range checks {
		if code(err) != "AccessDeniedException" {
			t.Errorf("%s by a Caller with no identity: %v, want AccessDeniedException", op, err)
		}
	}
	if d, err := e.s.DescribeKey(ctx, e.caller, &kmsapi.DescribeKeyRequest{KeyId: k.KeyId}); err != nil || *d.KeyMetadata.KeyState != "Enabled" {
		t.Fatalf("the key after refused requests: %+v, %v", d, err)
	}
}

// syncBuffer is a log sink tests read while the service writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}
func (b *syncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }

// CreateGrant goes through the same door as every operation on a key: its
// audit note names the key and what decided, and a denial is logged (issue
// 9, hole 12; CloudTrail's CreateGrant event lists the key as its resource,
// ct-creategrant.md).
func TestCreateGrantIsAuditedAndItsDenialLogged(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var logs syncBuffer
	e.s.log = slog.New(slog.NewTextHandler(&logs, nil))
	k := e.keyWithPolicy(t, `,{"Sid":"admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/admin"},"Action":"kms:CreateGrant","Resource":"*"}`)
	note := &Note{}
	c := userCaller(e, "admin")
	c.Note = note
	if _, err := e.s.CreateGrant(ctx, c, &kmsapi.CreateGrantRequest{KeyId: k.KeyId, GranteePrincipal: wire.Ptr("arn:aws:iam::111122223333:user/g"), Operations: []string{"Decrypt"}}); err != nil {
		t.Fatal(err)
	}
	if len(note.Resources) != 1 || note.Resources[0] != *k.Arn || !note.Decided || !note.Decision.Allowed() || note.Decision.By != authz.ByKeyPolicy || note.Decision.Sid != "admin" {
		t.Fatalf("CreateGrant's note = %+v, want the key %s and the deciding statement", note, *k.Arn)
	}

	mallory := userCaller(e, "mallory")
	note = &Note{}
	mallory.Note = note
	_, err := e.s.CreateGrant(ctx, mallory, &kmsapi.CreateGrantRequest{KeyId: k.KeyId, GranteePrincipal: wire.Ptr(mallory.ARN), Operations: []string{"Decrypt"}})
	if code(err) != "AccessDeniedException" {
		t.Fatalf("CreateGrant by a user no policy allows: %v", err)
	}
	if len(note.Resources) != 1 || note.Resources[0] != *k.Arn || !note.Decided || note.Decision.Allowed() {
		t.Fatalf("denied CreateGrant's note = %+v", note)
	}
	if l := logs.String(); !strings.Contains(l, "kms: access denied") || !strings.Contains(l, "action=kms:CreateGrant") || !strings.Contains(l, mallory.ARN) {
		t.Fatalf("denied CreateGrant not logged:\n%s", l)
	}

	// RetireGrant too: the retiring principal decided.
	g, err := e.s.CreateGrant(ctx, e.caller, &kmsapi.CreateGrantRequest{KeyId: k.KeyId, GranteePrincipal: wire.Ptr("arn:aws:iam::111122223333:user/g"),
		RetiringPrincipal: wire.Ptr("arn:aws:iam::111122223333:user/r"), Operations: []string{"Decrypt"}})
	if err != nil {
		t.Fatal(err)
	}
	r := userCaller(e, "r")
	note = &Note{}
	r.Note = note
	if _, err := e.s.RetireGrant(ctx, r, &kmsapi.RetireGrantRequest{GrantToken: g.GrantToken}); err != nil {
		t.Fatal(err)
	}
	if len(note.Resources) != 1 || note.Resources[0] != *k.Arn || note.Decision.By != authz.ByRetiringPrincipal || note.Decision.GrantID != *g.GrantId {
		t.Fatalf("RetireGrant's note = %+v", note)
	}
}

// The retiring principal needs no policy to retire its grant, but the
// guardrails that bound every request still apply: a VPC endpoint policy
// that does not allow kms:RetireGrant (vpce-policy: the endpoint policy
// must allow the request) and an SCP that does not (IAM evaluation logic:
// SCPs limit every principal of the account) refuse it.
func TestRetireGrantIsBoundedByEndpointPolicyAndSCPs(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	k := e.createKey(t)
	onlyEncrypt, err := policy.Compile([]byte(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"kms:Encrypt","Resource":"*"}}`), policy.Options{Kind: policy.EndpointKind})
	if err != nil {
		t.Fatal(err)
	}
	scp, err := policy.Compile([]byte(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}}`), policy.Options{Kind: policy.IdentityKind})
	if err != nil {
		t.Fatal(err)
	}
	for name, limit := range map[string]func(*Caller){
		"endpoint policy": func(c *Caller) { c.Request.Endpoint = onlyEncrypt },
		"SCP":             func(c *Caller) { c.Identity.SCPs = []authz.Guardrail{{Policies: []*policy.Policy{scp}}} },
	} {
		g := e.grant(t, e.caller, &kmsapi.CreateGrantRequest{KeyId: k.KeyId, GranteePrincipal: wire.Ptr("arn:aws:iam::111122223333:user/g"),
			RetiringPrincipal: wire.Ptr("arn:aws:iam::111122223333:user/r"), Operations: []string{"Decrypt"}})
		r := userCaller(e, "r")
		limit(&r)
		if _, err := e.s.RetireGrant(ctx, r, &kmsapi.RetireGrantRequest{GrantToken: g.GrantToken}); code(err) != "AccessDeniedException" {
			t.Errorf("RetireGrant by the retiring principal under an %s that does not allow it: %v, want AccessDeniedException", name, err)
		}
		if _, err := e.s.RetireGrant(ctx, userCaller(e, "r"), &kmsapi.RetireGrantRequest{GrantToken: g.GrantToken}); err != nil {
			t.Errorf("RetireGrant by the retiring principal without the %s: %v", name, err)
		}
	}
}

// A request whose encryption context has more keys than a KeyList holds
// (its keys then go in a map, maxListedKeys) is decided by the same rules:
// case-colliding keys are one ambiguous key that fails closed, and
// kms:EncryptionContextKeys lists every key.
func TestLargeEncryptionContextDecidedAlike(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	app := userCaller(e, "app")
	deny := e.keyWithPolicy(t, `,{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/app"},"Action":"kms:Encrypt","Resource":"*"},
		{"Effect":"Deny","Principal":"*","Action":"kms:Encrypt","Resource":"*","Condition":{"StringEquals":{"kms:EncryptionContext:tenant":"A"}}}`)
	allow := e.keyWithPolicy(t, `,{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/app"},"Action":"kms:Encrypt","Resource":"*","Condition":{"StringEquals":{"kms:EncryptionContext:tenant":"B"},"ForAnyValue:StringEquals":{"kms:EncryptionContextKeys":"filler-39"}}}`)
	for _, n := range []int{maxListedKeys / 2, 4 * maxListedKeys} {
		with := func(pairs ...string) map[string]string {
			m := map[string]string{}
			for i := range n {
				m[fmt.Sprintf("filler-%d", i)] = "x"
			}
			for i := 0; i < len(pairs); i += 2 {
				m[pairs[i]] = pairs[i+1]
			}
			return m
		}
		enc := func(k *kmsapi.KeyMetadata, ec map[string]string) error {
			_, err := e.s.Encrypt(ctx, app, &kmsapi.EncryptRequest{KeyId: k.KeyId, Plaintext: []byte("x"), EncryptionContext: ec})
			return err
		}
		if err := enc(deny, with("tenant", "B", "TENANT", "A")); code(err) != "AccessDeniedException" {
			t.Errorf("%d keys, tenant=B TENANT=A under a Deny of tenant A: %v, want AccessDeniedException", n, err)
		}
		if err := enc(deny, with("tenant", "B", "TENANT", "B")); err != nil {
			t.Errorf("%d keys, tenant=B TENANT=B under a Deny of tenant A: %v", n, err)
		}
		if err := enc(allow, with("tenant", "B", "TENANT", "A")); code(err) != "AccessDeniedException" {
			t.Errorf("%d keys, tenant=B TENANT=A under an Allow of tenant B only: %v, want AccessDeniedException", n, err)
		}
		err := enc(allow, with("Tenant", "B"))
		if n > 39 && err != nil {
			t.Errorf("%d keys, Tenant=B and filler-39 under an Allow of both: %v", n, err)
		}
		if n <= 39 && code(err) != "AccessDeniedException" {
			t.Errorf("%d keys, Tenant=B without filler-39 under an Allow needing it: %v, want AccessDeniedException", n, err)
		}
	}
}
