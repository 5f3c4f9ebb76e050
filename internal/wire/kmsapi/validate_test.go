package kmsapi_test

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trentkms/trent/internal/testenv"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// request is any generated request type.
type request interface{ Validate() error }

// decode runs body through wire.DecodeJSON into a new request of op and
// returns the client-visible error, or nil.
func decode(t *testing.T, op, body string) *wire.Error {
	t.Helper()
	req := newRequest(t, op)
	err := wire.DecodeJSON([]byte(body), req)
	if err == nil {
		return nil
	}
	var we *wire.Error
	if !errors.As(err, &we) {
		t.Fatalf("%s %s: error %T %v is not a *wire.Error", op, body, err, err)
	}
	return we
}

func newRequest(t *testing.T, op string) request {
	t.Helper()
	switch op {
	case "CreateKey":
		return new(kmsapi.CreateKeyRequest)
	case "Encrypt":
		return new(kmsapi.EncryptRequest)
	case "GenerateRandom":
		return new(kmsapi.GenerateRandomRequest)
	case "GenerateMac":
		return new(kmsapi.GenerateMacRequest)
	case "DeriveSharedSecret":
		return new(kmsapi.DeriveSharedSecretRequest)
	case "TagResource":
		return new(kmsapi.TagResourceRequest)
	case "CreateGrant":
		return new(kmsapi.CreateGrantRequest)
	case "CreateAlias":
		return new(kmsapi.CreateAliasRequest)
	case "ListKeys":
		return new(kmsapi.ListKeysRequest)
	case "ImportKeyMaterial":
		return new(kmsapi.ImportKeyMaterialRequest)
	case "CreateCustomKeyStore":
		return new(kmsapi.CreateCustomKeyStoreRequest)
	}
	t.Fatalf("no request type for %s", op)
	return nil
}

const (
	keyID = `"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab"`
	pt    = `"Plaintext": "aGVsbG8="`
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		op   string
		body string
		want string // "" means valid
	}{
		{name: "valid encrypt", op: "Encrypt", body: `{` + keyID + `, ` + pt + `, "EncryptionContext": {"a": "b"}, "GrantTokens": ["t"]}`},
		{name: "empty body is {}", op: "ListKeys", body: ``},
		{name: "unknown members ignored", op: "ListKeys", body: `{"Bogus": [1, {"x": null}], "Limit": 5}`},
		{name: "null member is absent", op: "ListKeys", body: `{"Limit": null}`},
		{
			name: "number of bytes above max",
			op:   "GenerateRandom", body: `{"NumberOfBytes": 1025}`,
			want: "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024",
		},
		{
			name: "number of bytes below min",
			op:   "GenerateRandom", body: `{"NumberOfBytes": 0}`,
			want: "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1",
		},
		{
			name: "required members missing, in model order",
			op:   "Encrypt", body: `{}`,
			want: "2 validation errors detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null; " +
				"Value null at 'plaintext' failed to satisfy constraint: Member must not be null",
		},
		{
			name: "plaintext too long is not echoed",
			op:   "Encrypt", body: `{` + keyID + `, "Plaintext": "` + b64(4097) + `"}`,
			want: "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096",
		},
		{
			name: "empty plaintext",
			op:   "Encrypt", body: `{` + keyID + `, "Plaintext": ""}`,
			want: "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length greater than or equal to 1",
		},
		{
			name: "key id too long counts characters",
			op:   "Encrypt", body: `{"KeyId": "` + strings.Repeat("é", 2049) + `", ` + pt + `}`,
			want: "1 validation error detected: Value '" + strings.Repeat("é", 2049) + "' at 'keyId' failed to satisfy constraint: Member must have length less than or equal to 2048",
		},
		{
			name: "multibyte key id at max is valid",
			op:   "Encrypt", body: `{"KeyId": "` + strings.Repeat("é", 2048) + `", ` + pt + `}`,
		},
		{
			name: "several errors across members",
			op:   "Encrypt", body: `{"KeyId": "", "Plaintext": "", "EncryptionAlgorithm": "ROT13"}`,
			want: "3 validation errors detected: Value '' at 'keyId' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
				"Value at 'plaintext' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
				"Value 'ROT13' at 'encryptionAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [SYMMETRIC_DEFAULT, RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, SM2PKE]",
		},
		{
			name: "grant token list too long",
			op:   "Encrypt", body: `{` + keyID + `, ` + pt + `, "GrantTokens": ["a","b","c","d","e","f","g","h","i","j","k"]}`,
			want: "1 validation error detected: Value '[a, b, c, d, e, f, g, h, i, j, k]' at 'grantTokens' failed to satisfy constraint: Member must have length less than or equal to 10",
		},
		{
			name: "grant token element constraint reported on the list",
			op:   "Encrypt", body: `{` + keyID + `, ` + pt + `, "GrantTokens": ["a", ""]}`,
			want: "1 validation error detected: Value '[a, ]' at 'grantTokens' failed to satisfy constraint: Member must satisfy constraint: " +
				"[Member must have length less than or equal to 8192, Member must have length greater than or equal to 1]",
		},
		{
			name: "tag key too long",
			op:   "TagResource", body: `{` + keyID + `, "Tags": [{"TagKey": "` + strings.Repeat("a", 129) + `", "TagValue": "v"}]}`,
			want: "1 validation error detected: Value '" + strings.Repeat("a", 129) + "' at 'tags.1.member.tagKey' failed to satisfy constraint: Member must have length less than or equal to 128",
		},
		{
			name: "nested required and length in the second tag",
			op:   "CreateKey", body: `{"Tags": [{"TagKey": "k", "TagValue": ""}, {"TagKey": ""}]}`,
			want: "2 validation errors detected: Value '' at 'tags.2.member.tagKey' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
				"Value null at 'tags.2.member.tagValue' failed to satisfy constraint: Member must not be null",
		},
		{
			name: "nested structure path",
			op:   "CreateGrant", body: `{` + keyID + `, "GranteePrincipal": "p", "Operations": ["Encrypt"], "Constraints": {"SourceArn": "arn:aws:kms:us-east-1:123:key/x"}}`,
			want: "1 validation error detected: Value 'arn:aws:kms:us-east-1:123:key/x' at 'constraints.sourceArn' failed to satisfy constraint: Member must satisfy regular expression pattern: ^arn:aws[a-z0-9-]*:[a-z0-9-]+:[a-z0-9-]*:[0-9]{12}:.+$",
		},
		{
			name: "enum list element",
			op:   "CreateGrant", body: `{` + keyID + `, "GranteePrincipal": "p", "Operations": ["Encrypt", "Nope"]}`,
			want: "1 validation error detected: Value '[Encrypt, Nope]' at 'operations' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [" +
				strings.Join(kmsapi.GrantOperationValues, ", ") + "]]",
		},
		{
			name: "pattern and length fail together",
			op:   "CreateAlias", body: `{"AliasName": "` + strings.Repeat("!", 257) + `", "TargetKeyId": "k"}`,
			want: "2 validation errors detected: Value '" + strings.Repeat("!", 257) + "' at 'aliasName' failed to satisfy constraint: Member must have length less than or equal to 256; " +
				"Value '" + strings.Repeat("!", 257) + "' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$",
		},
		{
			name: "pattern is matched against the whole value",
			op:   "CreateCustomKeyStore", body: `{"CustomKeyStoreName": "n", "CloudHsmClusterId": "cluster-234567abcdefg!"}`,
			want: "1 validation error detected: Value 'cluster-234567abcdefg!' at 'cloudHsmClusterId' failed to satisfy constraint: Member must satisfy regular expression pattern: cluster-[2-7a-zA-Z]{11,16}",
		},
		{
			name: "sensitive string is not echoed",
			op:   "CreateCustomKeyStore", body: `{"CustomKeyStoreName": "n", "KeyStorePassword": "12345"}`,
			want: "1 validation error detected: Value at 'keyStorePassword' failed to satisfy constraint: Member must have length greater than or equal to 7",
		},
		{
			name: "list limit range",
			op:   "ListKeys", body: `{"Limit": 1001}`,
			want: "1 validation error detected: Value '1001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 1000",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decode(t, tt.op, tt.body)
			if tt.want == "" {
				if got != nil {
					t.Fatalf("got %v, want nil", got)
				}
				return
			}
			if got == nil {
				t.Fatalf("got nil, want %q", tt.want)
			}
			if got.Code != "ValidationException" || got.Status != 400 {
				t.Errorf("got %s %d, want ValidationException 400", got.Code, got.Status)
			}
			if got.Message != tt.want {
				t.Errorf("message\n got %q\nwant %q", got.Message, tt.want)
			}
		})
	}
}

// TestAWSMessages checks every model-constraint message that real AWS KMS
// returned (../shared/conformance/aws-kms-error-messages.tsv) against a
// request that reproduces it.
func TestAWSMessages(t *testing.T) {
	rows := awsValidationMessages(t)
	// How to reproduce each AWS message, by its "at '<path>'".
	repro := map[string]struct{ op, body string }{
		"numberOfBytes":          {"GenerateRandom", ""}, // body from the value
		"keySpec":                {"CreateKey", `{"KeySpec": "HMAC_random"}`},
		"keyUsage":               {"CreateKey", `{"KeyUsage": "RANDOM"}`},
		"macAlgorithm":           {"GenerateMac", `{` + keyID + `, "Message": "bWFj", "MacAlgorithm": "INVALID"}`},
		"plaintext":              {"Encrypt", `{` + keyID + `, "Plaintext": "` + b64(4097) + `"}`},
		"keyAgreementAlgorithm":  {"DeriveSharedSecret", `{` + keyID + `, "KeyAgreementAlgorithm": "INVALID", "PublicKey": "cGs="}`},
		"tags.1.member.tagValue": {"CreateKey", `{"Tags": [{"TagKey": "k", "TagValue": "` + strings.Repeat("v", 257) + `"}]}`},
		"tags.1.member.tagKey":   {"CreateKey", `{"Tags": [{"TagKey": "` + strings.Repeat("a", 129) + `", "TagValue": "v"}]}`},
	}
	for _, msg := range rows {
		path := between(msg, " at '", "'")
		t.Run(path, func(t *testing.T) {
			r, ok := repro[path]
			if !ok {
				t.Fatalf("no reproduction for %q", msg)
			}
			if path == "numberOfBytes" {
				r.body = `{"NumberOfBytes": ` + between(msg, "Value '", "'") + `}`
			}
			got := decode(t, r.op, r.body)
			if got == nil {
				t.Fatalf("valid, want %q", msg)
			}
			if !strings.Contains(msg, "enum value set: [") {
				if got.Message != msg {
					t.Errorf("message\n got %q\nwant %q", got.Message, msg)
				}
				return
			}
			// AWS lists enum values in the order of a Java hash set, and the
			// model has gained values since the recording: compare the text
			// up to the list, and that every value AWS listed is in ours.
			head := msg[:strings.Index(msg, "enum value set: [")]
			if !strings.HasPrefix(got.Message, head) {
				t.Errorf("message\n got %q\nwant prefix %q", got.Message, head)
			}
			ours := strings.Split(strings.TrimSuffix(after(got.Message, "enum value set: ["), "]"), ", ")
			for _, v := range strings.Split(strings.TrimSuffix(after(msg, "enum value set: ["), "]"), ", ") {
				if !slices.Contains(ours, v) {
					t.Errorf("AWS lists %s, our enum %v does not", v, ours)
				}
			}
		})
	}
}

// awsValidationMessages returns the TSV's ValidationException messages that
// come from model constraints.
func awsValidationMessages(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "..", "..", "shared", "conformance", "aws-kms-error-messages.tsv"))
	if err != nil {
		testenv.Missing(t, "conformance corpus not available: %v", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) == 4 && cols[2] == "ValidationException" && strings.Contains(cols[3], "validation error") && strings.Contains(cols[3], "detected: ") {
			out = append(out, cols[3])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("no validation messages in the corpus")
	}
	return out
}

func between(s, start, end string) string {
	s = after(s, start)
	if i := strings.Index(s, end); i >= 0 {
		return s[:i]
	}
	return s
}

func after(s, sep string) string {
	if i := strings.Index(s, sep); i >= 0 {
		return s[i+len(sep):]
	}
	return ""
}

// b64 is the base64 text of n zero bytes.
func b64(n int) string {
	s := strings.Repeat("AAAA", n/3)
	switch n % 3 {
	case 1:
		s += "AA=="
	case 2:
		s += "AAA="
	}
	return s
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name   string
		err    *wire.Error
		code   string
		status int
	}{
		{"not found", kmsapi.NewNotFoundException("m"), "NotFoundException", 400},
		{"invalid state", kmsapi.NewKMSInvalidStateException("m"), "KMSInvalidStateException", 400},
		{"disabled", kmsapi.NewDisabledException("m"), "DisabledException", 400},
		{"internal is a fault", kmsapi.NewKMSInternalException("m"), "KMSInternalException", 500},
		{"dependency timeout is a fault", kmsapi.NewDependencyTimeoutException("m"), "DependencyTimeoutException", 500},
		{"by code", kmsapi.NewError("KeyUnavailableException", "m"), "KeyUnavailableException", 500},
		{"unknown code", kmsapi.NewError("Whatever", "m"), "Whatever", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err.Code != tt.code || tt.err.Status != tt.status || tt.err.Message != "m" {
				t.Errorf("got %+v, want %s %d", tt.err, tt.code, tt.status)
			}
		})
	}
}

func TestOperations(t *testing.T) {
	if n := len(kmsapi.Operations); n != 54 {
		t.Errorf("%d operations, want 54", n)
	}
	op, ok := kmsapi.Operations["CreateKey"]
	if !ok || op.Name != "CreateKey" || op.Input != "CreateKeyRequest" || op.Output != "CreateKeyResponse" {
		t.Fatalf("CreateKey: %+v", op)
	}
	if !slices.Contains(op.Errors, "MalformedPolicyDocumentException") {
		t.Errorf("CreateKey errors %v lack MalformedPolicyDocumentException", op.Errors)
	}
	for name, op := range kmsapi.Operations {
		if op.Name != name {
			t.Errorf("Operations[%q].Name = %q", name, op.Name)
		}
	}
}
