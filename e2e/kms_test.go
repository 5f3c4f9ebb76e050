package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/trentkms/trent/internal/testserver"
)

// wantErr checks that err is the AWS error code with a message containing msg.
func wantErr(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want %s", err, code)
	}
	if ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), msg) {
		t.Fatalf("err = %s: %q, want %s containing %q", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
}

func newKey(t *testing.T, c *kms.Client, in *kms.CreateKeyInput) *types.KeyMetadata {
	t.Helper()
	if in == nil {
		in = &kms.CreateKeyInput{}
	}
	out, err := c.CreateKey(testserver.Context(t), in)
	if err != nil {
		t.Fatal(err)
	}
	return out.KeyMetadata
}

func TestKeyLifecycle(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	c := kms.NewFromConfig(srv.Config(""))
	ctx := testserver.Context(t)

	md := newKey(t, c, &kms.CreateKeyInput{Description: aws.String("first"), Tags: []types.Tag{{TagKey: aws.String("team"), TagValue: aws.String("ops")}}})
	wantARN := "arn:aws:kms:us-east-1:" + testserver.Account + ":key/" + *md.KeyId
	if *md.Arn != wantARN || *md.AWSAccountId != testserver.Account || md.KeyState != types.KeyStateEnabled ||
		!md.Enabled || md.KeySpec != types.KeySpecSymmetricDefault || md.KeyUsage != types.KeyUsageTypeEncryptDecrypt ||
		md.Origin != types.OriginTypeAwsKms || md.KeyManager != types.KeyManagerTypeCustomer || *md.Description != "first" ||
		len(md.EncryptionAlgorithms) != 1 || md.CreationDate == nil || md.CurrentKeyMaterialId == nil || *md.MultiRegion {
		t.Fatalf("CreateKey metadata = %+v", md)
	}

	d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: md.Arn})
	if err != nil || *d.KeyMetadata.KeyId != *md.KeyId || !d.KeyMetadata.CreationDate.Equal(*md.CreationDate) {
		t.Fatalf("DescribeKey by ARN = %+v, %v", d, err)
	}
	if _, err := c.UpdateKeyDescription(ctx, &kms.UpdateKeyDescriptionInput{KeyId: md.KeyId, Description: aws.String("second")}); err != nil {
		t.Fatal(err)
	}
	if d, _ := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: md.KeyId}); *d.KeyMetadata.Description != "second" {
		t.Fatalf("description after update = %q", *d.KeyMetadata.Description)
	}

	if _, err := c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: md.KeyId}); err != nil {
		t.Fatal(err)
	}
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte("x")})
	wantErr(t, err, "DisabledException", wantARN+" is disabled.")
	if _, err := c.EnableKey(ctx, &kms.EnableKeyInput{KeyId: md.KeyId}); err != nil {
		t.Fatal(err)
	}

	_, err = c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: md.KeyId, PendingWindowInDays: aws.Int32(6)})
	wantErr(t, err, "ValidationException", "Member must have value greater than or equal to 7")
	sd, err := c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: md.KeyId, PendingWindowInDays: aws.Int32(7)})
	if err != nil || sd.KeyState != types.KeyStatePendingDeletion || *sd.PendingWindowInDays != 7 || *sd.KeyId != wantARN {
		t.Fatalf("ScheduleKeyDeletion = %+v, %v", sd, err)
	}
	if days := sd.DeletionDate.Sub(*md.CreationDate).Hours() / 24; days < 6.9 || days > 7.1 {
		t.Fatalf("DeletionDate is %.2f days after creation, want 7", days)
	}
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte("x")})
	wantErr(t, err, "KMSInvalidStateException", wantARN+" is pending deletion.")
	_, err = c.EnableKey(ctx, &kms.EnableKeyInput{KeyId: md.KeyId})
	wantErr(t, err, "KMSInvalidStateException", wantARN+" is pending deletion.")
	d, _ = c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: md.KeyId})
	// PendingDeletionWindowInDays is only for PendingReplicaDeletion (KeyMetadata).
	if d.KeyMetadata.KeyState != types.KeyStatePendingDeletion || d.KeyMetadata.DeletionDate == nil || d.KeyMetadata.PendingDeletionWindowInDays != nil {
		t.Fatalf("DescribeKey pending deletion = %+v", d.KeyMetadata)
	}
	cd, err := c.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: md.KeyId})
	if err != nil || *cd.KeyId != wantARN {
		t.Fatalf("CancelKeyDeletion = %+v, %v", cd, err)
	}
	d, _ = c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: md.KeyId})
	if d.KeyMetadata.KeyState != types.KeyStateDisabled || d.KeyMetadata.DeletionDate != nil {
		t.Fatalf("after CancelKeyDeletion state = %v, deletion date %v; want Disabled and none", d.KeyMetadata.KeyState, d.KeyMetadata.DeletionDate)
	}
	_, err = c.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: md.KeyId})
	wantErr(t, err, "KMSInvalidStateException", wantARN+" is not pending deletion.")
}

func TestKeyIdentifiersAndNotFound(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{Regions: []string{"us-east-1", "eu-west-1"}})
	c := kms.NewFromConfig(srv.Config("us-east-1"))
	eu := kms.NewFromConfig(srv.Config("eu-west-1"))
	ctx := testserver.Context(t)
	md := newKey(t, c, nil)
	if _, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/app"), TargetKeyId: md.KeyId}); err != nil {
		t.Fatal(err)
	}
	aliasARN := "arn:aws:kms:us-east-1:" + testserver.Account + ":alias/app"
	for _, id := range []string{*md.KeyId, *md.Arn, "alias/app", aliasARN} {
		out, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
		if err != nil || *out.KeyMetadata.KeyId != *md.KeyId {
			t.Errorf("DescribeKey(%s) = %v", id, err)
		}
	}
	missing := "1234abcd-12ab-34cd-56ef-1234567890ab"
	cases := []struct{ id, code, msg string }{
		{"fake-key-id", "NotFoundException", "Invalid keyId 'fake-key-id'"},
		{missing, "NotFoundException", "Key 'arn:aws:kms:us-east-1:" + testserver.Account + ":key/" + missing + "' does not exist"},
		{"alias/none", "NotFoundException", "Alias arn:aws:kms:us-east-1:" + testserver.Account + ":alias/none is not found."},
		{"arn:aws:kms:ap-southeast-1:" + testserver.Account + ":key/" + *md.KeyId, "NotFoundException", "Invalid arn ap-southeast-1"},
	}
	for _, tt := range cases {
		_, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(tt.id)})
		wantErr(t, err, tt.code, tt.msg)
	}
	// Each Region has its own keys: the key does not exist in eu-west-1.
	_, err := eu.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: md.KeyId})
	wantErr(t, err, "NotFoundException", "Key 'arn:aws:kms:eu-west-1:"+testserver.Account+":key/"+*md.KeyId+"' does not exist")
	euKey := newKey(t, eu, nil)
	if !strings.HasPrefix(*euKey.Arn, "arn:aws:kms:eu-west-1:") {
		t.Fatalf("key created in eu-west-1 has ARN %s", *euKey.Arn)
	}
	// A Region the server does not serve fails authentication, as in AWS.
	_, err = kms.NewFromConfig(srv.Config("mars-north-1")).ListKeys(ctx, &kms.ListKeysInput{})
	wantErr(t, err, "InvalidSignatureException", "Credential should be scoped to a valid region")
	// Management operations take no alias.
	_, err = c.EnableKey(ctx, &kms.EnableKeyInput{KeyId: aws.String("alias/app")})
	wantErr(t, err, "NotFoundException", "Invalid keyId 'alias/app'")
}

func TestEncryptDecryptReEncrypt(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	c := kms.NewFromConfig(srv.Config(""))
	ctx := testserver.Context(t)
	k1, k2 := newKey(t, c, nil), newKey(t, c, nil)
	ec := map[string]string{"purpose": "test", "tenant": "a"}
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: k1.KeyId, Plaintext: []byte("attack at dawn"), EncryptionContext: ec})
	if err != nil || *enc.KeyId != *k1.Arn || enc.EncryptionAlgorithm != types.EncryptionAlgorithmSpecSymmetricDefault {
		t.Fatalf("Encrypt = %+v, %v", enc, err)
	}
	// Decrypt needs no KeyId: the blob names its key.
	dec, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec})
	if err != nil || string(dec.Plaintext) != "attack at dawn" || *dec.KeyId != *k1.Arn || *dec.KeyMaterialId != *k1.CurrentKeyMaterialId {
		t.Fatalf("Decrypt = %+v, %v", dec, err)
	}
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: map[string]string{"purpose": "test"}})
	wantErr(t, err, "InvalidCiphertextException", "")
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec, KeyId: k2.KeyId})
	wantErr(t, err, "IncorrectKeyException", "The key ID in the request does not identify a CMK that can perform this operation.")
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: []byte("garbage that is not a blob"), EncryptionContext: ec})
	wantErr(t, err, "InvalidCiphertextException", "")
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: k1.KeyId, Plaintext: bytes.Repeat([]byte("x"), 4097)})
	wantErr(t, err, "ValidationException", "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096")
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: k1.KeyId, Plaintext: []byte("x"), DryRun: aws.Bool(true)})
	wantErr(t, err, "DryRunOperationException", "The request would have succeeded, but the DryRun option is set.")

	re, err := c.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: ec, DestinationKeyId: k2.Arn, DestinationEncryptionContext: map[string]string{"new": "ctx"}})
	if err != nil || *re.SourceKeyId != *k1.Arn || *re.KeyId != *k2.Arn {
		t.Fatalf("ReEncrypt = %+v, %v", re, err)
	}
	dec, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: re.CiphertextBlob, EncryptionContext: map[string]string{"new": "ctx"}})
	if err != nil || string(dec.Plaintext) != "attack at dawn" || *dec.KeyId != *k2.Arn {
		t.Fatalf("Decrypt after ReEncrypt = %+v, %v", dec, err)
	}

	gdk, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: k1.KeyId, KeySpec: types.DataKeySpecAes256, EncryptionContext: ec})
	if err != nil || len(gdk.Plaintext) != 32 {
		t.Fatalf("GenerateDataKey = %+v, %v", gdk, err)
	}
	dec, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: gdk.CiphertextBlob, EncryptionContext: ec})
	if err != nil || !bytes.Equal(dec.Plaintext, gdk.Plaintext) {
		t.Fatalf("data key does not decrypt to its plaintext: %v", err)
	}
	n, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: k1.KeyId, NumberOfBytes: aws.Int32(7)})
	if err != nil || len(n.Plaintext) != 7 {
		t.Fatalf("GenerateDataKey(7 bytes) = %+v, %v", n, err)
	}
	_, err = c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: k1.KeyId})
	wantErr(t, err, "ValidationException", "Please specify either number of bytes or key spec.")
	wp, err := c.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: k1.KeyId, KeySpec: types.DataKeySpecAes128})
	if err != nil {
		t.Fatal(err)
	}
	dec, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: wp.CiphertextBlob})
	if err != nil || len(dec.Plaintext) != 16 {
		t.Fatalf("GenerateDataKeyWithoutPlaintext blob decrypts to %d bytes, %v", len(dec.Plaintext), err)
	}

	r, err := c.GenerateRandom(ctx, &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(1024)})
	if err != nil || len(r.Plaintext) != 1024 || bytes.Equal(r.Plaintext, make([]byte, 1024)) {
		t.Fatalf("GenerateRandom = %d bytes, %v", len(r.Plaintext), err)
	}
	_, err = c.GenerateRandom(ctx, &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(1025)})
	wantErr(t, err, "ValidationException", "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024")
	_, err = c.GenerateRandom(ctx, &kms.GenerateRandomInput{})
	wantErr(t, err, "ValidationException", "NumberOfBytes is required.")
}

func TestAliases(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	c := kms.NewFromConfig(srv.Config(""))
	ctx := testserver.Context(t)
	k1, k2 := newKey(t, c, nil), newKey(t, c, nil)
	_, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("app"), TargetKeyId: k1.KeyId})
	wantErr(t, err, "ValidationException", `Alias must start with the prefix "alias/".`)
	_, err = c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/aws/s3"), TargetKeyId: k1.KeyId})
	wantErr(t, err, "NotAuthorizedException", "")
	for i := 0; i < 3; i++ {
		if _, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(fmt.Sprintf("alias/a%d", i)), TargetKeyId: k1.KeyId}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/a0"), TargetKeyId: k2.KeyId})
	wantErr(t, err, "AlreadyExistsException", "An alias with the name arn:aws:kms:us-east-1:"+testserver.Account+":alias/a0 already exists")
	if _, err := c.UpdateAlias(ctx, &kms.UpdateAliasInput{AliasName: aws.String("alias/a0"), TargetKeyId: k2.KeyId}); err != nil {
		t.Fatal(err)
	}
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/a0"), Plaintext: []byte("x")})
	if err != nil || *enc.KeyId != *k2.Arn {
		t.Fatalf("Encrypt via updated alias used %v, %v; want %s", enc, err, *k2.Arn)
	}
	// Pagination: Limit 2 gives a marker that continues the listing.
	p1, err := c.ListAliases(ctx, &kms.ListAliasesInput{Limit: aws.Int32(2)})
	if err != nil || len(p1.Aliases) != 2 || !p1.Truncated || p1.NextMarker == nil {
		t.Fatalf("ListAliases page 1 = %+v, %v", p1, err)
	}
	p2, err := c.ListAliases(ctx, &kms.ListAliasesInput{Limit: aws.Int32(2), Marker: p1.NextMarker})
	if err != nil || len(p2.Aliases) != 1 || p2.Truncated || *p2.Aliases[0].AliasName != "alias/a2" {
		t.Fatalf("ListAliases page 2 = %+v, %v", p2, err)
	}
	byKey, err := c.ListAliases(ctx, &kms.ListAliasesInput{KeyId: k1.KeyId})
	if err != nil || len(byKey.Aliases) != 2 {
		t.Fatalf("ListAliases(KeyId) = %+v, %v; want a1 and a2", byKey, err)
	}
	if _, err := c.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: aws.String("alias/a1")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: aws.String("alias/a1")})
	wantErr(t, err, "NotFoundException", "alias/a1 is not found.")
}

func TestListKeysPagination(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	c := kms.NewFromConfig(srv.Config(""))
	ctx := testserver.Context(t)
	want := map[string]bool{}
	for i := 0; i < 5; i++ {
		want[*newKey(t, c, nil).KeyId] = true
	}
	got := map[string]bool{}
	p := kms.NewListKeysPaginator(c, &kms.ListKeysInput{Limit: aws.Int32(2)})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, k := range out.Keys {
			if got[*k.KeyId] {
				t.Fatalf("key %s listed twice", *k.KeyId)
			}
			got[*k.KeyId] = true
		}
	}
	if pages != 3 || len(got) != 5 {
		t.Fatalf("ListKeys gave %d keys in %d pages, want 5 in 3", len(got), pages)
	}
	for id := range want {
		if !got[id] {
			t.Fatalf("key %s not listed", id)
		}
	}
	_, err := c.ListKeys(ctx, &kms.ListKeysInput{Limit: aws.Int32(1001)})
	wantErr(t, err, "ValidationException", "Member must have value less than or equal to 1000")
}

func TestTags(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	c := kms.NewFromConfig(srv.Config(""))
	ctx := testserver.Context(t)
	k := newKey(t, c, nil)
	tag := func(k, v string) types.Tag { return types.Tag{TagKey: aws.String(k), TagValue: aws.String(v)} }
	if _, err := c.TagResource(ctx, &kms.TagResourceInput{KeyId: k.KeyId, Tags: []types.Tag{tag("a", "1"), tag("b", "2")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TagResource(ctx, &kms.TagResourceInput{KeyId: k.KeyId, Tags: []types.Tag{tag("a", "3")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &kms.UntagResourceInput{KeyId: k.KeyId, TagKeys: []string{"b", "never"}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: k.KeyId})
	if err != nil || len(out.Tags) != 1 || *out.Tags[0].TagKey != "a" || *out.Tags[0].TagValue != "3" {
		t.Fatalf("ListResourceTags = %+v, %v; want a=3", out, err)
	}
	_, err = c.TagResource(ctx, &kms.TagResourceInput{KeyId: k.KeyId, Tags: []types.Tag{tag("x", "1"), tag("x", "2")}})
	wantErr(t, err, "TagException", "Duplicate tag keys")
	_, err = c.TagResource(ctx, &kms.TagResourceInput{KeyId: k.KeyId, Tags: []types.Tag{tag("aws:thing", "1")}})
	wantErr(t, err, "TagException", "Tags beginning with aws: are reserved")
	var many []types.Tag
	for i := 0; i < 50; i++ {
		many = append(many, tag(fmt.Sprintf("k%d", i), "v"))
	}
	_, err = c.TagResource(ctx, &kms.TagResourceInput{KeyId: k.KeyId, Tags: many})
	wantErr(t, err, "TagException", "Too many tags")
	_, err = c.TagResource(ctx, &kms.TagResourceInput{KeyId: k.KeyId, Tags: []types.Tag{tag(strings.Repeat("k", 129), "v")}})
	wantErr(t, err, "ValidationException", "at 'tags.1.member.tagKey' failed to satisfy constraint: Member must have length less than or equal to 128")
	// A rejected request changed nothing.
	out, _ = c.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: k.KeyId})
	if len(out.Tags) != 1 {
		t.Fatalf("rejected TagResource calls changed the tags: %+v", out.Tags)
	}
}

func TestRotation(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	c := kms.NewFromConfig(srv.Config(""))
	ctx := testserver.Context(t)
	k := newKey(t, c, nil)
	old, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("before rotation")})
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: k.KeyId})
	if err != nil || st.KeyRotationEnabled {
		t.Fatalf("GetKeyRotationStatus on a new key = %+v, %v", st, err)
	}
	if _, err := c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: k.KeyId, RotationPeriodInDays: aws.Int32(90)}); err != nil {
		t.Fatal(err)
	}
	st, err = c.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: k.KeyId})
	if err != nil || !st.KeyRotationEnabled || *st.RotationPeriodInDays != 90 || st.NextRotationDate == nil {
		t.Fatalf("GetKeyRotationStatus after enable = %+v, %v", st, err)
	}
	_, err = c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: k.KeyId, RotationPeriodInDays: aws.Int32(89)})
	wantErr(t, err, "ValidationException", "Member must have value greater than or equal to 90")
	if _, err := c.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: k.KeyId}); err != nil {
		t.Fatal(err)
	}
	d, _ := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyId})
	if *d.KeyMetadata.CurrentKeyMaterialId == *k.CurrentKeyMaterialId {
		t.Fatal("RotateKeyOnDemand did not change the current key material")
	}
	rots, err := c.ListKeyRotations(ctx, &kms.ListKeyRotationsInput{KeyId: k.KeyId})
	if err != nil || len(rots.Rotations) != 1 || rots.Rotations[0].RotationType != types.RotationTypeOnDemand ||
		*rots.Rotations[0].KeyMaterialId != *d.KeyMetadata.CurrentKeyMaterialId {
		t.Fatalf("ListKeyRotations = %+v, %v", rots, err)
	}
	// Old ciphertext still decrypts; new ciphertext uses the new material.
	dec, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: old.CiphertextBlob})
	if err != nil || string(dec.Plaintext) != "before rotation" || *dec.KeyMaterialId != *k.CurrentKeyMaterialId {
		t.Fatalf("old ciphertext after rotation: %+v, %v", dec, err)
	}
	enc, _ := c.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("after")})
	dec, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	if err != nil || *dec.KeyMaterialId != *d.KeyMetadata.CurrentKeyMaterialId {
		t.Fatalf("new ciphertext material = %v, %v", dec.KeyMaterialId, err)
	}
	for i := 1; i < 25; i++ {
		if _, err := c.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: k.KeyId}); err != nil {
			t.Fatalf("on-demand rotation %d: %v", i+1, err)
		}
	}
	_, err = c.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: k.KeyId})
	wantErr(t, err, "LimitExceededException", "The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: "+*k.Arn)
	if _, err := c.DisableKeyRotation(ctx, &kms.DisableKeyRotationInput{KeyId: k.KeyId}); err != nil {
		t.Fatal(err)
	}
	if st, _ := c.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: k.KeyId}); st.KeyRotationEnabled {
		t.Fatal("rotation still enabled after DisableKeyRotation")
	}
	if _, err := c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: k.KeyId}); err != nil {
		t.Fatal(err)
	}
	_, err = c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: k.KeyId})
	wantErr(t, err, "DisabledException", *k.Arn+" is disabled.")
}

func TestKeyPolicies(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	c := kms.NewFromConfig(srv.Config(""))
	ctx := testserver.Context(t)
	k := newKey(t, c, nil)
	got, err := c.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: k.KeyId})
	if err != nil || *got.PolicyName != "default" || !strings.Contains(*got.Policy, `"AWS" : "arn:aws:iam::`+testserver.Account+`:root"`) {
		t.Fatalf("default key policy = %+v, %v", got, err)
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Sid":"x","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testserver.Account + `:root"},"Action":"kms:*","Resource":"*"}]}`
	if _, err := c.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: k.KeyId, Policy: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	got, _ = c.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: k.KeyId, PolicyName: aws.String("default")})
	if *got.Policy != policy {
		t.Fatalf("GetKeyPolicy = %s, want the document as put", *got.Policy)
	}
	lp, err := c.ListKeyPolicies(ctx, &kms.ListKeyPoliciesInput{KeyId: k.KeyId})
	if err != nil || len(lp.PolicyNames) != 1 || lp.PolicyNames[0] != "default" {
		t.Fatalf("ListKeyPolicies = %+v, %v", lp, err)
	}
	k2 := newKey(t, c, &kms.CreateKeyInput{Policy: aws.String(policy)})
	if got, _ := c.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: k2.KeyId}); *got.Policy != policy {
		t.Fatalf("CreateKey Policy not stored as given: %s", *got.Policy)
	}
}

func TestOperationsNotBuiltAnswerClearly(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	c := kms.NewFromConfig(srv.Config(""))
	ctx := testserver.Context(t)
	// Every operation of the model is routed now; what is not built is
	// replication to a Region that another deployment serves.
	k := newKey(t, c, &kms.CreateKeyInput{MultiRegion: aws.Bool(true)})
	_, err := c.ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: k.KeyId, ReplicaRegion: aws.String("us-west-2")})
	wantErr(t, err, "UnsupportedOperationException", "Region us-west-2 is not served by this Trent deployment")
}
