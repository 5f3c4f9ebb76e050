package wire_test

import (
	"bytes"
	"math/rand/v2"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
	"github.com/trentkms/trent/internal/wire/orgapi"
)

type appender interface{ AppendJSON([]byte) []byte }

// outputs returns a new value of every response type of the JSON APIs.
func outputs() map[string]func() any {
	out := map[string]func() any{}
	for name, op := range kmsapi.Operations {
		if op.NewOutput != nil {
			out["kms "+name] = op.NewOutput
		}
	}
	for name, op := range orgapi.Operations {
		if op.NewOutput != nil {
			out["organizations "+name] = op.NewOutput
		}
	}
	return out
}

// TestAppendJSON checks the generated response encoders against
// encoding/json on random values of every response type that has one: the
// same bytes, member for member (omitted when empty, lists AWS always sends
// as [] when nil, strings escaped alike, blobs in base64, timestamps as
// AWS's epoch seconds).
func TestAppendJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 0
	for name, newOut := range outputs() {
		if _, ok := newOut().(appender); !ok {
			continue
		}
		n++
		for i := range 200 {
			v := newOut()
			fill(rng, reflect.ValueOf(v).Elem(), 0)
			want, err := wire.MarshalJSON(v)
			if err != nil {
				t.Fatalf("%s: encoding/json: %v", name, err)
			}
			got := v.(appender).AppendJSON([]byte("prefix"))
			if !bytes.Equal(got[len("prefix"):], want) {
				t.Fatalf("%s, value %d:\nAppendJSON:    %s\nencoding/json: %s", name, i, got[len("prefix"):], want)
			}
		}
	}
	// The hot path must not fall back to reflection.
	for _, op := range []string{"Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "Sign", "Verify", "GenerateMac", "VerifyMac", "DescribeKey"} {
		if _, ok := kmsapi.Operations[op].NewOutput().(appender); !ok {
			t.Errorf("%sResponse has no AppendJSON", op)
		}
	}
	if n < 70 {
		t.Fatalf("only %d response types have AppendJSON", n)
	}
}

// WriteJSON sends what AppendJSON appends.
func TestWriteJSONAppender(t *testing.T) {
	resp := &kmsapi.EncryptResponse{CiphertextBlob: []byte{1, 2, 3}, KeyId: wire.Ptr("k<&>")}
	w := httptest.NewRecorder()
	wire.WriteJSON(w, "id", resp)
	if got := w.Body.String(); got != `{"CiphertextBlob":"AQID","KeyId":"k<&>"}` || w.Header().Get("Content-Length") != "40" {
		t.Fatalf("got %q, headers %v", got, w.Header())
	}
}

var sampleStrings = []string{"", "a", "alias/x", "<&>", "\"\\", "\n\t\x00\x1f", "é😀", "\u2028\u2029", "\xff\xfe", "a\xc3", "\x7f"}

// fill sets v to a random value: nil or empty or filled pointers, slices
// and maps, strings that need escaping, invalid UTF-8.
func fill(rng *rand.Rand, v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.Pointer:
		if rng.IntN(3) == 0 || depth > 4 {
			return
		}
		v.Set(reflect.New(v.Type().Elem()))
		fill(rng, v.Elem(), depth+1)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[wire.Timestamp]() {
			ms := []int64{0, 1, -1, 1700000000123, 1700000000000, 999, 253402300799999, rng.Int64N(1 << 45)}[rng.IntN(8)]
			v.Set(reflect.ValueOf(wire.Timestamp(time.UnixMilli(ms))))
			return
		}
		for i := range v.NumField() {
			fill(rng, v.Field(i), depth+1)
		}
	case reflect.String:
		v.SetString(sampleStrings[rng.IntN(len(sampleStrings))])
	case reflect.Bool:
		v.SetBool(rng.IntN(2) == 0)
	case reflect.Int32, reflect.Int64:
		v.SetInt([]int64{0, 1, -1, 1<<31 - 1, -1 << 31, rng.Int64N(1000)}[rng.IntN(6)])
	case reflect.Slice:
		switch rng.IntN(4) {
		case 0:
			return // nil
		case 1:
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
			return
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, rng.IntN(40))
			for i := range b {
				b[i] = byte(rng.IntN(256))
			}
			v.SetBytes(b)
			return
		}
		l := 1 + rng.IntN(3)
		s := reflect.MakeSlice(v.Type(), l, l)
		for i := range s.Len() {
			fill(rng, s.Index(i), depth+1)
		}
		v.Set(s)
	case reflect.Map:
		switch rng.IntN(4) {
		case 0:
			return
		case 1:
			v.Set(reflect.MakeMap(v.Type()))
			return
		}
		m := reflect.MakeMap(v.Type())
		for range 1 + rng.IntN(4) {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fill(rng, k, depth+1)
			fill(rng, e, depth+1)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	}
}
