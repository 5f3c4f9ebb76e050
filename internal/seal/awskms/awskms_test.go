package awskms_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/trentkms/trent/internal/seal"
	"github.com/trentkms/trent/internal/seal/awskms"
	"github.com/trentkms/trent/internal/testserver"
)

// New needs a key and a Region, and calls nothing.
func TestNewRefusesWhatItCannotUse(t *testing.T) {
	ctx := context.Background()
	cfg := aws.Config{Region: "us-east-1"}
	if _, err := awskms.New(ctx, awskms.Config{AWS: &cfg}); err == nil || !strings.Contains(err.Error(), "key= is required") {
		t.Fatalf("New without a key: %v", err)
	}
	if _, err := awskms.New(ctx, awskms.Config{KeyID: "alias/root", AWS: &aws.Config{}}); err == nil || !strings.Contains(err.Error(), "no Region") {
		t.Fatalf("New without a Region: %v", err)
	}
	// Nothing listens here; New must not notice.
	s, err := awskms.New(ctx, awskms.Config{KeyID: "alias/root", Endpoint: "http://127.0.0.1:1", AWS: &cfg, Timeout: time.Second})
	if err != nil {
		t.Fatalf("New with an unreachable endpoint: %v", err)
	}
	if s.Kind() != seal.KMS {
		t.Fatalf("Kind %v, want seal.KMS", s.Kind())
	}
	if _, _, err := s.Wrap(ctx, make([]byte, 32), []byte("ad")); err == nil || !strings.Contains(err.Error(), "cannot reach http://127.0.0.1:1 (Encrypt)") {
		t.Fatalf("Wrap with the endpoint unreachable: %v", err)
	}
	if _, err := s.Unwrap(ctx, json.RawMessage(`{}`), []byte("blob"), []byte("ad")); err == nil || !strings.Contains(err.Error(), "malformed") {
		t.Fatalf("Unwrap without a recorded key ARN: %v", err)
	}
}

// Against a real KMS (Trent): the root key comes back only with the same
// associated data, a wrong one is ErrWrongSeal, and a key the KMS refuses
// to use is named with the KMS's error.
func TestWrapUnwrap(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	ctx := testserver.Context(t)
	cfg := srv.Config("")
	c := kms.NewFromConfig(cfg)
	k, err := c.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/root"), TargetKeyId: k.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	s, err := awskms.New(ctx, awskms.Config{KeyID: "alias/root", Endpoint: srv.URL, AWS: &cfg})
	if err != nil {
		t.Fatal(err)
	}
	root := bytes.Repeat([]byte{7}, 32)
	params, wrapped, err := s.Wrap(ctx, root, []byte("node-1"))
	if err != nil {
		t.Fatal(err)
	}
	// The key's ARN is recorded, so that Unwrap names the key even if the
	// alias moves.
	if !strings.Contains(string(params), *k.KeyMetadata.Arn) {
		t.Fatalf("recorded parameters %s do not name the key's ARN %s", params, *k.KeyMetadata.Arn)
	}
	if bytes.Contains(wrapped, root) {
		t.Fatal("the wrapped root key contains the root key")
	}
	got, err := s.Unwrap(ctx, params, wrapped, []byte("node-1"))
	if err != nil || !bytes.Equal(got, root) {
		t.Fatalf("Unwrap: %x, %v", got, err)
	}
	if _, err := s.Unwrap(ctx, params, wrapped, []byte("node-2")); !errors.Is(err, seal.ErrWrongSeal) {
		t.Fatalf("Unwrap with other associated data: %v, want ErrWrongSeal", err)
	}
	if _, err := c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: k.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	_, err = s.Unwrap(ctx, params, wrapped, []byte("node-1"))
	if err == nil || errors.Is(err, seal.ErrWrongSeal) || !strings.Contains(err.Error(), "refused Decrypt") || !strings.Contains(err.Error(), "DisabledException") {
		t.Fatalf("Unwrap with the key disabled: %v, want the KMS's DisabledException", err)
	}
}
