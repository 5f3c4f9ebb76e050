package valid

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/trentkms/trent/internal/wire"
)

// Errors collects the failures of one validation, in the order found.
// The zero value is ready to use and allocates only when a check fails.
type Errors struct {
	msgs []string
}

// Err returns nil when nothing failed, else a ValidationException, the
// code of the JSON protocol services (KMS, Organizations).
func (e *Errors) Err() error {
	if len(e.msgs) == 0 {
		return nil
	}
	return wire.Validation(e.message())
}

// QueryErr returns nil when nothing failed, else a ValidationError: the
// Query protocol services (IAM, STS) send the same message under that code.
func (e *Errors) QueryErr() error {
	if len(e.msgs) == 0 {
		return nil
	}
	return wire.QueryValidation(e.message())
}

func (e *Errors) message() string {
	if len(e.msgs) == 1 {
		return "1 validation error detected: " + e.msgs[0]
	}
	return strconv.Itoa(len(e.msgs)) + " validation errors detected: " + strings.Join(e.msgs, "; ")
}

// Path joins a parent path and a member name: "keyId" or "tags.1.member.tagKey".
func Path(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// Elem is the path prefix of the i-th (0-based) element of a list of
// structures: "tags.1.member".
func Elem(prefix, name string, i int) string {
	return Path(prefix, name) + "." + strconv.Itoa(i+1) + ".member"
}

// Null records a missing required member.
func (e *Errors) Null(prefix, name string) {
	e.msgs = append(e.msgs, "Value null at '"+Path(prefix, name)+"' failed to satisfy constraint: Member must not be null")
}

func (e *Errors) fail(value string, hidden bool, prefix, name, constraint string) {
	var b strings.Builder
	b.WriteString("Value ")
	if !hidden {
		b.WriteByte('\'')
		b.WriteString(value)
		b.WriteString("' ")
	}
	b.WriteString("at '")
	b.WriteString(Path(prefix, name))
	b.WriteString("' failed to satisfy constraint: ")
	b.WriteString(constraint)
	e.msgs = append(e.msgs, b.String())
}

// Bounds is an optional inclusive range.
type Bounds struct {
	HasMin, HasMax bool
	Min, Max       int64
}

func (r Bounds) ok(n int64) bool {
	return (!r.HasMin || n >= r.Min) && (!r.HasMax || n <= r.Max)
}

func lengthMax(n int64) string {
	return "Member must have length less than or equal to " + strconv.FormatInt(n, 10)
}

func lengthMin(n int64) string {
	return "Member must have length greater than or equal to " + strconv.FormatInt(n, 10)
}

// lengthFailures returns the length constraints n violates.
func (r Bounds) lengthFailures(n int64, f func(string)) {
	if r.HasMax && n > r.Max {
		f(lengthMax(r.Max))
	}
	if r.HasMin && n < r.Min {
		f(lengthMin(r.Min))
	}
}

// lengthRules lists the length constraints r declares.
func (r Bounds) lengthRules(dst []string) []string {
	if r.HasMax {
		dst = append(dst, lengthMax(r.Max))
	}
	if r.HasMin {
		dst = append(dst, lengthMin(r.Min))
	}
	return dst
}

// String is the constraints of a string shape. Length counts characters.
type String struct {
	Len       Bounds
	Pattern   *regexp.Regexp // anchored at both ends, as AWS matches the whole value
	Also      *regexp.Regexp // nil, or a second pattern v must match: a model pattern RE2 can only express as two
	PatternAt string         // the pattern as the model writes it, for the message
	Enum      []string       // nil: any value
	Sensitive bool
}

func (r *String) enumText() string {
	return "Member must satisfy enum value set: [" + strings.Join(r.Enum, ", ") + "]"
}

func (r *String) inEnum(v string) bool {
	for _, x := range r.Enum {
		if x == v {
			return true
		}
	}
	return false
}

func (r *String) matches(v string) bool {
	return r.Pattern.MatchString(v) && (r.Also == nil || r.Also.MatchString(v))
}

// ok reports whether v satisfies every constraint.
func (r *String) ok(v string) bool {
	if (r.Len.HasMin || r.Len.HasMax) && !r.Len.ok(int64(utf8.RuneCountInString(v))) {
		return false
	}
	if r.Pattern != nil && !r.matches(v) {
		return false
	}
	return r.Enum == nil || r.inEnum(v)
}

// rules lists every constraint r declares, in the order AWS lists them.
func (r *String) rules() []string {
	out := r.Len.lengthRules(nil)
	if r.Pattern != nil {
		out = append(out, "Member must satisfy regular expression pattern: "+r.PatternAt)
	}
	if r.Enum != nil {
		out = append(out, r.enumText())
	}
	return out
}

// Check records each constraint v violates.
func (r *String) Check(e *Errors, prefix, name, v string) {
	if r.ok(v) {
		return
	}
	fail := func(c string) { e.fail(v, r.Sensitive, prefix, name, c) }
	if r.Len.HasMin || r.Len.HasMax {
		r.Len.lengthFailures(int64(utf8.RuneCountInString(v)), fail)
	}
	if r.Pattern != nil && !r.matches(v) {
		fail("Member must satisfy regular expression pattern: " + r.PatternAt)
	}
	if r.Enum != nil && !r.inEnum(v) {
		fail(r.enumText())
	}
}

// Blob is the constraints of a blob shape. Length counts bytes; the value is
// never echoed.
type Blob struct {
	Len Bounds
}

// Check records each constraint v violates.
func (r *Blob) Check(e *Errors, prefix, name string, v []byte) {
	if r.Len.ok(int64(len(v))) {
		return
	}
	r.Len.lengthFailures(int64(len(v)), func(c string) { e.fail("", true, prefix, name, c) })
}

// Number is the range of an integer or long shape.
type Number struct {
	Range     Bounds
	Sensitive bool
}

// Check records each constraint v violates.
func (r *Number) Check(e *Errors, prefix, name string, v int64) {
	if r.Range.ok(v) {
		return
	}
	s := strconv.FormatInt(v, 10)
	if r.Range.HasMin && v < r.Range.Min {
		e.fail(s, r.Sensitive, prefix, name, "Member must have value greater than or equal to "+strconv.FormatInt(r.Range.Min, 10))
	}
	if r.Range.HasMax && v > r.Range.Max {
		e.fail(s, r.Sensitive, prefix, name, "Member must have value less than or equal to "+strconv.FormatInt(r.Range.Max, 10))
	}
}

// List is the constraints of a list shape: its length, and for lists of
// strings the element's constraints (Elem nil: none or not a string list).
// Hidden says the list's value must not be echoed (its elements are
// sensitive, blobs or structures).
type List struct {
	Len    Bounds
	Elem   *String
	Hidden bool
}

// Check records the list's length failures, then, once for the whole list,
// a failure if any element violates the element constraints.
func (r *List) Check(e *Errors, prefix, name string, v []string) {
	if r.Len.ok(int64(len(v))) && (r.Elem == nil || allOK(r.Elem, v)) {
		return
	}
	hidden := r.Hidden || (r.Elem != nil && r.Elem.Sensitive)
	var text string
	if !hidden {
		text = "[" + strings.Join(v, ", ") + "]"
	}
	r.Len.lengthFailures(int64(len(v)), func(c string) { e.fail(text, hidden, prefix, name, c) })
	if r.Elem != nil && !allOK(r.Elem, v) {
		e.fail(text, hidden, prefix, name, "Member must satisfy constraint: ["+strings.Join(r.Elem.rules(), ", ")+"]")
	}
}

// CheckLen records the length failures of a list whose elements are not
// strings; n is its length. Its elements are checked by the caller.
func (r *List) CheckLen(e *Errors, prefix, name string, n int) {
	if r.Len.ok(int64(n)) {
		return
	}
	r.Len.lengthFailures(int64(n), func(c string) { e.fail("", true, prefix, name, c) })
}

func allOK(r *String, v []string) bool {
	for _, s := range v {
		if !r.ok(s) {
			return false
		}
	}
	return true
}

// Map is the constraints of a map of strings to strings: its number of
// entries, and the key's and value's constraints (nil: none).
type Map struct {
	Len        Bounds
	Key, Value *String
}

// Check records the map's length failures, then one failure for the keys
// and one for the values if any violates its constraints.
func (r *Map) Check(e *Errors, prefix, name string, v map[string]string) {
	keysOK, valuesOK := true, true
	for k, x := range v {
		if r.Key != nil && !r.Key.ok(k) {
			keysOK = false
		}
		if r.Value != nil && !r.Value.ok(x) {
			valuesOK = false
		}
	}
	if keysOK && valuesOK && r.Len.ok(int64(len(v))) {
		return
	}
	hidden := (r.Key != nil && r.Key.Sensitive) || (r.Value != nil && r.Value.Sensitive)
	var text string
	if !hidden {
		text = mapText(v)
	}
	r.Len.lengthFailures(int64(len(v)), func(c string) { e.fail(text, hidden, prefix, name, c) })
	if !keysOK {
		e.fail(text, hidden, prefix, name, "Map keys must satisfy constraint: ["+strings.Join(r.Key.rules(), ", ")+"]")
	}
	if !valuesOK {
		e.fail(text, hidden, prefix, name, "Map value must satisfy constraint: ["+strings.Join(r.Value.rules(), ", ")+"]")
	}
}

// CheckLen records the length failures of a map whose values are not
// strings; n is its number of entries.
func (r *Map) CheckLen(e *Errors, prefix, name string, n int) {
	if r.Len.ok(int64(n)) {
		return
	}
	r.Len.lengthFailures(int64(n), func(c string) { e.fail("", true, prefix, name, c) })
}

// mapText renders a map as Java's Map.toString does, {k=v, k2=v2}, with
// the keys sorted so that the message is stable.
func mapText(v map[string]string) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v[k])
	}
	b.WriteByte('}')
	return b.String()
}
