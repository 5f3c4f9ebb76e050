package e2e

import (
	"bufio"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/testserver"
)

// awsError is one row of ../shared/conformance/aws-kms-error-messages.tsv:
// an error AWS KMS returned in a recorded situation.
type awsError struct {
	line            int
	situation, code string
	message         string // with the recording's placeholders
	status          string // the HTTP status
}

func loadAWSErrors(t *testing.T) []awsError {
	t.Helper()
	f, err := os.Open(filepath.Join(sharedDir(), "conformance", "aws-kms-error-messages.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []awsError
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.HasPrefix(line, "situation\t") {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 4 {
			t.Fatalf("line %d: %d columns", n, len(cols))
		}
		out = append(out, awsError{line: n, situation: cols[0], status: cols[1], code: cols[2], message: cols[3]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAWSErrorMessages reproduces every error of the recorded corpus
// against Trent through the SDK and compares its type and exact message
// (the recording's placeholders filled with this run's key ARNs, ids and
// Regions). Validation messages that list an enum's values are compared up
// to the list, and every value AWS listed must be in Trent's: AWS prints
// the set in a Java hash order, and the model has gained values since.
func TestAWSErrorMessages(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{Regions: []string{"us-east-1", "ap-southeast-1"}})
	// Both clients record into rec: the SDK reports an unmodeled error
	// without a message as "UnknownError", so messages are read raw.
	c, rec := recordingClient(srv, "us-east-1")
	otherCfg := srv.Config("ap-southeast-1")
	otherCfg.HTTPClient = rec
	other := kms.NewFromConfig(otherCfg)
	ctx := testserver.Context(t)
	type vars = map[string]string

	mk := func(in *kms.CreateKeyInput) *types.KeyMetadata { return newKey(t, c, in) }
	arnVars := func(md *types.KeyMetadata) vars {
		return vars{"<key-arn>": *md.Arn, "<key-id:1>": *md.KeyId, "<region>": "us-east-1"}
	}
	sym := mk(nil)
	rsa := func(spec types.KeySpec) *types.KeyMetadata {
		return mk(&kms.CreateKeyInput{KeySpec: spec, KeyUsage: types.KeyUsageTypeEncryptDecrypt})
	}
	signer := func(spec types.KeySpec) *types.KeyMetadata {
		return mk(&kms.CreateKeyInput{KeySpec: spec, KeyUsage: types.KeyUsageTypeSignVerify})
	}
	hmac := func(spec types.KeySpec) *types.KeyMetadata {
		return mk(&kms.CreateKeyInput{KeySpec: spec, KeyUsage: types.KeyUsageTypeGenerateVerifyMac})
	}
	agreement := mk(&kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeKeyAgreement})
	external := func() *types.KeyMetadata { return mk(&kms.CreateKeyInput{Origin: types.OriginTypeExternal}) }
	importInto := func(md *types.KeyMetadata, in *kms.ImportKeyMaterialInput) (*kms.ImportKeyMaterialOutput, error) {
		p := importParams(t, c, md.KeyId, types.AlgorithmSpecRsaesOaepSha256)
		material := make([]byte, 32)
		rand.Read(material)
		wrapped, err := keys.Wrap(rand.Reader, p.PublicKey, keys.WrapRSAESOAEPSHA256, material)
		if err != nil {
			t.Fatal(err)
		}
		in.KeyId, in.ImportToken, in.EncryptedKeyMaterial = md.KeyId, p.ImportToken, wrapped
		return c.ImportKeyMaterial(ctx, in)
	}
	badDigest := func(spec types.KeySpec, alg types.SigningAlgorithmSpec) func() (error, vars) {
		return func() (error, vars) {
			_, err := c.Sign(ctx, &kms.SignInput{KeyId: signer(spec).KeyId, Message: []byte("short"), MessageType: types.MessageTypeDigest, SigningAlgorithm: alg})
			return err, nil
		}
	}
	tooLarge := func(spec types.KeySpec, alg types.EncryptionAlgorithmSpec, n int) func() (error, vars) {
		return func() (error, vars) {
			_, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: rsa(spec).KeyId, Plaintext: make([]byte, n+1), EncryptionAlgorithm: alg})
			return err, nil
		}
	}
	tags := func(ts ...string) []types.Tag {
		var out []types.Tag
		for i := 0; i+1 < len(ts); i += 2 {
			out = append(out, types.Tag{TagKey: aws.String(ts[i]), TagValue: aws.String(ts[i+1])})
		}
		return out
	}
	const missing = "1234abcd-12ab-34cd-56ef-1234567890ab"
	missingARN := "arn:aws:kms:us-east-1:" + testserver.Account + ":key/" + missing

	// How to reproduce each recorded error, by its code and message.
	repro := map[string]func() (error, vars){
		"ValidationException NumberOfBytes is required.": func() (error, vars) {
			_, err := c.GenerateRandom(ctx, &kms.GenerateRandomInput{})
			return err, nil
		},
		"ValidationException 1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1": func() (error, vars) {
			_, err := c.GenerateRandom(ctx, &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(0)})
			return err, nil
		},
		"ValidationException 1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024": func() (error, vars) {
			_, err := c.GenerateRandom(ctx, &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(1025)})
			return err, nil
		},
		"ValidationException Algorithm RSAES_OAEP_SHA_1 and key spec RSA_2048 cannot encrypt data larger than 214 bytes.":   tooLarge(types.KeySpecRsa2048, types.EncryptionAlgorithmSpecRsaesOaepSha1, 214),
		"ValidationException Algorithm RSAES_OAEP_SHA_256 and key spec RSA_2048 cannot encrypt data larger than 190 bytes.": tooLarge(types.KeySpecRsa2048, types.EncryptionAlgorithmSpecRsaesOaepSha256, 190),
		"ValidationException Algorithm RSAES_OAEP_SHA_1 and key spec RSA_3072 cannot encrypt data larger than 342 bytes.":   tooLarge(types.KeySpecRsa3072, types.EncryptionAlgorithmSpecRsaesOaepSha1, 342),
		"ValidationException Algorithm RSAES_OAEP_SHA_256 and key spec RSA_3072 cannot encrypt data larger than 318 bytes.": tooLarge(types.KeySpecRsa3072, types.EncryptionAlgorithmSpecRsaesOaepSha256, 318),
		"ValidationException Algorithm RSAES_OAEP_SHA_1 and key spec RSA_4096 cannot encrypt data larger than 470 bytes.":   tooLarge(types.KeySpecRsa4096, types.EncryptionAlgorithmSpecRsaesOaepSha1, 470),
		"ValidationException Algorithm RSAES_OAEP_SHA_256 and key spec RSA_4096 cannot encrypt data larger than 446 bytes.": tooLarge(types.KeySpecRsa4096, types.EncryptionAlgorithmSpecRsaesOaepSha256, 446),
		// A key id of one Region asked for in another: the ARN it names is
		// the asking Region's.
		"NotFoundException Key 'arn:<partition>:kms:<region>:111111111111:key/<key-id:1>' does not exist": func() (error, vars) {
			md := newKey(t, other, nil)
			_, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: md.KeyId})
			return err, vars{"<region>": "us-east-1", "<key-id:1>": *md.KeyId}
		},
		"NotFoundException Invalid arn <secondary-region>": func() (error, vars) {
			md := newKey(t, other, nil)
			_, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: md.Arn})
			return err, vars{"<secondary-region>": "ap-southeast-1"}
		},
		"NotFoundException Key '<key-arn>' does not exist": func() (error, vars) {
			_, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(missing)})
			return err, vars{"<key-arn>": missingARN}
		},
		"NotFoundException Key '<mrk-key-arn>' does not exist": func() (error, vars) {
			const id = "mrk-1234abcd12ab34cd56ef1234567890ab"
			_, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
			return err, vars{"<mrk-key-arn>": "arn:aws:kms:us-east-1:" + testserver.Account + ":key/" + id}
		},
		"NotFoundException Invalid keyId 'fake-key-id'": func() (error, vars) {
			_, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("fake-key-id")})
			return err, nil
		},
		"NotFoundException Invalid keyId '134f2428cec14b25a1ae9048164dba47'": func() (error, vars) {
			_, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("134f2428cec14b25a1ae9048164dba47")})
			return err, nil
		},
		"NotFoundException Invalid keyId 'mrk-fake-key-id'": func() (error, vars) {
			_, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("mrk-fake-key-id")})
			return err, nil
		},
		"NotFoundException Key 'arn:<partition>:kms:ap-southeast-1:111111111111:key/<key-id:1>' does not exist": func() (error, vars) {
			_, err := other.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: sym.KeyId})
			return err, vars{"<key-id:1>": *sym.KeyId}
		},
		`ValidationException Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html`: func() (error, vars) {
			_, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("no-prefix"), TargetKeyId: sym.KeyId})
			return err, nil
		},
		"ValidationException Digest is invalid length for algorithm RSASSA_PSS_SHA_256.":        badDigest(types.KeySpecRsa2048, types.SigningAlgorithmSpecRsassaPssSha256),
		"ValidationException Digest is invalid length for algorithm RSASSA_PSS_SHA_384.":        badDigest(types.KeySpecRsa2048, types.SigningAlgorithmSpecRsassaPssSha384),
		"ValidationException Digest is invalid length for algorithm RSASSA_PSS_SHA_512.":        badDigest(types.KeySpecRsa2048, types.SigningAlgorithmSpecRsassaPssSha512),
		"ValidationException Digest is invalid length for algorithm RSASSA_PKCS1_V1_5_SHA_256.": badDigest(types.KeySpecRsa2048, types.SigningAlgorithmSpecRsassaPkcs1V15Sha256),
		"ValidationException Digest is invalid length for algorithm RSASSA_PKCS1_V1_5_SHA_512.": badDigest(types.KeySpecRsa2048, types.SigningAlgorithmSpecRsassaPkcs1V15Sha512),
		"ValidationException Digest is invalid length for algorithm ECDSA_SHA_256.":             badDigest(types.KeySpecEccNistP256, types.SigningAlgorithmSpecEcdsaSha256),
		"ValidationException Digest is invalid length for algorithm ECDSA_SHA_384.":             badDigest(types.KeySpecEccNistP384, types.SigningAlgorithmSpecEcdsaSha384),
		"KMSInvalidSignatureException ": func() (error, vars) {
			_, err := c.Verify(ctx, &kms.VerifyInput{KeyId: signer(types.KeySpecEccNistP256).KeyId, Message: []byte("m"), Signature: []byte("not a signature"), SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256})
			return err, nil
		},
		"ValidationException You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.": func() (error, vars) {
			_, err := c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecHmac256})
			return err, nil
		},
		"ValidationException 1 validation error detected: Value 'HMAC_random' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [RSA_2048, ECC_NIST_P384, ECC_NIST_P256, ECC_NIST_P521, HMAC_384, RSA_3072, ECC_SECG_P256K1, RSA_4096, SYMMETRIC_DEFAULT, HMAC_256, HMAC_224, HMAC_512]": func() (error, vars) {
			_, err := c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: "HMAC_random", KeyUsage: types.KeyUsageTypeGenerateVerifyMac})
			return err, nil
		},
		"ValidationException 1 validation error detected: Value 'RANDOM' at 'keyUsage' failed to satisfy constraint: Member must satisfy enum value set: [ENCRYPT_DECRYPT, SIGN_VERIFY, GENERATE_VERIFY_MAC]": func() (error, vars) {
			_, err := c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecHmac256, KeyUsage: "RANDOM"})
			return err, nil
		},
		"NotFoundException Invalid keyId 'key_id'": func() (error, vars) {
			_, err := c.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: aws.String("key_id"), Message: []byte("m"), MacAlgorithm: types.MacAlgorithmSpecHmacSha256})
			return err, nil
		},
		"InvalidKeyUsageException Algorithm HMAC_SHA_256 is incompatible with key spec HMAC_224.": func() (error, vars) {
			_, err := c.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: hmac(types.KeySpecHmac224).KeyId, Message: []byte("m"), MacAlgorithm: types.MacAlgorithmSpecHmacSha256})
			return err, nil
		},
		"ValidationException 1 validation error detected: Value 'INVALID' at 'macAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [HMAC_SHA_384, HMAC_SHA_256, HMAC_SHA_224, HMAC_SHA_512]": func() (error, vars) {
			_, err := c.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: hmac(types.KeySpecHmac224).KeyId, Message: []byte("m"), MacAlgorithm: "INVALID"})
			return err, nil
		},
		"KMSInvalidMacException ": func() (error, vars) {
			_, err := c.VerifyMac(ctx, &kms.VerifyMacInput{KeyId: hmac(types.KeySpecHmac256).KeyId, Message: []byte("m"), Mac: make([]byte, 32), MacAlgorithm: types.MacAlgorithmSpecHmacSha256})
			return err, nil
		},
		"InvalidKeyUsageException Algorithm HMAC_SHA_512 is incompatible with key spec HMAC_256.": func() (error, vars) {
			_, err := c.VerifyMac(ctx, &kms.VerifyMacInput{KeyId: hmac(types.KeySpecHmac256).KeyId, Message: []byte("m"), Mac: make([]byte, 64), MacAlgorithm: types.MacAlgorithmSpecHmacSha512})
			return err, nil
		},
		"KMSInvalidStateException arn:<partition>:kms:<region>:111111111111:key/<key-id:1> is pending import.": func() (error, vars) {
			md := external()
			_, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte("x")})
			return err, arnVars(md)
		},
		"ValidationException A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES": func() (error, vars) {
			_, err := importInto(external(), &kms.ImportKeyMaterialInput{})
			return err, nil
		},
		"InvalidKeyUsageException <key-arn> key usage is ENCRYPT_DECRYPT which is not valid for GenerateMac.": func() (error, vars) {
			_, err := c.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: sym.KeyId, Message: []byte("m"), MacAlgorithm: types.MacAlgorithmSpecHmacSha256})
			return err, arnVars(sym)
		},
		"InvalidKeyUsageException <key-arn> key usage is GENERATE_VERIFY_MAC which is not valid for Sign.": func() (error, vars) {
			md := hmac(types.KeySpecHmac256)
			_, err := c.Sign(ctx, &kms.SignInput{KeyId: md.KeyId, Message: []byte("m"), SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256})
			return err, arnVars(md)
		},
		"InvalidKeyUsageException <key-arn> key usage is ENCRYPT_DECRYPT which is not valid for Verify.": func() (error, vars) {
			_, err := c.Verify(ctx, &kms.VerifyInput{KeyId: sym.KeyId, Message: []byte("m"), Signature: []byte("s"), SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256})
			return err, arnVars(sym)
		},
		"InvalidKeyUsageException <key-arn> key usage is SIGN_VERIFY which is not valid for Encrypt.": func() (error, vars) {
			md := signer(types.KeySpecEccNistP256)
			_, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte("x")})
			return err, arnVars(md)
		},
		"IncorrectKeyException The key ID in the request does not identify a CMK that can perform this operation.": func() (error, vars) {
			enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: sym.KeyId, Plaintext: []byte("x")})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Decrypt(ctx, &kms.DecryptInput{KeyId: mk(nil).KeyId, CiphertextBlob: enc.CiphertextBlob})
			return err, nil
		},
		"ValidationException 1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096": func() (error, vars) {
			_, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: sym.KeyId, Plaintext: make([]byte, 4097)})
			return err, nil
		},
		"InvalidCiphertextException ": func() (error, vars) {
			enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: sym.KeyId, Plaintext: []byte("x"), EncryptionContext: map[string]string{"a": "b"}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
			return err, nil
		},
		"UnsupportedOperationException <key-arn> origin is AWS_KMS which is not valid for this operation.": func() (error, vars) {
			_, err := c.GetParametersForImport(ctx, &kms.GetParametersForImportInput{KeyId: sym.KeyId, WrappingAlgorithm: types.AlgorithmSpecRsaesOaepSha256, WrappingKeySpec: types.WrappingKeySpecRsa2048})
			return err, arnVars(sym)
		},
		"InvalidKeyUsageException <key-arn> key usage is SIGN_VERIFY which is not valid for DeriveSharedSecret.": func() (error, vars) {
			md := signer(types.KeySpecEccNistP256)
			_, err := c.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: md.KeyId, KeyAgreementAlgorithm: types.KeyAgreementAlgorithmSpecEcdh, PublicKey: []byte("pk")})
			return err, arnVars(md)
		},
		"ValidationException KeyUsage KEY_AGREEMENT is not compatible with KeySpec RSA_2048": func() (error, vars) {
			_, err := c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecRsa2048, KeyUsage: types.KeyUsageTypeKeyAgreement})
			return err, nil
		},
		"ValidationException 1 validation error detected: Value 'INVALID' at 'keyAgreementAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [ECDH]": func() (error, vars) {
			_, err := c.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: agreement.KeyId, KeyAgreementAlgorithm: "INVALID", PublicKey: []byte("pk")})
			return err, nil
		},
		"InvalidKeyUsageException <key-arn> key usage is ENCRYPT_DECRYPT which is not valid for DeriveSharedSecret.": func() (error, vars) {
			_, err := c.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: sym.KeyId, KeyAgreementAlgorithm: types.KeyAgreementAlgorithmSpecEcdh, PublicKey: []byte("pk")})
			return err, arnVars(sym)
		},
		"ValidationException ": func() (error, vars) {
			_, err := c.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: agreement.KeyId, KeyAgreementAlgorithm: types.KeyAgreementAlgorithmSpecEcdh, PublicKey: []byte("not a public key")})
			return err, nil
		},
		"TagException Duplicate tag keys": func() (error, vars) {
			_, err := c.TagResource(ctx, &kms.TagResourceInput{KeyId: sym.KeyId, Tags: tags("a", "1", "a", "2")})
			return err, nil
		},
		"TagException Too many tags": func() (error, vars) {
			var ts []string
			for i := range 51 {
				ts = append(ts, "t"+string(rune('A'+i/26))+string(rune('a'+i%26)), "v")
			}
			_, err := c.CreateKey(ctx, &kms.CreateKeyInput{Tags: tags(ts...)})
			return err, nil
		},
		"TagException Tags beginning with aws: are reserved": func() (error, vars) {
			_, err := c.TagResource(ctx, &kms.TagResourceInput{KeyId: sym.KeyId, Tags: tags("aws:team", "x")})
			return err, nil
		},
		"ValidationException 1 validation error detected: Value '" + strings.Repeat("v", 257) + "' at 'tags.1.member.tagValue' failed to satisfy constraint: Member must have length less than or equal to 256": func() (error, vars) {
			_, err := c.CreateKey(ctx, &kms.CreateKeyInput{Tags: tags("k", strings.Repeat("v", 257))})
			return err, nil
		},
		"ValidationException 1 validation error detected: Value '" + strings.Repeat("a", 129) + "' at 'tags.1.member.tagKey' failed to satisfy constraint: Member must have length less than or equal to 128": func() (error, vars) {
			_, err := c.CreateKey(ctx, &kms.CreateKeyInput{Tags: tags(strings.Repeat("a", 129), "v")})
			return err, nil
		},
		"DisabledException <key-arn> is disabled.": func() (error, vars) {
			md := rsa(types.KeySpecRsa4096)
			if _, err := c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: md.KeyId}); err != nil {
				t.Fatal(err)
			}
			_, err := c.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: md.KeyId})
			return err, arnVars(md)
		},
		"UnsupportedOperationException ": func() (error, vars) {
			_, err := c.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: rsa(types.KeySpecRsa4096).KeyId})
			return err, nil
		},
		// Recorded for RotateKeyOnDemand before AWS rotated imported material
		// on demand (2025); automatic rotation still answers it.
		"UnsupportedOperationException <key-arn> origin is EXTERNAL which is not valid for this operation.": func() (error, vars) {
			md := external()
			_, err := c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: md.KeyId})
			return err, arnVars(md)
		},
		"LimitExceededException The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: <key-arn>": func() (error, vars) {
			md := mk(nil)
			for range 25 {
				if _, err := c.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: md.KeyId}); err != nil {
					t.Fatal(err)
				}
			}
			_, err := c.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: md.KeyId})
			return err, arnVars(md)
		},
		"DryRunOperationException The request would have succeeded, but the DryRun option is set.": func() (error, vars) {
			_, err := c.GenerateDataKeyPair(ctx, &kms.GenerateDataKeyPairInput{KeyId: sym.KeyId, KeyPairSpec: types.DataKeyPairSpecRsa2048, DryRun: aws.Bool(true)})
			return err, nil
		},
		"UnsupportedOperationException <mrk-key-arn> is not a multi-region primary key.": func() (error, vars) {
			p := mk(&kms.CreateKeyInput{MultiRegion: aws.Bool(true)})
			r, err := c.ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: p.KeyId, ReplicaRegion: aws.String("ap-southeast-1")})
			if err != nil {
				t.Fatal(err)
			}
			_, err = other.ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: p.KeyId, ReplicaRegion: aws.String("us-east-1")})
			return err, vars{"<mrk-key-arn>": *r.ReplicaKeyMetadata.Arn}
		},
		// <key-id:1> stands for the key ARN here: the recording's KeyId
		// placeholder took the value ImportKeyMaterial returned, its ARN.
		"KMSInvalidStateException New key material (id: <key-material-id>) cannot be imported into KMS key <key-id:1>, because another key material (id: <key-material-id:2>) is pending rotation.": func() (error, vars) {
			md := external()
			if _, err := importInto(md, &kms.ImportKeyMaterialInput{ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire}); err != nil {
				t.Fatal(err)
			}
			pending, err := importInto(md, &kms.ImportKeyMaterialInput{ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire, ImportType: types.ImportTypeNewKeyMaterial})
			if err != nil {
				t.Fatal(err)
			}
			_, err = importInto(md, &kms.ImportKeyMaterialInput{ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire, ImportType: types.ImportTypeNewKeyMaterial})
			var ae smithy.APIError
			if !errors.As(err, &ae) {
				return err, nil
			}
			// The third material's id is in the message; it is the one that
			// is neither pending nor current.
			newID := between(ae.ErrorMessage(), "(id: ", ")")
			return err, vars{"<key-material-id>": newID, "<key-id:1>": *md.Arn, "<key-material-id:2>": *pending.KeyMaterialId}
		},
		"KMSInvalidStateException No available key material pending rotation for the key: <key-arn>.": func() (error, vars) {
			md := external()
			if _, err := importInto(md, &kms.ImportKeyMaterialInput{ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire}); err != nil {
				t.Fatal(err)
			}
			_, err := c.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: md.KeyId})
			return err, arnVars(md)
		},
	}

	rows := loadAWSErrors(t)
	seen := map[string]bool{}
	for _, row := range rows {
		k := row.code + " " + row.message
		seen[k] = true
		t.Run(row.situation+"/"+row.code, func(t *testing.T) {
			f := repro[k]
			if f == nil {
				t.Fatalf("line %d: no reproduction of %s %q", row.line, row.code, row.message)
			}
			err, v := f()
			var ae smithy.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("line %d: got %v, want %s", row.line, err, row.code)
			}
			want := strings.ReplaceAll(row.message, "<partition>", "aws")
			want = strings.ReplaceAll(want, "111111111111", testserver.Account)
			for name, val := range v {
				want = strings.ReplaceAll(want, name, val)
			}
			var re *awshttp.ResponseError
			if !errors.As(err, &re) || strconv.Itoa(re.HTTPStatusCode()) != row.status {
				t.Errorf("line %d: HTTP status %v, want %s", row.line, re, row.status)
			}
			body := rec.body(t)
			var typ, got string
			json.Unmarshal(body["__type"], &typ)
			json.Unmarshal(body["message"], &got)
			if ae.ErrorCode() != row.code || typ != row.code {
				t.Fatalf("line %d: got %s (raw %s) %q, want %s %q", row.line, ae.ErrorCode(), typ, got, row.code, want)
			}
			if head, list, ok := strings.Cut(want, "enum value set: ["); ok {
				if !strings.HasPrefix(got, head+"enum value set: [") {
					t.Fatalf("line %d: got %q, want it to start %q", row.line, got, head)
				}
				ours := strings.Split(strings.TrimSuffix(strings.TrimPrefix(got, head+"enum value set: ["), "]"), ", ")
				for _, v := range strings.Split(strings.TrimSuffix(list, "]"), ", ") {
					if !slices.Contains(ours, v) {
						t.Errorf("line %d: AWS lists %s, Trent's %v does not", row.line, v, ours)
					}
				}
				return
			}
			if got != want {
				t.Fatalf("line %d: %s\n got %q\nwant %q", row.line, row.code, got, want)
			}
		})
	}
	for k := range repro {
		if !seen[k] {
			t.Errorf("reproduction of %q, which the corpus does not have", k)
		}
	}
}

func between(s, start, end string) string {
	_, rest, _ := strings.Cut(s, start)
	v, _, _ := strings.Cut(rest, end)
	return v
}
