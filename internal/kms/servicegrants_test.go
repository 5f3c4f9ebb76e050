package kms

import (
	"context"
	"strings"
	"testing"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/policy"
	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

const testService = "backup.example.internal"

// serviceCaller is a registered service acting for itself, on behalf of
// source (aws:SourceArn).
func serviceCaller(service, source string) Caller {
	c := Caller{Region: "us-east-1", Identity: &authz.Identity{Principal: authz.Principal{ARN: service, Type: authz.ServiceType, Name: service, UserID: service}}}
	c.ARN, c.Request.SourceARN = service, source
	return c
}

// Grants to service principals (CreateGrant GranteeServicePrincipal and
// RetiringServicePrincipal; ListGrants and ListRetirableGrants filters):
// the service acting for itself uses the key on behalf of the grant's
// SourceArn, lists and retires its grants; IAM principals do not match them.
func TestServicePrincipalGrants(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	k := e.createKey(t)
	source := wire.Ptr(testSource)
	bad := []struct {
		name string
		in   *kmsapi.CreateGrantRequest
		msg  string
	}{
		{"both grantees", &kmsapi.CreateGrantRequest{GranteePrincipal: wire.Ptr("arn:aws:iam::111122223333:role/R"), GranteeServicePrincipal: wire.Ptr(testService),
			RetiringServicePrincipal: wire.Ptr(testService), Constraints: &kmsapi.GrantConstraints{SourceArn: source}},
			"You must specify either GranteePrincipal or GranteeServicePrincipal, but not both."},
		{"both retiring principals", &kmsapi.CreateGrantRequest{GranteeServicePrincipal: wire.Ptr(testService), RetiringPrincipal: wire.Ptr("111122223333"),
			RetiringServicePrincipal: wire.Ptr(testService), Constraints: &kmsapi.GrantConstraints{SourceArn: source}},
			"You can specify either RetiringPrincipal or RetiringServicePrincipal, but not both."},
		{"a service grantee without SourceArn", &kmsapi.CreateGrantRequest{GranteeServicePrincipal: wire.Ptr(testService), RetiringServicePrincipal: wire.Ptr(testService)},
			"When you specify a GranteeServicePrincipal, you must also specify a SourceArn grant constraint."},
		{"a service grantee without a retiring principal", &kmsapi.CreateGrantRequest{GranteeServicePrincipal: wire.Ptr(testService), Constraints: &kmsapi.GrantConstraints{SourceArn: source}},
			"When you specify a GranteeServicePrincipal, you must also specify either a RetiringPrincipal or a RetiringServicePrincipal."},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.KeyId, tt.in.Operations = k.KeyId, []string{"Encrypt"}
			_, err := e.s.CreateGrant(ctx, e.caller, tt.in)
			if code(err) != "ValidationException" || err.Error() != "ValidationException: "+tt.msg {
				t.Fatalf("got %v, want ValidationException %q", err, tt.msg)
			}
		})
	}

	g := e.grant(t, e.caller, &kmsapi.CreateGrantRequest{KeyId: k.KeyId, GranteeServicePrincipal: wire.Ptr(testService), RetiringServicePrincipal: wire.Ptr(testService),
		Operations: []string{"Encrypt", "DescribeKey"}, Constraints: &kmsapi.GrantConstraints{SourceArn: source}})
	entry := e.grantEntry(t, *k.KeyId, *g.GrantId)
	if wire.String(entry.GranteeServicePrincipal) != testService || wire.String(entry.RetiringServicePrincipal) != testService || entry.GranteePrincipal != nil || entry.RetiringPrincipal != nil {
		t.Fatalf("ListGrants entry %+v", entry)
	}
	enc := func(c Caller) error {
		_, err := e.s.Encrypt(ctx, c, &kmsapi.EncryptRequest{KeyId: wire.Ptr(arnOf(k)), Plaintext: []byte("x")})
		return err
	}
	if err := enc(serviceCaller(testService, testSource)); err != nil {
		t.Fatalf("the grantee service on behalf of the SourceArn: %v", err)
	}
	for name, c := range map[string]Caller{
		"another service":         serviceCaller("other.example.internal", testSource),
		"another source":          serviceCaller(testService, "arn:aws:sqs:us-east-1:111122223333:other"),
		"an IAM user of the name": userCaller(e, testService),
	} {
		if err := enc(c); code(err) != "AccessDeniedException" {
			t.Errorf("%s: %v, want AccessDeniedException", name, err)
		}
	}

	svc := serviceCaller(testService, "")
	listed, err := e.s.ListGrants(ctx, svc, &kmsapi.ListGrantsRequest{KeyId: wire.Ptr(arnOf(k)), GranteeServicePrincipal: wire.Ptr(testService)})
	if code(err) != "AccessDeniedException" {
		// The key policy does not let the service list grants: the filter
		// is checked, then ListGrants is authorized as for anyone.
		t.Fatalf("ListGrants by the service without permission: %+v, %v", listed, err)
	}
	if _, err := e.s.ListGrants(ctx, e.caller, &kmsapi.ListGrantsRequest{KeyId: k.KeyId, GranteeServicePrincipal: wire.Ptr(testService)}); code(err) != "ValidationException" {
		t.Fatalf("GranteeServicePrincipal filter from an IAM caller: %v", err)
	}
	if _, err := e.s.ListGrants(ctx, e.caller, &kmsapi.ListGrantsRequest{KeyId: k.KeyId, GranteePrincipal: wire.Ptr("111122223333"), GranteeServicePrincipal: wire.Ptr(testService)}); code(err) != "ValidationException" {
		t.Fatalf("both ListGrants filters: %v", err)
	}
	retirable, err := e.s.ListRetirableGrants(ctx, svc, &kmsapi.ListRetirableGrantsRequest{RetiringServicePrincipal: wire.Ptr(testService)})
	if err != nil || len(retirable.Grants) != 1 || *retirable.Grants[0].GrantId != *g.GrantId {
		t.Fatalf("ListRetirableGrants by the retiring service: %+v, %v", retirable, err)
	}
	if _, err := e.s.ListRetirableGrants(ctx, e.caller, &kmsapi.ListRetirableGrantsRequest{RetiringServicePrincipal: wire.Ptr(testService)}); code(err) != "ValidationException" {
		t.Fatalf("RetiringServicePrincipal filter from an IAM caller: %v", err)
	}
	if _, err := e.s.RetireGrant(ctx, serviceCaller("other.example.internal", ""), &kmsapi.RetireGrantRequest{KeyId: wire.Ptr(arnOf(k)), GrantId: g.GrantId}); code(err) != "AccessDeniedException" {
		t.Fatalf("RetireGrant by another service: %v", err)
	}
	if _, err := e.s.RetireGrant(ctx, svc, &kmsapi.RetireGrantRequest{GrantToken: g.GrantToken}); err != nil {
		t.Fatalf("RetireGrant by the retiring service: %v", err)
	}
	if err := enc(serviceCaller(testService, testSource)); code(err) != "AccessDeniedException" {
		t.Fatalf("Encrypt after the grant was retired: %v", err)
	}
}

func arnOf(md *kmsapi.KeyMetadata) string { return *md.Arn }

// ListRetirableGrants by a retiring service principal goes through the one
// door (authorize) for each key whose grants it would list, as RetireGrant
// of those grants does (decideRetire): it needs no policy, since AWS
// authorizes no key for ListRetirableGrants (API reference: "KMS does not
// evaluate the caller's permissions to verify their access to any KMS keys or
// grants that might be returned"), but what bounds every permission still
// applies (IAM User Guide, reference_policies_evaluation-logic.md: an
// explicit deny in any policy; kms-vpc-endpoint.md: the endpoint policy
// must allow). A key whose owner denies the service keeps its grants out of
// the list, the others' grants are listed, and the audit note names only the
// keys listed, each allowed as the retiring principal.
func TestListRetirableGrantsByServiceThroughTheDoor(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	open := e.createKey(t)
	closed := e.keyWithPolicy(t, `,{"Sid":"NoServiceListing","Effect":"Deny","Principal":"*","Action":"kms:ListRetirableGrants","Resource":"*"}`)
	grantOn := func(k *kmsapi.KeyMetadata) string {
		g := e.grant(t, e.caller, &kmsapi.CreateGrantRequest{KeyId: k.KeyId, GranteeServicePrincipal: wire.Ptr(testService), RetiringServicePrincipal: wire.Ptr(testService),
			Operations: []string{"Encrypt"}, Constraints: &kmsapi.GrantConstraints{SourceArn: wire.Ptr(testSource)}})
		return *g.GrantId
	}
	listed := grantOn(open)
	grantOn(closed)

	svc := serviceCaller(testService, "")
	svc.Note = &Note{}
	out, err := e.s.ListRetirableGrants(ctx, svc, &kmsapi.ListRetirableGrantsRequest{RetiringServicePrincipal: wire.Ptr(testService)})
	if err != nil || len(out.Grants) != 1 || *out.Grants[0].GrantId != listed {
		t.Fatalf("ListRetirableGrants by the service, one key denying it: %+v, %v; want only grant %s", out, err, listed)
	}
	if n := svc.Note; len(n.Resources) != 1 || n.Resources[0] != *open.Arn || !n.Decided || !n.Decision.Allowed() || n.Decision.By != authz.ByRetiringPrincipal {
		t.Fatalf("audit note %+v, want key %s allowed by retiring-principal", n, *open.Arn)
	}

	// An endpoint policy that does not allow the listing leaves nothing.
	svc = serviceCaller(testService, "")
	ep, err := policy.Compile([]byte(`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:Encrypt","Resource":"*"}]}`), policy.Options{Kind: policy.ResourceKind})
	if err != nil {
		t.Fatal(err)
	}
	svc.Request.Endpoint = ep
	if out, err := e.s.ListRetirableGrants(ctx, svc, &kmsapi.ListRetirableGrantsRequest{RetiringServicePrincipal: wire.Ptr(testService)}); err != nil || len(out.Grants) != 0 {
		t.Fatalf("ListRetirableGrants through an endpoint whose policy does not allow it: %+v, %v; want no grant", out, err)
	}
}

// A grant that a service principal creates is issued under the account of
// the key whose policy let it (ListGrants IssuingAccount: "the AWS account
// under which the grant was issued"); a service has no account of its own,
// so the grant does not name the empty account's root, which no one is and
// every service's empty account would match.
func TestGrantCreatedByServiceIssuedUnderKeyAccount(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	k := e.keyWithPolicy(t, `,{"Effect":"Allow","Principal":{"Service":"`+testService+`"},"Action":"kms:CreateGrant","Resource":"*"}`)
	svc := serviceCaller(testService, testSource)
	g, err := e.s.CreateGrant(ctx, svc, &kmsapi.CreateGrantRequest{KeyId: wire.Ptr(arnOf(k)), GranteeServicePrincipal: wire.Ptr(testService),
		RetiringServicePrincipal: wire.Ptr(testService), Operations: []string{"Encrypt"}, Constraints: &kmsapi.GrantConstraints{SourceArn: wire.Ptr(testSource)}})
	if err != nil {
		t.Fatalf("CreateGrant by the service the key policy allows: %v", err)
	}
	if got := wire.String(e.grantEntry(t, *k.KeyId, *g.GrantId).IssuingAccount); got != "arn:aws:iam::111122223333:root" {
		t.Fatalf("IssuingAccount %q, want the key's account arn:aws:iam::111122223333:root", got)
	}

	// One stored before: read as issued under the key's account.
	rec := grantRecord{ID: strings.Repeat("cd", 32), KeyID: *k.KeyId, Account: "111122223333", Region: "us-east-1", Created: e.clock.Now(),
		GranteeService: testService, RetiringService: testService, Issuing: "arn:aws:iam:::root", Ops: []string{"Encrypt"}, SourceArn: testSource}
	if err := e.s.commit(ctx, store.Txn{Puts: []store.KV{{Key: grantPath(rec.Account, rec.Region, rec.KeyID, rec.ID), Value: marshal(rec)}}}); err != nil {
		t.Fatal(err)
	}
	if got := wire.String(e.grantEntry(t, *k.KeyId, rec.ID).IssuingAccount); got != "arn:aws:iam::111122223333:root" {
		t.Fatalf("IssuingAccount of a grant stored with the empty account: %q, want the key's account", got)
	}
}
