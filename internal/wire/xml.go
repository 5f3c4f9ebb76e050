package wire

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"time"
)

// XMLContentType is the media type of AWS Query responses.
const XMLContentType = "text/xml"

var xmlContentTypeValue = []string{XMLContentType}

// internalFailure is what a Query client sees for any error that is not an
// *Error: the common error of the Query services, with a fixed message so
// that no internal detail leaks.
var internalFailure = Error{
	Code:    codeInternalFailure,
	Message: "The request processing has failed because of an unknown error, exception or failure.",
	Status:  500,
}

// WriteXML writes a 200 Query response, with Content-Type text/xml and the
// x-amzn-RequestId header:
//
//	<{op}Response xmlns="{ns}">
//	  <{op}Result>…</{op}Result>
//	  <ResponseMetadata><RequestId>{requestID}</RequestId></ResponseMetadata>
//	</{op}Response>
//
// result is a generated response type (a struct or a pointer to one) whose
// members are written in field order, lists as <Name><member>…</member>
// </Name>, maps as <Name><entry><key>…</key><value>…</value></entry></Name>,
// timestamps in ISO 8601 and blobs in base64; nil members are left out. A
// nil result, for an operation without output, leaves out the Result
// element. op must be an operation of the API (a key of the generated
// Operations), not the raw Action parameter. If op is not a name or result
// cannot be encoded, which are programming errors, WriteXML writes an
// InternalFailure instead.
func WriteXML(w http.ResponseWriter, requestID, ns, op string, result any) {
	if !isName(op) {
		WriteXMLError(w, requestID, ns, fmt.Errorf("wire: WriteXML: operation %q is not a name", op))
		return
	}
	e := getEncoder()
	defer putEncoder(e)
	b := &e.buf
	b.WriteByte('<')
	b.WriteString(op)
	b.WriteString(`Response xmlns="`)
	escape(b, ns)
	b.WriteString(`">`)
	if rv := reflect.ValueOf(result); rv.IsValid() && !(rv.Kind() == reflect.Pointer && rv.IsNil()) {
		x := xmlEncoder{buf: b}
		if err := x.value(op+"Result", rv, nil, 0); err != nil {
			WriteXMLError(w, requestID, ns, err)
			return
		}
	}
	b.WriteString("<ResponseMetadata><RequestId>")
	escape(b, requestID)
	b.WriteString("</RequestId></ResponseMetadata></")
	b.WriteString(op)
	b.WriteString("Response>")
	writeXML(w, requestID, http.StatusOK, b.Bytes())
}

// WriteXMLError writes err as the Query ErrorResponse with its HTTP status:
//
//	<ErrorResponse xmlns="{ns}">
//	  <Error><Type>Sender</Type><Code>…</Code><Message>…</Message></Error>
//	  <RequestId>{requestID}</RequestId>
//	</ErrorResponse>
//
// Type is Sender for a 4xx status and Receiver for a 5xx one. An err that
// is not (and does not wrap) an *Error is sent as a 500 InternalFailure
// with a generic message: its detail is the caller's to log, never the
// client's to see. An *Error without a Status is sent with 400.
func WriteXMLError(w http.ResponseWriter, requestID, ns string, err error) {
	var we *Error
	if !errors.As(err, &we) || we == nil {
		we = &internalFailure
	}
	status := we.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	fault := "Sender"
	if status >= 500 {
		fault = "Receiver"
	}
	e := getEncoder()
	defer putEncoder(e)
	b := &e.buf
	b.WriteString(`<ErrorResponse xmlns="`)
	escape(b, ns)
	b.WriteString(`"><Error><Type>`)
	b.WriteString(fault)
	b.WriteString("</Type><Code>")
	escape(b, we.Code)
	b.WriteString("</Code>")
	if we.Message != "" {
		b.WriteString("<Message>")
		escape(b, we.Message)
		b.WriteString("</Message>")
	}
	b.WriteString("</Error><RequestId>")
	escape(b, requestID)
	b.WriteString("</RequestId></ErrorResponse>")
	writeXML(w, requestID, status, b.Bytes())
}

func writeXML(w http.ResponseWriter, requestID string, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = xmlContentTypeValue
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	if requestID != "" {
		h["X-Amzn-Requestid"] = []string{requestID}
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// isName reports whether s is an operation name, letters and digits only,
// which can be written unescaped as part of an element name.
func isName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// escape writes s as XML character data. Characters XML cannot carry
// become U+FFFD, as encoding/xml does.
func escape(b *bytes.Buffer, s string) {
	_ = xml.EscapeText(b, []byte(s)) // writing to a bytes.Buffer cannot fail
}

type xmlEncoder struct {
	buf *bytes.Buffer
}

func (x *xmlEncoder) open(name string) {
	x.buf.WriteByte('<')
	x.buf.WriteString(name)
	x.buf.WriteByte('>')
}

func (x *xmlEncoder) close(name string) {
	x.buf.WriteString("</")
	x.buf.WriteString(name)
	x.buf.WriteByte('>')
}

// text writes <name>s</name>.
func (x *xmlEncoder) text(name, s string) {
	x.open(name)
	escape(x.buf, s)
	x.close(name)
}

// value writes v as the element name; f describes the field v comes from
// (nil for a list element or a map value).
func (x *xmlEncoder) value(name string, v reflect.Value, f *queryField, depth int) error {
	if depth > maxQueryDepth {
		return fmt.Errorf("wire: WriteXML: values nested deeper than %d (a cycle?)", maxQueryDepth)
	}
	t := v.Type()
	if t == timestampType {
		x.text(name, formatISO8601(v.Interface().(Timestamp)))
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return x.value(name, v.Elem(), f, depth)
	case reflect.String:
		x.text(name, v.String())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		x.text(name, strconv.FormatInt(v.Int(), 10))
	case reflect.Bool:
		x.text(name, strconv.FormatBool(v.Bool()))
	case reflect.Float32, reflect.Float64:
		x.text(name, formatFloat(v.Float(), t.Bits()))
	case reflect.Slice:
		if v.IsNil() {
			return nil
		}
		if t.Elem().Kind() == reflect.Uint8 {
			x.text(name, base64.StdEncoding.EncodeToString(v.Bytes()))
			return nil
		}
		return x.list(name, v, f, depth)
	case reflect.Map:
		if v.IsNil() {
			return nil
		}
		return x.mapping(name, v, f, depth)
	case reflect.Struct:
		x.open(name)
		for _, ff := range fieldsOf(t) {
			if err := x.value(ff.name, v.Field(ff.index), &ff, depth+1); err != nil {
				return err
			}
		}
		x.close(name)
	default:
		return fmt.Errorf("wire: WriteXML: cannot encode a %s", t)
	}
	return nil
}

func (x *xmlEncoder) list(name string, v reflect.Value, f *queryField, depth int) error {
	if f == nil {
		f = &defaultField
	}
	if f.flat {
		// The elements repeat in place of the list element.
		for i := range v.Len() {
			if err := x.value(name, v.Index(i), nil, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	x.open(name)
	for i := range v.Len() {
		if err := x.value(f.member, v.Index(i), nil, depth+1); err != nil {
			return err
		}
	}
	x.close(name)
	return nil
}

// mapping writes a map with its keys sorted, so that a response is
// deterministic.
func (x *xmlEncoder) mapping(name string, v reflect.Value, f *queryField, depth int) error {
	if v.Type().Key().Kind() != reflect.String {
		return fmt.Errorf("wire: WriteXML: map keys of %s are not strings", v.Type())
	}
	keys := v.MapKeys()
	slices.SortFunc(keys, func(a, b reflect.Value) int {
		switch {
		case a.String() < b.String():
			return -1
		case a.String() > b.String():
			return 1
		}
		return 0
	})
	flat := f != nil && f.flat
	if !flat {
		x.open(name)
	}
	entry := "entry"
	if flat {
		entry = name
	}
	for _, k := range keys {
		x.open(entry)
		x.text("key", k.String())
		if err := x.value("value", v.MapIndex(k), nil, depth+1); err != nil {
			return err
		}
		x.close(entry)
	}
	if !flat {
		x.close(name)
	}
	return nil
}

// formatISO8601 writes t as the AWS SDKs do: 2026-01-02T03:04:05Z, with a
// fraction of a second only when there is one, at most to the millisecond.
func formatISO8601(t Timestamp) string {
	return t.Time().UTC().Truncate(time.Millisecond).Format("2006-01-02T15:04:05.999Z")
}

// formatFloat writes a float as the SDKs read it: NaN, Infinity and
// -Infinity for the special values.
func formatFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return strconv.FormatFloat(f, 'g', -1, bits)
}
