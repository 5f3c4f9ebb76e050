package kmsapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

const encryptBody = `{"KeyId":"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",` +
	`"Plaintext":"SGVsbG8sIFRyZW50ISBUaGlzIGlzIGEgZGF0YSBrZXkgb2YgMzIgYnl0ZXMu",` +
	`"EncryptionContext":{"Department":"10103.0","purpose":"test"},"GrantTokens":["token"]}`

// TestRoundTrip checks that every member kind survives encoding and decoding.
func TestRoundTrip(t *testing.T) {
	created := kmsapi.Timestamp(time.UnixMilli(1700000000123).UTC())
	in := kmsapi.DescribeKeyResponse{KeyMetadata: &kmsapi.KeyMetadata{
		KeyId:                wire.Ptr("1234abcd-12ab-34cd-56ef-1234567890ab"),
		CreationDate:         &created,
		Enabled:              wire.Ptr(true),
		KeyState:             wire.Ptr("Enabled"),
		EncryptionAlgorithms: []string{"SYMMETRIC_DEFAULT"},
		MultiRegionConfiguration: &kmsapi.MultiRegionConfiguration{
			PrimaryKey:  &kmsapi.MultiRegionKey{Arn: wire.Ptr("arn"), Region: wire.Ptr("us-east-1")},
			ReplicaKeys: []kmsapi.MultiRegionKey{{Region: wire.Ptr("eu-west-1")}},
		},
	}}
	b, err := json.Marshal(&in)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"CreationDate":1.700000000123E9`)) {
		t.Errorf("CreationDate not in AWS form: %s", b)
	}
	var out kmsapi.DescribeKeyResponse
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(&out)
	if !bytes.Equal(b, b2) {
		t.Errorf("round trip changed\n%s\n%s", b, b2)
	}
}

func TestDecodeEncrypt(t *testing.T) {
	var r kmsapi.EncryptRequest
	if err := wire.DecodeJSON([]byte(encryptBody), &r); err != nil {
		t.Fatal(err)
	}
	if wire.String(r.KeyId) == "" || len(r.Plaintext) != 45 || r.EncryptionContext["purpose"] != "test" || len(r.GrantTokens) != 1 {
		t.Errorf("decoded %+v", r)
	}
}

func BenchmarkDecodeEncryptRequest(b *testing.B) {
	body := []byte(encryptBody)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		var r kmsapi.EncryptRequest
		if err := wire.DecodeJSON(body, &r); err != nil {
			b.Fatal(err)
		}
	}
}

// discard is an http.ResponseWriter that keeps nothing, so the benchmark
// measures the encoding alone.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

func BenchmarkWriteEncryptResponse(b *testing.B) {
	resp := &kmsapi.EncryptResponse{
		CiphertextBlob:      bytes.Repeat([]byte{0xa5}, 170),
		KeyId:               wire.Ptr("arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
		EncryptionAlgorithm: wire.Ptr("SYMMETRIC_DEFAULT"),
	}
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		wire.WriteJSON(w, "5ee1b2a3-36ac-4b7e-9d2b-6f6d0c1f3e77", resp)
	}
}

func BenchmarkValidateCreateKey(b *testing.B) {
	r := &kmsapi.CreateKeyRequest{
		Description: wire.Ptr("a key"),
		KeySpec:     wire.Ptr("SYMMETRIC_DEFAULT"),
		KeyUsage:    wire.Ptr("ENCRYPT_DECRYPT"),
		Tags:        []kmsapi.Tag{{TagKey: wire.Ptr("k"), TagValue: wire.Ptr("v")}},
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzDecodeEncrypt checks that no body makes DecodeJSON panic, that every
// error is a 400 *wire.Error, and that what decodes re-encodes and decodes
// to the same request.
func FuzzDecodeEncrypt(f *testing.F) {
	for _, s := range []string{
		encryptBody, ``, `{}`, `null`, `[]`, `{"KeyId":1}`, `{"Plaintext":"!!"}`,
		`{"KeyId":"k","Plaintext":"AA==","GrantTokens":["",""],"EncryptionAlgorithm":"X"}`,
		`{"EncryptionContext":{"a":1}}`, `{"KeyId":"k","Plaintext":"AA==","DryRun":"true"}`,
		`{"KeyId":"\u00e9\ud800","Plaintext":"AA=="}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var r kmsapi.EncryptRequest
		err := wire.DecodeJSON(body, &r)
		if err != nil {
			var we *wire.Error
			if !errors.As(err, &we) || we.Status != 400 {
				t.Fatalf("error %T %v is not a 400 *wire.Error", err, err)
			}
			if we.Code != "SerializationException" && we.Code != "ValidationException" {
				t.Fatalf("unexpected code %s", we.Code)
			}
			return
		}
		b, err := json.Marshal(&r)
		if err != nil {
			t.Fatal(err)
		}
		var r2 kmsapi.EncryptRequest
		if err := wire.DecodeJSON(b, &r2); err != nil {
			t.Fatalf("re-decoding %s: %v", b, err)
		}
		b2, _ := json.Marshal(&r2)
		if !bytes.Equal(b, b2) {
			t.Fatalf("round trip changed\n%s\n%s", b, b2)
		}
	})
}
