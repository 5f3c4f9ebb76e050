package wire

import (
	"encoding/json"
	"reflect"
	"strings"
)

// DecodeJSONStd is DecodeJSON with encoding/json for every type: the
// reference that the generated decoders are checked against. encoding/json
// also matches member names under case folding, where AWS (and the
// generated decoders) match them exactly, so the reference first renames
// every member of a structure whose name is not exactly one of its fields'
// to a name no field has, of the same length, so that offsets, and with
// them encoding/json's errors, stay as they were.
func DecodeJSONStd(body []byte, v interface{ Validate() error }) error {
	return decodeJSON(exactNames(body, reflect.TypeOf(v)), v, json.Unmarshal)
}

// exactNames returns body, or a copy with the members renamed that no
// structure field names exactly.
func exactNames(body []byte, t reflect.Type) []byte {
	out := bytesClone(body)
	d := &JSONDecoder{data: body}
	d.ws()
	_ = rename(d, t, out) // a syntax error is encoding/json's to report
	return out
}

func bytesClone(b []byte) []byte { return append([]byte(nil), b...) }

var unmarshaler = reflect.TypeFor[json.Unmarshaler]()

// rename walks the value at d.off as encoding/json would decode it into
// type t, writing the renames into out.
func rename(d *JSONDecoder, t reflect.Type, out []byte) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshaler) {
		return d.Skip()
	}
	switch c := d.peek(); {
	case t.Kind() == reflect.Struct && c == '{':
		if err := d.enter(); err != nil {
			return err
		}
		for i := 0; ; i++ {
			raw, plain, ok, err := d.member(i)
			if !ok || err != nil {
				return err
			}
			name := string(d.text(raw, plain))
			if f, ok := exactField(t, name); ok {
				if err := rename(d, f.Type, out); err != nil {
					return err
				}
				continue
			}
			start := cap(d.data) - cap(raw) // raw is d.data[start:…]
			copy(out[start:start+len(raw)], strings.Repeat("~", len(raw)))
			if err := d.Skip(); err != nil {
				return err
			}
		}
	case t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8 && c == '[':
		if err := d.enter(); err != nil {
			return err
		}
		for i := 0; ; i++ {
			ok, err := d.elem(i)
			if !ok || err != nil {
				return err
			}
			if err := rename(d, t.Elem(), out); err != nil {
				return err
			}
		}
	case t.Kind() == reflect.Map && c == '{':
		if err := d.enter(); err != nil {
			return err
		}
		for i := 0; ; i++ {
			_, _, ok, err := d.member(i)
			if !ok || err != nil {
				return err
			}
			if err := rename(d, t.Elem(), out); err != nil {
				return err
			}
		}
	}
	return d.Skip()
}

// exactField is the field of struct t whose JSON name is name.
func exactField(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "" {
			tag = f.Name
		}
		if f.IsExported() && tag != "-" && tag == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}
