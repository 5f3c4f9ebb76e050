package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/trentkms/trent/internal/testserver"
)

// Requests through a VPC endpoint carry aws:SourceVpce and aws:SourceVpc,
// not aws:SourceIp, and need the endpoint policy's allow too (KMS Developer
// Guide: connecting to AWS KMS through a VPC endpoint; VPC endpoint policies).
func TestVPCEndpoint(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "endpoint.json")
	os.WriteFile(pol, []byte(`{"Statement":[
		{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"},
		{"Effect":"Deny","Principal":"*","Action":"kms:ScheduleKeyDeletion","Resource":"*"}]}`), 0o600)
	srv := testserver.Start(t, testserver.Options{Env: []string{
		"TRENT_ENDPOINTS=id=vpce-0123456789abcdef0,vpc=vpc-0abc,listen=127.0.0.1:0,policy=" + pol + ";id=vpce-0fedcba9876543210,vpc=vpc-0def,listen=127.0.0.1:0",
	}})
	if len(srv.Endpoints) != 2 {
		t.Fatalf("endpoints = %v", srv.Endpoints)
	}
	ctx := testserver.Context(t)
	direct := kms.NewFromConfig(srv.Config(""))
	via := kms.NewFromConfig(srv.ConfigVia("vpce-0123456789abcdef0", "us-east-1", testserver.AccessKey, testserver.SecretKey, ""))
	other := kms.NewFromConfig(srv.ConfigVia("vpce-0fedcba9876543210", "us-east-1", testserver.AccessKey, testserver.SecretKey, ""))

	// A key usable only through the first endpoint (aws:SourceVpce), the
	// documented pattern of kms-vpc-endpoint.md.
	policy := `{"Version":"2012-10-17","Statement":[
		{"Sid":"admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":["kms:PutKeyPolicy","kms:GetKeyPolicy","kms:DescribeKey","kms:ScheduleKeyDeletion"],"Resource":"*"},
		{"Sid":"use via endpoint","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*",
		 "Condition":{"StringEquals":{"aws:SourceVpce":"vpce-0123456789abcdef0","aws:SourceVpc":"vpc-0abc"}}}]}`
	k := newKey(t, direct, &kms.CreateKeyInput{Policy: aws.String(policy)})
	_, err := direct.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x")})
	wantErr(t, err, "AccessDeniedException", "User: arn:aws:iam::"+acct+":root is not authorized to perform: kms:Encrypt on resource: "+*k.Arn+" because no resource-based policy allows the kms:Encrypt action")
	enc, err := via.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x")})
	if err != nil {
		t.Fatalf("Encrypt through the allowed endpoint: %v", err)
	}
	_, err = other.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	wantErr(t, err, "AccessDeniedException", "because no resource-based policy allows the kms:Decrypt action")
	// The endpoint policy's explicit deny wins over the key policy's allow.
	_, err = via.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: k.KeyId, PendingWindowInDays: aws.Int32(7)})
	wantErr(t, err, "AccessDeniedException", "with an explicit deny in a VPC endpoint policy")
	if _, err := direct.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: k.KeyId, PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatalf("ScheduleKeyDeletion outside the endpoint: %v", err)
	}
	// Account-level operations are subject to the endpoint policy too.
	if _, err := via.ListKeys(ctx, &kms.ListKeysInput{}); err != nil {
		t.Fatalf("ListKeys through the endpoint: %v", err)
	}
}
