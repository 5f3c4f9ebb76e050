package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/testenv"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// referenceLine is what the writer wrote before it had its own encoder, and
// still writes when the encoder gives up: json.Encoder without HTML escaping.
func referenceLine(t testing.TB, v any) ([]byte, error) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return buf.Bytes(), err
}

// checkEncodes fails unless the encoder writes e as encoding/json does, or
// gives up on an event encoding/json rejects too.
func checkEncodes(t testing.TB, name string, e *Event) {
	t.Helper()
	want, werr := referenceLine(t, e)
	var en encoder
	prefix := []byte("previous line\n")
	got, err := en.appendEvent(slices.Clone(prefix), e)
	switch {
	case err != nil && werr != nil:
		return // encoding/json decides (and rejects it)
	case errors.Is(err, errNeedsJSON):
		return // encoding/json writes it: the same bytes by definition
	case err != nil:
		t.Fatalf("%s: appendEvent: %v", name, err)
	case werr != nil:
		t.Fatalf("%s: encoding/json rejects the event (%v), the encoder wrote\n%s", name, werr, short(got))
	}
	if !bytes.HasPrefix(got, prefix) {
		t.Fatalf("%s: appendEvent changed what it appended to", name)
	}
	if got := got[len(prefix):]; !bytes.Equal(got, want) {
		t.Fatalf("%s: encoder wrote\n%s\nencoding/json writes\n%s", name, short(got), short(want))
	}
	if len(en.pairs) != 0 || len(en.spairs) != 0 {
		t.Fatalf("%s: the encoder's stacks are not empty after the event", name)
	}
}

// short quotes b, shortened to what a failure message can show.
func short(b []byte) string {
	if len(b) > 600 {
		return fmt.Sprintf("%q…(%d bytes)…%q", b[:300], len(b), b[len(b)-300:])
	}
	return fmt.Sprintf("%q", b)
}

// adversarial are strings that exercise every branch of JSON string
// escaping and UTF-8 handling.
var adversarial = []string{
	"", "plain", `quote " and backslash \ and slash /`, "<script>&amp;</script>",
	"\x00\x01\x07\b\t\n\v\f\r\x0e\x1f\x7f", "line\u2028separator\u2029paragraph", "\u2027\u202a",
	"invalid \xff\xfe utf-8 \xc3", "truncated \xe2\x82", "surrogate \xed\xa0\x80 in utf-8",
	"replacement \ufffd char", "emoji 😀 and 漢字", "\u0085 next line", "\\u0041 not an escape",
	strings.Repeat("long ", 300), "key/1234abcd-12ab-34cd-56ef-1234567890ab", "\"\"\"", "\x80",
}

var roleSession = &authz.Identity{
	Principal: authz.Principal{
		Account: "111122223333", ARN: "arn:aws:sts::111122223333:assumed-role/Admins/example-user", Type: authz.AssumedRoleType,
		UserID: "AROACKCEVSQ6C2EXAMPLE:example-user", Name: "Admins", AccessKeyID: "AKIAIOSFODNN7EXAMPLE",
	},
	Temporary: true, Issued: time.Date(2015, 9, 10, 23, 12, 48, 0, time.UTC), RoleARN: "arn:aws:iam::111122223333:role/Admins",
	SourceIdentity: "source-<&>",
}

var identities = []*authz.Identity{
	nil, alice, roleSession,
	{Principal: authz.Principal{Account: "111122223333", ARN: "arn:aws:iam::111122223333:root", Type: authz.RootType, UserID: "111122223333", AccessKeyID: "AKIAROOT"}},
	{Principal: alice.Principal, Temporary: true},
	{Principal: authz.Principal{Type: authz.AssumedRoleType}, Temporary: true},
	{},
}

// examplesQuiet is examples for a page known to exist, without failing on
// a page without JSON examples.
func examplesQuiet(path string) []map[string]any {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []map[string]any
	blocks := strings.Split(string(b), "```")
	for i := 1; i < len(blocks); i += 2 {
		var m map[string]any
		if json.Unmarshal([]byte(trailingComma.ReplaceAllString(blocks[i], "$1")), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// loadModelQuiet is the KMS API model, or nil.
func loadModelQuiet() *model {
	b, err := os.ReadFile(modelPath)
	if err != nil {
		return nil
	}
	var m model
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return &m
}

// guideBodies are the requests behind the Developer Guide's examples (as
// TestRequestParametersMatchGuideExamples builds them), by operation.
func guideBodies(t *testing.T) map[string][][]byte {
	pages, err := filepath.Glob(guideDir + "/ct-*.md")
	if err != nil || len(pages) == 0 {
		testenv.Missing(t, "KMS Developer Guide not available")
	}
	out := map[string][][]byte{}
	for _, page := range pages {
		for _, ex := range examplesQuiet(page) {
			op, _ := ex["eventName"].(string)
			params, _ := ex["requestParameters"].(map[string]any)
			body := map[string]any{"Plaintext": "c2VjcmV0", "GrantTokens": []string{"token"}}
			for k, v := range params {
				body[upperFirst(k)] = toRequest(k, v)
			}
			raw, _ := json.Marshal(body)
			out[op] = append(out[op], raw)
		}
	}
	return out
}

// requestBodies are realistic and hostile bodies for every operation: the
// Developer Guide's, the model filler's (every member set), and hostile
// variations on the members of the operation's request.
func requestBodies(t *testing.T) map[string][][]byte {
	bodies := guideBodies(t)
	mdl := loadModelQuiet()
	if mdl == nil {
		return bodies
	}
	for op, o := range mdl.Operations {
		f := &filler{m: mdl, secret: map[string]string{}}
		body := f.value(op, o.Input.Shape, false, 0)
		raw, _ := json.Marshal(body)
		bodies[op] = append(bodies[op], raw)
		names := slices.Sorted(maps.Keys(mdl.Shapes[o.Input.Shape].Members))
		for _, v := range hostileValues {
			var b strings.Builder
			b.WriteString("{\n")
			for i, name := range names {
				if i > 0 {
					b.WriteString(" , ")
				}
				fmt.Fprintf(&b, "%q : %s", name, v)
			}
			b.WriteString(`,"Plaintext":"c2VjcmV0"}`)
			bodies[op] = append(bodies[op], []byte(b.String()))
		}
		bodies[op] = append(bodies[op], hostileBodies...)
	}
	return bodies
}

// hostileValues are JSON values, written as a client might.
var hostileValues = []string{
	`"k"`, `"\u0041\/\"\\\b\f\n\r\t\u00e9\u2028\u2029\ud83d\ude00\ud800\udc00x\ud800\u0041\udc00"`,
	`"<>&"`, "\"raw \xff\xc3( invalid\"", "\"raw \u2028 sep\"", `"\u0000\u001f\u007f"`,
	`{"b":"2","a":"1","b":"3"}`, `{ "Department" : "Engineering" , "Project":"Alpha" }`,
	`{"k\u00e9y":"v","k\u00e9y":"w","\ud800":"lone","\ufffd":"repl"}`, "{\"\xff\":\"x\",\"\xfe\":\"y\"}",
	`{}`, `[]`, `[ 1 , -0 , 1.50 , 1e400 , -12345678901234567890123 , 0.000000001, 1E+2 ]`,
	`{"n":{"m":{"l":[{"k":null,"j":true,"i":false}]}}}`, `null`, `true`, `false`, `0`, `-1.5e-7`,
	`123456789012345678901234567890`, `["SYMMETRIC_DEFAULT", "RSAES_OAEP_SHA_256"]`,
	`{"aws:cloudtrail:arn":"arn:aws:cloudtrail:us-east-2:111122223333:trail/x","a":{"z":1,"y":[{"b":1,"a":2}]}}`,
}

var hostileBodies = [][]byte{
	nil, []byte(``), []byte(` `), []byte(`null`), []byte(`[]`), []byte(`"x"`), []byte(`{}`), []byte(`{} `),
	[]byte(`{}x`), []byte(`{"KeyId":"a",}`), []byte(`{"KeyId":"a" "DryRun":true}`), []byte(`{"KeyId":01}`),
	[]byte(`{"KeyId":"a","KeyId":"b"}`), []byte(`{"KeyId":"a","KeyId":null}`), []byte(`{"KeyId":null,"KeyId":"a"}`),
	[]byte(`{"Key\u0049d":"escaped name","keyId":"other case"}`), []byte(`{"KeyId":"\x01"}`), []byte(`{"KeyId":"\q"}`),
	[]byte(`{"KeyId":"\u12"}`), []byte(`{"KeyId":tru}`), []byte(`{"KeyId":1.}`), []byte(`{"KeyId":-}`), []byte(`{"KeyId":.5}`),
	[]byte(`{"KeyId":1e}`), []byte(`{"KeyId":[1,]}`), []byte(`{"KeyId":{"a"}}`), []byte(`{"KeyId":{"a":1,}}`),
	[]byte("\xef\xbb\xbf{}"), []byte("{\"KeyId\":\"a\"}\n\t\r "), []byte(`{"EncryptionContext":{"a":"b"}`),
	[]byte(strings.Repeat("[", 10001) + strings.Repeat("]", 10001)),
	[]byte(`{"EncryptionContext":` + strings.Repeat(`{"a":`, 9999) + `1` + strings.Repeat(`}`, 9999) + `}`),
	[]byte(`{"EncryptionContext":` + strings.Repeat(`{"a":`, 10000) + `1` + strings.Repeat(`}`, 10000) + `}`),
	[]byte(`{"EncryptionContext":` + strings.Repeat(`[`, 20) + strings.Repeat(`]`, 20) + `}`),
}

// Every event the server makes, for every KMS operation with realistic and
// hostile requests (decoded as the server decodes them), every kind of
// caller, responses and decisions, encodes as encoding/json encodes it.
func TestEncoderMatchesEncodingJSON(t *testing.T) {
	at := time.Date(2022, 7, 14, 20, 17, 42, 5e8, time.UTC)
	n := 0
	check := func(name string, e *Event) {
		t.Helper()
		checkEncodes(t, name, e)
		n++
	}
	for op, bodies := range requestBodies(t) {
		for i, body := range bodies {
			for j := range 2 {
				id := identities[(i+j+len(op))%len(identities)]
				c := Call{
					Time: at, RequestID: "f3423043-63bc-11e4-bc2b-4198b6150d5c", Service: "kms", Operation: op, Region: "us-east-1",
					SourceIP: "192.0.2.0", UserAgent: "aws-cli/2 <&>", Identity: id, EventID: "ev",
					Resources: []string{exampleKey, "arn:aws:kms:us-west-2:444455556666:key/x"}[:i%3],
				}
				name := fmt.Sprintf("%s body %d identity %d", op, i, (i+j+len(op))%len(identities))
				c.RequestParameters = requestParams(op, body, c.Resources...)
				check(name, NewEvent(c))
			}
		}
	}
	for i, resp := range responses() {
		check(fmt.Sprintf("response %d", i), NewEvent(Call{Time: at, Service: "kms", Operation: resp.op, Identity: alice, ResponseElements: KMSResponseElements(resp.op, resp.resp)}))
	}
	for i, s := range adversarial {
		c := Call{
			Time: at, RequestID: s, Service: s, Operation: s, Region: s, SourceIP: s, UserAgent: s, ErrorCode: s, ErrorMessage: s,
			Identity:            &authz.Identity{Principal: authz.Principal{Account: s, ARN: s, Type: authz.AssumedRoleType, UserID: s + ":" + s, Name: s, AccessKeyID: s}, Temporary: true, RoleARN: s, SourceIdentity: s},
			RequestParameters:   referenceParameters(t, map[string]any{s: s, "keyId": s, "list": []any{s, map[string]any{s: []string{s}}}}),
			ResponseElements:    map[string]any{s: map[string]string{s: s, "k": s}},
			AdditionalEventData: map[string]any{s: s, "decidedBy": s, "statement": i},
			Resources:           []string{s, "arn:aws:kms:r:" + s + ":key/" + s},
			VPCEndpointID:       s, EventID: s,
		}
		check(fmt.Sprintf("adversarial %d", i), NewEvent(c))
		check(fmt.Sprintf("query %d", i), NewEvent(Call{Time: at, Service: "iam", Operation: "CreateUser", Identity: alice, RequestParameters: QueryRequestParameters(url.Values{
			"Action": {"CreateUser"}, "UserName": {s}, "Tags.member.1.Key": {s}, "Tags.member.3.Value": {s}, "Path": {s},
		})}))
	}
	for i, v := range values() {
		check(fmt.Sprintf("value %d (%T)", i, v), NewEvent(Call{Time: at, Service: "kms", Operation: "Encrypt", AdditionalEventData: map[string]any{"v": v, "list": []any{v, v}}}))
	}
	for _, m := range []map[string]any{nil, {}} {
		check("nil and empty maps", &Event{ResponseElements: m, AdditionalEventData: m, ServiceEventDetails: m})
	}
	for _, p := range []Parameters{nil, {}, Parameters(`{}`), Parameters(`{"keyId":"k"}`)} {
		check("parameters", &Event{RequestParameters: p})
	}
	check("header", header(t0))
	check("zero event", &Event{})
	check("every string field set", filledEvent())
	t.Logf("%d events", n)
}

type response struct {
	op   string
	resp any
}

func responses() []response {
	created := wire.Timestamp(time.Date(2021, 10, 14, 17, 39, 50, 0, time.UTC))
	arn := "arn:aws:kms:us-west-2:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321"
	md := &kmsapi.KeyMetadata{
		AWSAccountId: wire.Ptr("111122223333"), KeyId: wire.Ptr("0987dcba"), Arn: wire.Ptr(arn),
		CreationDate: &created, DeletionDate: &created, ValidTo: &created, Enabled: wire.Ptr(true), Description: wire.Ptr("<&> \u2028"),
		KeyUsage: wire.Ptr("ENCRYPT_DECRYPT"), KeyState: wire.Ptr("Enabled"), Origin: wire.Ptr("AWS_KMS"),
		EncryptionAlgorithms: []string{"SYMMETRIC_DEFAULT"}, SigningAlgorithms: []string{}, MacAlgorithms: []string{"HMAC_SHA_256", "HMAC_SHA_512"},
		MultiRegion: wire.Ptr(true), PendingDeletionWindowInDays: wire.Ptr(int32(7)),
		MultiRegionConfiguration: &kmsapi.MultiRegionConfiguration{
			MultiRegionKeyType: wire.Ptr("PRIMARY"), PrimaryKey: &kmsapi.MultiRegionKey{Arn: wire.Ptr(arn), Region: wire.Ptr("us-west-2")},
			ReplicaKeys: []kmsapi.MultiRegionKey{{Arn: wire.Ptr(arn), Region: wire.Ptr("eu-west-1")}, {}},
		},
		XksKeyConfiguration: &kmsapi.XksKeyConfigurationType{Id: wire.Ptr("xks")}, CurrentKeyMaterialId: wire.Ptr("m"),
	}
	return []response{
		{"CreateKey", &kmsapi.CreateKeyResponse{KeyMetadata: md}},
		{"CreateKey", &kmsapi.CreateKeyResponse{KeyMetadata: &kmsapi.KeyMetadata{}}},
		{"ReplicateKey", &kmsapi.ReplicateKeyResponse{ReplicaKeyMetadata: md, ReplicaPolicy: wire.Ptr(`{"Version":"2012-10-17"}`)}},
		{"CreateGrant", &kmsapi.CreateGrantResponse{GrantId: wire.Ptr("g"), GrantToken: wire.Ptr("secret")}},
		{"ScheduleKeyDeletion", &kmsapi.ScheduleKeyDeletionResponse{KeyId: wire.Ptr(arn), DeletionDate: &created, KeyState: wire.Ptr("PendingDeletion"), PendingWindowInDays: wire.Ptr(int32(30))}},
		{"CancelKeyDeletion", &kmsapi.CancelKeyDeletionResponse{KeyId: wire.Ptr(arn)}},
		{"CreateCustomKeyStore", &kmsapi.CreateCustomKeyStoreResponse{CustomKeyStoreId: wire.Ptr("cks")}},
		{"Encrypt", &kmsapi.EncryptResponse{KeyId: wire.Ptr(arn)}},
	}
}

type opaque struct {
	A string `json:"a"`
	B int    `json:"b,omitempty"`
}

type marshaler struct{}

func (marshaler) MarshalJSON() ([]byte, error) { return []byte(`{ "z" : 1, "a" : "<&>" }`), nil }

type badMarshaler struct{}

func (badMarshaler) MarshalJSON() ([]byte, error) { return []byte(`{`), nil }

// values are what may sit in a map of an event: the types the encoder
// knows, at their edges, and types it leaves to encoding/json.
func values() []any {
	seven := 7
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	vs := []any{
		nil, true, false, 0, -1, math.MaxInt64, math.MinInt64, int8(-8), int16(16), int32(-32), int64(64),
		uint(1), uint8(8), uint16(16), uint32(32), uint64(math.MaxUint64),
		0.0, math.Copysign(0, -1), 1.0, -1.5, 0.1, 1e20, 1e21, 123456789e13, 1e-6, 9.99e-7, 1e-7, 5e-324, math.MaxFloat64, -1e100, 1.7e9,
		float32(0.1), float32(1e21), float32(1e-7), float32(9.999e20), float32(math.MaxFloat32), float32(1e-6),
		math.NaN(), math.Inf(1), math.Inf(-1), float32(math.Inf(-1)),
		json.Number(""), json.Number("0"), json.Number("-0.5e+10"), json.Number("1.5E-3"), json.Number("01"), json.Number("1."), json.Number("abc"), json.Number(" 1"),
		json.RawMessage(`{ "b" : [ 1 , 2 ] }`), json.RawMessage(nil), json.RawMessage(`{`),
		map[string]any(nil), map[string]any{}, []any(nil), []any{}, map[string]string(nil), map[string]string{}, []string(nil), []string{},
		map[string]string{"b": "2", "a": "1", "": "empty"}, []string{"x", "<&>"},
		map[string]any{"z": 1, "a": map[string]any{"c": nil, "b": []any{1.5, "s", map[string]any{}}}, "m": map[string]string{"k": "v"}},
		opaque{A: "<&>"}, &opaque{}, (*opaque)(nil), &seven, time.Date(2020, 1, 2, 3, 4, 5, 6, time.UTC), marshaler{}, badMarshaler{},
		[]int{1, 2}, map[int]string{2: "b", 10: "a"}, struct{}{}, []byte("bytes"), authz.AssumedRoleType,
		cyclic, deepValue(), make(chan int), func() {}, complex(1, 2),
	}
	for _, s := range adversarial {
		vs = append(vs, s, map[string]any{s: s}, map[string]string{s: s}, []string{s}, json.Number(s))
	}
	return vs
}

// deepValue nests deeper than the encoder follows.
func deepValue() any {
	deep := any("bottom")
	for range 100 {
		deep = []any{map[string]any{"d": deep}}
	}
	return deep
}

// filledEvent sets every string field of an Event, nested ones too, to a
// distinct value, so that a field added to Event and not to the encoder
// makes TestEncoderMatchesEncodingJSON fail.
func filledEvent() *Event {
	e := &Event{ReadOnly: true, ManagementEvent: true}
	n := 0
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		if v.Type() == reflect.TypeFor[Parameters]() {
			n++
			v.Set(reflect.ValueOf(Parameters(fmt.Sprintf(`{"k%d":%d}`, n, n))))
			return
		}
		switch v.Kind() {
		case reflect.String:
			n++
			v.SetString(fmt.Sprintf("value-%d <&>\u2028", n))
		case reflect.Bool:
			v.SetBool(true)
		case reflect.Pointer:
			v.Set(reflect.New(v.Type().Elem()))
			fill(v.Elem())
		case reflect.Struct:
			for i := range v.NumField() {
				if v.Type().Field(i).IsExported() {
					fill(v.Field(i))
				}
			}
		case reflect.Slice:
			v.Set(reflect.MakeSlice(v.Type(), 2, 2))
			for i := range 2 {
				fill(v.Index(i))
			}
		case reflect.Map:
			n++
			v.Set(reflect.ValueOf(map[string]any{fmt.Sprintf("k%d", n): n}))
		}
	}
	fill(reflect.ValueOf(e).Elem())
	return e
}

// What the encoder gives up on, the writer writes as before: encoding/json,
// and the encodingError replacement for what encoding/json rejects.
func TestWriterFallsBackToEncodingJSON(t *testing.T) {
	events := []*Event{
		encryptEvent(1, exampleKey, t0),
		NewEvent(Call{Time: t0, Service: "kms", Operation: "Sign", AdditionalEventData: map[string]any{"nan": math.NaN()}}),
		NewEvent(Call{Time: t0, Service: "kms", Operation: "Sign", AdditionalEventData: map[string]any{"n": json.Number("x")}}),
		NewEvent(Call{Time: t0, Service: "kms", Operation: "Sign", AdditionalEventData: map[string]any{"deep": deepValue()}}),
		encryptEvent(2, exampleKey, t0),
	}
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetEscapeHTML(false)
	for _, e := range events {
		if err := enc.Encode(e); err != nil {
			c := *e
			c.AdditionalEventData, c.ResponseElements = map[string]any{"encodingError": err.Error()}, nil
			enc.Encode(&c)
		}
	}
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := openLog(t, path, Options{})
	var batch [][]byte
	for _, e := range events {
		batch = appendLine(batch, l.encodeLine(new(lineEncoder), e))
	}
	if err := l.writeBatch(t.Context(), batch, len(events)); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, got, _ := bytes.Cut(b, []byte{'\n'}) // after the header
	if string(got) != want.String() {
		t.Fatalf("writer wrote\n%s\nwant\n%s", got, want.String())
	}
}

func FuzzEncodeEvent(f *testing.F) {
	for i, s := range adversarial {
		f.Add(s, s, []byte(hostileValues[i%len(hostileValues)]), uint64(i)*0x9e3779b97f4a7c15, int64(i))
	}
	f.Add("", "", []byte(`{"a":1e300,"b":[1e-7,0.1,-0],"c":{"d":null}}`), math.Float64bits(1e21), int64(-1))
	f.Fuzz(func(t *testing.T, s1, s2 string, doc []byte, bits uint64, n int64) {
		var floats, numbers any
		json.Unmarshal(doc, &floats) // float64s
		d := json.NewDecoder(bytes.NewReader(doc))
		d.UseNumber()
		d.Decode(&numbers) // json.Numbers
		f64 := math.Float64frombits(bits)
		data := map[string]any{
			s1: floats, s2: numbers, "f64": f64, "f32": float32(f64), "f32bits": math.Float32frombits(uint32(bits)),
			"n": n, "u": uint64(bits), "i32": int32(n), "ss": []string{s1, s2}, "ms": map[string]string{s1: s2, s2: s1},
			"number": json.Number(s1), "rp": []any{s2, floats},
		}
		ops := slices.Sorted(maps.Keys(kmsapi.Operations))
		e := NewEvent(Call{
			Time: time.Unix(n%1e10, 0), RequestID: s1, Service: "kms", Operation: s2, Region: s1, SourceIP: s2, UserAgent: s1,
			ErrorCode: s2, ErrorMessage: s1, Identity: &authz.Identity{Principal: authz.Principal{Type: authz.UserType, Name: s1, ARN: s2}, Temporary: true, SourceIdentity: s2},
			RequestParameters: requestParams(ops[int(uint64(n)%uint64(len(ops)))], doc), ResponseElements: map[string]any{s2: numbers},
			AdditionalEventData: data, Resources: []string{s1, s2}, EventID: s2,
		})
		checkEncodes(t, "fuzzed event", e)
		if floats != nil || numbers != nil {
			checkEncodes(t, "fuzzed document", &Event{AdditionalEventData: map[string]any{"f": floats}, ResponseElements: map[string]any{"n": numbers}})
		}
	})
}

func BenchmarkEncoder(b *testing.B) {
	e := encodeBenchEvent()
	var en encoder
	var line []byte
	b.ReportAllocs()
	for b.Loop() {
		line, _ = en.appendEvent(line[:0], e)
	}
	b.SetBytes(int64(len(line)))
}

// BenchmarkEncodingJSON is BenchmarkEncoder with what the writer used before.
func BenchmarkEncodingJSON(b *testing.B) {
	e := encodeBenchEvent()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		enc.Encode(e)
	}
	b.SetBytes(int64(buf.Len()))
}

// encodeBenchEvent is an Encrypt event as the server makes it, with its
// authorization decision in additionalEventData.
func encodeBenchEvent() *Event {
	body := []byte(`{"KeyId":"` + exampleKey + `","Plaintext":"c2VjcmV0","EncryptionContext":{"Department":"Engineering"}}`)
	return NewEvent(Call{
		Time: t0, RequestID: "f3423043-63bc-11e4-bc2b-4198b6150d5c", Service: "kms", Operation: "Encrypt", Region: "us-west-2",
		SourceIP: "192.0.2.0", UserAgent: "aws-sdk-go-v2/1.30.0", Identity: alice, RequestParameters: requestParams("Encrypt", body),
		Resources: []string{exampleKey}, Decision: Decision{Decided: true, By: "key-policy", Statement: 0, Sid: "Enable IAM User Permissions"},
	})
}

// TestDecisionEncodes checks that a Call's Decision and ViaService are
// written as the additionalEventData map they stand for, by the encoder
// and by encoding/json (the writer's fallback).
func TestDecisionEncodes(t *testing.T) {
	decisions := []Decision{
		{},
		{Decided: true, By: "key-policy", Statement: 0, Sid: ""},
		{Decided: true, By: "iam", Statement: 3, Sid: "Enable IAM User Permissions"},
		{Decided: true, By: "grant", Statement: -1, GrantID: "0123abcd"},
		{Decided: true, By: "deny", Statement: -1},
		{Decided: true, By: "", Statement: 12, Sid: adversarial[len(adversarial)-1]},
	}
	for i, d := range decisions {
		for _, via := range []string{"", "ec2.amazonaws.com", "\u2028\\\""} {
			call := Call{Time: t0, Service: "kms", Operation: "Encrypt", Identity: alice, Decision: d, ViaService: via}
			typed := NewEvent(call)
			call.Decision, call.ViaService = Decision{}, ""
			call.AdditionalEventData = typed.additionalData()
			if (d.Decided || via != "") != (len(call.AdditionalEventData) > 0) {
				t.Fatalf("decision %d, via %q: map %v", i, via, call.AdditionalEventData)
			}
			mapped := NewEvent(call)
			mapped.EventID = typed.EventID
			want, err := referenceLine(t, mapped)
			if err != nil {
				t.Fatal(err)
			}
			var en encoder
			got, err := en.appendEvent(nil, typed)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("decision %d, via %q: encoder wrote\n%s\nwant\n%s (%v)", i, via, got, want, err)
			}
		}
	}
}

// BenchmarkKMSRequestParameters is the audit's share of a request: writing
// requestParameters from the request the operation decoded.
func BenchmarkKMSRequestParameters(b *testing.B) {
	req := decodeRequest("Encrypt", []byte(`{"KeyId":"`+exampleKey+`","Plaintext":"c2VjcmV0","EncryptionContext":{"Department":"Engineering"}}`))
	resources := []string{exampleKey}
	b.ReportAllocs()
	for b.Loop() {
		KMSRequestParameters(req, resources)
	}
}

// referenceParameters are requestParameters as encoding/json writes m.
func referenceParameters(t testing.TB, m map[string]any) Parameters {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})
}
