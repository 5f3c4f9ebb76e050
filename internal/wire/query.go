package wire

import (
	"encoding/base64"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The AWS Query protocol (IAM, STS) sends a request as form parameters,
// Action=CreateUser&Version=2010-05-08&UserName=bob, that name members by
// path:
//
//	Name=v                      a scalar member
//	Name.Member=v               a member of a nested structure
//	Name.member.N=v             element N (from 1) of a list
//	Name.member.N.Member=v      a member of a structure in a list
//	Name.entry.N.key=k          key and value of entry N of a map
//	Name.entry.N.value=v
//	Name=                       an empty list
//
// The generated types say how each member is named with a struct tag:
//
//	query:"Name"                the member's name on the wire
//	query:"Name,member=Item"    a list whose elements are named Item, not member
//	query:"Name,flat"           a flattened list (Name.N) or map (Name.N.key)
//
// Fields without a query tag are neither decoded nor encoded.

// QueryAction returns the Action and Version parameters of a Query request:
// the operation's name and the API version the client speaks.
func QueryAction(params url.Values) (action, version string) {
	return params.Get("Action"), params.Get("Version")
}

// queryField is what the codec knows of one tagged struct field.
type queryField struct {
	index  int
	name   string // the member's name on the wire
	flat   bool   // a flattened list or map
	member string // the element name of a list that is not flattened
}

// defaultField describes a list inside a list, which has no tag of its own.
var defaultField = queryField{member: "member"}

// queryFields caches the tagged fields of each struct type.
var queryFields sync.Map // reflect.Type → []queryField

func fieldsOf(t reflect.Type) []queryField {
	if fs, ok := queryFields.Load(t); ok {
		return fs.([]queryField)
	}
	var fs []queryField
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, ok := sf.Tag.Lookup("query")
		if !ok || tag == "-" || !sf.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		f := queryField{index: i, name: name, member: "member"}
		if f.name == "" {
			f.name = sf.Name
		}
		for opts != "" {
			var o string
			o, opts, _ = strings.Cut(opts, ",")
			switch {
			case o == "flat":
				f.flat = true
			case strings.HasPrefix(o, "member="):
				f.member = strings.TrimPrefix(o, "member=")
			}
		}
		fs = append(fs, f)
	}
	queryFields.Store(t, fs)
	return fs
}

var timestampType = reflect.TypeFor[Timestamp]()

// maxQueryDepth bounds the nesting the codec follows, so that neither a
// hostile request nor a cyclic value can exhaust the stack. The AWS models
// nest a handful of levels.
const maxQueryDepth = 32

// DecodeQuery decodes AWS Query parameters (the form body, or the URL query
// for GET) into v and validates it. v must be a pointer to a struct whose
// fields carry query tags, as the generated request types do.
//
// Unknown parameters are ignored, as AWS ignores them, and so are Action
// and Version (see [QueryAction]). A malformed value (not a number, a
// boolean other than true or false, a timestamp not in ISO 8601, a blob
// not in base64) is an InvalidParameterValue (400); otherwise the result
// is v.Validate(), nil or a ValidationError. The elements of a list are
// taken in the order of their indices, which need not be contiguous; an
// index that is not a positive decimal number is ignored. v keeps no
// reference to params.
func DecodeQuery(params url.Values, v interface{ Validate() error }) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("wire: DecodeQuery needs a non-nil pointer to a struct, not %T", v)
	}
	d := queryDecoder{params: params, keys: make([]string, 0, len(params))}
	for k := range params {
		d.keys = append(d.keys, k)
	}
	slices.Sort(d.keys)
	if err := d.structure(rv.Elem(), "", 0); err != nil {
		return err
	}
	return v.Validate()
}

type queryDecoder struct {
	params url.Values
	keys   []string // the parameter names, sorted, to find prefixes
}

// get returns the first value of the parameter key.
func (d *queryDecoder) get(key string) (string, bool) {
	vs := d.params[key]
	if len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

// hasPrefix reports whether a parameter name starts with prefix.
func (d *queryDecoder) hasPrefix(prefix string) bool {
	i, _ := slices.BinarySearch(d.keys, prefix)
	return i < len(d.keys) && strings.HasPrefix(d.keys[i], prefix)
}

// indices returns, in ascending order, the distinct N of the parameters
// named prefix.N (leaf true: the elements are scalars) or prefix.N.…
// (leaf false: the elements are structures or collections).
func (d *queryDecoder) indices(prefix string, leaf bool) []int {
	prefix += "."
	i, _ := slices.BinarySearch(d.keys, prefix)
	var out []int
	for ; i < len(d.keys) && strings.HasPrefix(d.keys[i], prefix); i++ {
		seg, rest, nested := strings.Cut(d.keys[i][len(prefix):], ".")
		if nested == leaf || (nested && rest == "") {
			continue
		}
		if n, ok := parseIndex(seg); ok {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// parseIndex parses a list index: a positive decimal number without
// leading zeros, so that each element has one name.
func parseIndex(s string) (int, bool) {
	if s == "" || len(s) > 9 || s[0] == '0' {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// isLeaf reports whether a value of type t is one parameter rather than a
// prefix of several.
func isLeaf(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timestampType:
		return true
	case t.Kind() == reflect.Struct, t.Kind() == reflect.Map:
		return false
	case t.Kind() == reflect.Slice:
		return t.Elem().Kind() == reflect.Uint8 // a blob
	}
	return true
}

func (d *queryDecoder) structure(v reflect.Value, prefix string, depth int) error {
	if depth > maxQueryDepth {
		return nil
	}
	for _, f := range fieldsOf(v.Type()) {
		if err := d.value(v.Field(f.index), join(prefix, f.name), &f, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// present reports whether the request holds a value of type t at key.
func (d *queryDecoder) present(key string, t reflect.Type) bool {
	if isLeaf(t) {
		_, ok := d.get(key)
		return ok
	}
	return d.hasPrefix(key + ".")
}

func (d *queryDecoder) value(v reflect.Value, key string, f *queryField, depth int) error {
	t := v.Type()
	if t == timestampType {
		s, ok := d.get(key)
		if !ok {
			return nil
		}
		tm, err := parseISO8601(s)
		if err != nil {
			return malformed(key, s, "an ISO 8601 timestamp")
		}
		v.Set(reflect.ValueOf(Timestamp(tm)))
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		if !d.present(key, t.Elem()) {
			return nil
		}
		p := reflect.New(t.Elem())
		if err := d.value(p.Elem(), key, f, depth); err != nil {
			return err
		}
		v.Set(p)
	case reflect.Struct:
		return d.structure(v, key, depth)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return d.blob(v, key)
		}
		return d.list(v, key, f, depth)
	case reflect.Map:
		return d.mapping(v, key, f, depth)
	default:
		s, ok := d.get(key)
		if !ok {
			return nil
		}
		return setScalar(v, key, s)
	}
	return nil
}

func (d *queryDecoder) blob(v reflect.Value, key string) error {
	s, ok := d.get(key)
	if !ok {
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		// A blob may be secret: its value is not echoed.
		return &Error{Code: codeInvalidParameterValue, Message: "Value for parameter " + key + " is invalid: it must be base64.", Status: 400}
	}
	v.SetBytes(b)
	return nil
}

func (d *queryDecoder) list(v reflect.Value, key string, f *queryField, depth int) error {
	if f == nil {
		f = &defaultField
	}
	prefix := key
	if !f.flat {
		prefix = key + "." + f.member
	}
	et := v.Type().Elem()
	idx := d.indices(prefix, isLeaf(et))
	if len(idx) == 0 {
		// The SDKs send an empty list as "Name=".
		if _, ok := d.get(key); ok && !f.flat {
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		}
		return nil
	}
	if depth > maxQueryDepth {
		return nil
	}
	s := reflect.MakeSlice(v.Type(), len(idx), len(idx))
	for i, n := range idx {
		if err := d.value(s.Index(i), prefix+"."+strconv.Itoa(n), nil, depth+1); err != nil {
			return err
		}
	}
	v.Set(s)
	return nil
}

func (d *queryDecoder) mapping(v reflect.Value, key string, f *queryField, depth int) error {
	if v.Type().Key().Kind() != reflect.String {
		return nil // the models have only string keys
	}
	prefix := key + ".entry"
	if f != nil && f.flat {
		prefix = key
	}
	idx := d.indices(prefix, false)
	if len(idx) == 0 {
		if _, ok := d.get(key); ok {
			v.Set(reflect.MakeMap(v.Type()))
		}
		return nil
	}
	if depth > maxQueryDepth {
		return nil
	}
	m := reflect.MakeMapWithSize(v.Type(), len(idx))
	for _, n := range idx {
		entry := prefix + "." + strconv.Itoa(n)
		k, ok := d.get(entry + ".key")
		if !ok {
			continue // an entry without a key names nothing
		}
		ev := reflect.New(v.Type().Elem()).Elem()
		if err := d.value(ev, entry+".value", nil, depth+1); err != nil {
			return err
		}
		m.SetMapIndex(reflect.ValueOf(k).Convert(v.Type().Key()), ev)
	}
	v.Set(m)
	return nil
}

// setScalar parses s into v, a string, number or boolean.
func setScalar(v reflect.Value, key, s string) error {
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return malformed(key, s, "an integer")
		}
		v.SetInt(n)
	case reflect.Float32, reflect.Float64:
		f, err := parseFloat(s, v.Type().Bits())
		if err != nil {
			return malformed(key, s, "a number")
		}
		v.SetFloat(f)
	case reflect.Bool:
		switch {
		case strings.EqualFold(s, "true"):
			v.SetBool(true)
		case strings.EqualFold(s, "false"):
			v.SetBool(false)
		default:
			return malformed(key, s, "true or false")
		}
	}
	return nil
}

// parseFloat parses a number as the SDKs write it, including NaN,
// Infinity and -Infinity.
func parseFloat(s string, bits int) (float64, error) {
	switch s {
	case "NaN":
		return math.NaN(), nil
	case "Infinity":
		return math.Inf(1), nil
	case "-Infinity":
		return math.Inf(-1), nil
	}
	if strings.ContainsAny(s, "nNiI") { // Go's own spellings of the above
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseFloat(s, bits)
}

// parseISO8601 parses a timestamp as the SDKs send it,
// 2026-01-02T03:04:05Z or with a fraction of a second or an offset.
func parseISO8601(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// maxEchoed bounds how much of a malformed value an error repeats.
const maxEchoed = 64

// malformed is the error for a parameter whose value is not of the
// member's type.
func malformed(key, value, want string) *Error {
	if len(value) > maxEchoed {
		value = strings.ToValidUTF8(value[:maxEchoed], "") + "..."
	}
	return &Error{
		Code:    codeInvalidParameterValue,
		Message: "Value '" + value + "' for parameter " + key + " is invalid: it must be " + want + ".",
		Status:  400,
	}
}
