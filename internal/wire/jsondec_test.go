package wire_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// fastRequest is a request type with a generated decoder.
type fastRequest[T any] interface {
	*T
	Validate() error
	DecodeJSONFrom(*wire.JSONDecoder) error
}

// checkSame decodes body with the generated decoder and with encoding/json
// and fails unless a client could not tell them apart: the same error
// (code, message, status) and, when decoding succeeded (no error, or a
// ValidationException), the same value. After a SerializationException
// the value is not compared: DecodeJSON's callers discard it, and
// encoding/json itself leaves it half decoded.
func checkSame[T any, P fastRequest[T]](t *testing.T, body []byte) (P, error) {
	t.Helper()
	fast, std := P(new(T)), P(new(T))
	errFast := wire.DecodeJSON(body, fast)
	errStd := wire.DecodeJSONStd(body, std)
	var wf, ws *wire.Error
	switch {
	case errStd == nil && errFast == nil:
	case errStd == nil || errFast == nil:
		t.Fatalf("body %q:\ngenerated:     %v\nencoding/json: %v", body, errFast, errStd)
	case !errors.As(errFast, &wf) || !errors.As(errStd, &ws) || *wf != *ws:
		t.Fatalf("body %q:\ngenerated:     %#v\nencoding/json: %#v", body, errFast, errStd)
	}
	if errStd == nil || ws.Code == "ValidationException" {
		if !reflect.DeepEqual(fast, std) {
			t.Fatalf("body %q:\ngenerated:     %+v\nencoding/json: %+v", body, fast, std)
		}
	}
	return fast, errFast
}

// Bodies as aws-sdk-go-v2's KMS client sends them: members in alphabetical
// order, no white space, blobs in padded standard base64.
const (
	sdkKeyARN  = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	sdkBlob    = "AQIDAHhBz2JU8xLrSgqSYbiHj1mHsNZW0fJPbeo1G0q8uKK5UAFrFkc0aHHfAimZcHJFi/JsAAAAfjB8BgkqhkiG9w0BBwagbzBtAgEAMGgGCSqGSIb3DQEHATAeBglghkgBZQMEAS4wEQQMeOQNpfbYsJ0HGcJmAgEQgDtNGNvnAdMkX+i+HXv6ZiDGxeAOFTe1mRQfACGw3kKR3ZqSLM+JvE3WzqR9W3zSz0bHpVuvDxXhY9IvFg=="
	sdkEC      = `{"Department":"10103.0","purpose":"test"}`
	sdkGrants  = `["AQpAM2RhZTk1MGMyNTk2ZmZmMzEyYWVhOWViN2I1MWM0ZmRkMjFjZjFiNjAzM2Y1","token2"]`
	sdkMessage = "SGVsbG8sIFRyZW50IQ=="
)

var commonSeeds = []string{
	// Edge cases of the document.
	``, ` `, `{}`, ` { } `, "\t{\r\n}\n", `null`, ` null `, `[]`, `"x"`, `1`, `-1.5e3`, `true`, `false`,
	`{`, `}`, `{"KeyId"`, `{"KeyId":`, `{"KeyId":"k"`, `{"KeyId":"k",}`, `{,}`, `{"KeyId" "k"}`,
	`{"KeyId":"k"} x`, `{} {}`, `{"KeyId":"k"}]`, "\xef\xbb\xbf{}", `{"KeyId":nul}`, `{"KeyId":nulll}`,
	`{"KeyId":tru}`, `{"DryRun":truex}`, `{"DryRun":True}`, `{'KeyId':'k'}`, `{KeyId:"k"}`,
	// Names: case folding, escapes, unknown members.
	`{"keyid":"a"}`, `{"KEYID":"a"}`, `{"KeyId":"a","keyid":"b"}`, `{"keyid":"b","KeyId":"a"}`,
	`{"\u212Aeyid":"kelvin"}`, `{"\u004beyId":"escaped name"}`, `{"KeyI\u0064":"x"}`, `{"Key\u0130d":"dotted I"}`,
	`{"ſigningAlgorithm":"long s"}`, `{"Key Id":"x"}`, `{"":"empty name"}`, `{"KeyId\u0000":"x"}`,
	`{"Unknown":{"a":[1,{"b":null}],"c":"\ud800"},"KeyId":"k","Other":[[[]]]}`,
	`{"Unknown":[1,2,}`, `{"Unknown":{"a"}}`, `{"Unknown":01}`, `{"Unknown":-}`, `{"Unknown":1.}`, `{"Unknown":1e}`,
	`{"Unknown":"\x"}`, `{"Unknown":"\u12"}`, `{"Unknown":"\u12g4"}`, "{\"Unknown\":\"a\tb\"}",
	// Strings: escapes, surrogates, invalid UTF-8.
	`{"KeyId":"\"\\\/\b\f\n\r\t"}`, `{"KeyId":"\u00e9\ud83d\ude00"}`, `{"KeyId":"\ud800"}`, `{"KeyId":"\ud800\u0041"}`,
	`{"KeyId":"\udc00\ud800"}`, `{"KeyId":"\ud83d\ud83d\ude00"}`, `{"KeyId":"a\ud800"}`, "{\"KeyId\":\"\xff\xfe\"}",
	"{\"KeyId\":\"\xed\xa0\x80\"}", "{\"KeyId\":\"caf\xc3\xa9\"}", "{\"KeyId\":\"\xc3\"}", "{\"KeyId\":\"\x7f\"}",
	`{"KeyId":""}`, `{"KeyId":null}`, `{"KeyId":"a","KeyId":null}`, `{"KeyId":null,"KeyId":"b"}`,
	// Wrong types.
	`{"KeyId":1}`, `{"KeyId":1.5}`, `{"KeyId":true}`, `{"KeyId":false}`, `{"KeyId":{}}`, `{"KeyId":[]}`,
	`{"KeyId":["a"]}`, `{"KeyId":1,"DryRun":"x"}`, `{"DryRun":"x","KeyId":1}`, `{"KeyId":1} x`,
	`{"DryRun":"true"}`, `{"DryRun":1}`, `{"DryRun":null}`, `{"DryRun":false}`, `{"DryRun":{}}`, `{"DryRun":[true]}`,
	`{"GrantTokens":"t"}`, `{"GrantTokens":{}}`, `{"GrantTokens":[1]}`, `{"GrantTokens":[true]}`, `{"GrantTokens":[{}]}`,
	`{"GrantTokens":[[]]}`, `{"GrantTokens":[]}`, `{"GrantTokens":null}`, `{"GrantTokens":[null]}`,
	`{"GrantTokens":["a","b"],"GrantTokens":["c"]}`, `{"GrantTokens":["a","b"],"GrantTokens":[null,null]}`,
	`{"GrantTokens":["a","b","c"],"GrantTokens":["x"],"GrantTokens":[null,null,null,null]}`,
	`{"GrantTokens":["a"],"GrantTokens":[]}`, `{"GrantTokens":[,]}`, `{"GrantTokens":["a",]}`, `{"GrantTokens":["a" "b"]}`,
	// Depth.
	`{"Unknown":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}`,
	`{"Unknown":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`,
	`{"GrantTokens":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`,
}

func fuzzDecode[T any, P fastRequest[T]](f *testing.F, seeds ...string) {
	for _, s := range append(seeds, commonSeeds...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkSame[T, P](t, body)
	})
}

func FuzzDecodeEncryptRequest(f *testing.F) {
	fuzzDecode[kmsapi.EncryptRequest](f,
		`{"EncryptionContext":`+sdkEC+`,"GrantTokens":`+sdkGrants+`,"KeyId":"`+sdkKeyARN+`","Plaintext":"`+sdkMessage+`"}`,
		`{"DryRun":true,"EncryptionAlgorithm":"RSAES_OAEP_SHA_256","KeyId":"alias/ExampleAlias","Plaintext":"AA=="}`,
		`{"KeyId":"k","Plaintext":""}`, `{"KeyId":"k","Plaintext":"!!"}`, `{"KeyId":"k","Plaintext":"AA"}`,
		`{"KeyId":"k","Plaintext":"AA=\n="}`, `{"KeyId":"k","Plaintext":"\u0041A=="}`, `{"KeyId":"k","Plaintext":"AA==\r\n"}`,
		`{"Plaintext":[1,2,255]}`, `{"Plaintext":[256]}`, `{"Plaintext":[-1]}`, `{"Plaintext":[-0]}`, `{"Plaintext":[1.0]}`,
		`{"Plaintext":["a"]}`, `{"Plaintext":[{}]}`, `{"Plaintext":[[]]}`, `{"Plaintext":[]}`, `{"Plaintext":[null]}`,
		`{"Plaintext":"AAAAAAAA","Plaintext":[1,null,null,null,null,null,null]}`, `{"Plaintext":1}`, `{"Plaintext":true}`,
		`{"Plaintext":{}}`, `{"Plaintext":null}`,
		`{"EncryptionContext":{}}`, `{"EncryptionContext":null}`, `{"EncryptionContext":{"a":null}}`, `{"EncryptionContext":{"a":1}}`,
		`{"EncryptionContext":{"a":{}}}`, `{"EncryptionContext":{"a":[]}}`, `{"EncryptionContext":[]}`, `{"EncryptionContext":"a"}`,
		`{"EncryptionContext":{"a":"1"},"EncryptionContext":{"b":"2"}}`, `{"EncryptionContext":{"a":"1","a":"2"}}`,
		`{"EncryptionContext":{"a":"1"},"EncryptionContext":null,"EncryptionContext":{"b":"2"}}`,
		`{"EncryptionContext":{"\u00e9\ud800":"\ud83d\ude00","A":"x","a":"y"}}`, `{"EncryptionContext":{"a":"1",}}`,
		`{"encryptioncontext":{"k":"v"},"PLAINTEXT":"AA==","dryRun":true}`,
	)
}

func FuzzDecodeDecryptRequest(f *testing.F) {
	fuzzDecode[kmsapi.DecryptRequest](f,
		`{"CiphertextBlob":"`+sdkBlob+`","EncryptionAlgorithm":"SYMMETRIC_DEFAULT","EncryptionContext":`+sdkEC+`,"GrantTokens":`+sdkGrants+`,"KeyId":"`+sdkKeyARN+`"}`,
		`{"CiphertextBlob":"`+sdkBlob+`","DryRun":true,"DryRunModifiers":["IGNORE_CIPHERTEXT"]}`,
		`{"CiphertextBlob":"`+sdkBlob+`","Recipient":{"AttestationDocument":"`+sdkMessage+`","KeyEncryptionAlgorithm":"RSAES_OAEP_SHA_256"}}`,
		`{"Recipient":null}`, `{"Recipient":{}}`, `{"Recipient":"x"}`, `{"Recipient":[]}`, `{"Recipient":1}`,
		`{"Recipient":{"KeyEncryptionAlgorithm":"A"},"Recipient":{"AttestationDocument":"AA=="}}`,
		`{"Recipient":{"KeyEncryptionAlgorithm":"A"},"Recipient":null}`, `{"recipient":{"keyencryptionalgorithm":1}}`,
		`{"Recipient":{"Unknown":{"x":[]},"AttestationDocument":"!"}}`, `{"CiphertextBlob":"AA==","CiphertextBlob":"AQID"}`,
	)
}

func FuzzDecodeReEncryptRequest(f *testing.F) {
	fuzzDecode[kmsapi.ReEncryptRequest](f,
		`{"CiphertextBlob":"`+sdkBlob+`","DestinationEncryptionAlgorithm":"RSAES_OAEP_SHA_1","DestinationEncryptionContext":{"b":"2"},"DestinationKeyId":"alias/dst","GrantTokens":`+sdkGrants+`,"SourceEncryptionAlgorithm":"SYMMETRIC_DEFAULT","SourceEncryptionContext":`+sdkEC+`,"SourceKeyId":"`+sdkKeyARN+`"}`,
		`{"CiphertextBlob":"`+sdkBlob+`","DestinationKeyId":"k","DryRun":true,"DryRunModifiers":["IGNORE_CIPHERTEXT"]}`,
		`{"SourceEncryptionContext":{"a":"1"},"DestinationEncryptionContext":{"a":2}}`,
	)
}

var dataKeySeeds = []string{
	`{"EncryptionContext":` + sdkEC + `,"GrantTokens":` + sdkGrants + `,"KeyId":"` + sdkKeyARN + `","KeySpec":"AES_256"}`,
	`{"KeyId":"alias/k","NumberOfBytes":32}`, `{"KeyId":"k","NumberOfBytes":1024,"DryRun":true}`,
	`{"KeyId":"k","KeySpec":"AES_128","Recipient":{"AttestationDocument":"` + sdkMessage + `","KeyEncryptionAlgorithm":"RSAES_OAEP_SHA_256"}}`,
	`{"NumberOfBytes":0}`, `{"NumberOfBytes":-0}`, `{"NumberOfBytes":-1}`, `{"NumberOfBytes":2147483647}`, `{"NumberOfBytes":2147483648}`,
	`{"NumberOfBytes":-2147483648}`, `{"NumberOfBytes":-2147483649}`, `{"NumberOfBytes":9223372036854775807}`,
	`{"NumberOfBytes":9223372036854775808}`, `{"NumberOfBytes":-9223372036854775809}`, `{"NumberOfBytes":18446744073709551616}`,
	`{"NumberOfBytes":123456789012345678901234567890}`, `{"NumberOfBytes":1.0}`, `{"NumberOfBytes":1e2}`, `{"NumberOfBytes":1E+2}`,
	`{"NumberOfBytes":32.5}`, `{"NumberOfBytes":"32"}`, `{"NumberOfBytes":true}`, `{"NumberOfBytes":false}`, `{"NumberOfBytes":null}`,
	`{"NumberOfBytes":{}}`, `{"NumberOfBytes":[]}`, `{"NumberOfBytes":[32]}`, `{"NumberOfBytes":01}`, `{"NumberOfBytes":+1}`,
	`{"NumberOfBytes":-}`, `{"NumberOfBytes":.5}`, `{"NumberOfBytes":1.}`, `{"NumberOfBytes":1e}`, `{"NumberOfBytes":1e+}`,
	`{"NumberOfBytes":0x10}`, `{"NumberOfBytes":Infinity}`, `{"NumberOfBytes":NaN}`, `{"NumberOfBytes":1,"NumberOfBytes":null}`,
	`{"NumberOfBytes":99999999999,"KeyId":1}`, `{"KeyId":1,"NumberOfBytes":99999999999}`, `{"numberofbytes":64}`,
}

func FuzzDecodeGenerateDataKeyRequest(f *testing.F) {
	fuzzDecode[kmsapi.GenerateDataKeyRequest](f, dataKeySeeds...)
}

func FuzzDecodeGenerateDataKeyWithoutPlaintextRequest(f *testing.F) {
	fuzzDecode[kmsapi.GenerateDataKeyWithoutPlaintextRequest](f, dataKeySeeds...)
}

var dataKeyPairSeeds = []string{
	`{"EncryptionContext":` + sdkEC + `,"GrantTokens":` + sdkGrants + `,"KeyId":"` + sdkKeyARN + `","KeyPairSpec":"RSA_2048"}`,
	`{"KeyId":"k","KeyPairSpec":"ECC_NIST_P256","DryRun":false}`,
	`{"KeyId":"k","KeyPairSpec":"SM2","Recipient":{"AttestationDocument":"` + sdkMessage + `","KeyEncryptionAlgorithm":"RSAES_OAEP_SHA_256"}}`,
	`{"KeyPairSpec":1}`, `{"keypairspec":"RSA_4096"}`,
}

func FuzzDecodeGenerateDataKeyPairRequest(f *testing.F) {
	fuzzDecode[kmsapi.GenerateDataKeyPairRequest](f, dataKeyPairSeeds...)
}

func FuzzDecodeGenerateDataKeyPairWithoutPlaintextRequest(f *testing.F) {
	fuzzDecode[kmsapi.GenerateDataKeyPairWithoutPlaintextRequest](f, dataKeyPairSeeds...)
}

var signSeeds = []string{
	`{"GrantTokens":` + sdkGrants + `,"KeyId":"` + sdkKeyARN + `","Message":"` + sdkMessage + `","MessageType":"RAW","SigningAlgorithm":"ECDSA_SHA_256"}`,
	`{"KeyId":"k","Message":"n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=","MessageType":"DIGEST","SigningAlgorithm":"RSASSA_PSS_SHA_256","DryRun":true}`,
	`{"KeyId":"k","Message":"","MessageType":"EXTERNAL_MU","SigningAlgorithm":"ML_DSA_SHAKE_256"}`,
	`{"Message":"AA==","Message":null}`, `{"MessageType":["RAW"]}`, `{"SigningAlgorithm":{}}`,
}

func FuzzDecodeSignRequest(f *testing.F) {
	fuzzDecode[kmsapi.SignRequest](f, signSeeds...)
}

func FuzzDecodeVerifyRequest(f *testing.F) {
	fuzzDecode[kmsapi.VerifyRequest](f, append(signSeeds,
		`{"KeyId":"`+sdkKeyARN+`","Message":"`+sdkMessage+`","MessageType":"RAW","Signature":"`+sdkBlob+`","SigningAlgorithm":"ECDSA_SHA_256"}`,
		`{"Signature":"AA","Signature":"AA=="}`, `{"Signature":[48,69,2,33]}`,
	)...)
}

var macSeeds = []string{
	`{"GrantTokens":` + sdkGrants + `,"KeyId":"` + sdkKeyARN + `","MacAlgorithm":"HMAC_SHA_256","Message":"` + sdkMessage + `"}`,
	`{"DryRun":true,"KeyId":"k","MacAlgorithm":"HMAC_SHA_512","Message":"AA=="}`,
	`{"MacAlgorithm":null,"Message":"AA==="}`,
}

func FuzzDecodeGenerateMacRequest(f *testing.F) {
	fuzzDecode[kmsapi.GenerateMacRequest](f, macSeeds...)
}

func FuzzDecodeVerifyMacRequest(f *testing.F) {
	fuzzDecode[kmsapi.VerifyMacRequest](f, append(macSeeds,
		`{"KeyId":"`+sdkKeyARN+`","Mac":"`+sdkBlob+`","MacAlgorithm":"HMAC_SHA_256","Message":"`+sdkMessage+`"}`,
		`{"Mac":"","mac":"AA=="}`,
	)...)
}

func FuzzDecodeDescribeKeyRequest(f *testing.F) {
	fuzzDecode[kmsapi.DescribeKeyRequest](f,
		`{"KeyId":"`+sdkKeyARN+`"}`, `{"GrantTokens":`+sdkGrants+`,"KeyId":"alias/aws/s3"}`, `{"KeyId":"mrk-1234abcd12ab34cd56ef1234567890ab"}`,
	)
}

// Lists of structures and timestamps (CreateKey's Tags, ImportKeyMaterial's
// ValidTo).
func FuzzDecodeCreateKeyRequest(f *testing.F) {
	fuzzDecode[kmsapi.CreateKeyRequest](f,
		`{"Description":"d","KeySpec":"SYMMETRIC_DEFAULT","Tags":[{"TagKey":"a","TagValue":"b"},{"TagKey":"c","TagValue":""}]}`,
		`{"Tags":[{"TagKey":"a"},null,{"tagKey":"b"}],"Tags":[null,{"TagValue":"v"}]}`, `{"Tags":[]}`, `{"Tags":null}`,
		`{"Tags":{}}`, `{"Tags":["a"]}`, `{"Tags":[1,{"TagKey":2}]}`, `{"Tags":[{"TagKey":"a"},]}`, `{"tags":[{"TagKey":"a"}]}`,
	)
}

func FuzzDecodeImportKeyMaterialRequest(f *testing.F) {
	fuzzDecode[kmsapi.ImportKeyMaterialRequest](f,
		`{"KeyId":"k","ValidTo":1700000000}`, `{"ValidTo":1.7e9}`, `{"ValidTo":"1700000000"}`, `{"ValidTo":null}`,
		`{"ValidTo":{}}`, `{"ValidTo":[1]}`, `{"ValidTo":true}`, `{"ValidTo":1e400}`, `{"ValidTo":1,"KeyId":2}`,
		`{"KeyId":2,"ValidTo":"x"}`, `{"ValidTo":"x",}`, `{"validto":1}`, `{"ValidTo":[1,}`,
	)
}

// TestDecodeFast pins what both decoders do on the edge cases, with the
// value or the error a client gets.
func TestDecodeFast(t *testing.T) {
	k := wire.Ptr("k")
	tests := []struct {
		name string
		body string
		want *kmsapi.EncryptRequest // nil: a SerializationException
		msg  string                 // the SerializationException's message
	}{
		{name: "sdk request", body: `{"EncryptionContext":{"a":"1"},"GrantTokens":["g"],"KeyId":"k","Plaintext":"aGk="}`,
			want: &kmsapi.EncryptRequest{KeyId: k, Plaintext: []byte("hi"), EncryptionContext: map[string]string{"a": "1"}, GrantTokens: []string{"g"}}},
		{name: "white space", body: " \t\r\n{ \"KeyId\" : \"k\" , \"DryRun\" :\ttrue }\n", want: &kmsapi.EncryptRequest{KeyId: k, DryRun: wire.Ptr(true)}},
		{name: "null document", body: `null`, want: &kmsapi.EncryptRequest{}},
		// AWS's JSON protocol matches member names exactly: a name in other
		// case is an unknown member, ignored.
		{name: "names in other case are unknown", body: `{"keyid":"k","PLAINTEXT":"aGk=","dryRun":false}`,
			want: &kmsapi.EncryptRequest{}},
		{name: "kelvin sign is not K", body: `{"\u212AeyId":"k"}`, want: &kmsapi.EncryptRequest{}},
		{name: "escaped name", body: `{"\u004beyId":"k"}`, want: &kmsapi.EncryptRequest{KeyId: k}},
		{name: "other case does not overwrite", body: `{"KeyId":"k","keyid":"a"}`, want: &kmsapi.EncryptRequest{KeyId: k}},
		{name: "other case before", body: `{"KEYID":"a","KeyId":"k"}`, want: &kmsapi.EncryptRequest{KeyId: k}},
		{name: "last duplicate wins", body: `{"KeyId":"a","KeyId":"k"}`, want: &kmsapi.EncryptRequest{KeyId: k}},
		{name: "duplicate null wins", body: `{"KeyId":"a","KeyId":null}`, want: &kmsapi.EncryptRequest{}},
		{name: "duplicate maps merge", body: `{"EncryptionContext":{"a":"1"},"EncryptionContext":{"b":"2","a":"3"}}`,
			want: &kmsapi.EncryptRequest{EncryptionContext: map[string]string{"a": "3", "b": "2"}}},
		{name: "null map value is empty", body: `{"EncryptionContext":{"a":null}}`,
			want: &kmsapi.EncryptRequest{EncryptionContext: map[string]string{"a": ""}}},
		{name: "null list element keeps the earlier one", body: `{"GrantTokens":["a","b"],"GrantTokens":[null,"c"]}`,
			want: &kmsapi.EncryptRequest{GrantTokens: []string{"a", "c"}}},
		{name: "empty list and map are not nil", body: `{"GrantTokens":[],"EncryptionContext":{}}`,
			want: &kmsapi.EncryptRequest{GrantTokens: []string{}, EncryptionContext: map[string]string{}}},
		{name: "empty blob is not nil", body: `{"Plaintext":""}`, want: &kmsapi.EncryptRequest{Plaintext: []byte{}}},
		{name: "blob as byte array", body: `{"Plaintext":[104,105]}`, want: &kmsapi.EncryptRequest{Plaintext: []byte("hi")}},
		{name: "unknown members skipped", body: `{"X":{"a":[1,{"b":null}]},"KeyId":"k","Y":[[]]}`, want: &kmsapi.EncryptRequest{KeyId: k}},
		{name: "surrogate pair", body: `{"KeyId":"\ud83d\ude00"}`, want: &kmsapi.EncryptRequest{KeyId: wire.Ptr("😀")}},
		{name: "surrogate pair then more", body: `{"KeyId":"\ud800\udC000x"}`, want: &kmsapi.EncryptRequest{KeyId: wire.Ptr("\U000100000x")}},
		{name: "lone surrogate", body: `{"KeyId":"\ud800x"}`, want: &kmsapi.EncryptRequest{KeyId: wire.Ptr("\ufffdx")}},
		{name: "invalid UTF-8", body: "{\"KeyId\":\"a\xffb\"}", want: &kmsapi.EncryptRequest{KeyId: wire.Ptr("a\ufffdb")}},
		{name: "trailing comma", body: `{"KeyId":"k",}`},
		{name: "trailing data", body: `{"KeyId":"k"} {}`},
		{name: "truncated", body: `{"KeyId":"k`},
		{name: "bad escape", body: `{"KeyId":"\x"}`},
		{name: "syntax error after a type error", body: `{"KeyId":1,}`},
		{name: "too deep", body: `{"X":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`},
		{name: "invalid base64", body: `{"Plaintext":"!!"}`},
		{name: "byte out of range", body: `{"Plaintext":[256]}`},
		{name: "number for string", body: `{"KeyId":1}`, msg: "NUMBER_VALUE can not be converted to a String"},
		{name: "first type error wins", body: `{"DryRun":"x","KeyId":1.5}`, msg: "STRING_VALUE can not be converted to a Boolean"},
		{name: "type error before bad base64", body: `{"KeyId":false,"Plaintext":"!"}`, msg: "FALSE_VALUE can not be converted to a String"},
		{name: "bad base64 before type error", body: `{"Plaintext":"!","KeyId":false}`},
		{name: "object for string", body: `{"KeyId":{}}`, msg: "Start of structure or map found where not expected"},
		{name: "array for string", body: `{"KeyId":[]}`, msg: "Unrecognized collection type class java.lang.String"},
		{name: "string for list", body: `{"GrantTokens":"g"}`, msg: "Unexpected field type"},
		{name: "array for map", body: `{"EncryptionContext":[]}`, msg: "Start of list found where not expected"},
		{name: "number map value", body: `{"EncryptionContext":{"a":1}}`, msg: "NUMBER_VALUE can not be converted to a String"},
		{name: "number for blob", body: `{"Plaintext":1}`, msg: "only base-64-encoded strings are convertible to bytes"},
		{name: "array document", body: `[]`, msg: "Start of list found where not expected"},
		{name: "string document", body: `"x"`, msg: "Unexpected field type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := checkSame[kmsapi.EncryptRequest](t, []byte(tt.body))
			var we *wire.Error
			if tt.want != nil {
				// Validate runs after decoding; most cases miss a required member.
				if err != nil && (!errors.As(err, &we) || we.Code != "ValidationException") {
					t.Fatalf("error %v", err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("got %+v, want %+v", got, tt.want)
				}
				return
			}
			if !errors.As(err, &we) || we.Code != "SerializationException" || we.Message != tt.msg {
				t.Fatalf("got %v, want SerializationException %q", err, tt.msg)
			}
		})
	}
}

// TestDecodeFastIntegers pins int32 range checks (NumberOfBytes).
func TestDecodeFastIntegers(t *testing.T) {
	tests := []struct {
		lit  string
		want int32
		msg  string // "": no error
	}{
		{lit: "0"}, {lit: "-0"}, {lit: "1024", want: 1024}, {lit: "2147483647", want: 2147483647},
		{lit: "-2147483648", want: -2147483648},
		{lit: "2147483648", msg: "NUMBER_VALUE can not be converted to an Integer"},
		{lit: "-2147483649", msg: "NUMBER_VALUE can not be converted to an Integer"},
		{lit: "99999999999999999999999", msg: "NUMBER_VALUE can not be converted to an Integer"},
		{lit: "1.0", msg: "DECIMAL_VALUE can not be converted to an Integer"},
		{lit: "1e3", msg: "DECIMAL_VALUE can not be converted to an Integer"},
		{lit: `"1"`, msg: "STRING_VALUE can not be converted to an Integer"},
		{lit: "true", msg: "TRUE_VALUE can not be converted to an Integer"},
	}
	for _, tt := range tests {
		t.Run(tt.lit, func(t *testing.T) {
			// KeyId keeps Validate quiet; NumberOfBytes has a range of its own.
			body := `{"KeyId":"k","NumberOfBytes":` + tt.lit + `}`
			got, err := checkSame[kmsapi.GenerateDataKeyRequest](t, []byte(body))
			var we *wire.Error
			switch {
			case tt.msg == "" && err == nil && got.NumberOfBytes != nil && *got.NumberOfBytes == tt.want:
			case tt.msg == "" && errors.As(err, &we) && we.Code == "ValidationException" && *got.NumberOfBytes == tt.want:
			case tt.msg != "" && errors.As(err, &we) && we.Message == tt.msg:
			default:
				t.Fatalf("got %v, %v; want %d, %q", got.NumberOfBytes, err, tt.want, tt.msg)
			}
		})
	}
}

// TestDecodeExactNames pins AWS's case-sensitive member names where a
// client sees them: a required member spelled in other case is missing, in
// the words AWS uses, and in nested structures, lists of them and
// timestamps the spelling must be exact too.
func TestDecodeExactNames(t *testing.T) {
	var enc kmsapi.EncryptRequest
	err := wire.DecodeJSON([]byte(`{"keyid":"alias/a","Plaintext":"aGk="}`), &enc)
	var we *wire.Error
	if !errors.As(err, &we) || we.Code != "ValidationException" ||
		we.Message != "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null" {
		t.Fatalf("keyid: got %v", err)
	}
	if enc.KeyId != nil || string(enc.Plaintext) != "hi" {
		t.Fatalf("keyid: decoded %+v", enc)
	}

	ck, err := checkSame[kmsapi.CreateKeyRequest](t, []byte(`{"Tags":[{"TagKey":"a","tagvalue":"b"},{"TAGKEY":"c","TagValue":"d"}],"description":"x"}`))
	want := []kmsapi.Tag{{TagKey: wire.Ptr("a")}, {TagValue: wire.Ptr("d")}}
	if ck.Description != nil || !reflect.DeepEqual(ck.Tags, want) {
		t.Fatalf("CreateKey: decoded %+v, tags %+v (err %v)", ck, ck.Tags, err)
	}

	ik, _ := checkSame[kmsapi.ImportKeyMaterialRequest](t, []byte(`{"KeyId":"k","validTo":1700000000,"ValidTo":1700000001.5}`))
	if ik.ValidTo == nil || ik.ValidTo.Time().UnixMilli() != 1700000001500 {
		t.Fatalf("ImportKeyMaterial: ValidTo %v", ik.ValidTo)
	}
}

func BenchmarkDecodeJSON(b *testing.B) {
	encrypt := []byte(`{"EncryptionContext":` + sdkEC + `,"GrantTokens":["token"],"KeyId":"` + sdkKeyARN + `",` +
		`"Plaintext":"SGVsbG8sIFRyZW50ISBUaGlzIGlzIGEgZGF0YSBrZXkgb2YgMzIgYnl0ZXMu"}`)
	decrypt := []byte(`{"CiphertextBlob":"` + sdkBlob + `","EncryptionContext":` + sdkEC + `,"KeyId":"` + sdkKeyARN + `"}`)
	for _, bm := range []struct {
		name string
		body []byte
		new  func() interface{ Validate() error }
	}{
		{"Encrypt", encrypt, func() interface{ Validate() error } { return new(kmsapi.EncryptRequest) }},
		{"Decrypt", decrypt, func() interface{ Validate() error } { return new(kmsapi.DecryptRequest) }},
	} {
		for _, dec := range []struct {
			name   string
			decode func([]byte, interface{ Validate() error }) error
		}{
			{"encoding-json", wire.DecodeJSONStd},
			{"generated", wire.DecodeJSON},
		} {
			b.Run(bm.name+"/"+dec.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(bm.body)))
				for b.Loop() {
					if err := dec.decode(bm.body, bm.new()); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		b.Run(bm.name+"/validate-only", func(b *testing.B) {
			v := bm.new()
			if err := wire.DecodeJSON(bm.body, v); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := v.Validate(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
