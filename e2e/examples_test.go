package e2e

import (
	"crypto/rand"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/testserver"
)

// exampleOrder is the order in which TestExamples replays AWS's documented
// examples (examples-1.json): the order of a key store's and a key's life,
// so that each example finds what it needs. It must list every example.
var exampleOrder = []string{
	"DescribeCustomKeyStores#0", "CreateCustomKeyStore#0", "ConnectCustomKeyStore#0", "DescribeCustomKeyStores#1",
	"CreateKey#0", "CreateKey#1", "CreateKey#2", "CreateKey#3", "CreateKey#4", "CreateKey#5", "CreateKey#6",
	"DescribeKey#0", "DescribeKey#1", "DescribeKey#2", "DescribeKey#3",
	"CreateAlias#0", "UpdateAlias#0", "ListAliases#0",
	"Encrypt#0", "Decrypt#0", "ReEncrypt#0", "GenerateDataKey#0", "GenerateDataKeyWithoutPlaintext#0",
	"GenerateDataKeyPair#0", "GenerateDataKeyPairWithoutPlaintext#0", "GenerateRandom#0", "DeleteAlias#0",
	"GenerateMac#0", "VerifyMac#0", "Sign#0", "Verify#0", "GetPublicKey#0",
	"TagResource#0", "ListResourceTags#0", "UntagResource#0",
	"EnableKeyRotation#0", "GetKeyRotationStatus#0", "DisableKeyRotation#0",
	"GetKeyPolicy#0", "PutKeyPolicy#0", "ListKeyPolicies#0",
	"CreateGrant#0", "ListGrants#0", "ListRetirableGrants#0", "RetireGrant#0", "RevokeGrant#0",
	"UpdateKeyDescription#0", "DisableKey#0", "EnableKey#0", "ScheduleKeyDeletion#0", "CancelKeyDeletion#0",
	"GetParametersForImport#0", "ImportKeyMaterial#0", "DeleteImportedKeyMaterial#0",
	"ReplicateKey#0", "ListKeys#0",
	"DisconnectCustomKeyStore#0", "UpdateCustomKeyStore#0", "UpdateCustomKeyStore#1", "UpdateCustomKeyStore#2",
	"DeleteCustomKeyStore#0",
}

// TestExamples replays every request/response example of the API model
// (examples-1.json) against Trent through the SDK, with the example's
// identifiers replaced by those of keys and key stores made for it in the
// same situation (key spec, usage, origin, state), and compares the answer
// with AWS's: every member the example shows is there, with the same enum
// values, and key ARNs and key ids where AWS has them; the response is also
// held to the model as in TestResponseShapes.
func TestExamples(t *testing.T) {
	const pin = "kmsPswd" // the example's KeyStorePassword
	const cluster, cluster2 = "cluster-2a23b4cdefg", "cluster-3a23b4cdefg"
	env := softHSMTokens(t, pin, [2]string{cluster, "examples"}, [2]string{cluster2, "examples-2"})
	regions := []string{"us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1"}
	srv := testserver.Start(t, testserver.Options{Regions: regions, Env: env})
	c, rec := recordingClient(srv, "us-east-1")
	s := &sdkCaller{t: t, c: c, rec: rec, chk: newChecker(t), ctx: testserver.Context(t), done: map[string]bool{}}
	type m = map[string]any
	ctx := testserver.Context(t)
	anchor := trustAnchor(t)

	// The principals the examples' key policy and grants name.
	ic := iam.NewFromConfig(srv.Config(""))
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testserver.Account + `:root"},"Action":"sts:AssumeRole"}]}`
	for _, r := range []string{"ExampleRole", "ExampleAdminRole", "ExamplePowerUserRole"} {
		if _, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(r), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("ExampleAdminUser")}); err != nil {
		t.Fatal(err)
	}

	newKey := func(in m) map[string]any {
		return obj(s.call("CreateKey", in, nil)["KeyMetadata"])
	}
	var storeID string
	aliases := map[string]string{} // alias name → key id it was made for
	// keyFor returns the identifier of key km in the form the example's
	// identifier has: key ARN, alias name (made for it) or key id.
	keyFor := func(exampleID string, km map[string]any) string {
		switch {
		case strings.HasPrefix(exampleID, "arn:"):
			return str(km, "Arn")
		case strings.HasPrefix(exampleID, "alias/"):
			if aliases[exampleID] != str(km, "KeyId") {
				if aliases[exampleID] != "" {
					s.call("DeleteAlias", m{"AliasName": exampleID}, nil)
				}
				s.call("CreateAlias", m{"AliasName": exampleID, "TargetKeyId": str(km, "KeyId")}, nil)
				aliases[exampleID] = str(km, "KeyId")
			}
			return exampleID
		}
		return str(km, "KeyId")
	}
	sym := newKey(m{})
	// prepare gives each example's request its situation: the key (or
	// store) of the right kind in the right state, and real blobs.
	prepare := map[string]func(in m){
		"CreateCustomKeyStore#0": func(in m) {
			in["CloudHsmClusterId"], in["TrustAnchorCertificate"] = cluster, anchor
		},
		"CreateKey#5": func(in m) { in["CustomKeyStoreId"] = storeID },
		"DescribeKey#1": func(in m) {
			k := newKey(m{"KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"})
			s.call("DisableKey", m{"KeyId": str(k, "KeyId")}, nil)
			in["KeyId"] = keyFor(str(in, "KeyId"), k)
		},
		"DescribeKey#2": func(in m) {
			// A primary with the example's three replicas.
			k := newKey(m{"MultiRegion": true})
			for _, r := range regions[1:] {
				s.call("ReplicateKey", m{"KeyId": str(k, "KeyId"), "ReplicaRegion": r}, nil)
			}
			in["KeyId"] = keyFor(str(in, "KeyId"), k)
		},
		"DescribeKey#3": func(in m) {
			in["KeyId"] = keyFor(str(in, "KeyId"), newKey(m{"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"}))
		},
		"Decrypt#0": func(in m) {
			in["KeyId"] = keyFor(str(in, "KeyId"), sym)
			in["CiphertextBlob"] = s.call("Encrypt", m{"KeyId": str(sym, "KeyId"), "Plaintext": []byte("example")}, nil)["CiphertextBlob"]
		},
		"ReEncrypt#0": func(in m) {
			in["CiphertextBlob"] = s.call("Encrypt", m{"KeyId": str(sym, "KeyId"), "Plaintext": []byte("example")}, nil)["CiphertextBlob"]
			in["DestinationKeyId"] = keyFor(str(in, "DestinationKeyId"), newKey(m{}))
		},
		"GenerateMac#0": func(in m) {
			in["KeyId"] = keyFor(str(in, "KeyId"), newKey(m{"KeySpec": "HMAC_384", "KeyUsage": "GENERATE_VERIFY_MAC"}))
		},
		"VerifyMac#0": func(in m) {
			k := newKey(m{"KeySpec": "HMAC_384", "KeyUsage": "GENERATE_VERIFY_MAC"})
			in["KeyId"] = keyFor(str(in, "KeyId"), k)
			in["Mac"] = s.call("GenerateMac", m{"KeyId": str(k, "KeyId"), "Message": in["Message"], "MacAlgorithm": in["MacAlgorithm"]}, nil)["Mac"]
		},
		"Sign#0": func(in m) {
			in["KeyId"] = keyFor(str(in, "KeyId"), newKey(m{"KeySpec": "ECC_NIST_P384", "KeyUsage": "SIGN_VERIFY"}))
		},
		"Verify#0": func(in m) {
			sig := s.call("Sign", m{"KeyId": in["KeyId"], "Message": in["Message"], "MessageType": "RAW", "SigningAlgorithm": in["SigningAlgorithm"]}, nil)
			in["Signature"] = sig["Signature"]
		},
		"GetPublicKey#0": func(in m) {
			in["KeyId"] = keyFor(str(in, "KeyId"), newKey(m{"KeySpec": "RSA_4096", "KeyUsage": "ENCRYPT_DECRYPT"}))
		},
		"CreateGrant#0": func(in m) { in["KeyId"] = str(sym, "Arn") },
		"ListGrants#0": func(in m) {
			s.call("CreateGrant", m{"KeyId": str(sym, "KeyId"), "GranteePrincipal": "arn:aws:iam::" + testserver.Account + ":role/ExampleRole",
				"RetiringPrincipal": "arn:aws:iam::" + testserver.Account + ":role/ExampleRole", "Operations": []string{"Encrypt", "ReEncryptFrom", "ReEncryptTo"}}, nil)
			in["KeyId"] = keyFor(str(in, "KeyId"), sym)
		},
		"RetireGrant#0": func(in m) {
			g := s.call("CreateGrant", m{"KeyId": str(sym, "KeyId"), "GranteePrincipal": "arn:aws:iam::" + testserver.Account + ":role/ExampleRole",
				"RetiringPrincipal": "arn:aws:iam::" + testserver.Account + ":root", "Operations": []string{"Decrypt"}}, nil)
			in["KeyId"], in["GrantId"] = keyFor(str(in, "KeyId"), sym), g["GrantId"]
		},
		"RevokeGrant#0": func(in m) {
			g := s.call("CreateGrant", m{"KeyId": str(sym, "KeyId"), "GranteePrincipal": "arn:aws:iam::" + testserver.Account + ":role/ExampleRole", "Operations": []string{"Decrypt"}}, nil)
			in["KeyId"], in["GrantId"] = keyFor(str(in, "KeyId"), sym), g["GrantId"]
		},
		"ScheduleKeyDeletion#0": func(in m) { in["KeyId"] = keyFor(str(in, "KeyId"), newKey(m{})) },
		"CancelKeyDeletion#0": func(in m) {
			k := newKey(m{})
			s.call("ScheduleKeyDeletion", m{"KeyId": str(k, "KeyId"), "PendingWindowInDays": 7}, nil)
			in["KeyId"] = keyFor(str(in, "KeyId"), k)
		},
		"GetParametersForImport#0": func(in m) { in["KeyId"] = keyFor(str(in, "KeyId"), newKey(m{"Origin": "EXTERNAL"})) },
		"ImportKeyMaterial#0": func(in m) {
			k := newKey(m{"Origin": "EXTERNAL"})
			p := s.call("GetParametersForImport", m{"KeyId": str(k, "KeyId"), "WrappingAlgorithm": "RSAES_OAEP_SHA_256", "WrappingKeySpec": "RSA_2048"}, nil)
			material := make([]byte, 32)
			rand.Read(material)
			wrapped, err := keys.Wrap(rand.Reader, b64(t, p["PublicKey"]), keys.WrapRSAESOAEPSHA256, material)
			if err != nil {
				t.Fatal(err)
			}
			in["KeyId"], in["ImportToken"], in["EncryptedKeyMaterial"] = keyFor(str(in, "KeyId"), k), p["ImportToken"], wrapped
			// Kept for the next example, which deletes it.
			aliases["imported"] = str(k, "KeyId")
		},
		"DeleteImportedKeyMaterial#0": func(in m) { in["KeyId"] = aliases["imported"] },
		"ReplicateKey#0":              func(in m) { in["KeyId"] = keyFor(str(in, "KeyId"), newKey(m{"MultiRegion": true})) },
		"UpdateCustomKeyStore#2":      func(in m) { in["CloudHsmClusterId"] = cluster },
		"DeleteCustomKeyStore#0": func(in m) {
			// A store of its own: the examples' store holds a key.
			out := s.call("CreateCustomKeyStore", m{"CustomKeyStoreName": "ToDelete", "CloudHsmClusterId": cluster2, "TrustAnchorCertificate": anchor, "KeyStorePassword": pin}, nil)
			in["CustomKeyStoreId"] = out["CustomKeyStoreId"]
		},
	}

	examples := loadExamples(t)
	byID := map[string]example{}
	for _, ex := range examples {
		byID[ex.id] = ex
		if !slices.Contains(exampleOrder, ex.id) {
			t.Errorf("example %s is not in exampleOrder", ex.id)
		}
	}
	for _, id := range exampleOrder {
		ex, ok := byID[id]
		if !ok {
			t.Fatalf("exampleOrder names %s, which examples-1.json does not have", id)
		}
		// A deep copy, since prepare rewrites it.
		var in m
		b, _ := json.Marshal(ex.Input)
		json.Unmarshal(b, &in)
		if in == nil {
			in = m{}
		}
		for _, member := range []string{"Plaintext", "Message"} {
			if v, ok := in[member].(string); ok {
				in[member] = []byte(v) // text in the example, a blob on the wire
			}
		}
		if f := prepare[id]; f != nil {
			f(in)
		}
		// What every example needs alike: its key (a fresh symmetric one
		// unless prepared), its store, text blobs as bytes.
		for _, member := range []string{"KeyId", "TargetKeyId", "DestinationKeyId"} {
			if v := str(in, member); v != "" && (strings.Contains(v, "1234abcd") || strings.Contains(v, "0987dcba")) {
				in[member] = keyFor(v, sym)
			}
		}
		if strings.HasPrefix(str(in, "CustomKeyStoreId"), "cks-1234567890abcdef0") {
			in["CustomKeyStoreId"] = storeID
		}
		t.Run(id, func(t *testing.T) {
			s.t = t
			got := s.call(ex.op, in, nil)
			if ex.op == "CreateCustomKeyStore" {
				storeID = str(got, "CustomKeyStoreId")
			}
			if out := s.chk.m.Operations[ex.op].Output; out != nil && ex.Output != nil {
				s.chk.compare(t, id, ex.op, out.Shape, ex.Output, got)
			}
		})
		s.t = t
	}
}

// compare checks that got has every member the example want shows, with
// the same enum values.
func (c *checker) compare(t *testing.T, id, path, name string, want, got any) {
	t.Helper()
	s := c.m.Shapes[name]
	switch s.Type {
	case "structure":
		w, g := obj(want), obj(got)
		for member, wv := range w {
			mm, ok := s.Members[member]
			if !ok {
				continue // the example shows a member the model no longer has
			}
			gv, ok := g[member]
			if !ok {
				t.Errorf("%s: %s.%s = %v in AWS's example, absent from %v", id, path, member, wv, g)
				continue
			}
			c.compare(t, id, path+"."+member, mm.Shape, wv, gv)
		}
	case "list":
		w, _ := want.([]any)
		g, _ := got.([]any)
		if len(w) > 0 && len(g) == 0 {
			t.Errorf("%s: %s has %d elements in AWS's example, none here", id, path, len(w))
			return
		}
		if len(w) > 0 && c.m.Shapes[s.Member.Shape].Type == "structure" {
			// Each member an example element shows must be in some element
			// here; compare it with the first element that has it.
			for _, we := range w {
				for member, wv := range obj(we) {
					found := false
					for _, ge := range g {
						if gv, ok := obj(ge)[member]; ok {
							c.compare(t, id, path+"[]", s.Member.Shape, map[string]any{member: wv}, map[string]any{member: gv})
							found = true
							break
						}
					}
					if !found {
						t.Errorf("%s: %s[].%s is in AWS's example, in no element here", id, path, member)
					}
				}
			}
		}
	case "string":
		if len(s.Enum) > 0 && want != got {
			t.Errorf("%s: %s = %v, AWS's example has %v", id, path, got, want)
		}
	}
}
