package e2e

import (
	"bytes"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/trentkms/trent/internal/softhsmtest"
	"github.com/trentkms/trent/internal/testserver"
)

const softHSMModule = softhsmtest.Module

// softHSMToken initialises a SoftHSM2 token in a temporary directory and
// returns the environment that makes trent serve offer it as cluster.
func softHSMToken(t *testing.T, cluster, label, pin string) []string {
	t.Helper()
	return softHSMTokens(t, pin, [2]string{cluster, label})
}

// softHSMTokens initialises one SoftHSM2 token per {cluster, label}, all
// with the user PIN pin, and returns the environment that makes trent
// serve offer each as its cluster.
func softHSMTokens(t *testing.T, pin string, tokens ...[2]string) []string {
	t.Helper()
	var toks []softhsmtest.Token
	var hsms []string
	for _, tok := range tokens {
		toks = append(toks, softhsmtest.Token{Label: tok[1], PIN: pin})
		hsms = append(hsms, tok[0]+"=module="+softHSMModule+",token="+tok[1])
	}
	conf := softhsmtest.Init(t, toks...)
	return []string{"SOFTHSM2_CONF=" + conf, "TRENT_HSMS=" + strings.Join(hsms, ";")}
}

// trustAnchor is a self-signed certificate, standing in for a cluster's.
func trustAnchor(t *testing.T) string { return softhsmtest.TrustAnchor(t) }

func TestCustomKeyStore(t *testing.T) {
	const cluster, pin = "cluster-2a23b4cdefg", "kmsuser-pass"
	env := softHSMToken(t, cluster, "trent-cks", pin)
	dir := t.TempDir()
	srv := testserver.Start(t, testserver.Options{DataDir: dir, Env: env})
	cfg := srv.Config("")
	c := kms.NewFromConfig(cfg)
	ctx := testserver.Context(t)
	anchor := trustAnchor(t)

	_, err := c.CreateCustomKeyStore(ctx, &kms.CreateCustomKeyStoreInput{CustomKeyStoreName: aws.String("hsm"),
		CloudHsmClusterId: aws.String("cluster-2222222222a"), TrustAnchorCertificate: aws.String(anchor), KeyStorePassword: aws.String(pin)})
	wantErr(t, err, "CloudHsmClusterNotFoundException", "cluster-2222222222a")
	created, err := c.CreateCustomKeyStore(ctx, &kms.CreateCustomKeyStoreInput{CustomKeyStoreName: aws.String("hsm"),
		CloudHsmClusterId: aws.String(cluster), TrustAnchorCertificate: aws.String(anchor), KeyStorePassword: aws.String(pin)})
	if err != nil {
		t.Fatal(err)
	}
	id := *created.CustomKeyStoreId
	if len(id) != len("cks-1234567890abcdef0") {
		t.Errorf("custom key store id %q", id)
	}
	_, err = c.CreateCustomKeyStore(ctx, &kms.CreateCustomKeyStoreInput{CustomKeyStoreName: aws.String("hsm"),
		CloudHsmClusterId: aws.String(cluster), TrustAnchorCertificate: aws.String(anchor), KeyStorePassword: aws.String(pin)})
	wantErr(t, err, "CustomKeyStoreNameInUseException", "hsm")
	if _, err := iam.NewFromConfig(cfg).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("AWSServiceRoleForKeyManagementServiceCustomKeyStores")}); err != nil {
		t.Fatalf("the service-linked role after CreateCustomKeyStore: %v", err)
	}

	describe := func(want types.ConnectionStateType, code types.ConnectionErrorCodeType) {
		t.Helper()
		out, err := c.DescribeCustomKeyStores(ctx, &kms.DescribeCustomKeyStoresInput{CustomKeyStoreName: aws.String("hsm")})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.CustomKeyStores) != 1 {
			t.Fatalf("%d stores", len(out.CustomKeyStores))
		}
		s := out.CustomKeyStores[0]
		if *s.CustomKeyStoreId != id || *s.CloudHsmClusterId != cluster || s.ConnectionState != want || s.ConnectionErrorCode != code ||
			s.CustomKeyStoreType != types.CustomKeyStoreTypeAwsCloudhsm || *s.TrustAnchorCertificate != anchor {
			t.Fatalf("store %+v, want %s %s", s, want, code)
		}
	}
	describe(types.ConnectionStateTypeDisconnected, "")
	_, err = c.CreateKey(ctx, &kms.CreateKeyInput{Origin: types.OriginTypeAwsCloudhsm, CustomKeyStoreId: aws.String(id)})
	wantErr(t, err, "CustomKeyStoreInvalidStateException", id)

	if _, err := c.ConnectCustomKeyStore(ctx, &kms.ConnectCustomKeyStoreInput{CustomKeyStoreId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	describe(types.ConnectionStateTypeConnected, "")
	md := newKey(t, c, &kms.CreateKeyInput{Origin: types.OriginTypeAwsCloudhsm, CustomKeyStoreId: aws.String(id)})
	if md.Origin != types.OriginTypeAwsCloudhsm || aws.ToString(md.CustomKeyStoreId) != id || aws.ToString(md.CloudHsmClusterId) != cluster || md.KeyState != types.KeyStateEnabled {
		t.Fatalf("key metadata %+v", md)
	}
	_, err = c.CreateKey(ctx, &kms.CreateKeyInput{Origin: types.OriginTypeAwsCloudhsm, CustomKeyStoreId: aws.String(id), KeySpec: types.KeySpecRsa2048, KeyUsage: types.KeyUsageTypeSignVerify})
	wantErr(t, err, "UnsupportedOperationException", "symmetric")
	_, err = c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: md.KeyId})
	wantErr(t, err, "UnsupportedOperationException", "origin is AWS_CLOUDHSM")

	ec := map[string]string{"purpose": "e2e"}
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte("in the HSM"), EncryptionContext: ec})
	if err != nil {
		t.Fatal(err)
	}
	decrypt := func() (*kms.DecryptOutput, error) {
		return c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec})
	}
	dec, err := decrypt()
	if err != nil || string(dec.Plaintext) != "in the HSM" || *dec.KeyId != *md.Arn {
		t.Fatalf("Decrypt: %v", err)
	}
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	wantErr(t, err, "InvalidCiphertextException", "")
	dk, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: md.KeyId, KeySpec: types.DataKeySpecAes256})
	if err != nil {
		t.Fatal(err)
	}
	if dkpt, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob}); err != nil || !bytes.Equal(dkpt.Plaintext, dk.Plaintext) {
		t.Fatalf("Decrypt of a data key: %v", err)
	}
	rnd, err := c.GenerateRandom(ctx, &kms.GenerateRandomInput{CustomKeyStoreId: aws.String(id), NumberOfBytes: aws.Int32(32)})
	if err != nil || len(rnd.Plaintext) != 32 {
		t.Fatalf("GenerateRandom from the HSM: %v", err)
	}
	desc, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: md.KeyId})
	if err != nil || aws.ToString(desc.KeyMetadata.CustomKeyStoreId) != id {
		t.Fatalf("DescribeKey: %v", err)
	}

	_, err = c.DeleteCustomKeyStore(ctx, &kms.DeleteCustomKeyStoreInput{CustomKeyStoreId: aws.String(id)})
	wantErr(t, err, "CustomKeyStoreInvalidStateException", id)
	if _, err := c.DisconnectCustomKeyStore(ctx, &kms.DisconnectCustomKeyStoreInput{CustomKeyStoreId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	describe(types.ConnectionStateTypeDisconnected, "")
	desc, err = c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: md.KeyId})
	if err != nil || desc.KeyMetadata.KeyState != types.KeyStateUnavailable || desc.KeyMetadata.Enabled {
		t.Fatalf("DescribeKey while disconnected: %v %+v", err, desc)
	}
	_, err = decrypt()
	wantErr(t, err, "KMSInvalidStateException", *md.Arn+" is unavailable.")
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte("x")})
	wantErr(t, err, "KMSInvalidStateException", *md.Arn+" is unavailable.")
	_, err = c.GenerateRandom(ctx, &kms.GenerateRandomInput{CustomKeyStoreId: aws.String(id), NumberOfBytes: aws.Int32(8)})
	wantErr(t, err, "CustomKeyStoreInvalidStateException", id)
	_, err = c.DeleteCustomKeyStore(ctx, &kms.DeleteCustomKeyStoreInput{CustomKeyStoreId: aws.String(id)})
	wantErr(t, err, "CustomKeyStoreHasCMKsException", id)

	if _, err := c.ConnectCustomKeyStore(ctx, &kms.ConnectCustomKeyStoreInput{CustomKeyStoreId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	if dec, err := decrypt(); err != nil || string(dec.Plaintext) != "in the HSM" {
		t.Fatalf("Decrypt after reconnecting: %v", err)
	}

	// A wrong password: the store connects to FAILED, INVALID_CREDENTIALS.
	if _, err := c.DisconnectCustomKeyStore(ctx, &kms.DisconnectCustomKeyStoreInput{CustomKeyStoreId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateCustomKeyStore(ctx, &kms.UpdateCustomKeyStoreInput{CustomKeyStoreId: aws.String(id), KeyStorePassword: aws.String("wrong-password")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ConnectCustomKeyStore(ctx, &kms.ConnectCustomKeyStoreInput{CustomKeyStoreId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	describe(types.ConnectionStateTypeFailed, types.ConnectionErrorCodeTypeInvalidCredentials)
	_, err = c.ConnectCustomKeyStore(ctx, &kms.ConnectCustomKeyStoreInput{CustomKeyStoreId: aws.String(id)})
	wantErr(t, err, "CustomKeyStoreInvalidStateException", id)
	_, err = c.UpdateCustomKeyStore(ctx, &kms.UpdateCustomKeyStoreInput{CustomKeyStoreId: aws.String(id), KeyStorePassword: aws.String(pin)})
	wantErr(t, err, "CustomKeyStoreInvalidStateException", id)
	if _, err := c.DisconnectCustomKeyStore(ctx, &kms.DisconnectCustomKeyStoreInput{CustomKeyStoreId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateCustomKeyStore(ctx, &kms.UpdateCustomKeyStoreInput{CustomKeyStoreId: aws.String(id), KeyStorePassword: aws.String(pin), NewCustomKeyStoreName: aws.String("hsm")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ConnectCustomKeyStore(ctx, &kms.ConnectCustomKeyStoreInput{CustomKeyStoreId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	describe(types.ConnectionStateTypeConnected, "")
	if dec, err := decrypt(); err != nil || string(dec.Plaintext) != "in the HSM" {
		t.Fatalf("Decrypt with the password fixed: %v", err)
	}

	// A restart logs in again to the stores recorded CONNECTED.
	srv.Stop(t)
	srv = testserver.Start(t, testserver.Options{DataDir: dir, Env: env})
	cfg = srv.Config("")
	c = kms.NewFromConfig(cfg)
	describe(types.ConnectionStateTypeConnected, "")
	if dec, err := decrypt(); err != nil || string(dec.Plaintext) != "in the HSM" {
		t.Fatalf("Decrypt after a restart: %v", err)
	}

	// While the store exists, its service-linked role is in use.
	del, err := iam.NewFromConfig(cfg).DeleteServiceLinkedRole(ctx, &iam.DeleteServiceLinkedRoleInput{RoleName: aws.String("AWSServiceRoleForKeyManagementServiceCustomKeyStores")})
	if err != nil {
		t.Fatal(err)
	}
	st, err := iam.NewFromConfig(cfg).GetServiceLinkedRoleDeletionStatus(ctx, &iam.GetServiceLinkedRoleDeletionStatusInput{DeletionTaskId: del.DeletionTaskId})
	if err != nil || st.Status != "FAILED" || st.Reason == nil || len(st.Reason.RoleUsageList) != 1 || st.Reason.RoleUsageList[0].Resources[0] != id {
		t.Fatalf("deletion status of the role in use: %v %+v", err, st)
	}
}
