package kms

import (
	"context"
	"strings"
	"testing"

	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// A KeyId names a key by id, key ARN, alias name or alias ARN; management
// operations take the first two only. What does not name a key of the
// caller's account and Region gets the NotFoundException AWS returned
// (../shared/conformance/aws-kms-error-messages.tsv, describe-key-* rows).
func TestKeyIdForms(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	md := e.createKey(t)
	if _, err := e.s.CreateAlias(ctx, e.caller, &kmsapi.CreateAliasRequest{AliasName: wire.Ptr("alias/app"), TargetKeyId: md.KeyId}); err != nil {
		t.Fatal(err)
	}
	eu := e.caller
	eu.Region = "eu-west-1"
	out, err := e.s.CreateKey(ctx, eu, &kmsapi.CreateKeyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	euKey := out.KeyMetadata
	const missing = "1234abcd-12ab-34cd-56ef-1234567890ab"
	describe := func(id string) (*kmsapi.KeyMetadata, error) {
		out, err := e.s.DescribeKey(ctx, e.caller, &kmsapi.DescribeKeyRequest{KeyId: wire.Ptr(id)})
		if err != nil {
			return nil, err
		}
		return out.KeyMetadata, nil
	}
	enable := func(id string) (*kmsapi.KeyMetadata, error) {
		_, err := e.s.EnableKey(ctx, e.caller, &kmsapi.EnableKeyRequest{KeyId: wire.Ptr(id)})
		return md, err
	}
	aliasARN := "arn:aws:kms:us-east-1:111122223333:alias/app"
	tests := []struct {
		name string
		op   func(string) (*kmsapi.KeyMetadata, error)
		id   string
		want string // "" the key; else the NotFoundException's message
	}{
		{"key id", describe, *md.KeyId, ""},
		{"key ARN", describe, *md.Arn, ""},
		{"alias name", describe, "alias/app", ""},
		{"alias ARN", describe, aliasARN, ""},
		{"management operation, key id", enable, *md.KeyId, ""},
		{"management operation, key ARN", enable, *md.Arn, ""},
		// Trent's wording: no recorded AWS text for an alias where only a
		// key will do.
		{"management operation, alias name", enable, "alias/app", "Invalid keyId 'alias/app'"},
		{"management operation, alias ARN", enable, aliasARN, "Invalid arn " + aliasARN},
		// describe-key-with-invalid-uuid, -2, -mrk
		{"not a key id", describe, "fake-key-id", "Invalid keyId 'fake-key-id'"},
		{"a key id without its dashes", describe, "134f2428cec14b25a1ae9048164dba47", "Invalid keyId '134f2428cec14b25a1ae9048164dba47'"},
		{"not a multi-Region key id", describe, "mrk-fake-key-id", "Invalid keyId 'mrk-fake-key-id'"},
		// describe-nonexistent-key-with-id
		{"no such key", describe, missing, "Key 'arn:aws:kms:us-east-1:111122223333:key/" + missing + "' does not exist"},
		// describe-key-diff-region-with-id: an id is looked up in the
		// caller's Region.
		{"another Region's key by id", describe, *euKey.KeyId, "Key 'arn:aws:kms:us-east-1:111122223333:key/" + *euKey.KeyId + "' does not exist"},
		// describe-key-diff-region-with-arn: AWS names only the Region.
		{"another Region's key by ARN", describe, *euKey.Arn, "Invalid arn eu-west-1"},
		{"another account's key ARN", describe, strings.Replace(*md.Arn, "111122223333", "444455556666", 1),
			"Key '" + strings.Replace(*md.Arn, "111122223333", "444455556666", 1) + "' does not exist"},
		{"no such alias", describe, "alias/none", "Alias arn:aws:kms:us-east-1:111122223333:alias/none is not found."},
		{"not a KMS ARN", describe, "arn:aws:s3:::bucket", "Invalid arn arn:aws:s3:::bucket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.op(tt.id)
			if tt.want != "" {
				wantWireError(t, err, "NotFoundException", tt.want)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *got.Arn != *md.Arn {
				t.Fatalf("%q named %s, want %s", tt.id, *got.Arn, *md.Arn)
			}
		})
	}
}
