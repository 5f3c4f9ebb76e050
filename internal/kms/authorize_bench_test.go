package kms

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// benchPolicy is a typical five-statement key policy with conditions; the
// caller is allowed by the fourth.
const benchPolicy = `{"Version":"2012-10-17","Statement":[
 {"Sid":"root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
 {"Sid":"admins","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/KeyAdmin"},"Action":["kms:Create*","kms:Describe*","kms:Enable*","kms:List*","kms:Put*","kms:Update*","kms:Revoke*","kms:Disable*","kms:Get*","kms:Delete*","kms:TagResource","kms:UntagResource","kms:ScheduleKeyDeletion","kms:CancelKeyDeletion"],"Resource":"*"},
 {"Sid":"deny other accounts","Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"StringNotEquals":{"kms:CallerAccount":"111122223333"}}},
 {"Sid":"app","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/app"},"Action":["kms:Encrypt","kms:Decrypt","kms:GenerateDataKey*"],"Resource":"*","Condition":{"StringEquals":{"kms:EncryptionContext:tenant":"acme"}}},
 {"Sid":"via service","Effect":"Allow","Principal":{"AWS":"*"},"Action":["kms:Decrypt"],"Resource":"*","Condition":{"StringEquals":{"kms:ViaService":"s3.us-east-1.amazonaws.com","kms:CallerAccount":"111122223333"}}}]}`

func benchEnv(b *testing.B) (*env, *kmsapi.KeyMetadata, Caller) {
	// The principals the policy names exist, as the policy binds them (app
	// is one of the fixture users).
	ie := newIAMEnv(b)
	ie.role("KeyAdmin", "app")
	e := &env{s: ie.s, clock: ie.clk, caller: ie.caller("AKIAROOT")}
	ctx := context.Background()
	out, err := e.s.CreateKey(ctx, e.caller, &kmsapi.CreateKeyRequest{Policy: wire.Ptr(benchPolicy), BypassPolicyLockoutSafetyCheck: wire.Ptr(true)})
	if err != nil {
		b.Fatal(err)
	}
	md := out.KeyMetadata
	for i := 0; i < 100; i++ {
		// Grantees must exist: CreateGrant refuses a principal that does not.
		iamUser(ie.ids, fmt.Sprintf("grantee%d", i))
		_, err := e.s.CreateGrant(ctx, e.caller, &kmsapi.CreateGrantRequest{
			KeyId: md.KeyId, GranteePrincipal: wire.Ptr(fmt.Sprintf("arn:aws:iam::111122223333:user/grantee%d", i)), Operations: []string{"Encrypt", "Decrypt"},
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	app := iamUser(ie.ids, "app")
	c := Caller{Account: app.Account, ARN: app.ARN, Region: "us-east-1", Identity: app, Request: authz.Request{Time: time.Unix(1.7e9, 0), SourceIP: "127.0.0.1"}}
	return e, md, c
}

// BenchmarkEncryptAuthorized is Encrypt by an IAM user that a five-statement
// key policy allows, on a key with 100 grants; BenchmarkEncryptUnauthorized
// is the same request with authorization taken out, the baseline the
// difference is measured against.
func BenchmarkEncryptAuthorized(b *testing.B) {
	e, md, c := benchEnv(b)
	in := &kmsapi.EncryptRequest{KeyId: md.KeyId, Plaintext: make([]byte, 32), EncryptionContext: map[string]string{"tenant": "acme"}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.s.Encrypt(ctx, c, in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncryptUnauthorized(b *testing.B) {
	e, md, c := benchEnv(b)
	k := e.s.view.testKey("us-east-1", *md.KeyId)
	m, err := e.s.symmetric(k)
	if err != nil {
		b.Fatal(err)
	}
	ec := map[string]string{"tenant": "acme"}
	pt := make([]byte, 32)
	b.ReportAllocs()
	for b.Loop() {
		// Everything Encrypt does but the authorization.
		k, _, err := e.s.lookup(c, *md.KeyId, keyOrAlias|crossAccount)
		if err != nil || checkKey(k, "Encrypt") != nil {
			b.Fatal(err)
		}
		if _, err := m.Encrypt(e.s.rand, pt, ec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthorize is the authorization step alone.
func BenchmarkAuthorize(b *testing.B) {
	e, md, c := benchEnv(b)
	k := e.s.view.testKey("us-east-1", *md.KeyId)
	a := access{op: "Encrypt", ec: map[string]string{"tenant": "acme"}, keys: []string{"kms:EncryptionAlgorithm", "SYMMETRIC_DEFAULT"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.s.authorize(c, k, a); err != nil {
			b.Fatal(err)
		}
	}
}
