package audit

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/testenv"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

const modelPath = "../../../shared/aws-models/kms/service-2.json"

type shape struct {
	Type      string `json:"type"`
	Sensitive bool   `json:"sensitive"`
	Members   map[string]struct {
		Shape string `json:"shape"`
	} `json:"members"`
	Member struct{ Shape string } `json:"member"`
	Key    struct{ Shape string } `json:"key"`
	Value  struct{ Shape string } `json:"value"`
}

type model struct {
	Operations map[string]struct {
		Input  struct{ Shape string } `json:"input"`
		Output struct{ Shape string } `json:"output"`
	} `json:"operations"`
	Shapes map[string]shape `json:"shapes"`
}

func loadModel(t *testing.T) *model {
	t.Helper()
	b, err := os.ReadFile(modelPath)
	if err != nil {
		testenv.Missing(t, "KMS API model not available: %v", err)
	}
	var m model
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

// secretMembers may never appear in an event, wherever they are; every blob
// and every member the model marks sensitive is secret too.
var secretMembers = []string{"GrantToken", "GrantTokens", "KeyStorePassword", "XksProxyAuthenticationCredential", "Recipient", "RawSecretAccessKey"}

// filler builds a value of a shape in which every string carries a distinct
// marker, and records which markers are secret.
type filler struct {
	m       *model
	n       int
	secret  map[string]string // marker → member path
	visible map[string]string // top-level string member → its marker
}

func (f *filler) mark(path string, secret bool) string {
	f.n++
	mk := fmt.Sprintf("MARK%04dX", f.n)
	if secret {
		f.secret[mk] = path
	}
	return mk
}

func (f *filler) value(path, shapeName string, secret bool, depth int) any {
	s := f.m.Shapes[shapeName]
	secret = secret || s.Sensitive
	switch s.Type {
	case "string":
		return f.mark(path, secret)
	case "blob":
		// A blob is secret (or key material) by default; its bytes carry the
		// marker, so the marker appears only if the blob is copied.
		return base64.StdEncoding.EncodeToString([]byte(f.mark(path, true)))
	case "integer", "long":
		return 7
	case "boolean":
		return true
	case "timestamp":
		return 1.7e9
	case "list":
		return []any{f.value(path+"[]", s.Member.Shape, secret, depth+1)}
	case "map":
		return map[string]any{f.mark(path+"{key}", secret): f.value(path+"{}", s.Value.Shape, secret, depth+1)}
	case "structure":
		out := map[string]any{}
		if depth > 4 {
			return out
		}
		for name, mem := range s.Members {
			out[name] = f.value(path+"."+name, mem.Shape, secret || slices.Contains(secretMembers, name), depth+1)
		}
		return out
	}
	return nil
}

// shownElsewhere are members that hold no secret but that CloudTrail does
// not show, and the operations whose requestParameters are always null.
var (
	notShown      = []string{"TrustAnchorCertificate"}
	nullOperation = []string{"GenerateRandom"}
	eventNames    = map[string]string{"CloudHsmClusterId": "clusterId"}
)

// hides reports whether a shape is, or holds, a sensitive shape or a blob.
func (m *model) hides(name string, seen map[string]bool) bool {
	if seen[name] {
		return false
	}
	seen[name] = true
	s := m.Shapes[name]
	if s.Sensitive || s.Type == "blob" {
		return true
	}
	switch s.Type {
	case "list":
		return m.hides(s.Member.Shape, seen)
	case "map":
		return m.hides(s.Value.Shape, seen)
	case "structure":
		for _, mem := range s.Members {
			if m.hides(mem.Shape, seen) {
				return true
			}
		}
	}
	return false
}

// Every member of every KMS request is set to a marker and the body is
// decoded as the server decodes it; no marker of a secret member may appear
// in the event's requestParameters, and every other member must, under its
// CloudTrail name.
func TestRequestParametersNeverShowSecrets(t *testing.T) {
	mdl := loadModel(t)
	for op, o := range mdl.Operations {
		t.Run(op, func(t *testing.T) {
			f := &filler{m: mdl, secret: map[string]string{}}
			var body any = map[string]any{}
			if o.Input.Shape != "" {
				body = f.value(op, o.Input.Shape, false, 0)
			}
			raw, _ := json.Marshal(body)
			req := decodeRequest(op, raw)
			if req == nil {
				t.Fatalf("%s does not decode: %s", op, raw)
			}
			got := KMSRequestParameters(req, nil)
			out, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			for mk, path := range f.secret {
				if strings.Contains(string(out), mk) {
					t.Errorf("secret member %s appears in requestParameters: %s", path, out)
				}
				if strings.Contains(string(out), base64.StdEncoding.EncodeToString([]byte(mk))) {
					t.Errorf("secret member %s appears base64-encoded in requestParameters: %s", path, out)
				}
			}
			var shown map[string]any
			json.Unmarshal(out, &shown)
			for name, mem := range mdl.Shapes[o.Input.Shape].Members {
				secret := slices.Contains(secretMembers, name) || mdl.hides(mem.Shape, map[string]bool{})
				if secret || slices.Contains(notShown, name) || slices.Contains(nullOperation, op) {
					continue
				}
				as, ok := eventNames[name]
				if !ok {
					as = lowerFirst(name)
				}
				if _, ok := shown[as]; !ok {
					t.Errorf("member %s is missing from requestParameters %s", name, out)
				}
			}
		})
	}
}

// The requestParameters of the Developer Guide's examples come out of the
// requests that made them (with their secret members added) unchanged.
func TestRequestParametersMatchGuideExamples(t *testing.T) {
	for _, page := range []string{
		"ct-encrypt.md", "ct-decrypt.md", "ct-generatedatakey.md", "ct-generatedatakeyplaintext.md",
		"ct-generatedatakeypair.md", "ct-generatedatakeypairwithoutplaintext.md", "ct-sign.md", "ct-verify.md",
		"ct-generatemac.md", "ct-verifymac.md", "ct-reencrypt.md", "ct-creategrant.md", "ct-createkey.md",
		"ct-put-key-policy.md", "ct-createalias.md", "ct-updatealias.md", "ct-deletealias.md", "ct-describekey.md",
		"ct-listgrants.md", "ct-listaliases.md", "ct-getkeypolicy.md", "ct-enablekeyrotation.md",
		"ct-cancel-key-deletion.md", "ct-schedule-key-deletion.md", "ct-tagresource.md", "ct-untagresource.md",
		"ct-update-key-description.md", "ct-disablekey.md", "ct-enablekey.md", "ct-revoke-grant.md",
		"ct-getparametersforimport.md", "ct-generaterandom.md", "ct-replicate-key.md", "ct-update-primary-region.md",
	} {
		t.Run(page, func(t *testing.T) {
			for i, ex := range examples(t, page) {
				op, _ := ex["eventName"].(string)
				want, _ := ex["requestParameters"].(map[string]any)
				body := map[string]any{}
				for k, v := range want {
					body[upperFirst(k)] = toRequest(k, v)
				}
				// Secrets the request carried but the event must not show.
				body["Plaintext"], body["CiphertextBlob"], body["Message"] = "c2VjcmV0", "c2VjcmV0", "c2VjcmV0"
				body["GrantTokens"] = []string{"token"}
				raw, _ := json.Marshal(body)
				req := decodeRequest(op, raw)
				if req == nil {
					t.Fatalf("example %d (%s): the request does not decode: %s", i+1, op, raw)
				}
				got := KMSRequestParameters(req, nil)
				if len(want) == 0 {
					want = nil
				}
				if !equalJSON(t, got, want) {
					g, _ := json.Marshal(got)
					w, _ := json.Marshal(want)
					t.Errorf("example %d (%s): requestParameters =\n%s\nwant\n%s", i+1, op, g, w)
				}
			}
		})
	}
}

func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// toRequest turns an event's parameter back into the request member: nested
// member names upper-cased, encryption contexts left alone.
func toRequest(name string, v any) any {
	if strings.Contains(strings.ToLower(name), "encryptioncontext") {
		return v
	}
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[upperFirst(k)] = toRequest(k, e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = toRequest(name, e)
		}
		return out
	}
	return v
}

func TestResponseElements(t *testing.T) {
	created := wire.Timestamp(time.Date(2021, 10, 14, 17, 39, 50, 0, time.UTC))
	deletion := wire.Timestamp(time.Date(2021, 11, 2, 23, 25, 25, 0, time.UTC))
	arn := "arn:aws:kms:us-west-2:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321"
	secret := []byte("SECRETBYTES")
	tests := []struct {
		name string
		op   string
		resp any
		want string // JSON; "null" for none
	}{
		{name: "CreateKey: keyMetadata as ct-createkey.md shows it", op: "CreateKey", resp: &kmsapi.CreateKeyResponse{KeyMetadata: &kmsapi.KeyMetadata{
			AWSAccountId: wire.Ptr("111122223333"), KeyId: wire.Ptr("0987dcba-09fe-87dc-65ba-ab0987654321"), Arn: wire.Ptr(arn),
			CreationDate: &created, Enabled: wire.Ptr(true), Description: wire.Ptr(""), KeyUsage: wire.Ptr("ENCRYPT_DECRYPT"),
			KeyState: wire.Ptr("Enabled"), Origin: wire.Ptr("AWS_CLOUDHSM"), CustomKeyStoreId: wire.Ptr("cks-1234567890abcdef0"),
			CloudHsmClusterId: wire.Ptr("cluster-1a23b4cdefg"), KeyManager: wire.Ptr("CUSTOMER"),
			CustomerMasterKeySpec: wire.Ptr("SYMMETRIC_DEFAULT"), KeySpec: wire.Ptr("SYMMETRIC_DEFAULT"),
			EncryptionAlgorithms: []string{"SYMMETRIC_DEFAULT"}, MultiRegion: wire.Ptr(false),
		}}, want: "ct-createkey.md#2"},
		{name: "ScheduleKeyDeletion as ct-schedule-key-deletion.md shows it", op: "ScheduleKeyDeletion", resp: &kmsapi.ScheduleKeyDeletionResponse{
			KeyId: wire.Ptr(arn), DeletionDate: &deletion, KeyState: wire.Ptr("PendingDeletion"), PendingWindowInDays: wire.Ptr(int32(30)),
		}, want: "ct-schedule-key-deletion.md#3"},
		{name: "CancelKeyDeletion", op: "CancelKeyDeletion", resp: &kmsapi.CancelKeyDeletionResponse{KeyId: wire.Ptr(exampleKey)}, want: "ct-cancel-key-deletion.md#1"},
		{name: "CreateGrant: the id, never the token", op: "CreateGrant", resp: &kmsapi.CreateGrantResponse{GrantId: wire.Ptr("f020fe75197b93991dc8491d6f19dd3cebb24ee62277a05914386724f3d48758"), GrantToken: wire.Ptr("SECRETBYTES")}, want: "ct-creategrant.md#1"},
		{name: "Encrypt", op: "Encrypt", resp: &kmsapi.EncryptResponse{CiphertextBlob: secret, KeyId: wire.Ptr(arn)}, want: "null"},
		{name: "Decrypt", op: "Decrypt", resp: &kmsapi.DecryptResponse{Plaintext: secret, KeyId: wire.Ptr(arn)}, want: "null"},
		{name: "GenerateDataKey", op: "GenerateDataKey", resp: &kmsapi.GenerateDataKeyResponse{Plaintext: secret, CiphertextBlob: secret}, want: "null"},
		{name: "GenerateDataKeyPair", op: "GenerateDataKeyPair", resp: &kmsapi.GenerateDataKeyPairResponse{PrivateKeyPlaintext: secret, PrivateKeyCiphertextBlob: secret, PublicKey: secret}, want: "null"},
		{name: "DeriveSharedSecret", op: "DeriveSharedSecret", resp: &kmsapi.DeriveSharedSecretResponse{SharedSecret: secret}, want: "null"},
		{name: "GenerateMac", op: "GenerateMac", resp: &kmsapi.GenerateMacResponse{Mac: secret}, want: "null"},
		{name: "Sign", op: "Sign", resp: &kmsapi.SignResponse{Signature: secret}, want: "null"},
		{name: "GenerateRandom", op: "GenerateRandom", resp: &kmsapi.GenerateRandomResponse{Plaintext: secret}, want: "null"},
		{name: "GetParametersForImport", op: "GetParametersForImport", resp: &kmsapi.GetParametersForImportResponse{ImportToken: secret, PublicKey: secret}, want: "null"},
		{name: "a response under another operation's name", op: "DescribeKey", resp: &kmsapi.CreateGrantResponse{GrantId: wire.Ptr("g")}, want: "null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := KMSResponseElements(tt.op, tt.resp)
			b, _ := json.Marshal(got)
			if strings.Contains(string(b), "SECRETBYTES") || strings.Contains(string(b), base64.StdEncoding.EncodeToString(secret)) {
				t.Fatalf("a secret appears in responseElements: %s", b)
			}
			var want any
			if page, n, ok := strings.Cut(tt.want, "#"); ok {
				var i int
				fmt.Sscan(n, &i)
				want = examples(t, page)[i-1]["responseElements"]
			}
			if !equalJSON(t, got, want) {
				w, _ := json.Marshal(want)
				t.Errorf("responseElements =\n%s\nwant\n%s", b, w)
			}
		})
	}
}

func TestQueryRequestParameters(t *testing.T) {
	params := url.Values{
		"Action": {"CreateUser"}, "Version": {"2010-05-08"}, "UserName": {"Alice"}, "Path": {"/eng/"},
		"Tags.member.1.Key": {"team"}, "Tags.member.1.Value": {"blue"}, "Tags.member.2.Key": {"env"}, "Tags.member.2.Value": {"prod"},
		"Password": {"MARK-password"}, "NewPassword": {"MARK-new"}, "SecretAccessKey": {"MARK-secret"},
		"SessionToken": {"MARK-session"}, "WebIdentityToken": {"MARK-wit"}, "SAMLAssertion": {"MARK-saml"},
		"TokenCode": {"MARK-mfa"}, "PrivateKey": {"MARK-pk"}, "AuthenticationCode1": {"MARK-ac"},
		"PolicyArns.member.1.arn": {"arn:aws:iam::aws:policy/ReadOnlyAccess"},
	}
	got := QueryRequestParameters(params)
	b, _ := json.Marshal(got)
	if strings.Contains(string(b), "MARK-") {
		t.Fatalf("a secret appears in requestParameters: %s", b)
	}
	want := `{"path":"/eng/","policyArns":[{"arn":"arn:aws:iam::aws:policy/ReadOnlyAccess"}],"tags":[{"key":"team","value":"blue"},{"key":"env","value":"prod"}],"userName":"Alice"}`
	if string(b) != want {
		t.Errorf("QueryRequestParameters =\n%s\nwant\n%s", b, want)
	}
	if QueryRequestParameters(url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}) != nil {
		t.Error("a request with only Action and Version has parameters")
	}
}

func FuzzKMSRequestParameters(f *testing.F) {
	f.Add("Encrypt", []byte(`{"KeyId":"k","Plaintext":"c2VjcmV0","EncryptionContext":{"a":"b"}}`))
	f.Add("Encrypt", []byte(`{"KeyId":"a","keyid":"b","Plaintext":"c2VjcmV0","EncryptionContext":{"a":"b"},"encryptionContext":{"\u2028":"<&>"}}`))
	f.Add("CreateGrant", []byte(`{"KeyId":"k","Constraints":{"EncryptionContextSubset":{"a":"b"}},"GrantTokens":["t"]}`))
	f.Add("TagResource", []byte(`{"KeyId":"k","Tags":[{"TagKey":"a","TagValue":"b"},{}]}`))
	f.Add("ImportKeyMaterial", []byte(`{"KeyId":"k","ValidTo":1.7E9,"ImportToken":"c2VjcmV0"}`))
	f.Add("CreateCustomKeyStore", []byte(`{"CustomKeyStoreName":"n","KeyStorePassword":"pw","XksProxyAuthenticationCredential":{"AccessKeyId":"a","RawSecretAccessKey":"s"}}`))
	f.Fuzz(func(t *testing.T, op string, body []byte) {
		req := decodeRequest(op, body)
		got := KMSRequestParameters(req, []string{exampleKey})
		var shown map[string]any
		if len(got) > 0 {
			if err := json.Unmarshal(got, &shown); err != nil {
				t.Fatalf("requestParameters are not a JSON object: %v: %s", err, got)
			}
			// The event's line is what encoding/json writes: compact.
			var buf bytes.Buffer
			if err := json.Compact(&buf, got); err != nil || !bytes.Equal(buf.Bytes(), got) {
				t.Fatalf("requestParameters are not compact JSON: %s", got)
			}
		}
		for _, secret := range []string{"plaintext", "ciphertextBlob", "message", "signature", "mac", "publicKey", "importToken", "encryptedKeyMaterial", "grantTokens", "grantToken", "recipient", "keyStorePassword", "xksProxyAuthenticationCredential"} {
			if _, ok := shown[secret]; ok {
				t.Fatalf("requestParameters of %s show %s", op, secret)
			}
		}
		// What the event says the request named is what the operation got.
		if req != nil {
			if f := reflect.ValueOf(req).Elem().FieldByName("KeyId"); f.IsValid() {
				if k := f.Interface().(*string); k != nil && shown["keyId"] != *k {
					t.Fatalf("keyId %v, the request's %q", shown["keyId"], *k)
				}
			}
		}
	})
}
