package e2e

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/trentkms/trent/internal/testserver"
)

// TestServicePrincipalGrants: a grant to a service principal, made and
// listed through the SDK, lets that registered service acting for itself use
// the key on behalf of the grant's SourceArn, list the grants it may retire
// and retire them (CreateGrant GranteeServicePrincipal,
// RetiringServicePrincipal; ListRetirableGrants RetiringServicePrincipal).
func TestServicePrincipalGrants(t *testing.T) {
	const service, source = "backup.example.internal", "arn:aws:sqs:us-east-1:111122223333:backups"
	srv := testserver.Start(t, testserver.Options{})
	c := kms.NewFromConfig(srv.Config(""))
	ctx := testserver.Context(t)
	k := newKey(t, c, nil)
	g, err := c.CreateGrant(ctx, &kms.CreateGrantInput{KeyId: k.KeyId, GranteeServicePrincipal: aws.String(service), RetiringServicePrincipal: aws.String(service),
		Operations: []types.GrantOperation{types.GrantOperationEncrypt}, Constraints: &types.GrantConstraints{SourceArn: aws.String(source)}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateGrant(ctx, &kms.CreateGrantInput{KeyId: k.KeyId, GranteeServicePrincipal: aws.String(service), RetiringServicePrincipal: aws.String(service),
		Operations: []types.GrantOperation{types.GrantOperationEncrypt}})
	wantErr(t, err, "ValidationException", "SourceArn")
	l, err := c.ListGrants(ctx, &kms.ListGrantsInput{KeyId: k.KeyId})
	if err != nil || len(l.Grants) != 1 || aws.ToString(l.Grants[0].GranteeServicePrincipal) != service || aws.ToString(l.Grants[0].RetiringServicePrincipal) != service || l.Grants[0].GranteePrincipal != nil {
		t.Fatalf("ListGrants = %+v, %v", l, err)
	}

	key, secret := registerService(t, srv, service)
	encrypt := map[string]any{"KeyId": *k.Arn, "Plaintext": "aGVsbG8="}
	if status, out := kmsCall(t, srv, key, secret, "Encrypt", encrypt, map[string]string{"X-Trent-Source-Arn": source}); status != 200 {
		t.Fatalf("Encrypt by the grantee service for its SourceArn: %d %v", status, out)
	}
	if status, out := kmsCall(t, srv, key, secret, "Encrypt", encrypt, nil); status != 400 || out["__type"] != "AccessDeniedException" {
		t.Fatalf("Encrypt by the service for no resource: %d %v", status, out)
	}
	status, out := kmsCall(t, srv, key, secret, "ListRetirableGrants", map[string]any{"RetiringServicePrincipal": service}, nil)
	if grants, _ := out["Grants"].([]any); status != 200 || len(grants) != 1 {
		t.Fatalf("ListRetirableGrants by the retiring service: %d %v", status, out)
	}
	if status, out := kmsCall(t, srv, key, secret, "RetireGrant", map[string]any{"GrantToken": *g.GrantToken}, nil); status != 200 {
		t.Fatalf("RetireGrant by the retiring service: %d %v", status, out)
	}
	if status, _ := kmsCall(t, srv, key, secret, "Encrypt", encrypt, map[string]string{"X-Trent-Source-Arn": source}); status != 400 {
		t.Fatalf("Encrypt after the grant was retired: %d", status)
	}
}
