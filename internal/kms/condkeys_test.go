package kms

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/iam"
	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/policy"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
	"github.com/trentkms/trent/internal/wire/orgapi"
)

// TestEveryConditionKeyIsSet walks the condition keys Trent accepts in
// policies (authz.ConditionKeys) and, for each key of KMS or a global one,
// makes the KMS requests that AWS documents it for — the operations of its
// row in the KMS Developer Guide's conditions-kms.md for kms: keys, an
// account operation and a key operation for global keys — in the situation
// that carries it (a role session for aws:TokenIssueTime, a VPC endpoint
// for aws:SourceVpce, …). Each request is made under a key policy and an
// identity policy that deny it when the key is absent ("Null": true), so a
// key a request does not carry fails it with AccessDeniedException.
func TestEveryConditionKeyIsSet(t *testing.T) {
	docOps := kmsDocOperations(t)
	// Every key conditions-kms.md documents is known, and none is missing
	// from the document but the ones AWS documented after it was archived.
	newer := map[string][]string{
		"kms:KeyAgreementAlgorithm":                  {"DeriveSharedSecret"},
		"kms:RotationPeriodInDays":                   {"EnableKeyRotation"},
		"kms:ScheduleKeyDeletionPendingWindowInDays": {"ScheduleKeyDeletion"},
		"kms:CustomerMasterKeySpec":                  {"CreateKey", "DescribeKey", "Encrypt"}, // deprecated: kms:KeySpec's
		"kms:CustomerMasterKeyUsage":                 {"CreateKey", "DescribeKey", "Encrypt"}, // deprecated: kms:KeyUsage's
		"kms:EncryptionContext:":                     nil,                                     // in the document as kms:EncryptionContext:context-key
	}
	known := map[string]bool{}
	for _, k := range authz.ConditionKeys {
		known[k.Name] = true
	}
	for name := range docOps {
		if !known[name] && name != "kms:EncryptionContext:context-key" {
			t.Errorf("conditions-kms.md documents %s, which policies may not use", name)
		}
	}

	e := newEnv(t)
	for _, ck := range authz.ConditionKeys {
		if ck.Service != "kms" && ck.Service != "*" {
			continue // IAM, STS and Organizations keys: internal/iam
		}
		ops := globalOps(ck)
		if ck.Service == "kms" {
			switch {
			case newer[ck.Name] != nil:
				ops = newer[ck.Name]
			case ck.Name == "kms:EncryptionContext:":
				ops = docOps["kms:EncryptionContext:context-key"]
			case docOps[ck.Name] != nil:
				ops = docOps[ck.Name]
			default:
				t.Errorf("%s: no operations are documented for it", ck.Name)
				continue
			}
		}
		name := concreteKey(ck.Name)
		for _, op := range ops {
			if ck.Name == "kms:MultiRegionKeyType" && op == "GetParametersForImport" {
				// Multi-Region keys of imported material are not supported
				// (README, multi-Region keys): no such request exists.
				continue
			}
			if ck.When == "service" || ck.When == "source" || ck.When == "source-org" {
				if op == "CreateKey" {
					continue // a service principal acting for itself uses keys; it creates none
				}
			}
			t.Run(name+"/"+op, func(t *testing.T) {
				p := &probe{e: e, key: name, op: op, when: ck.When}
				if err := p.run(t); err != nil {
					t.Errorf("%s in a %s request (situation %q): %v", name, op, ck.When, err)
				}
			})
		}
	}
}

// kmsDocOperations reads, from each key's table in conditions-kms.md, the
// operations whose requests carry it, with AWS's groups of operations
// replaced by the operations of theirs this test makes.
func kmsDocOperations(t *testing.T) map[string][]string {
	path := filepath.Join("..", "..", "..", "shared", "docs", "aws-kms-developer-guide", "conditions-kms.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the walk of condition keys reads the KMS Developer Guide in ../shared: %v", err)
	}
	groups := map[string][]string{
		// A sample of each kind of key the group's operations use.
		"KMS key resource operations": {"DescribeKey", "Encrypt", "Sign", "GenerateMac", "GetParametersForImport"},
		"Cryptographic operations":    {"Encrypt", "Decrypt", "GenerateDataKey", "Sign", "Verify", "GenerateMac", "VerifyMac"},
		// Custom key store operations are account-level, decided as
		// CreateKey is (accountDecision); they need an HSM to make.
		"Custom key store operations": nil,
	}
	row := regexp.MustCompile("(?m)^\\|\\s+`(kms:[^`]+)`\\s+\\|(.*)\\|\\s*$")
	out := map[string][]string{}
	for _, m := range row.FindAllStringSubmatch(string(b), -1) {
		name := strings.ReplaceAll(m[1], `\-`, "-")
		cells := strings.Split(m[2], "|")
		opsCell := cells[len(cells)-2] // the API operations column comes before the policy type
		var ops []string
		for g, gops := range groups {
			if strings.Contains(opsCell, g) {
				ops = append(ops, gops...)
			}
		}
		for _, o := range regexp.MustCompile("`([A-Za-z]+)`|API_([A-Za-z]+)\\.html").FindAllStringSubmatch(opsCell, -1) {
			ops = append(ops, o[1]+o[2])
		}
		slices.Sort(ops)
		out[name] = slices.Compact(ops)
	}
	if len(out) < 25 {
		t.Fatalf("read %d keys from conditions-kms.md: the table format changed", len(out))
	}
	return out
}

// globalOps are the requests a global key is checked in: an account
// operation and a key operation, or those that carry it.
func globalOps(ck authz.ConditionKey) []string {
	switch ck.When {
	case "tagged-resource":
		return []string{"Encrypt", "DescribeKey"}
	case "request-tags":
		return []string{"CreateKey", "TagResource"}
	}
	return []string{"CreateKey", "Encrypt"}
}

// concreteKey names one key of a family.
func concreteKey(name string) string {
	switch name {
	case "aws:PrincipalTag/", "aws:RequestTag/", "aws:ResourceTag/":
		return name + "team"
	case "kms:EncryptionContext:":
		return name + "tenant"
	}
	return name
}

// probe is one request for one condition key.
type probe struct {
	e        *env
	key, op  string
	when     string
	keyID    *string // the key the request names
	cipher   []byte
	sig, mac []byte
	grantID  string
}

const (
	probeService = "backup.example.internal"
	probeUser    = "arn:aws:iam::111122223333:user/app"
)

// policies deny the probe's operation when its key is absent: the key's
// policy (whoever asks) and the caller's identity policy.
func (p *probe) keyPolicy() string {
	return `{"Version":"2012-10-17","Statement":[
		{"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
		{"Sid":"Service","Effect":"Allow","Principal":{"Service":"` + probeService + `"},"Action":"kms:*","Resource":"*"},
		{"Sid":"Absent","Effect":"Deny","Principal":"*","Action":"kms:` + p.op + `","Resource":"*","Condition":{"Null":{"` + p.key + `":"true"}}}]}`
}

func (p *probe) identityPolicy(t *testing.T) *policy.Policy {
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"},
		{"Sid":"Absent","Effect":"Deny","Action":"kms:` + p.op + `","Resource":"*","Condition":{"Null":{"` + p.key + `":"true"}}}]}`
	pol, err := policy.Compile([]byte(doc), policy.Options{Kind: policy.IdentityKind, KnownKey: authz.KnownConditionKey})
	if err != nil {
		t.Fatal(err)
	}
	return pol
}

// caller is the situation's caller: an IAM user by default.
func (p *probe) caller(t *testing.T) Caller {
	e := p.e
	id := &authz.Identity{
		Principal: authz.Principal{Account: "111122223333", ARN: probeUser, Type: authz.UserType, UserID: "AIDAAPP", Name: "app"},
		Policies:  []*policy.Policy{p.identityPolicy(t)},
	}
	req := authz.Request{Time: e.clock.Now(), SourceIP: "192.0.2.10", SecureTransport: true, Region: "us-east-1", UserAgent: "aws-sdk-go-v2/1.36.0"}
	session := func() {
		id.Type, id.Name = authz.AssumedRoleType, "Prober"
		id.ARN, id.UserID, id.RoleARN = "arn:aws:sts::111122223333:assumed-role/Prober/s", "AROAPROBER:s", "arn:aws:iam::111122223333:role/Prober"
		id.Temporary, id.Issued, id.Expires = true, req.Time.Add(-time.Minute), req.Time.Add(time.Hour)
	}
	switch p.when {
	case "session":
		session()
	case "mfa":
		session()
		id.MFA = req.Time.Add(-time.Minute)
	case "federated":
		session()
		id.FederatedProvider = "arn:aws:iam::111122223333:oidc-provider/issuer.example"
	case "source-identity":
		session()
		id.SourceIdentity = "alice"
	case "tags":
		id.Tags = map[string]string{"team": "kms"}
	case "service", "source", "source-org":
		id = &authz.Identity{Principal: authz.Principal{ARN: probeService, Type: authz.ServiceType, Name: probeService, UserID: probeService}}
		if p.when != "service" {
			req.SourceARN, req.SourceAccount = "arn:aws:s3:::bucket", "111122223333"
		}
		if p.when == "source-org" {
			s := e.ids.OrgScope("111122223333")
			req.SourceOrgID, req.SourceOrgPath = s.OrgID, s.Paths[0]
		}
	case "via-service":
		req.ViaService = probeService
	case "endpoint":
		req.SourceVpce, req.SourceVpc = "vpce-1234abcdf5678c90a", "vpc-1a2b3c4d"
	case "org":
		s := e.ids.OrgScope("111122223333")
		req.OrgID, id.OrgPaths = s.OrgID, s.Paths
	case "referer":
		req.Referer = "https://console.example.com/"
	}
	return Caller{Account: id.Account, ARN: id.ARN, Region: "us-east-1", Identity: id, Request: req}
}

// run sets up the probe's key (as the account's root) and makes the
// request; an AccessDeniedException means the key was absent.
func (p *probe) run(t *testing.T) error {
	e := p.e
	ctx := context.Background()
	if strings.HasPrefix(p.when, "source-org") || p.when == "org" {
		p.organization(t)
	}
	if p.op != "CreateKey" {
		p.setUp(t)
	}
	c := p.caller(t)
	var err error
	ec := map[string]string{"tenant": "acme"}
	switch p.op {
	case "CreateKey":
		in := &kmsapi.CreateKeyRequest{}
		if p.key == "kms:MultiRegionKeyType" {
			in.MultiRegion = wire.Ptr(true) // only multi-Region keys have the property
		}
		if p.when == "request-tags" {
			in.Tags = []kmsapi.Tag{{TagKey: wire.Ptr("team"), TagValue: wire.Ptr("kms")}}
		}
		// The identity policy decides: CreateKey is account-level.
		_, err = e.s.CreateKey(ctx, c, in)
	case "PutKeyPolicy":
		_, err = e.s.PutKeyPolicy(ctx, c, &kmsapi.PutKeyPolicyRequest{KeyId: p.keyID, Policy: wire.Ptr(p.keyPolicy())})
	case "Encrypt":
		_, err = e.s.Encrypt(ctx, c, &kmsapi.EncryptRequest{KeyId: p.keyID, Plaintext: []byte("data"), EncryptionContext: ec})
	case "Decrypt":
		_, err = e.s.Decrypt(ctx, c, &kmsapi.DecryptRequest{KeyId: p.keyID, CiphertextBlob: p.cipher, EncryptionContext: ec})
	case "ReEncrypt":
		_, err = e.s.ReEncrypt(ctx, c, &kmsapi.ReEncryptRequest{CiphertextBlob: p.cipher, SourceEncryptionContext: ec, DestinationKeyId: p.keyID, DestinationEncryptionContext: ec})
	case "GenerateDataKey":
		_, err = e.s.GenerateDataKey(ctx, c, &kmsapi.GenerateDataKeyRequest{KeyId: p.keyID, KeySpec: wire.Ptr("AES_256"), EncryptionContext: ec})
	case "GenerateDataKeyWithoutPlaintext":
		_, err = e.s.GenerateDataKeyWithoutPlaintext(ctx, c, &kmsapi.GenerateDataKeyWithoutPlaintextRequest{KeyId: p.keyID, KeySpec: wire.Ptr("AES_256"), EncryptionContext: ec})
	case "GenerateDataKeyPair":
		_, err = e.s.GenerateDataKeyPair(ctx, c, &kmsapi.GenerateDataKeyPairRequest{KeyId: p.keyID, KeyPairSpec: wire.Ptr("ECC_NIST_P256"), EncryptionContext: ec})
	case "GenerateDataKeyPairWithoutPlaintext":
		_, err = e.s.GenerateDataKeyPairWithoutPlaintext(ctx, c, &kmsapi.GenerateDataKeyPairWithoutPlaintextRequest{KeyId: p.keyID, KeyPairSpec: wire.Ptr("ECC_NIST_P256"), EncryptionContext: ec})
	case "Sign":
		_, err = e.s.Sign(ctx, c, &kmsapi.SignRequest{KeyId: p.keyID, Message: []byte("message"), SigningAlgorithm: wire.Ptr("ECDSA_SHA_256")})
	case "Verify":
		_, err = e.s.Verify(ctx, c, &kmsapi.VerifyRequest{KeyId: p.keyID, Message: []byte("message"), Signature: p.sig, SigningAlgorithm: wire.Ptr("ECDSA_SHA_256")})
	case "GenerateMac":
		_, err = e.s.GenerateMac(ctx, c, &kmsapi.GenerateMacRequest{KeyId: p.keyID, Message: []byte("message"), MacAlgorithm: wire.Ptr("HMAC_SHA_256")})
	case "VerifyMac":
		_, err = e.s.VerifyMac(ctx, c, &kmsapi.VerifyMacRequest{KeyId: p.keyID, Message: []byte("message"), Mac: p.mac, MacAlgorithm: wire.Ptr("HMAC_SHA_256")})
	case "GetPublicKey":
		_, err = e.s.GetPublicKey(ctx, c, &kmsapi.GetPublicKeyRequest{KeyId: p.keyID})
	case "DescribeKey":
		_, err = e.s.DescribeKey(ctx, c, &kmsapi.DescribeKeyRequest{KeyId: p.keyID})
	case "CreateGrant":
		_, err = e.s.CreateGrant(ctx, c, &kmsapi.CreateGrantRequest{KeyId: p.keyID, GranteePrincipal: wire.Ptr("arn:aws:iam::111122223333:user/g"),
			RetiringPrincipal: wire.Ptr("arn:aws:iam::111122223333:user/r"), Operations: []string{"Decrypt"},
			Constraints: &kmsapi.GrantConstraints{EncryptionContextSubset: ec}})
	case "ListGrants":
		_, err = e.s.ListGrants(ctx, c, &kmsapi.ListGrantsRequest{KeyId: p.keyID})
	case "RevokeGrant":
		_, err = e.s.RevokeGrant(ctx, c, &kmsapi.RevokeGrantRequest{KeyId: p.keyID, GrantId: wire.Ptr(p.grantID)})
	case "GetParametersForImport":
		_, err = e.s.GetParametersForImport(ctx, c, &kmsapi.GetParametersForImportRequest{KeyId: p.keyID, WrappingAlgorithm: wire.Ptr("RSAES_OAEP_SHA_256"), WrappingKeySpec: wire.Ptr("RSA_2048")})
	case "ImportKeyMaterial":
		in := p.importRequest(t)
		_, err = e.s.ImportKeyMaterial(ctx, c, in)
	case "ReplicateKey":
		_, err = e.s.ReplicateKey(ctx, c, &kmsapi.ReplicateKeyRequest{KeyId: p.keyID, ReplicaRegion: wire.Ptr("eu-west-1"), Policy: wire.Ptr(p.keyPolicy())})
	case "UpdatePrimaryRegion":
		_, err = e.s.UpdatePrimaryRegion(ctx, c, &kmsapi.UpdatePrimaryRegionRequest{KeyId: p.keyID, PrimaryRegion: wire.Ptr("eu-west-1")})
	case "DeriveSharedSecret":
		peer, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		pub, _ := x509.MarshalPKIXPublicKey(&peer.PublicKey)
		_, err = e.s.DeriveSharedSecret(ctx, c, &kmsapi.DeriveSharedSecretRequest{KeyId: p.keyID, KeyAgreementAlgorithm: wire.Ptr("ECDH"), PublicKey: pub})
	case "EnableKeyRotation":
		_, err = e.s.EnableKeyRotation(ctx, c, &kmsapi.EnableKeyRotationRequest{KeyId: p.keyID, RotationPeriodInDays: wire.Ptr(int32(90))})
	case "ScheduleKeyDeletion":
		_, err = e.s.ScheduleKeyDeletion(ctx, c, &kmsapi.ScheduleKeyDeletionRequest{KeyId: p.keyID, PendingWindowInDays: wire.Ptr(int32(7))})
	case "TagResource":
		_, err = e.s.TagResource(ctx, c, &kmsapi.TagResourceRequest{KeyId: p.keyID, Tags: []kmsapi.Tag{{TagKey: wire.Ptr("team"), TagValue: wire.Ptr("kms")}}})
	default:
		t.Fatalf("the walk makes no %s requests", p.op)
	}
	var we *wire.Error
	if errors.As(err, &we) && we.Code == "AccessDeniedException" {
		return errors.New("the request does not carry it: " + we.Message)
	}
	return err
}

// setUp makes the probe's key of the kind the operation needs, with the
// probe's key policy, and what the request uses (a ciphertext, a
// signature, a MAC, a grant), as the account's root.
func (p *probe) setUp(t *testing.T) {
	e, ctx := p.e, context.Background()
	in := &kmsapi.CreateKeyRequest{Policy: wire.Ptr(p.keyPolicy()), BypassPolicyLockoutSafetyCheck: wire.Ptr(true)}
	switch p.op {
	case "Sign", "Verify", "GetPublicKey":
		in.KeySpec, in.KeyUsage = wire.Ptr("ECC_NIST_P256"), wire.Ptr("SIGN_VERIFY")
	case "GenerateMac", "VerifyMac":
		in.KeySpec, in.KeyUsage = wire.Ptr("HMAC_256"), wire.Ptr("GENERATE_VERIFY_MAC")
	case "DeriveSharedSecret":
		in.KeySpec, in.KeyUsage = wire.Ptr("ECC_NIST_P256"), wire.Ptr("KEY_AGREEMENT")
	case "GetParametersForImport", "ImportKeyMaterial":
		in.Origin = wire.Ptr("EXTERNAL")
	case "ReplicateKey", "UpdatePrimaryRegion":
		in.MultiRegion = wire.Ptr(true)
	}
	if p.key == "kms:MultiRegionKeyType" {
		in.MultiRegion = wire.Ptr(true)
	}
	if p.when == "tagged-resource" {
		in.Tags = []kmsapi.Tag{{TagKey: wire.Ptr("team"), TagValue: wire.Ptr("kms")}}
	}
	out, err := e.s.CreateKey(ctx, e.caller, in)
	if err != nil {
		t.Fatal(err)
	}
	p.keyID = out.KeyMetadata.KeyId
	if p.when == "service" || p.when == "source" || p.when == "source-org" {
		p.keyID = out.KeyMetadata.Arn // a service principal belongs to no account
	}
	if p.when == "alias" {
		alias := "alias/probe-" + *p.keyID
		if _, err := e.s.CreateAlias(ctx, e.caller, &kmsapi.CreateAliasRequest{AliasName: wire.Ptr(alias), TargetKeyId: p.keyID}); err != nil {
			t.Fatal(err)
		}
		if p.key == "kms:RequestAlias" {
			p.keyID = wire.Ptr(alias) // the request names the key by alias
		}
	}
	ec := map[string]string{"tenant": "acme"}
	switch p.op {
	case "Decrypt", "ReEncrypt":
		enc, err := e.s.Encrypt(ctx, e.caller, &kmsapi.EncryptRequest{KeyId: p.keyID, Plaintext: []byte("data"), EncryptionContext: ec})
		if err != nil {
			t.Fatal(err)
		}
		p.cipher = enc.CiphertextBlob
	case "Verify":
		s, err := e.s.Sign(ctx, e.caller, &kmsapi.SignRequest{KeyId: p.keyID, Message: []byte("message"), SigningAlgorithm: wire.Ptr("ECDSA_SHA_256")})
		if err != nil {
			t.Fatal(err)
		}
		p.sig = s.Signature
	case "VerifyMac":
		m, err := e.s.GenerateMac(ctx, e.caller, &kmsapi.GenerateMacRequest{KeyId: p.keyID, Message: []byte("message"), MacAlgorithm: wire.Ptr("HMAC_SHA_256")})
		if err != nil {
			t.Fatal(err)
		}
		p.mac = m.Mac
	case "RevokeGrant":
		g, err := e.s.CreateGrant(ctx, e.caller, &kmsapi.CreateGrantRequest{KeyId: p.keyID, GranteePrincipal: wire.Ptr("arn:aws:iam::111122223333:user/g"), Operations: []string{"Decrypt"}})
		if err != nil {
			t.Fatal(err)
		}
		p.grantID = *g.GrantId
	case "UpdatePrimaryRegion":
		if _, err := e.s.ReplicateKey(ctx, e.caller, &kmsapi.ReplicateKeyRequest{KeyId: p.keyID, ReplicaRegion: wire.Ptr("eu-west-1"), Policy: wire.Ptr(p.keyPolicy()), BypassPolicyLockoutSafetyCheck: wire.Ptr(true)}); err != nil {
			t.Fatal(err)
		}
	}
}

// importRequest is an ImportKeyMaterial request with an expiry, for key
// material wrapped with parameters the root asked for.
func (p *probe) importRequest(t *testing.T) *kmsapi.ImportKeyMaterialRequest {
	e, ctx := p.e, context.Background()
	params, err := e.s.GetParametersForImport(ctx, e.caller, &kmsapi.GetParametersForImportRequest{KeyId: p.keyID, WrappingAlgorithm: wire.Ptr("RSAES_OAEP_SHA_256"), WrappingKeySpec: wire.Ptr("RSA_2048")})
	if err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	w, err := keys.Wrap(rand.Reader, params.PublicKey, keys.WrapRSAESOAEPSHA256, raw)
	if err != nil {
		t.Fatal(err)
	}
	validTo := wire.Timestamp(e.clock.Now().Add(24 * time.Hour))
	return &kmsapi.ImportKeyMaterialRequest{KeyId: p.keyID, ImportToken: params.ImportToken, EncryptedKeyMaterial: w, ExpirationModel: wire.Ptr(expires), ValidTo: &validTo}
}

// organization makes the test account the management account of an
// organization, once.
func (p *probe) organization(t *testing.T) {
	e := p.e
	if e.ids.OrgScope("111122223333") != nil {
		return
	}
	root, err := e.ids.Identity("AKIAROOT")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ids.CreateOrganization(context.Background(), iam.Call{Identity: root, Request: authz.Request{Time: e.clock.Now()}}, &orgapi.CreateOrganizationRequest{}); err != nil {
		t.Fatal(err)
	}
}

// A key policy may not use a condition key of a served service that no
// request carries: a Deny on it would never fire. Keys of other services
// are accepted, as AWS accepts them.
func TestUnsupportedConditionKeysRefused(t *testing.T) {
	e := newEnv(t)
	k := e.createKey(t)
	doc := func(key string) *string {
		return wire.Ptr(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
			{"Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"StringNotEquals":{"` + key + `":"x"}}}]}`)
	}
	for key, want := range map[string]string{
		"aws:Ec2InstanceSourceVpc": "MalformedPolicyDocumentException",
		"kms:NoSuchKey":            "MalformedPolicyDocumentException",
		"kms:encryptioncontext:x":  "",
		"aws:ResourceOrgPaths":     "",
		"s3:prefix":                "",
	} {
		_, err := e.s.PutKeyPolicy(context.Background(), e.caller, &kmsapi.PutKeyPolicyRequest{KeyId: k.KeyId, Policy: doc(key)})
		if code(err) != want {
			t.Errorf("a key policy with %s: %v, want %q", key, err, want)
		}
		if want != "" && !strings.Contains(err.Error(), "Condition key "+key+" is not supported.") {
			t.Errorf("the refusal of %s does not name it: %v", key, err)
		}
	}
}
