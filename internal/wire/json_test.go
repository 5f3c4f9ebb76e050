package wire_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/trentkms/trent/internal/wire"
)

// req is a request shaped like the generated ones.
type req struct {
	Name   *string           `json:"Name,omitempty"`
	Count  *int32            `json:"Count,omitempty"`
	Big    *int64            `json:"Big,omitempty"`
	On     *bool             `json:"On,omitempty"`
	Data   []byte            `json:"Data,omitempty"`
	List   []string          `json:"List,omitempty"`
	Map    map[string]string `json:"Map,omitempty"`
	Nested *struct {
		X *string `json:"X,omitempty"`
	} `json:"Nested,omitempty"`

	validated bool
}

func (r *req) Validate() error {
	r.validated = true
	if r.Name != nil && *r.Name == "invalid" {
		return wire.Validation("bad name")
	}
	return nil
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name string
		body string
		code string // "" means success
		msg  string
	}{
		{name: "empty body", body: ""},
		{name: "whitespace body", body: " \r\n\t"},
		{name: "empty object", body: "{}"},
		{name: "null", body: "null"},
		{name: "unknown members", body: `{"Other": {"a": [1, 2]}, "Name": "n"}`},
		{name: "validation runs", body: `{"Name": "invalid"}`, code: "ValidationException", msg: "bad name"},
		{name: "not json", body: "hello", code: "SerializationException"},
		{name: "truncated", body: `{"Name": "n"`, code: "SerializationException"},
		{name: "trailing garbage", body: `{} {}`, code: "SerializationException"},
		{name: "string for integer", body: `{"Count": "5"}`, code: "SerializationException", msg: "STRING_VALUE can not be converted to an Integer"},
		{name: "number for string", body: `{"Name": 5}`, code: "SerializationException", msg: "NUMBER_VALUE can not be converted to a String"},
		{name: "true for string", body: `{"Name": true}`, code: "SerializationException", msg: "TRUE_VALUE can not be converted to a String"},
		{name: "false for long", body: `{"Big": false}`, code: "SerializationException", msg: "FALSE_VALUE can not be converted to a Long"},
		{name: "decimal for integer", body: `{"Count": 1.5}`, code: "SerializationException", msg: "DECIMAL_VALUE can not be converted to an Integer"},
		{name: "string for boolean", body: `{"On": "yes"}`, code: "SerializationException", msg: "STRING_VALUE can not be converted to a Boolean"},
		{name: "object for string", body: `{"Name": {}}`, code: "SerializationException", msg: "Start of structure or map found where not expected"},
		{name: "object for list", body: `{"List": {}}`, code: "SerializationException", msg: "Start of structure or map found where not expected"},
		{name: "array for string", body: `{"Name": []}`, code: "SerializationException", msg: "Unrecognized collection type class java.lang.String"},
		{name: "array for map", body: `{"Map": []}`, code: "SerializationException", msg: "Start of list found where not expected"},
		{name: "string for list", body: `{"List": "a"}`, code: "SerializationException", msg: "Unexpected field type"},
		{name: "string for structure", body: `{"Nested": "a"}`, code: "SerializationException", msg: "Unexpected field type"},
		{name: "number for blob", body: `{"Data": 5}`, code: "SerializationException", msg: "only base-64-encoded strings are convertible to bytes"},
		{name: "bad base64", body: `{"Data": "!!!"}`, code: "SerializationException"},
		{name: "top level array", body: `[]`, code: "SerializationException", msg: "Start of list found where not expected"},
		{name: "exponent for integer", body: `{"Count": 1e2}`, code: "SerializationException", msg: "DECIMAL_VALUE can not be converted to an Integer"},
		{name: "integer overflow", body: `{"Count": 2147483648}`, code: "SerializationException", msg: "NUMBER_VALUE can not be converted to an Integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r req
			err := wire.DecodeJSON([]byte(tt.body), &r)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("got %v", err)
				}
				if !r.validated {
					t.Error("Validate was not called")
				}
				return
			}
			var we *wire.Error
			if !errors.As(err, &we) {
				t.Fatalf("got %T %v, want *wire.Error", err, err)
			}
			if we.Code != tt.code || we.Status != 400 || we.Message != tt.msg {
				t.Errorf("got %s %d %q, want %s 400 %q", we.Code, we.Status, we.Message, tt.code, tt.msg)
			}
		})
	}
}

func TestDecodeJSONDoesNotAliasBody(t *testing.T) {
	body := []byte(`{"Data": "aGVsbG8="}`)
	var r req
	if err := wire.DecodeJSON(body, &r); err != nil {
		t.Fatal(err)
	}
	clear(body)
	if string(r.Data) != "hello" {
		t.Errorf("Data = %q after the body was cleared", r.Data)
	}
}

func TestWriteJSON(t *testing.T) {
	w := httptest.NewRecorder()
	wire.WriteJSON(w, "req-1", &req{Name: wire.Ptr("a<b>&c"), Data: []byte("hi"), Count: wire.Ptr[int32](3)})
	if w.Code != 200 {
		t.Errorf("status %d", w.Code)
	}
	h := w.Header()
	if got := h.Get("Content-Type"); got != "application/x-amz-json-1.1" {
		t.Errorf("Content-Type %q", got)
	}
	if got := h.Get("X-Amzn-RequestId"); got != "req-1" {
		t.Errorf("x-amzn-RequestId %q", got)
	}
	want := `{"Name":"a<b>&c","Count":3,"Data":"aGk="}`
	if got := w.Body.String(); got != want {
		t.Errorf("body %s, want %s", got, want)
	}
	if got := h.Get("Content-Length"); got != fmt.Sprint(len(want)) {
		t.Errorf("Content-Length %s, want %d", got, len(want))
	}
}

// Content-Length is the body's length at every size, within the table of
// small lengths and past it, and adding to it changes no other response.
func TestWriteJSONContentLength(t *testing.T) {
	for _, n := range []int{1, 9, 10, 99, 100, 999, 1000, 2046, 2047, 2048, 2049, 10000, 123456} {
		name := strings.Repeat("x", n)
		w := httptest.NewRecorder()
		wire.WriteJSON(w, "req-1", &req{Name: &name})
		if got, want := w.Header().Get("Content-Length"), strconv.Itoa(w.Body.Len()); got != want {
			t.Errorf("name of %d bytes: Content-Length %s, want %s", n, got, want)
		}
		w.Header().Add("Content-Length", "oops")
		w2 := httptest.NewRecorder()
		wire.WriteJSON(w2, "req-2", &req{Name: &name})
		if vs := w2.Header().Values("Content-Length"); len(vs) != 1 || vs[0] != strconv.Itoa(w2.Body.Len()) {
			t.Errorf("name of %d bytes, after an Add to another response: Content-Length %q", n, vs)
		}
	}
}

func TestWriteJSONNoOutput(t *testing.T) {
	w := httptest.NewRecorder()
	wire.WriteJSON(w, "req-1", nil)
	if w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("Content-Length") != "0" {
		t.Errorf("got %d %q %v", w.Code, w.Body, w.Header())
	}
}

func TestWriteJSONUnencodable(t *testing.T) {
	w := httptest.NewRecorder()
	wire.WriteJSON(w, "req-1", map[string]any{"f": func() {}})
	if w.Code != 500 || w.Header().Get("X-Amzn-ErrorType") != "KMSInternalException" {
		t.Errorf("got %d %v", w.Code, w.Header())
	}
}

func TestWriteError(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		status   int
		body     string
		errorTyp string
	}{
		{
			name: "wire error", err: wire.Errorf("NotFoundException", 400, "Key '%s' does not exist", "arn:aws:kms:r:1:key/k"),
			status: 400, body: `{"__type":"NotFoundException","message":"Key 'arn:aws:kms:r:1:key/k' does not exist"}`, errorTyp: "NotFoundException",
		},
		{
			name: "wrapped wire error", err: fmt.Errorf("decrypt: %w", &wire.Error{Code: "InvalidCiphertextException", Status: 400}),
			status: 400, body: `{"__type":"InvalidCiphertextException"}`, errorTyp: "InvalidCiphertextException",
		},
		{
			name: "unknown operation", err: wire.UnknownOperation(),
			status: 400, body: `{"__type":"UnknownOperationException"}`, errorTyp: "UnknownOperationException",
		},
		{
			name: "internal detail is not sent", err: errors.New("bolt: database file /var/lib/trent corrupt"),
			status: 500, body: `{"__type":"KMSInternalException","message":"An internal error occurred."}`, errorTyp: "KMSInternalException",
		},
		{
			name: "nil error", err: nil,
			status: 500, body: `{"__type":"KMSInternalException","message":"An internal error occurred."}`, errorTyp: "KMSInternalException",
		},
		{
			name: "message escaping", err: wire.Validation(`quote " and <tag>`),
			status: 400, body: `{"__type":"ValidationException","message":"quote \" and <tag>"}`, errorTyp: "ValidationException",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			wire.WriteError(w, "rid", tt.err)
			if w.Code != tt.status {
				t.Errorf("status %d, want %d", w.Code, tt.status)
			}
			if got := w.Body.String(); got != tt.body {
				t.Errorf("body %s, want %s", got, tt.body)
			}
			if got := w.Header().Get("X-Amzn-ErrorType"); got != tt.errorTyp {
				t.Errorf("x-amzn-ErrorType %q, want %q", got, tt.errorTyp)
			}
			if got := w.Header().Get("X-Amzn-RequestId"); got != "rid" {
				t.Errorf("x-amzn-RequestId %q", got)
			}
			if !json.Valid(w.Body.Bytes()) {
				t.Error("body is not JSON")
			}
		})
	}
}

func TestError(t *testing.T) {
	e := wire.Errorf("DisabledException", 400, "%s is disabled.", "arn")
	if e.Error() != "DisabledException: arn is disabled." {
		t.Errorf("Error() = %q", e.Error())
	}
	if got := (&wire.Error{Code: "KMSInvalidMacException"}).Error(); got != "KMSInvalidMacException" {
		t.Errorf("Error() = %q", got)
	}
}

func TestHelpers(t *testing.T) {
	if wire.String(nil) != "" || wire.String(wire.Ptr("x")) != "x" {
		t.Error("String")
	}
	if wire.Int32(nil) != 0 || wire.Int32(wire.Ptr[int32](7)) != 7 {
		t.Error("Int32")
	}
	if wire.Int64(nil) != 0 || wire.Int64(wire.Ptr[int64](7)) != 7 {
		t.Error("Int64")
	}
	if wire.Bool(nil) || !wire.Bool(wire.Ptr(true)) {
		t.Error("Bool")
	}
}
