package e2e

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/trentkms/trent/internal/testserver"
)

// mrkRegions are the Regions of the multi-Region tests: one deployment
// serves all three.
var mrkRegions = []string{"us-east-1", "eu-west-1", "ap-southeast-2"}

func regionClients(srv *testserver.Server) map[string]*kms.Client {
	out := map[string]*kms.Client{}
	for _, r := range mrkRegions {
		out[r] = kms.NewFromConfig(srv.Config(r))
	}
	return out
}

func mrkConfig(t *testing.T, c *kms.Client, id string) *types.MultiRegionConfiguration {
	t.Helper()
	d, err := c.DescribeKey(testserver.Context(t), &kms.DescribeKeyInput{KeyId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if !aws.ToBool(d.KeyMetadata.MultiRegion) || d.KeyMetadata.MultiRegionConfiguration == nil {
		t.Fatalf("DescribeKey %s: not multi-Region: %+v", id, d.KeyMetadata)
	}
	return d.KeyMetadata.MultiRegionConfiguration
}

func replicaRegions(cfg *types.MultiRegionConfiguration) string {
	var rs []string
	for _, r := range cfg.ReplicaKeys {
		rs = append(rs, aws.ToString(r.Region))
	}
	return strings.Join(rs, ",")
}

func TestMultiRegionSymmetric(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{Regions: mrkRegions})
	cs := regionClients(srv)
	us, eu, ap := cs["us-east-1"], cs["eu-west-1"], cs["ap-southeast-2"]
	ctx := testserver.Context(t)

	p := newKey(t, us, &kms.CreateKeyInput{MultiRegion: aws.Bool(true), Description: aws.String("primary")})
	id := aws.ToString(p.KeyId)
	if !strings.HasPrefix(id, "mrk-") || len(id) != 36 || !aws.ToBool(p.MultiRegion) {
		t.Fatalf("CreateKey MultiRegion: id %q, MultiRegion %v", id, aws.ToBool(p.MultiRegion))
	}
	if cfg := p.MultiRegionConfiguration; cfg == nil || cfg.MultiRegionKeyType != types.MultiRegionKeyTypePrimary || aws.ToString(cfg.PrimaryKey.Region) != "us-east-1" || len(cfg.ReplicaKeys) != 0 {
		t.Fatalf("MultiRegionConfiguration of a new primary: %+v", cfg)
	}

	rep, err := us.ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: p.KeyId, ReplicaRegion: aws.String("eu-west-1"), Description: aws.String("replica"),
		Tags: []types.Tag{{TagKey: aws.String("team"), TagValue: aws.String("blue")}}})
	if err != nil {
		t.Fatal(err)
	}
	rm := rep.ReplicaKeyMetadata
	if aws.ToString(rm.KeyId) != id || aws.ToString(rm.Arn) != strings.Replace(aws.ToString(p.Arn), "us-east-1", "eu-west-1", 1) || rm.KeyState != types.KeyStateEnabled ||
		aws.ToString(rm.Description) != "replica" || rm.MultiRegionConfiguration.MultiRegionKeyType != types.MultiRegionKeyTypeReplica {
		t.Fatalf("ReplicaKeyMetadata = %+v", rm)
	}
	if !strings.Contains(aws.ToString(rep.ReplicaPolicy), "Enable IAM User Permissions") || len(rep.ReplicaTags) != 1 {
		t.Fatalf("ReplicaPolicy %q, ReplicaTags %+v", aws.ToString(rep.ReplicaPolicy), rep.ReplicaTags)
	}
	if _, err := us.ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: p.KeyId, ReplicaRegion: aws.String("ap-southeast-2")}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*kms.Client{us, eu, ap} {
		if cfg := mrkConfig(t, c, id); aws.ToString(cfg.PrimaryKey.Region) != "us-east-1" || replicaRegions(cfg) != "ap-southeast-2,eu-west-1" {
			t.Fatalf("family as described: primary %s, replicas %s", aws.ToString(cfg.PrimaryKey.Region), replicaRegions(cfg))
		}
	}

	// A blob binds the key id, not the ARN: any member decrypts it.
	enc, err := us.Encrypt(ctx, &kms.EncryptInput{KeyId: p.KeyId, Plaintext: []byte("across regions"), EncryptionContext: map[string]string{"a": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*kms.Client{eu, ap} {
		dec, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: map[string]string{"a": "b"}})
		if err != nil || string(dec.Plaintext) != "across regions" || !strings.Contains(aws.ToString(dec.KeyId), c.Options().Region) {
			t.Fatalf("Decrypt in another Region: %v %+v", err, dec)
		}
	}

	// Rotating the primary rotates every replica in the same transaction.
	if _, err := us.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: p.KeyId}); err != nil {
		t.Fatal(err)
	}
	cur := func(c *kms.Client) string {
		d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(d.KeyMetadata.CurrentKeyMaterialId)
	}
	if cur(us) == aws.ToString(p.CurrentKeyMaterialId) || cur(us) != cur(eu) || cur(us) != cur(ap) {
		t.Fatalf("current material after rotation: %s %s %s (was %s)", cur(us), cur(eu), cur(ap), aws.ToString(p.CurrentKeyMaterialId))
	}
	enc2, err := eu.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(id), Plaintext: []byte("new material")})
	if err != nil {
		t.Fatal(err)
	}
	if dec, err := us.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc2.CiphertextBlob}); err != nil || string(dec.Plaintext) != "new material" || aws.ToString(dec.KeyMaterialId) != cur(us) {
		t.Fatalf("replica's blob with the rotated material: %v %+v", err, dec)
	}
	if dec, err := ap.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: map[string]string{"a": "b"}}); err != nil || string(dec.Plaintext) != "across regions" {
		t.Fatalf("old blob after rotation: %v", err)
	}
	if _, err := eu.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: aws.String(id)}); err == nil {
		t.Fatal("EnableKeyRotation on a replica succeeded")
	} else {
		wantErr(t, err, "UnsupportedOperationException", "is a multi-Region replica key")
	}
	_, err = eu.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: aws.String(id)})
	wantErr(t, err, "UnsupportedOperationException", "is a multi-Region replica key")
	if _, err := us.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: p.KeyId, RotationPeriodInDays: aws.Int32(90)}); err != nil {
		t.Fatal(err)
	}
	if st, err := ap.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(id)}); err != nil || !st.KeyRotationEnabled || aws.ToInt32(st.RotationPeriodInDays) != 90 {
		t.Fatalf("replica's rotation status: %v %+v", err, st)
	}

	// Errors of ReplicateKey.
	_, err = eu.ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: aws.String(id), ReplicaRegion: aws.String("ap-southeast-2")})
	wantErr(t, err, "UnsupportedOperationException", aws.ToString(rm.Arn)+" is not a multi-region primary key.")
	_, err = us.ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: p.KeyId, ReplicaRegion: aws.String("eu-west-1")})
	wantErr(t, err, "AlreadyExistsException", "eu-west-1")
	_, err = us.ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: p.KeyId, ReplicaRegion: aws.String("us-east-1")})
	wantErr(t, err, "ValidationException", "must differ")
	_, err = us.ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: p.KeyId, ReplicaRegion: aws.String("sa-east-1")})
	wantErr(t, err, "UnsupportedOperationException", "not served by this Trent deployment")
	single := newKey(t, us, nil)
	_, err = us.ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: single.KeyId, ReplicaRegion: aws.String("eu-west-1")})
	wantErr(t, err, "UnsupportedOperationException", aws.ToString(single.Arn)+" is not a multi-region primary key.")
	if d, _ := us.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: single.KeyId}); aws.ToBool(d.KeyMetadata.MultiRegion) || d.KeyMetadata.MultiRegionConfiguration != nil {
		t.Fatalf("single-Region key described as multi-Region: %+v", d.KeyMetadata)
	}

	// UpdatePrimaryRegion both ways.
	if _, err := us.UpdatePrimaryRegion(ctx, &kms.UpdatePrimaryRegionInput{KeyId: p.KeyId, PrimaryRegion: aws.String("eu-west-1")}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*kms.Client{us, eu, ap} {
		if cfg := mrkConfig(t, c, id); aws.ToString(cfg.PrimaryKey.Region) != "eu-west-1" || replicaRegions(cfg) != "ap-southeast-2,us-east-1" {
			t.Fatalf("after UpdatePrimaryRegion: primary %s, replicas %s", aws.ToString(cfg.PrimaryKey.Region), replicaRegions(cfg))
		}
	}
	if cfg := mrkConfig(t, us, id); cfg.MultiRegionKeyType != types.MultiRegionKeyTypeReplica {
		t.Fatalf("old primary is %s", cfg.MultiRegionKeyType)
	}
	_, err = us.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: p.KeyId})
	wantErr(t, err, "UnsupportedOperationException", "is a multi-Region replica key")
	if _, err := eu.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: aws.String(id)}); err != nil {
		t.Fatalf("rotating the new primary: %v", err)
	}
	if cur(us) != cur(eu) {
		t.Fatal("the new primary's rotation did not reach the old primary")
	}
	_, err = us.UpdatePrimaryRegion(ctx, &kms.UpdatePrimaryRegionInput{KeyId: p.KeyId, PrimaryRegion: aws.String("ap-southeast-2")})
	wantErr(t, err, "UnsupportedOperationException", "is not a multi-region primary key.")
	if _, err := eu.UpdatePrimaryRegion(ctx, &kms.UpdatePrimaryRegionInput{KeyId: aws.String(id), PrimaryRegion: aws.String("us-east-1")}); err != nil {
		t.Fatal(err)
	}
	if cfg := mrkConfig(t, ap, id); aws.ToString(cfg.PrimaryKey.Region) != "us-east-1" {
		t.Fatalf("primary back in %s", aws.ToString(cfg.PrimaryKey.Region))
	}

	// Deletion: replicas first.
	_, err = us.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: p.KeyId, PendingWindowInDays: aws.Int32(7)})
	wantErr(t, err, "KMSInvalidStateException", "Delete its replica keys first")
	if _, err := ap.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(id), PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatalf("deleting a replica: %v", err)
	}
	_, err = ap.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc2.CiphertextBlob})
	wantErr(t, err, "KMSInvalidStateException", "is pending deletion")
}

func TestMultiRegionSignAcrossRegions(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{Regions: mrkRegions})
	cs := regionClients(srv)
	us, ap := cs["us-east-1"], cs["ap-southeast-2"]
	ctx := testserver.Context(t)
	p := newKey(t, us, &kms.CreateKeyInput{MultiRegion: aws.Bool(true), KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeSignVerify})
	if _, err := us.ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: p.KeyId, ReplicaRegion: aws.String("ap-southeast-2")}); err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("message"))
	sig, err := ap.Sign(ctx, &kms.SignInput{KeyId: p.KeyId, Message: digest[:], MessageType: types.MessageTypeDigest, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256})
	if err != nil {
		t.Fatal(err)
	}
	v, err := us.Verify(ctx, &kms.VerifyInput{KeyId: p.KeyId, Message: digest[:], MessageType: types.MessageTypeDigest, Signature: sig.Signature, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256})
	if err != nil || !v.SignatureValid {
		t.Fatalf("Verify in the primary's Region of a replica's signature: %v", err)
	}
	pub1, err := us.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: p.KeyId})
	if err != nil {
		t.Fatal(err)
	}
	pub2, err := ap.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: p.KeyId})
	if err != nil || !bytes.Equal(pub1.PublicKey, pub2.PublicKey) {
		t.Fatalf("public keys differ between Regions: %v", err)
	}
	_, err = us.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: p.KeyId})
	wantErr(t, err, "UnsupportedOperationException", "")
}

func TestMultiRegionAuthorization(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{Regions: mrkRegions})
	root := clientsFor(srv, testserver.AccessKey, testserver.SecretKey, "")
	ctx := testserver.Context(t)
	us := root.kms

	// The first multi-Region primary creates the service-linked role; the
	// caller needs iam:CreateServiceLinkedRole.
	u := newUser(t, srv, root, "maker")
	putUserPolicy(t, root, "maker", "kms", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}`)
	_, err := u.kms.CreateKey(ctx, &kms.CreateKeyInput{MultiRegion: aws.Bool(true)})
	wantErr(t, err, "AccessDenied", "iam:CreateServiceLinkedRole")
	if _, err := u.kms.CreateKey(ctx, &kms.CreateKeyInput{}); err != nil {
		t.Fatalf("a single-Region key needs no role: %v", err)
	}
	p := newKey(t, us, &kms.CreateKeyInput{MultiRegion: aws.Bool(true)})
	role, err := root.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("AWSServiceRoleForKeyManagementServiceMultiRegionKeys")})
	if err != nil || aws.ToString(role.Role.Path) != "/aws-service-role/mrk.kms.amazonaws.com/" {
		t.Fatalf("the multi-Region keys' service-linked role: %v %+v", err, role)
	}
	putUserPolicy(t, root, "maker", "slr", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:CreateServiceLinkedRole","Resource":"*","Condition":{"StringEquals":{"iam:AWSServiceName":"mrk.kms.amazonaws.com"}}}]}`)
	if _, err := u.kms.CreateKey(ctx, &kms.CreateKeyInput{MultiRegion: aws.Bool(true)}); err != nil {
		t.Fatalf("with iam:CreateServiceLinkedRole: %v", err)
	}
	if _, err := us.ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: p.KeyId, ReplicaRegion: aws.String("eu-west-1")}); err != nil {
		t.Fatal(err)
	}

	// The role cannot be deleted while multi-Region keys exist.
	del, err := root.iam.DeleteServiceLinkedRole(ctx, &iam.DeleteServiceLinkedRoleInput{RoleName: aws.String("AWSServiceRoleForKeyManagementServiceMultiRegionKeys")})
	if err != nil {
		t.Fatal(err)
	}
	st, err := root.iam.GetServiceLinkedRoleDeletionStatus(ctx, &iam.GetServiceLinkedRoleDeletionStatusInput{DeletionTaskId: del.DeletionTaskId})
	if err != nil || st.Status != "FAILED" || st.Reason == nil || len(st.Reason.RoleUsageList) != 2 {
		t.Fatalf("deletion status of the role in use: %v %+v", err, st)
	}
	found := false
	for _, ru := range st.Reason.RoleUsageList {
		if aws.ToString(ru.Region) == "eu-west-1" && len(ru.Resources) == 1 && strings.Contains(ru.Resources[0], aws.ToString(p.KeyId)) {
			found = true
		}
	}
	if !found {
		t.Fatalf("role usage does not name the replica: %+v", st.Reason.RoleUsageList)
	}

	// ReplicateKey needs kms:ReplicateKey on the primary and kms:CreateKey
	// in the replica Region.
	r := newUser(t, srv, root, "replicator")
	putUserPolicy(t, root, "replicator", "kms", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:CreateKey","kms:DescribeKey","kms:PutKeyPolicy"],"Resource":"*"}]}`)
	_, err = r.kms.ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: p.KeyId, ReplicaRegion: aws.String("ap-southeast-2")})
	wantErr(t, err, "AccessDeniedException", "kms:ReplicateKey")
	putUserPolicy(t, root, "replicator", "kms", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:ReplicateKey","kms:DescribeKey","kms:PutKeyPolicy"],"Resource":"*"},
		{"Effect":"Allow","Action":"kms:CreateKey","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}}]}`)
	_, err = r.kms.ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: p.KeyId, ReplicaRegion: aws.String("ap-southeast-2")})
	wantErr(t, err, "AccessDeniedException", "kms:CreateKey")
	putUserPolicy(t, root, "replicator", "kms", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:ReplicateKey","kms:DescribeKey","kms:PutKeyPolicy"],"Resource":"*","Condition":{"StringEquals":{"kms:ReplicaRegion":"eu-west-1"}}},
		{"Effect":"Allow","Action":"kms:CreateKey","Resource":"*"}]}`)
	_, err = r.kms.ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: p.KeyId, ReplicaRegion: aws.String("ap-southeast-2")})
	wantErr(t, err, "AccessDeniedException", "kms:ReplicateKey")
	putUserPolicy(t, root, "replicator", "kms", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:ReplicateKey","kms:DescribeKey","kms:PutKeyPolicy"],"Resource":"*","Condition":{"StringEquals":{"kms:ReplicaRegion":"ap-southeast-2"}}},
		{"Effect":"Allow","Action":"kms:CreateKey","Resource":"*"}]}`)
	if _, err := r.kms.ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: p.KeyId, ReplicaRegion: aws.String("ap-southeast-2")}); err != nil {
		t.Fatalf("ReplicateKey with both permissions: %v", err)
	}

	// kms:MultiRegionKeyType in a key policy: Encrypt only on the primary.
	pol := `{"Version":"2012-10-17","Statement":[{"Sid":"admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"kms:*","Resource":"*"},
		{"Sid":"use","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:user/user1"},"Action":"kms:Encrypt","Resource":"*","Condition":{"StringEquals":{"kms:MultiRegionKeyType":"PRIMARY"},"Bool":{"kms:MultiRegion":"true"}}}]}`
	newUser(t, srv, root, "user1")
	k, err := root.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("user1")})
	if err != nil {
		t.Fatal(err)
	}
	c2 := newKey(t, us, &kms.CreateKeyInput{MultiRegion: aws.Bool(true), Policy: aws.String(pol)})
	if _, err := us.ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: c2.KeyId, ReplicaRegion: aws.String("eu-west-1"), Policy: aws.String(pol)}); err != nil {
		t.Fatal(err)
	}
	u1us := kms.NewFromConfig(srv.ConfigFor("us-east-1", *k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey, ""))
	u1eu := kms.NewFromConfig(srv.ConfigFor("eu-west-1", *k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey, ""))
	if _, err := u1us.Encrypt(ctx, &kms.EncryptInput{KeyId: c2.KeyId, Plaintext: []byte("x")}); err != nil {
		t.Fatalf("Encrypt on the primary: %v", err)
	}
	_, err = u1eu.Encrypt(ctx, &kms.EncryptInput{KeyId: c2.KeyId, Plaintext: []byte("x")})
	wantErr(t, err, "AccessDeniedException", "kms:Encrypt")

	// kms:PrimaryRegion limits UpdatePrimaryRegion.
	pu := newUser(t, srv, root, "promoter")
	putUserPolicy(t, root, "promoter", "kms", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:UpdatePrimaryRegion","Resource":"*","Condition":{"StringEquals":{"kms:PrimaryRegion":"ap-southeast-2"}}}]}`)
	_, err = pu.kms.UpdatePrimaryRegion(ctx, &kms.UpdatePrimaryRegionInput{KeyId: p.KeyId, PrimaryRegion: aws.String("eu-west-1")})
	wantErr(t, err, "AccessDeniedException", "kms:UpdatePrimaryRegion")
	if _, err := pu.kms.UpdatePrimaryRegion(ctx, &kms.UpdatePrimaryRegionInput{KeyId: p.KeyId, PrimaryRegion: aws.String("ap-southeast-2")}); err != nil {
		t.Fatalf("UpdatePrimaryRegion allowed by kms:PrimaryRegion: %v", err)
	}
}
