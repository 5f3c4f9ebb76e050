package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/testserver"
)

// The response-shape checks: every KMS response Trent sends, read as raw
// JSON, is held against the API model (../shared/aws-models/kms): only
// members the model declares, in the JSON type and form AWS sends them
// (timestamps as Java-style epoch seconds, enums within the model's values,
// blobs in base64, strings matching the model's patterns); the lists AWS
// always sends present even when empty; key ids and key ARNs where AWS
// puts each; and the members the model documents as present only in some
// situations present exactly then (presenceRules).

// apiModel is the part of the KMS API model the checks read.
type apiModel struct {
	Operations map[string]struct {
		Output *struct{ Shape string }
	}
	Shapes map[string]*apiShape
}

type apiShape struct {
	Type    string
	Members map[string]struct {
		Shape         string
		Documentation string
	}
	Member  *struct{ Shape string }
	Value   *struct{ Shape string }
	Enum    []string
	Pattern string
}

// sharedDir is ../shared beside the checkout, where the reference data is.
func sharedDir() string { return filepath.Join("..", "..", "shared") }

func loadModel(t *testing.T) *apiModel {
	t.Helper()
	var m apiModel
	readFileJSON(t, filepath.Join(sharedDir(), "aws-models", "kms", "service-2.json"), &m)
	return &m
}

func readFileJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// doc is a member's documentation as plain text.
func (m *apiModel) doc(shape, member string) string {
	return htmlTag.ReplaceAllString(m.Shapes[shape].Members[member].Documentation, "")
}

var htmlTag = regexp.MustCompile(`<[^>]*>`)

// alwaysSent are the members AWS sends even when empty, as "Shape.Member":
// the result key of each paginated operation and each list a documented
// response shows as [].
func (m *apiModel) alwaysSent(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	var pag struct {
		Pagination map[string]struct {
			ResultKey string `json:"result_key"`
		}
	}
	readFileJSON(t, filepath.Join(sharedDir(), "aws-models", "kms", "paginators-1.json"), &pag)
	for op, p := range pag.Pagination {
		out[m.Operations[op].Output.Shape+"."+p.ResultKey] = true
	}
	for _, ex := range loadExamples(t) {
		if o := m.Operations[ex.op].Output; o != nil {
			m.walk(o.Shape, ex.Output, func(shape, member string, v any) {
				if l, ok := v.([]any); ok && len(l) == 0 && m.Shapes[m.Shapes[shape].Members[member].Shape].Type == "list" {
					out[shape+"."+member] = true
				}
			})
		}
	}
	return out
}

// walk calls f for every member of value v of shape name, recursively.
func (m *apiModel) walk(name string, v any, f func(shape, member string, v any)) {
	s := m.Shapes[name]
	switch s.Type {
	case "structure":
		obj, _ := v.(map[string]any)
		for k, mv := range obj {
			mm, ok := s.Members[k]
			if !ok {
				continue
			}
			f(name, k, mv)
			m.walk(mm.Shape, mv, f)
		}
	case "list":
		l, _ := v.([]any)
		for _, e := range l {
			m.walk(s.Member.Shape, e, f)
		}
	case "map":
		obj, _ := v.(map[string]any)
		for _, e := range obj {
			m.walk(s.Value.Shape, e, f)
		}
	}
}

type example struct {
	op, id string
	Input  map[string]any
	Output map[string]any
}

func loadExamples(t *testing.T) []example {
	t.Helper()
	var f struct {
		Examples map[string][]example
	}
	readFileJSON(t, filepath.Join(sharedDir(), "aws-models", "kms", "examples-1.json"), &f)
	var out []example
	for op, es := range f.Examples {
		for i, e := range es {
			e.op, e.id = op, op+"#"+string(rune('0'+i))
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b example) int { return strings.Compare(a.id, b.id) })
	return out
}

// presence is one rule of the model's documentation on when a member is
// present. quote is the sentence of the member's documentation that states
// it (checked against the model, so a rule cannot drift from it); want says
// for the structure obj (and the KeyMetadata of the key the response is
// about, key) whether the member must be there, must not, or may.
type presence struct {
	shape, member, quote string
	want                 func(op string, obj, key map[string]any) tri
}

type tri uint8

const (
	may tri = iota
	must
	mustNot
)

func iff(b bool) tri {
	if b {
		return must
	}
	return mustNot
}

func onlyIf(b bool) tri {
	if b {
		return may
	}
	return mustNot
}

func str(obj map[string]any, member string) string {
	s, _ := obj[member].(string)
	return s
}

func symmetricOf(km map[string]any, origins ...string) bool {
	return str(km, "KeySpec") == "SYMMETRIC_DEFAULT" && slices.Contains(origins, str(km, "Origin"))
}

var presenceRules = []presence{
	{"KeyMetadata", "DeletionDate", "This value is present only when the KMS key is scheduled for deletion, that is, when its KeyState is PendingDeletion.",
		func(_ string, o, _ map[string]any) tri { return iff(str(o, "KeyState") == "PendingDeletion") }},
	{"KeyMetadata", "PendingDeletionWindowInDays", "This value is present only when the KeyState of the KMS key is PendingReplicaDeletion.",
		func(_ string, o, _ map[string]any) tri { return iff(str(o, "KeyState") == "PendingReplicaDeletion") }},
	{"KeyMetadata", "ValidTo", "This value is present only for KMS keys whose Origin is EXTERNAL and the ExpirationModel is KEY_MATERIAL_EXPIRES, otherwise this value is omitted.",
		func(_ string, o, _ map[string]any) tri {
			return iff(str(o, "Origin") == "EXTERNAL" && str(o, "ExpirationModel") == "KEY_MATERIAL_EXPIRES")
		}},
	// AWS's DescribeKey of an EXTERNAL key (recorded by LocalStack's
	// validated snapshots) shows no ExpirationModel before material is
	// imported and after it is deleted.
	{"KeyMetadata", "ExpirationModel", "This value is present only when Origin is EXTERNAL, otherwise this value is omitted.",
		func(_ string, o, _ map[string]any) tri {
			return iff(str(o, "Origin") == "EXTERNAL" && str(o, "KeyState") != "PendingImport")
		}},
	{"KeyMetadata", "CustomKeyStoreId", "This field is present only when the KMS key is created in a custom key store.",
		func(_ string, o, _ map[string]any) tri {
			return iff(str(o, "Origin") == "AWS_CLOUDHSM" || str(o, "Origin") == "EXTERNAL_KEY_STORE")
		}},
	{"KeyMetadata", "CloudHsmClusterId", "This field is present only when the KMS key is created in an CloudHSM key store.",
		func(_ string, o, _ map[string]any) tri { return iff(str(o, "Origin") == "AWS_CLOUDHSM") }},
	{"KeyMetadata", "EncryptionAlgorithms", "This value is present only when the KeyUsage of the KMS key is ENCRYPT_DECRYPT.",
		func(_ string, o, _ map[string]any) tri { return iff(str(o, "KeyUsage") == "ENCRYPT_DECRYPT") }},
	{"KeyMetadata", "SigningAlgorithms", "This field appears only when the KeyUsage of the KMS key is SIGN_VERIFY.",
		func(_ string, o, _ map[string]any) tri { return iff(str(o, "KeyUsage") == "SIGN_VERIFY") }},
	{"KeyMetadata", "MacAlgorithms", "This value is present only when the KeyUsage of the KMS key is GENERATE_VERIFY_MAC.",
		func(_ string, o, _ map[string]any) tri { return iff(str(o, "KeyUsage") == "GENERATE_VERIFY_MAC") }},
	{"KeyMetadata", "MultiRegionConfiguration", "This field is present only when the value of the MultiRegion field is True.",
		func(_ string, o, _ map[string]any) tri { return iff(o["MultiRegion"] == true) }},
	// Present for AWS_KMS symmetric keys always, for EXTERNAL ones once
	// material was imported; ReplicateKey answers before the replica has
	// material (AWS's recorded ReplicateKey response).
	{"KeyMetadata", "CurrentKeyMaterialId", "This value is present for symmetric encryption keys with AWS_KMS or EXTERNAL origin.",
		func(op string, o, _ map[string]any) tri {
			switch {
			case op == "ReplicateKey":
				return mustNot
			case symmetricOf(o, "AWS_KMS"):
				return must
			}
			return onlyIf(symmetricOf(o, "EXTERNAL"))
		}},
	{"GetPublicKeyResponse", "EncryptionAlgorithms", "This field appears in the response only when the KeyUsage of the public key is ENCRYPT_DECRYPT.",
		func(_ string, o, _ map[string]any) tri { return iff(str(o, "KeyUsage") == "ENCRYPT_DECRYPT") }},
	{"GetPublicKeyResponse", "SigningAlgorithms", "This field appears in the response only when the KeyUsage of the public key is SIGN_VERIFY.",
		func(_ string, o, _ map[string]any) tri { return iff(str(o, "KeyUsage") == "SIGN_VERIFY") }},
	{"GetPublicKeyResponse", "KeyAgreementAlgorithms", "This field is present only when the KMS key has a KeyUsage value of KEY_AGREEMENT.",
		func(_ string, o, _ map[string]any) tri { return iff(str(o, "KeyUsage") == "KEY_AGREEMENT") }},
	{"RotationsListEntry", "ImportState", "This field is only present for symmetric encryption KMS keys with EXTERNAL origin.",
		func(_ string, _, k map[string]any) tri { return iff(symmetricOf(k, "EXTERNAL")) }},
	{"RotationsListEntry", "KeyMaterialDescription", "This field is only present for symmetric encryption KMS keys with EXTERNAL origin.",
		func(_ string, _, k map[string]any) tri { return onlyIf(symmetricOf(k, "EXTERNAL")) }},
	// Imported material carries its expiry while it is imported.
	{"RotationsListEntry", "ExpirationModel", "This field is only present for symmetric encryption KMS keys with EXTERNAL origin.",
		func(_ string, o, k map[string]any) tri {
			return iff(symmetricOf(k, "EXTERNAL") && str(o, "ImportState") == "IMPORTED")
		}},
	{"RotationsListEntry", "ValidTo", "This field is only present for symmetric encryption KMS keys with EXTERNAL origin in rotation list entries with an ExpirationModel value of KEY_MATERIAL_EXPIRES.",
		func(_ string, o, k map[string]any) tri {
			return iff(symmetricOf(k, "EXTERNAL") && str(o, "ExpirationModel") == "KEY_MATERIAL_EXPIRES")
		}},
	{"RotationsListEntry", "RotationDate", "This field is not present for the first key material or an imported key material in PENDING_ROTATION state.",
		func(_ string, o, _ map[string]any) tri {
			return onlyIf(str(o, "KeyMaterialState") != "PENDING_ROTATION")
		}},
	{"RotationsListEntry", "RotationType", "This field is not present for the first key material or an imported key material in PENDING_ROTATION state.",
		func(_ string, o, _ map[string]any) tri {
			if str(o, "KeyMaterialState") == "PENDING_ROTATION" {
				return mustNot
			}
			_, dated := o["RotationDate"]
			return iff(dated) // both, or neither for the first material
		}},
	{"CustomKeyStoresListEntry", "CloudHsmClusterId", "This field appears only when the CustomKeyStoreType is AWS_CLOUDHSM.",
		func(_ string, o, _ map[string]any) tri { return iff(str(o, "CustomKeyStoreType") == "AWS_CLOUDHSM") }},
	{"CustomKeyStoresListEntry", "TrustAnchorCertificate", "This field appears only when the CustomKeyStoreType is AWS_CLOUDHSM.",
		func(_ string, o, _ map[string]any) tri { return iff(str(o, "CustomKeyStoreType") == "AWS_CLOUDHSM") }},
	{"CustomKeyStoresListEntry", "XksProxyConfiguration", "This field appears only when the CustomKeyStoreType is EXTERNAL_KEY_STORE.",
		func(_ string, o, _ map[string]any) tri {
			return iff(str(o, "CustomKeyStoreType") == "EXTERNAL_KEY_STORE")
		}},
	{"CustomKeyStoresListEntry", "ConnectionErrorCode", "This field appears in the response only when the ConnectionState is FAILED.",
		func(_ string, o, _ map[string]any) tri { return iff(str(o, "ConnectionState") == "FAILED") }},
}

// keyIDForms says, for each key id member of a response, whether AWS puts
// the key ARN ("arn") or the bare key id ("id") there, where neither the
// member's documentation ("key ARN") nor an example in examples-1.json
// shows it, with the evidence.
var keyIDForms = map[string]string{
	// AWS-validated: LocalStack's test_rotate_on_demand_returns_arn_for_key_id
	// asserts the response's KeyId equals the key's Arn.
	"RotateKeyOnDemandResponse.KeyId": "arn",
	// AWS's recorded responses give RotateKeyOnDemand and
	// GetKeyRotationStatus the same KeyId value.
	"GetKeyRotationStatusResponse.KeyId": "arn",
	// The API reference's DeriveSharedSecret example response.
	"DeriveSharedSecretResponse.KeyId": "arn",
	// "The globally unique identifier for the KMS key", the words of
	// KeyMetadata.KeyId, which is the bare id.
	"GetKeyLastUsageResponse.KeyId": "id",
	// The API reference's ListKeyRotations example response.
	"RotationsListEntry.KeyId": "id",
	// The API reference's ImportKeyMaterial and DeleteImportedKeyMaterial
	// documentation: "(key ARN)"; the examples show no output.
}

var (
	keyARN     = regexp.MustCompile(`^arn:aws:kms:[a-z0-9-]+:[0-9]{12}:key/(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)
	bareKeyID  = regexp.MustCompile(`^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)
	aliasARN   = regexp.MustCompile(`^arn:aws:kms:[a-z0-9-]+:[0-9]{12}:alias/[a-zA-Z0-9/_-]+$`)
	javaEpoch  = regexp.MustCompile(`^[1-9]\.[0-9]+E9$`) // Java's Double.toString of 2001-2286
	javaEscape = regexp.MustCompile(`\\u([0-9A-Fa-f]{4})`)
)

// checker holds a response to the model.
type checker struct {
	m       *apiModel
	always  map[string]bool
	idForms map[string]string
}

func newChecker(t *testing.T) *checker {
	t.Helper()
	m := loadModel(t)
	c := &checker{m: m, always: m.alwaysSent(t), idForms: map[string]string{}}
	for _, r := range presenceRules {
		if doc := m.doc(r.shape, r.member); !strings.Contains(doc, r.quote) {
			t.Fatalf("presence rule of %s.%s quotes %q, not in the model's documentation %q", r.shape, r.member, r.quote, doc)
		}
	}
	// The form of each key id member: its documentation, an example, or
	// keyIDForms; every one must be known.
	for name, s := range m.Shapes {
		for member, mm := range s.Members {
			if mm.Shape != "KeyIdType" || !c.isOutput(name) {
				continue
			}
			k := name + "." + member
			switch doc := m.doc(name, member); {
			case strings.Contains(doc, "(key ARN)"):
				c.idForms[k] = "arn"
			case keyIDForms[k] != "":
				c.idForms[k] = keyIDForms[k]
			}
		}
	}
	for _, ex := range loadExamples(t) {
		if out := m.Operations[ex.op].Output; out != nil {
			m.walk(out.Shape, ex.Output, func(shape, member string, v any) {
				s, ok := v.(string)
				if !ok || m.Shapes[shape].Members[member].Shape != "KeyIdType" {
					return
				}
				form := "id"
				if strings.HasPrefix(s, "arn:") {
					form = "arn"
				}
				if have := c.idForms[shape+"."+member]; have != "" && have != form {
					t.Fatalf("%s.%s: the example shows a key %s, the documentation or keyIDForms a key %s", shape, member, form, have)
				}
				c.idForms[shape+"."+member] = form
			})
		}
	}
	for name, s := range m.Shapes {
		for member, mm := range s.Members {
			if mm.Shape == "KeyIdType" && c.isOutput(name) && c.idForms[name+"."+member] == "" {
				t.Errorf("%s.%s: no evidence whether AWS sends a key ARN or a key id; add it to keyIDForms", name, member)
			}
		}
	}
	return c
}

// isOutput reports whether structure name is reachable from an operation's
// output.
func (c *checker) isOutput(name string) bool {
	seen := map[string]bool{}
	var reach func(s string) bool
	reach = func(s string) bool {
		if s == name {
			return true
		}
		if seen[s] {
			return false
		}
		seen[s] = true
		sh := c.m.Shapes[s]
		switch sh.Type {
		case "structure":
			for _, mm := range sh.Members {
				if reach(mm.Shape) {
					return true
				}
			}
		case "list":
			return reach(sh.Member.Shape)
		case "map":
			return reach(sh.Value.Shape)
		}
		return false
	}
	for _, op := range c.m.Operations {
		if op.Output != nil && reach(op.Output.Shape) {
			return true
		}
	}
	return false
}

// decode reads a JSON body keeping numbers' text (json.Number).
func decode(t *testing.T, body []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v map[string]any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("not a JSON object: %q", body)
	}
	return v
}

// check holds the raw response body of op to the model. key is the
// KeyMetadata of the key the response is about, for rules that depend on
// it (nil: none).
func (c *checker) check(t *testing.T, op string, body []byte, key map[string]any) map[string]any {
	t.Helper()
	out := c.m.Operations[op].Output
	if out == nil {
		// Operations without output: AWS sends an empty body, or {}.
		if len(bytes.TrimSpace(body)) != 0 && string(bytes.TrimSpace(body)) != "{}" {
			t.Errorf("%s: %s has no output, got %s", op, op, body)
		}
		return nil
	}
	v := decode(t, body)
	c.value(t, op, op, out.Shape, v, key)
	return v
}

func (c *checker) value(t *testing.T, op, path, name string, v any, key map[string]any) {
	t.Helper()
	s := c.m.Shapes[name]
	bad := func(want string) { t.Errorf("%s: %s = %v (%T), want %s", op, path, v, v, want) }
	switch s.Type {
	case "structure":
		obj, ok := v.(map[string]any)
		if !ok {
			bad("an object")
			return
		}
		for member, mv := range obj {
			mm, ok := s.Members[member]
			if !ok {
				t.Errorf("%s: %s.%s is not a member of %s in the model", op, path, member, name)
				continue
			}
			c.value(t, op, path+"."+member, mm.Shape, mv, key)
			if mm.Shape == "KeyIdType" {
				c.keyID(t, op, path+"."+member, c.idForms[name+"."+member], mv)
			}
		}
		for member := range s.Members {
			if c.always[name+"."+member] {
				if _, ok := obj[member]; !ok {
					t.Errorf("%s: %s.%s is missing; AWS sends it even when empty", op, path, member)
				}
			}
		}
		k := key
		if name == "KeyMetadata" {
			k = obj
		}
		for _, r := range presenceRules {
			if r.shape != name {
				continue
			}
			_, have := obj[r.member]
			switch r.want(op, obj, k) {
			case must:
				if !have {
					t.Errorf("%s: %s.%s is missing (%q) in %v", op, path, r.member, r.quote, obj)
				}
			case mustNot:
				if have {
					t.Errorf("%s: %s.%s = %v is present (%q)", op, path, r.member, obj[r.member], r.quote)
				}
			}
		}
	case "list":
		l, ok := v.([]any)
		if !ok {
			bad("a list")
			return
		}
		for i, e := range l {
			c.value(t, op, path+"["+string(rune('0'+i%10))+"]", s.Member.Shape, e, key)
		}
	case "map":
		obj, ok := v.(map[string]any)
		if !ok {
			bad("an object")
			return
		}
		for k, e := range obj {
			c.value(t, op, path+"."+k, s.Value.Shape, e, key)
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			bad("a string")
			return
		}
		if len(s.Enum) > 0 && !slices.Contains(s.Enum, str) {
			bad("one of " + strings.Join(s.Enum, ", "))
		}
		if s.Pattern != "" {
			re := regexp.MustCompile("^(?:" + javaEscape.ReplaceAllString(s.Pattern, `\x{$1}`) + ")$")
			if !re.MatchString(str) {
				bad("a match of " + s.Pattern)
			}
		}
		if name == "ArnType" && !keyARN.MatchString(str) && !aliasARN.MatchString(str) {
			bad("a key or alias ARN")
		}
	case "timestamp":
		n, ok := v.(json.Number)
		if !ok || !javaEpoch.MatchString(n.String()) {
			bad("epoch seconds as Java prints a double (1.7E9)")
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("a boolean")
		}
	case "integer", "long":
		n, ok := v.(json.Number)
		if _, err := n.Int64(); !ok || err != nil {
			bad("an integer")
		}
	case "blob":
		str, ok := v.(string)
		if _, err := base64.StdEncoding.DecodeString(str); !ok || err != nil {
			bad("base64")
		}
	}
}

func (c *checker) keyID(t *testing.T, op, path, form string, v any) {
	t.Helper()
	s, _ := v.(string)
	switch {
	case form == "arn" && !keyARN.MatchString(s):
		t.Errorf("%s: %s = %q, want a key ARN", op, path, s)
	case form == "id" && !bareKeyID.MatchString(s):
		t.Errorf("%s: %s = %q, want a bare key id", op, path, s)
	}
}

// sdkCaller calls KMS operations by name through the real SDK client with
// an input given as JSON members, and checks each raw response.
type sdkCaller struct {
	t    *testing.T
	c    *kms.Client
	rec  *recorder
	chk  *checker
	ctx  context.Context
	done map[string]bool // operations answered and checked
}

// call runs op with input in (the request's JSON members) through the
// SDK, checks the raw response against the model, and returns it decoded
// (nil for an operation without output). key is the KeyMetadata of the key
// the response is about, if a rule needs it.
func (s *sdkCaller) call(op string, in map[string]any, key map[string]any) map[string]any {
	s.t.Helper()
	out, err := s.try(op, in)
	if err != nil {
		s.t.Fatalf("%s %v: %v", op, in, err)
	}
	_ = out
	s.done[op] = true
	s.rec.mu.Lock()
	body := s.rec.last
	s.rec.mu.Unlock()
	return s.chk.check(s.t, op, body, key)
}

// try runs op through the SDK and returns its typed output.
func (s *sdkCaller) try(op string, in map[string]any) (any, error) {
	s.t.Helper()
	m := reflect.ValueOf(s.c).MethodByName(op)
	if !m.IsValid() {
		s.t.Fatalf("the SDK has no operation %s", op)
	}
	b, err := json.Marshal(in)
	if err != nil {
		s.t.Fatal(err)
	}
	input := reflect.New(m.Type().In(1).Elem())
	if err := json.Unmarshal(b, input.Interface()); err != nil {
		s.t.Fatalf("%s input %s: %v", op, b, err)
	}
	res := m.Call([]reflect.Value{reflect.ValueOf(s.ctx), input})
	if e, _ := res[1].Interface().(error); e != nil {
		return nil, e
	}
	return res[0].Interface(), nil
}

// b64 decodes a blob member of a response.
func b64(t *testing.T, v any) []byte {
	t.Helper()
	s, _ := v.(string)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("blob %v: %v", v, err)
	}
	return b
}

func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }

// TestResponseShapes answers every operation of the model through the real
// SDK, for every kind of key (symmetric, RSA signing and encryption, ECC key
// agreement, HMAC, imported material, multi-Region, a CloudHSM key store),
// and holds each raw response to the model (see checker).
func TestResponseShapes(t *testing.T) {
	const cluster, pin = "cluster-2a23b4cdefg", "kmsPswd"
	env := softHSMToken(t, cluster, "shapes", pin)
	srv := testserver.Start(t, testserver.Options{Regions: []string{"us-east-1", "us-west-2"}, Env: env})
	c, rec := recordingClient(srv, "us-east-1")
	s := &sdkCaller{t: t, c: c, rec: rec, chk: newChecker(t), ctx: testserver.Context(t), done: map[string]bool{}}
	root := "arn:aws:iam::" + testserver.Account + ":root"
	type m = map[string]any

	// Nothing to list yet.
	s.call("ListKeys", m{}, nil)
	s.call("ListAliases", m{}, nil)
	s.call("DescribeCustomKeyStores", m{}, nil)
	s.call("ListRetirableGrants", m{"RetiringPrincipal": root}, nil)

	// A symmetric encryption key through its whole life.
	sym := obj(s.call("CreateKey", m{"Description": "shapes", "Tags": []m{{"TagKey": "team", "TagValue": "wire"}}}, nil)["KeyMetadata"])
	id := str(sym, "KeyId")
	s.call("DescribeKey", m{"KeyId": id}, nil)
	ec := m{"purpose": "shapes"}
	enc := s.call("Encrypt", m{"KeyId": id, "Plaintext": []byte("hello"), "EncryptionContext": ec}, nil)
	s.call("Decrypt", m{"CiphertextBlob": enc["CiphertextBlob"], "EncryptionContext": ec}, nil)
	s.call("ReEncrypt", m{"CiphertextBlob": enc["CiphertextBlob"], "SourceEncryptionContext": ec, "DestinationKeyId": id}, nil)
	s.call("GenerateDataKey", m{"KeyId": id, "KeySpec": "AES_256"}, nil)
	s.call("GenerateDataKeyWithoutPlaintext", m{"KeyId": id, "NumberOfBytes": 32}, nil)
	s.call("GenerateDataKeyPair", m{"KeyId": id, "KeyPairSpec": "ECC_NIST_P256"}, nil)
	s.call("GenerateDataKeyPairWithoutPlaintext", m{"KeyId": id, "KeyPairSpec": "RSA_2048"}, nil)
	s.call("GenerateRandom", m{"NumberOfBytes": 16}, nil)

	other := str(obj(s.call("CreateKey", m{}, nil)["KeyMetadata"]), "KeyId")
	s.call("CreateAlias", m{"AliasName": "alias/shapes", "TargetKeyId": id}, nil)
	s.call("UpdateAlias", m{"AliasName": "alias/shapes", "TargetKeyId": other}, nil)
	s.call("ListAliases", m{}, nil)
	s.call("ListAliases", m{"KeyId": other}, nil)
	s.call("DeleteAlias", m{"AliasName": "alias/shapes"}, nil)

	s.call("TagResource", m{"KeyId": id, "Tags": []m{{"TagKey": "cost", "TagValue": "42"}}}, nil)
	s.call("ListResourceTags", m{"KeyId": id}, nil)
	s.call("UntagResource", m{"KeyId": id, "TagKeys": []string{"team"}}, nil)

	s.call("EnableKeyRotation", m{"KeyId": id, "RotationPeriodInDays": 90}, nil)
	s.call("GetKeyRotationStatus", m{"KeyId": id}, nil)
	s.call("RotateKeyOnDemand", m{"KeyId": id}, nil)
	s.call("ListKeyRotations", m{"KeyId": id}, sym)
	s.call("ListKeyRotations", m{"KeyId": id, "IncludeKeyMaterial": "ALL_KEY_MATERIAL"}, sym)
	s.call("DisableKeyRotation", m{"KeyId": id}, nil)
	s.call("GetKeyRotationStatus", m{"KeyId": id}, nil)

	pol := s.call("GetKeyPolicy", m{"KeyId": id, "PolicyName": "default"}, nil)
	s.call("PutKeyPolicy", m{"KeyId": id, "PolicyName": "default", "Policy": pol["Policy"]}, nil)
	s.call("ListKeyPolicies", m{"KeyId": id}, nil)

	// The grantee must exist: CreateGrant refuses a role it cannot find.
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + root + `"},"Action":"sts:AssumeRole"}]}`
	if _, err := iam.NewFromConfig(srv.Config("")).CreateRole(s.ctx, &iam.CreateRoleInput{RoleName: aws.String("ExampleRole"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	grantee := "arn:aws:iam::" + testserver.Account + ":role/ExampleRole"
	g := s.call("CreateGrant", m{"KeyId": id, "GranteePrincipal": grantee, "RetiringPrincipal": root, "Name": "shapes",
		"Operations": []string{"Encrypt", "Decrypt"}, "Constraints": m{"EncryptionContextSubset": ec}}, nil)
	s.call("ListGrants", m{"KeyId": id}, nil)
	s.call("ListRetirableGrants", m{"RetiringPrincipal": root}, nil)
	s.call("RetireGrant", m{"KeyId": str(sym, "Arn"), "GrantId": g["GrantId"]}, nil)
	g = s.call("CreateGrant", m{"KeyId": id, "GranteePrincipal": grantee, "Operations": []string{"Encrypt"}}, nil)
	s.call("RevokeGrant", m{"KeyId": id, "GrantId": g["GrantId"]}, nil)

	s.call("UpdateKeyDescription", m{"KeyId": id, "Description": "described"}, nil)
	s.call("DisableKey", m{"KeyId": id}, nil)
	s.call("DescribeKey", m{"KeyId": id}, nil)
	s.call("EnableKey", m{"KeyId": id}, nil)
	s.call("ScheduleKeyDeletion", m{"KeyId": other, "PendingWindowInDays": 7}, nil)
	s.call("DescribeKey", m{"KeyId": other}, nil)
	s.call("CancelKeyDeletion", m{"KeyId": other}, nil)
	s.call("DescribeKey", m{"KeyId": other}, nil)
	s.call("GetKeyLastUsage", m{"KeyId": id}, nil)

	// Asymmetric keys: signing, encryption, key agreement; HMAC.
	rsaSign := str(obj(s.call("CreateKey", m{"KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"}, nil)["KeyMetadata"]), "KeyId")
	s.call("GetPublicKey", m{"KeyId": rsaSign}, nil)
	sig := s.call("Sign", m{"KeyId": rsaSign, "Message": []byte("msg"), "SigningAlgorithm": "RSASSA_PSS_SHA_256"}, nil)
	s.call("Verify", m{"KeyId": rsaSign, "Message": []byte("msg"), "Signature": sig["Signature"], "SigningAlgorithm": "RSASSA_PSS_SHA_256"}, nil)
	rsaEnc := str(obj(s.call("CreateKey", m{"KeySpec": "RSA_3072", "KeyUsage": "ENCRYPT_DECRYPT"}, nil)["KeyMetadata"]), "KeyId")
	s.call("GetPublicKey", m{"KeyId": rsaEnc}, nil)
	renc := s.call("Encrypt", m{"KeyId": rsaEnc, "Plaintext": []byte("hello"), "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}, nil)
	s.call("Decrypt", m{"KeyId": rsaEnc, "CiphertextBlob": renc["CiphertextBlob"], "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}, nil)
	ka := str(obj(s.call("CreateKey", m{"KeySpec": "ECC_NIST_P256", "KeyUsage": "KEY_AGREEMENT"}, nil)["KeyMetadata"]), "KeyId")
	peer := str(obj(s.call("CreateKey", m{"KeySpec": "ECC_NIST_P256", "KeyUsage": "KEY_AGREEMENT"}, nil)["KeyMetadata"]), "KeyId")
	pub := s.call("GetPublicKey", m{"KeyId": peer}, nil)
	s.call("DeriveSharedSecret", m{"KeyId": ka, "KeyAgreementAlgorithm": "ECDH", "PublicKey": pub["PublicKey"]}, nil)
	hmac := str(obj(s.call("CreateKey", m{"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"}, nil)["KeyMetadata"]), "KeyId")
	s.call("DescribeKey", m{"KeyId": hmac}, nil)
	mac := s.call("GenerateMac", m{"KeyId": hmac, "Message": []byte("msg"), "MacAlgorithm": "HMAC_SHA_256"}, nil)
	s.call("VerifyMac", m{"KeyId": hmac, "Message": []byte("msg"), "Mac": mac["Mac"], "MacAlgorithm": "HMAC_SHA_256"}, nil)

	// Imported key material: before, with and after it.
	ext := obj(s.call("CreateKey", m{"Origin": "EXTERNAL"}, nil)["KeyMetadata"])
	extID := str(ext, "KeyId")
	importInto := func(extra m) {
		p := s.call("GetParametersForImport", m{"KeyId": extID, "WrappingAlgorithm": "RSAES_OAEP_SHA_256", "WrappingKeySpec": "RSA_2048"}, nil)
		material := make([]byte, 32)
		rand.Read(material)
		wrapped, err := keys.Wrap(rand.Reader, b64(t, p["PublicKey"]), keys.WrapRSAESOAEPSHA256, material)
		if err != nil {
			t.Fatal(err)
		}
		in := m{"KeyId": extID, "ImportToken": p["ImportToken"], "EncryptedKeyMaterial": wrapped}
		for k, v := range extra {
			in[k] = v
		}
		s.call("ImportKeyMaterial", in, nil)
	}
	importInto(m{"ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"})
	ext = obj(s.call("DescribeKey", m{"KeyId": extID}, nil)["KeyMetadata"])
	importInto(m{"ExpirationModel": "KEY_MATERIAL_EXPIRES", "ValidTo": time.Now().Add(48 * time.Hour).Format(time.RFC3339), "ImportType": "NEW_KEY_MATERIAL", "KeyMaterialDescription": "second"})
	s.call("ListKeyRotations", m{"KeyId": extID, "IncludeKeyMaterial": "ALL_KEY_MATERIAL"}, ext)
	s.call("DescribeKey", m{"KeyId": extID}, nil)
	s.call("DeleteImportedKeyMaterial", m{"KeyId": extID}, nil)
	s.call("DescribeKey", m{"KeyId": extID}, nil)

	// A multi-Region key and its replica.
	mrk := obj(s.call("CreateKey", m{"MultiRegion": true}, nil)["KeyMetadata"])
	s.call("DescribeKey", m{"KeyId": str(mrk, "KeyId")}, nil)
	s.call("ReplicateKey", m{"KeyId": str(mrk, "KeyId"), "ReplicaRegion": "us-west-2"}, nil)
	s.call("DescribeKey", m{"KeyId": str(mrk, "KeyId")}, nil)
	s.call("UpdatePrimaryRegion", m{"KeyId": str(mrk, "Arn"), "PrimaryRegion": "us-west-2"}, nil)
	s.call("DescribeKey", m{"KeyId": str(mrk, "KeyId")}, nil)

	// CloudHSM key stores: one created and deleted, one holding a key.
	anchor := trustAnchor(t)
	newStore := func(name string) string {
		return str(s.call("CreateCustomKeyStore", m{"CustomKeyStoreName": name, "CloudHsmClusterId": cluster, "TrustAnchorCertificate": anchor, "KeyStorePassword": pin}, nil), "CustomKeyStoreId")
	}
	gone := newStore("shapes-gone")
	s.call("DescribeCustomKeyStores", m{}, nil)
	s.call("UpdateCustomKeyStore", m{"CustomKeyStoreId": gone, "NewCustomKeyStoreName": "shapes-renamed"}, nil)
	s.call("DeleteCustomKeyStore", m{"CustomKeyStoreId": gone}, nil)
	cks := newStore("shapes")
	s.call("ConnectCustomKeyStore", m{"CustomKeyStoreId": cks}, nil)
	s.call("DescribeCustomKeyStores", m{"CustomKeyStoreId": cks}, nil)
	hsmKey := str(obj(s.call("CreateKey", m{"Origin": "AWS_CLOUDHSM", "CustomKeyStoreId": cks}, nil)["KeyMetadata"]), "KeyId")
	s.call("DescribeKey", m{"KeyId": hsmKey}, nil)
	s.call("GenerateRandom", m{"NumberOfBytes": 8, "CustomKeyStoreId": cks}, nil)
	s.call("DisconnectCustomKeyStore", m{"CustomKeyStoreId": cks}, nil)
	s.call("DescribeKey", m{"KeyId": hsmKey}, nil)

	for op := range s.chk.m.Operations {
		if !s.done[op] {
			t.Errorf("%s was not answered and checked", op)
		}
	}
}
