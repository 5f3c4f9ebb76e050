package audit

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/testenv"
)

const guideDir = "../../../shared/docs/aws-kms-developer-guide"

var trailingComma = regexp.MustCompile(`,(\s*[}\]])`)

// examples returns the JSON records of a KMS Developer Guide CloudTrail page
// that parse (after removing the trailing commas some of them have).
func examples(t *testing.T, page string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(guideDir, page))
	if err != nil {
		testenv.Missing(t, "KMS Developer Guide not available: %v", err)
	}
	var out []map[string]any
	blocks := strings.Split(string(b), "```")
	for i := 1; i < len(blocks); i += 2 {
		var m map[string]any
		if err := json.Unmarshal([]byte(trailingComma.ReplaceAllString(blocks[i], "$1")), &m); err != nil {
			t.Logf("%s: example %d is not JSON: %v", page, i/2+1, err)
			continue
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no example parsed", page)
	}
	return out
}

func keysOf(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func toMap(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

var alice = &authz.Identity{Principal: authz.Principal{
	Account: "111122223333", ARN: "arn:aws:iam::111122223333:user/Alice", Type: authz.UserType,
	UserID: "EX_PRINCIPAL_ID", Name: "Alice", AccessKeyID: "EXAMPLE_KEY_ID",
}}

const exampleKey = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

// An Encrypt event has the structure of the Developer Guide's example: the
// same fields (plus those of eventVersion 1.08), the same userIdentity,
// requestParameters and resources.
func TestEventHasCloudTrailShape(t *testing.T) {
	ex := examples(t, "ct-encrypt.md")[0]
	body := `{"KeyId":"` + exampleKey + `","Plaintext":"c2VjcmV0","EncryptionContext":{"Department":"Engineering"},"EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}`
	ev := NewEvent(Call{
		Time: time.Date(2022, 7, 14, 20, 17, 42, 5e8, time.UTC), RequestID: "f3423043-63bc-11e4-bc2b-4198b6150d5c",
		Service: "kms", Operation: "Encrypt", Region: "us-east-1", SourceIP: "192.0.2.0", UserAgent: "AWS Internal",
		Identity: alice, RequestParameters: requestParams("Encrypt", []byte(body)),
		ResponseElements: KMSResponseElements("Encrypt", nil), Resources: []string{exampleKey},
	})
	got := toMap(t, ev)

	for _, k := range keysOf(ex) {
		if _, ok := got[k]; !ok {
			t.Errorf("field %q of the example is missing", k)
		}
	}
	for _, k := range keysOf(got) {
		if _, ok := ex[k]; !ok && !slices.Contains([]string{"managementEvent", "eventCategory"}, k) {
			t.Errorf("field %q is not in the example", k)
		}
	}
	for _, f := range []string{"userIdentity", "requestParameters"} {
		if g, w := toMap(t, got[f]), toMap(t, ex[f]); !equalJSON(t, g, w) {
			t.Errorf("%s = %v, want %v", f, g, w)
		}
	}
	for _, f := range []string{"eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress", "userAgent", "requestID", "readOnly", "eventType", "recipientAccountId"} {
		if got[f] != ex[f] {
			t.Errorf("%s = %v, want %v", f, got[f], ex[f])
		}
	}
	if got["responseElements"] != nil {
		t.Errorf("responseElements = %v, want null", got["responseElements"])
	}
	// The Decrypt example writes resources in full (with type).
	res := got["resources"].([]any)[0].(map[string]any)
	wantRes := examples(t, "ct-decrypt.md")[0]["resources"].([]any)[0].(map[string]any)
	if !slices.Equal(keysOf(res), keysOf(wantRes)) || res["ARN"] != exampleKey || res["type"] != "AWS::KMS::Key" || res["accountId"] != "111122223333" {
		t.Errorf("resources[0] = %v, want the shape of %v", res, wantRes)
	}
	if got["eventVersion"] != "1.08" || got["eventCategory"] != "Management" || got["managementEvent"] != true {
		t.Errorf("eventVersion, eventCategory, managementEvent = %v, %v, %v", got["eventVersion"], got["eventCategory"], got["managementEvent"])
	}
	if id, _ := got["eventID"].(string); !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(id) {
		t.Errorf("eventID = %q, want a random UUID", id)
	}

	// Round trip: the JSON decodes to the same event.
	b, _ := json.Marshal(ev)
	var back Event
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(&back)
	if string(b) != string(b2) {
		t.Errorf("round trip changed the event:\n%s\n%s", b, b2)
	}
}

// equalJSON compares two values as JSON sees them (numbers as numbers).
func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	var va, vb any
	json.Unmarshal(ja, &va)
	json.Unmarshal(jb, &vb)
	ja, _ = json.Marshal(va)
	jb, _ = json.Marshal(vb)
	return string(ja) == string(jb)
}

func TestUserIdentity(t *testing.T) {
	issued := time.Date(2015, 9, 10, 23, 12, 48, 0, time.UTC)
	role := &authz.Identity{
		Principal: authz.Principal{
			Account: "111122223333", ARN: "arn:aws:sts::111122223333:assumed-role/Admins/example-user", Type: authz.AssumedRoleType,
			UserID: "AROACKCEVSQ6C2EXAMPLE:example-user", Name: "Admins", AccessKeyID: "AKIAIOSFODNN7EXAMPLE",
		},
		Temporary: true, Issued: issued, RoleARN: "arn:aws:iam::111122223333:role/Admins",
	}
	// deleting-keys-determining-usage.md shows this session, invokedBy aside.
	want := `{"type":"AssumedRole","principalId":"AROACKCEVSQ6C2EXAMPLE:example-user","arn":"arn:aws:sts::111122223333:assumed-role/Admins/example-user","accountId":"111122223333","accessKeyId":"AKIAIOSFODNN7EXAMPLE","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROACKCEVSQ6C2EXAMPLE","arn":"arn:aws:iam::111122223333:role/Admins","accountId":"111122223333","userName":"Admins"},"attributes":{"creationDate":"2015-09-10T23:12:48Z","mfaAuthenticated":"false"}}}`
	root := &authz.Identity{Principal: authz.Principal{Account: "111122223333", ARN: "arn:aws:iam::111122223333:root", Type: authz.RootType, UserID: "111122223333", AccessKeyID: "AKIAROOT"}}
	userSession := &authz.Identity{Principal: alice.Principal, Temporary: true, Issued: issued}
	tests := []struct {
		name string
		id   *authz.Identity
		want string
	}{
		{name: "role session", id: role, want: want},
		{name: "root", id: root, want: `{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333","accessKeyId":"AKIAROOT"}`},
		{name: "user", id: alice, want: `{"type":"IAMUser","principalId":"EX_PRINCIPAL_ID","arn":"arn:aws:iam::111122223333:user/Alice","accountId":"111122223333","accessKeyId":"EXAMPLE_KEY_ID","userName":"Alice"}`},
		{name: "user session (GetSessionToken)", id: userSession, want: `{"type":"IAMUser","principalId":"EX_PRINCIPAL_ID","arn":"arn:aws:iam::111122223333:user/Alice","accountId":"111122223333","accessKeyId":"EXAMPLE_KEY_ID","userName":"Alice","sessionContext":{"attributes":{"creationDate":"2015-09-10T23:12:48Z","mfaAuthenticated":"false"}}}`},
		{name: "unauthenticated", id: nil, want: `{"type":"Unknown"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := json.Marshal(userIdentity(tt.id))
			if string(b) != tt.want {
				t.Errorf("userIdentity =\n%s\nwant\n%s", b, tt.want)
			}
		})
	}
}

func TestNewEventDetails(t *testing.T) {
	other := "arn:aws:kms:us-west-2:444455556666:key/0987dcba-09fe-87dc-65ba-ab0987654321"
	tests := []struct {
		name      string
		call      Call
		readOnly  bool
		recipient string
		keyID     any
	}{
		{name: "Decrypt shows the key that decrypted", call: Call{Service: "kms", Operation: "Decrypt", Identity: alice, Resources: []string{other}, RequestParameters: requestParams("Decrypt", []byte(`{"CiphertextBlob":"c2VjcmV0","EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}`), other)}, readOnly: true, recipient: "444455556666", keyID: other},
		{name: "Decrypt shows the key it named", call: Call{Service: "kms", Operation: "Decrypt", Identity: alice, Resources: []string{other}, RequestParameters: requestParams("Decrypt", []byte(`{"CiphertextBlob":"c2VjcmV0","KeyId":"alias/named"}`), other)}, readOnly: true, recipient: "444455556666", keyID: "alias/named"},
		{name: "Decrypt without parameters shows the key that decrypted", call: Call{Service: "kms", Operation: "Decrypt", Identity: alice, Resources: []string{other}, RequestParameters: requestParams("Decrypt", []byte(`{"CiphertextBlob":"c2VjcmV0"}`), other)}, readOnly: true, recipient: "444455556666", keyID: other},
		{name: "management operation writes", call: Call{Service: "kms", Operation: "ScheduleKeyDeletion", Identity: alice, Resources: []string{exampleKey}}, recipient: "111122223333"},
		{name: "list reads", call: Call{Service: "kms", Operation: "ListKeys", Identity: alice}, readOnly: true, recipient: "111122223333"},
		{name: "IAM write", call: Call{Service: "iam", Operation: "CreateUser", Identity: alice}, recipient: "111122223333"},
		{name: "STS", call: Call{Service: "sts", Operation: "AssumeRole", Identity: alice}, readOnly: true, recipient: "111122223333"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEvent(tt.call)
			if e.ReadOnly != tt.readOnly || e.RecipientAccountID != tt.recipient || e.EventSource != tt.call.Service+".amazonaws.com" {
				t.Errorf("readOnly, recipientAccountId, eventSource = %v, %q, %q", e.ReadOnly, e.RecipientAccountID, e.EventSource)
			}
			if p := toMap(t, e.RequestParameters); tt.keyID != nil && p["keyId"] != tt.keyID {
				t.Errorf("requestParameters.keyId = %v, want %v", p["keyId"], tt.keyID)
			}
		})
	}
}

func TestFormatTimeIsFormat(t *testing.T) {
	for _, tt := range []time.Time{
		{}, t0, time.Date(2022, 7, 14, 20, 17, 42, 5e8, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(999, 1, 2, 3, 4, 5, 0, time.UTC),
		time.Unix(1<<40, 0).UTC(), time.Unix(-1<<40, 0).UTC(),
	} {
		if got, want := formatTime(tt), tt.Format(TimeLayout); got != want {
			t.Errorf("formatTime(%v) = %q, want %q", tt, got, want)
		}
	}
}

func TestARNAccount(t *testing.T) {
	for _, tt := range []struct{ arn, want string }{
		{exampleKey, "111122223333"}, {"arn:aws:iam::111122223333:user/Alice", "111122223333"},
		{"arn:aws:kms:r:acct:", "acct"}, {"arn:aws:kms:r:acct", ""}, {"arn:a:b:c:d:e:f:g", "d"}, {"aws:kms:r:acct:key/x", ""}, {"", ""},
	} {
		if got := arnAccount(tt.arn); got != tt.want {
			t.Errorf("arnAccount(%q) = %q, want %q", tt.arn, got, tt.want)
		}
	}
}

// An event given the decoded KMS request writes the requestParameters
// KMSRequestParameters returns (Decrypt's keyId from its resource
// included), and an event recycled from one with longer parameters keeps
// none of them: every event of a writer that reuses its memory shows its
// own request.
func TestNewEventWritesKMSRequestParameters(t *testing.T) {
	cases := []struct {
		op, body  string
		resources []string
	}{
		{"Encrypt", `{"KeyId":"` + exampleKey + `","Plaintext":"c2VjcmV0","EncryptionContext":{"Department":"Engineering","Project":"Alpha"}}`, []string{exampleKey}},
		{"Decrypt", `{"CiphertextBlob":"AQID"}`, []string{exampleKey}},
		{"DescribeKey", `{"KeyId":"k"}`, nil},
		{"Encrypt", `{"KeyId":`, nil}, // does not decode: null
	}
	for round := range 3 {
		for _, c := range cases {
			req := decodeRequest(c.op, []byte(c.body))
			want := KMSRequestParameters(req, c.resources)
			e := NewEvent(Call{Time: t0, Service: "kms", Operation: c.op, Identity: alice, KMSRequest: req, Resources: c.resources})
			if !bytes.Equal(e.RequestParameters, want) || (want == nil) != (e.RequestParameters == nil) {
				t.Fatalf("round %d, %s %s: requestParameters %q, want %q", round, c.op, c.body, e.RequestParameters, want)
			}
			recycle(e)
		}
	}
	// Parameters given as such win.
	req := decodeRequest("DescribeKey", []byte(`{"KeyId":"k"}`))
	e := NewEvent(Call{Time: t0, Service: "kms", Operation: "DescribeKey", Identity: alice, RequestParameters: Parameters(`{"keyId":"given"}`), KMSRequest: req})
	if string(e.RequestParameters) != `{"keyId":"given"}` {
		t.Fatalf("requestParameters %q, want the given ones", e.RequestParameters)
	}
}
