package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// ContentType is the media type of AWS JSON 1.1 requests and responses.
const ContentType = "application/x-amz-json-1.1"

// Header values shared by every response; net/http only reads them. Each
// is a slice of length and capacity 1, so that Header.Add on one copies it.
var (
	contentTypeValue = []string{ContentType}
	// contentLengths[n] is the Content-Length value of an n-byte body, for
	// the sizes of the cryptographic operations' responses: one string of
	// the decimal numbers back to back, a slice of it each.
	contentLengths = func() (t [2048][]string) {
		var digits []byte
		ends := make([]int, len(t))
		for n := range t {
			digits = strconv.AppendInt(digits, int64(n), 10)
			ends[n] = len(digits)
		}
		all, start := string(digits), 0
		for n := range t {
			t[n] = []string{all[start:ends[n]]}
			start = ends[n]
		}
		return t
	}()
)

// DecodeJSON decodes a JSON 1.1 request body into v and validates it.
//
// An empty body decodes as {}. Members the type does not know are ignored,
// as AWS ignores them. Malformed JSON, or a member of the wrong JSON type, is
// a SerializationException (400); otherwise the result is v.Validate(), nil
// or a ValidationException. v keeps no reference to body: blobs are decoded
// into fresh slices, so the caller may reuse body.
//
// A type that internal/gen gave a DecodeJSONFrom method (the requests whose
// members are all strings, blobs, booleans, integers, lists and maps of
// strings and such structures, the KMS hot path among them) is decoded by
// it with a [JSONDecoder], in one pass; any other type by encoding/json.
// Both give the same value and the same error for every body: the fuzz
// tests FuzzDecode… check it.
func DecodeJSON(body []byte, v interface{ Validate() error }) error {
	return decodeJSON(body, v, unmarshal)
}

func decodeJSON(body []byte, v interface{ Validate() error }, unmarshal func([]byte, any) error) error {
	if len(bytes.TrimLeft(body, " \t\r\n")) != 0 {
		if err := unmarshal(body, v); err != nil {
			return serializationError(body, err)
		}
	}
	return v.Validate()
}

func unmarshal(body []byte, v any) error {
	if fd, ok := v.(jsonDecodable); ok {
		return decodeFast(body, fd)
	}
	return json.Unmarshal(body, v)
}

// serializationError maps an encoding/json error to the message AWS's JSON
// deserializer gives. Messages whose AWS text is unknown (a syntax error, bad
// base64) are left empty rather than invented.
func serializationError(body []byte, err error) *Error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return Serialization(typeMismatchMessage(body, te))
	}
	return Serialization("")
}

// javaName is the name AWS's deserializer gives a Go member type.
func javaName(t reflect.Type) (name, class string) {
	switch t.Kind() {
	case reflect.String:
		return "String", "class java.lang.String"
	case reflect.Int32, reflect.Int:
		return "Integer", "class java.lang.Integer"
	case reflect.Int64:
		return "Long", "class java.lang.Long"
	case reflect.Bool:
		return "Boolean", "class java.lang.Boolean"
	case reflect.Float32:
		return "Float", "class java.lang.Float"
	case reflect.Float64:
		return "Double", "class java.lang.Double"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "Blob", "class java.nio.ByteBuffer"
		}
		return "List", ""
	case reflect.Map:
		return "Map", ""
	case reflect.Struct:
		return "Structure", ""
	}
	return "", ""
}

// typeMismatchMessage words a member of the wrong JSON type as AWS does:
// "STRING_VALUE can not be converted to an Integer", "Start of structure or
// map found where not expected", "Unexpected field type".
func typeMismatchMessage(body []byte, te *json.UnmarshalTypeError) string {
	want, class := javaName(te.Type)
	switch {
	case te.Value == "object":
		return "Start of structure or map found where not expected"
	case te.Value == "array":
		if class != "" {
			return "Unrecognized collection type " + class
		}
		return "Start of list found where not expected"
	case want == "List" || want == "Map" || want == "Structure":
		return "Unexpected field type"
	case want == "Blob":
		return "only base-64-encoded strings are convertible to bytes"
	case want == "":
		return ""
	}
	// Offset is just past the offending literal.
	var lit []byte
	if te.Offset > 0 && te.Offset <= int64(len(body)) {
		lit = body[:te.Offset]
	}
	var got string
	switch {
	case te.Value == "string":
		got = "STRING_VALUE"
	case te.Value == "bool" && bytes.HasSuffix(lit, []byte("true")):
		got = "TRUE_VALUE"
	case te.Value == "bool":
		got = "FALSE_VALUE"
	case strings.HasPrefix(te.Value, "number"):
		got = "NUMBER_VALUE"
		if isDecimal(lastNumber(lit)) {
			got = "DECIMAL_VALUE"
		}
	default:
		return ""
	}
	a := "a "
	if strings.ContainsRune("AEIOU", rune(want[0])) {
		a = "an "
	}
	return got + " can not be converted to " + a + want
}

// lastNumber returns the JSON number literal that b ends with.
func lastNumber(b []byte) []byte {
	i := len(b)
	for i > 0 && strings.IndexByte("0123456789.eE+-", b[i-1]) >= 0 {
		i--
	}
	return b[i:]
}

func isDecimal(num []byte) bool {
	return bytes.ContainsAny(num, ".eE")
}

// encoder is a pooled buffer with its JSON encoder, so that encoding a
// response allocates neither.
type encoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var encoders = sync.Pool{New: func() any {
	e := new(encoder)
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false) // AWS does not escape <, > and &
	return e
}}

// maxPooled bounds the buffers kept for reuse, so one large response (a
// ListKeys page, a policy) does not pin its memory.
const maxPooled = 64 << 10

func getEncoder() *encoder {
	e := encoders.Get().(*encoder)
	e.buf.Reset()
	return e
}

func putEncoder(e *encoder) {
	clear(e.buf.Bytes()) // a response may hold plaintext
	if e.buf.Cap() <= maxPooled {
		encoders.Put(e)
	}
}

// jsonAppender is implemented by the response types internal/gen gives an
// AppendJSON method: it writes what encoding/json would, without reflection.
type jsonAppender interface {
	AppendJSON(b []byte) []byte
}

var appendBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// WriteJSON writes a 200 response: Content-Type application/x-amz-json-1.1,
// the x-amzn-RequestId header and v encoded as JSON. If v cannot be encoded,
// which is a programming error, it writes a KMSInternalException instead.
// A nil v, for an operation without output, sends an empty body, as AWS does.
func WriteJSON(w http.ResponseWriter, requestID string, v any) {
	if v == nil {
		write(w, requestID, http.StatusOK, "", nil)
		return
	}
	if a, ok := v.(jsonAppender); ok {
		bp := appendBufs.Get().(*[]byte)
		b := a.AppendJSON((*bp)[:0])
		write(w, requestID, http.StatusOK, "", b)
		// The response may hold plaintext (Decrypt, GenerateDataKey).
		clear(b)
		if cap(b) <= maxPooled {
			*bp = b
			appendBufs.Put(bp)
		}
		return
	}
	e := getEncoder()
	defer putEncoder(e)
	if err := e.enc.Encode(v); err != nil {
		WriteError(w, requestID, err)
		return
	}
	write(w, requestID, http.StatusOK, "", e.body())
}

// MarshalJSON encodes v as WriteJSON would (without escaping <, > and &),
// for the MarshalJSON methods of generated types, whose output an outer
// encoder copies as it is. The result is the caller's.
func MarshalJSON(v any) ([]byte, error) {
	e := getEncoder()
	defer putEncoder(e)
	if err := e.enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.Clone(e.body()), nil
}

// body returns the encoded JSON without the newline json.Encoder appends.
func (e *encoder) body() []byte {
	b := e.buf.Bytes()
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	return b
}

// errorBody is the AWS JSON error shape.
type errorBody struct {
	Type    string `json:"__type"`
	Message string `json:"message,omitempty"`
	Reason  string `json:"Reason,omitempty"`
}

// WriteError writes err as the AWS JSON error shape {"__type": code,
// "message": msg} with its HTTP status and the x-amzn-RequestId and
// x-amzn-ErrorType headers. An err that is not (and does not wrap) an *Error
// is sent as a 500 KMSInternalException with a generic message: its detail
// is the caller's to log, never the client's to see. An *Error without a
// Status is sent with 400.
func WriteError(w http.ResponseWriter, requestID string, err error) {
	var we *Error
	if !errors.As(err, &we) || we == nil {
		we = &internalError
	}
	status := we.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	e := getEncoder()
	defer putEncoder(e)
	// Encoding strings cannot fail.
	_ = e.enc.Encode(errorBody{Type: we.Code, Message: we.Message, Reason: we.Reason})
	write(w, requestID, status, we.Code, e.body())
}

func write(w http.ResponseWriter, requestID string, status int, errorType string, body []byte) {
	h := w.Header()
	// One backing array for the per-response values: one allocation, not
	// three (none for the length of a usual body). The keys are in
	// canonical form, as Header.Set would write them.
	vals := [3]string{"", requestID, errorType}
	v := vals[:]
	h["Content-Type"] = contentTypeValue
	if len(body) < len(contentLengths) {
		h["Content-Length"] = contentLengths[len(body)]
	} else {
		v[0] = strconv.Itoa(len(body))
		h["Content-Length"] = v[0:1:1]
	}
	if requestID != "" {
		h["X-Amzn-Requestid"] = v[1:2:2]
	}
	if errorType != "" {
		h["X-Amzn-Errortype"] = v[2:3:3]
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
