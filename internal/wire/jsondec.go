package wire

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"reflect"
	"sync"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// JSONDecoder reads one JSON request body for the decoders that internal/gen
// generates (the DecodeJSONFrom methods of the request types): one pass, no
// reflection, no pre-scan. It reproduces what encoding/json.Unmarshal does
// with the same body and Go type, result and error alike (see DecodeJSON):
//
//   - The document is checked as encoding/json's scanner checks it (the
//     grammar, a depth of at most 10000 nested arrays and objects, nothing
//     but white space after the value); a syntax error anywhere wins over
//     any other error.
//   - A value of the wrong JSON type, a number out of range and bad base64
//     are recorded, the first one only, and decoding goes on, as
//     encoding/json saves such errors and reports the first one at the end.
//     Type errors are *json.UnmarshalTypeError values as encoding/json would
//     build them, so that DecodeJSON maps both paths to the same message.
//   - Strings are unescaped as encoding/json unescapes them, with invalid
//     UTF-8 and lone surrogates replaced by U+FFFD.
//   - Member names match exactly, as AWS's JSON protocol matches them
//     (encoding/json would also match them under case folding, so that
//     "keyid" set KeyId); members the type does not know, however close
//     their spelling, are skipped. A member given twice is decoded twice into the same place:
//     a later scalar wins, a later object adds to the map or structure, a
//     later array overwrites the slice's elements in place, and a null
//     element leaves in place what was there.
//
// A JSONDecoder is used by one goroutine; DecodeJSON owns its life.
type JSONDecoder struct {
	data  []byte
	off   int    // the next byte to read
	depth int    // open arrays and objects
	saved error  // the first type or base64 error
	fatal error  // the first error of a Timestamp's UnmarshalJSON
	buf   []byte // unescaped strings
	arena []byte // the strings of a map (see StringMap)
	ends  []int
}

// maxDepth is encoding/json's maxNestingDepth.
const maxDepth = 10000

// jsonDecodable is implemented by the generated request types.
type jsonDecodable interface {
	DecodeJSONFrom(d *JSONDecoder) error
}

// syntaxError is a malformed document. DecodeJSON sends it, like
// encoding/json's *json.SyntaxError, as a SerializationException without a
// message.
type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string { return "json: " + e.msg }

var decoders = sync.Pool{New: func() any { return new(JSONDecoder) }}

// decodeFast decodes body into v with v's generated decoder.
func decodeFast(body []byte, v jsonDecodable) error {
	d := decoders.Get().(*JSONDecoder)
	d.data, d.off, d.depth, d.saved, d.fatal = body, 0, 0, nil, nil
	err := d.document(v)
	// The scratch buffer may hold an unescaped blob: plaintext.
	clear(d.buf[:cap(d.buf)])
	clear(d.arena[:cap(d.arena)])
	d.data, d.saved, d.fatal = nil, nil, nil
	if cap(d.buf) <= maxPooled && cap(d.arena) <= maxPooled && cap(d.ends) <= maxPooled {
		decoders.Put(d)
	}
	return err
}

func (d *JSONDecoder) document(v jsonDecodable) error {
	d.ws()
	if err := v.DecodeJSONFrom(d); err != nil {
		return err
	}
	d.ws()
	if d.off != len(d.data) {
		return d.syntax("invalid character after top-level value")
	}
	if d.fatal != nil {
		return d.fatal
	}
	return d.saved
}

func (d *JSONDecoder) syntax(msg string) error {
	if d.off >= len(d.data) {
		msg = "unexpected end of JSON input"
	}
	return &syntaxError{off: d.off, msg: msg}
}

// kind is the Go type of a destination, which decides how AWS words a
// value of the wrong type for it (see typeMismatchMessage).
type kind uint8

const (
	kindString kind = iota + 1
	kindInt32
	kindInt64
	kindBool
	kindBlob
	kindByte // an element of a blob given as an array of numbers
	kindList
	kindMap
	kindStruct
)

func (k kind) goType() reflect.Type {
	switch k {
	case kindString:
		return reflect.TypeFor[string]()
	case kindInt32:
		return reflect.TypeFor[int32]()
	case kindInt64:
		return reflect.TypeFor[int64]()
	case kindBool:
		return reflect.TypeFor[bool]()
	case kindBlob:
		return reflect.TypeFor[[]byte]()
	case kindByte:
		return reflect.TypeFor[byte]()
	case kindList:
		return reflect.TypeFor[[]string]()
	case kindMap:
		return reflect.TypeFor[map[string]string]()
	}
	return reflect.TypeFor[struct{}]()
}

// save records err if it is the first; end is the offset just past the
// offending literal, where encoding/json's Offset points.
func (d *JSONDecoder) save(value string, k kind, end int) {
	if d.saved == nil {
		d.saved = &json.UnmarshalTypeError{Value: value, Type: k.goType(), Offset: int64(end)}
	}
}

func (d *JSONDecoder) ws() {
	for d.off < len(d.data) {
		switch d.data[d.off] {
		case ' ', '\t', '\r', '\n':
			d.off++
		default:
			return
		}
	}
}

// peek returns the next byte, or 0 (never valid JSON) at the end.
func (d *JSONDecoder) peek() byte {
	if d.off < len(d.data) {
		return d.data[d.off]
	}
	return 0
}

// enter consumes the '{' or '[' at d.off.
func (d *JSONDecoder) enter() error {
	d.depth++
	if d.depth > maxDepth {
		return d.syntax("exceeded max depth")
	}
	d.off++
	return nil
}

// str consumes the string at d.off and returns its bytes between the
// quotes; plain reports that they need no unescaping.
func (d *JSONDecoder) str() (raw []byte, plain bool, err error) {
	start := d.off + 1
	plain = true
	for i := start; i < len(d.data); i++ {
		// Skip 8 bytes at a time while none needs a look.
		for i+8 <= len(d.data) && !special(binary.LittleEndian.Uint64(d.data[i:])) {
			i += 8
		}
		if i >= len(d.data) {
			break
		}
		switch c := d.data[i]; {
		case c == '"':
			d.off = i + 1
			return d.data[start:i], plain, nil
		case c == '\\':
			plain = false
			i++
			if i >= len(d.data) {
				break
			}
			switch d.data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(d.data) {
					d.off = len(d.data)
					return nil, false, d.syntax("")
				}
				for _, h := range d.data[i+1 : i+5] {
					if !isHex(h) {
						d.off = i
						return nil, false, d.syntax("invalid character in \\u hexadecimal character escape")
					}
				}
				i += 4
			default:
				d.off = i
				return nil, false, d.syntax("invalid character in string escape code")
			}
		case c < ' ':
			d.off = i
			return nil, false, d.syntax("invalid character in string literal")
		case c >= utf8.RuneSelf:
			plain = false
		}
	}
	d.off = len(d.data)
	return nil, false, d.syntax("")
}

// special reports whether any of the 8 bytes in x is a quote, a backslash,
// a control character or not ASCII. With no byte of 0x80 or more, no
// subtraction borrows across bytes unless a byte is one of the others.
func special(x uint64) bool {
	const lsb, msb = 0x0101010101010101, 0x8080808080808080
	return (x|(x-lsb*0x20)|((x^lsb*'"')-lsb)|((x^lsb*'\\')-lsb))&msb != 0
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// text returns the string that raw (from str) stands for. It is d.buf or
// part of the document, valid until the next call to d.
func (d *JSONDecoder) text(raw []byte, plain bool) []byte {
	if plain {
		return raw
	}
	return d.unquote(raw)
}

// unquote is encoding/json's unquoteBytes (Go 1.26) on a string that str
// has checked, writing into d.buf: strings decode byte for byte as they do
// there.
func (d *JSONDecoder) unquote(s []byte) []byte {
	r := 0
	for r < len(s) {
		c := s[r]
		if c == '\\' {
			break
		}
		if c < utf8.RuneSelf {
			r++
			continue
		}
		rr, size := utf8.DecodeRune(s[r:])
		if rr == utf8.RuneError && size == 1 {
			break
		}
		r += size
	}
	if r == len(s) {
		return s
	}
	b := append(d.buf[:0], s[:r]...)
	for r < len(s) {
		switch c := s[r]; {
		case c == '\\':
			r++
			switch s[r] {
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				rr := getu4(s[r-1:])
				r += 5
				if utf16.IsSurrogate(rr) {
					rr1 := getu4(s[r:])
					if dec := utf16.DecodeRune(rr, rr1); dec != unicode.ReplacementChar {
						// A valid pair; consume.
						r += 6
						b = utf8.AppendRune(b, dec)
						continue
					}
					rr = unicode.ReplacementChar
				}
				b = utf8.AppendRune(b, rr)
				continue
			default: // '"', '\\', '/'
				b = append(b, s[r])
			}
			r++
		case c < utf8.RuneSelf:
			b = append(b, c)
			r++
		default:
			// Coerce to well-formed UTF-8.
			rr, size := utf8.DecodeRune(s[r:])
			r += size
			b = utf8.AppendRune(b, rr)
		}
	}
	d.buf = b
	return b
}

// getu4 decodes \uXXXX from the beginning of s, returning the hex value,
// or it returns -1.
func getu4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c = c - '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// lit consumes the literal true, false or null that starts at d.off.
func (d *JSONDecoder) lit(want string) error {
	for i := 0; i < len(want); i++ {
		if d.off >= len(d.data) || d.data[d.off] != want[i] {
			return d.syntax("invalid character in literal " + want)
		}
		d.off++
	}
	return nil
}

// number consumes the number at d.off: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *JSONDecoder) number() ([]byte, error) {
	start := d.off
	if d.peek() == '-' {
		d.off++
	}
	switch c := d.peek(); {
	case c == '0':
		d.off++
	case '1' <= c && c <= '9':
		d.digits()
	default:
		return nil, d.syntax("invalid character in numeric literal")
	}
	if d.peek() == '.' {
		d.off++
		if !isDigit(d.peek()) {
			return nil, d.syntax("invalid character after decimal point in numeric literal")
		}
		d.digits()
	}
	if c := d.peek(); c == 'e' || c == 'E' {
		d.off++
		if c := d.peek(); c == '+' || c == '-' {
			d.off++
		}
		if !isDigit(d.peek()) {
			return nil, d.syntax("invalid character in exponent of numeric literal")
		}
		d.digits()
	}
	return d.data[start:d.off], nil
}

func (d *JSONDecoder) digits() {
	for d.off < len(d.data) && isDigit(d.data[d.off]) {
		d.off++
	}
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// parseInt is strconv.ParseInt(lit, 10, 64) followed by a check that the
// value fits in bits bits, on a valid JSON number.
func parseInt(lit []byte, bits uint) (int64, bool) {
	neg := lit[0] == '-'
	if neg {
		lit = lit[1:]
	}
	u, ok := parseUint(lit)
	limit := uint64(1) << (bits - 1)
	switch {
	case !ok:
		return 0, false
	case neg && u <= limit:
		return int64(-u), true
	case !neg && u < limit:
		return int64(u), true
	}
	return 0, false
}

// parseUint is strconv.ParseUint(lit, 10, 64) on a valid JSON number.
func parseUint(lit []byte) (uint64, bool) {
	const maxUint64 = 1<<64 - 1
	var u uint64
	for _, c := range lit {
		if !isDigit(c) || u > maxUint64/10 {
			return 0, false
		}
		u *= 10
		if u > maxUint64-uint64(c-'0') {
			return 0, false
		}
		u += uint64(c - '0')
	}
	return u, true
}

// mismatch consumes a value at d.off that is not null and does not fit a
// destination of kind k, recording the error encoding/json would save.
func (d *JSONDecoder) mismatch(k kind) error {
	switch c := d.peek(); {
	case c == '{':
		d.save("object", k, d.off+1)
		return d.Skip()
	case c == '[':
		d.save("array", k, d.off+1)
		return d.Skip()
	case c == '"':
		if _, _, err := d.str(); err != nil {
			return err
		}
		d.save("string", k, d.off)
	case c == 't' || c == 'f':
		if err := d.boolean(); err != nil {
			return err
		}
		d.save("bool", k, d.off)
	case c == '-' || isDigit(c):
		if _, err := d.number(); err != nil {
			return err
		}
		d.save("number", k, d.off)
	case c == 'n': // null fits every destination; callers handle it
		return d.lit("null")
	default:
		return d.syntax("invalid character looking for beginning of value")
	}
	return nil
}

// boolean consumes true or false and returns which.
func (d *JSONDecoder) boolean() error {
	if d.peek() == 't' {
		return d.lit("true")
	}
	return d.lit("false")
}

// Skip consumes a value of any type, as for a member the type does not
// know.
func (d *JSONDecoder) Skip() error {
	switch c := d.peek(); {
	case c == '{':
		if err := d.enter(); err != nil {
			return err
		}
		for i := 0; ; i++ {
			_, _, ok, err := d.member(i)
			if !ok || err != nil {
				return err
			}
			if err := d.Skip(); err != nil {
				return err
			}
		}
	case c == '[':
		if err := d.enter(); err != nil {
			return err
		}
		for i := 0; ; i++ {
			ok, err := d.elem(i)
			if !ok || err != nil {
				return err
			}
			if err := d.Skip(); err != nil {
				return err
			}
		}
	case c == '"':
		_, _, err := d.str()
		return err
	case c == 't' || c == 'f':
		return d.boolean()
	case c == 'n':
		return d.lit("null")
	case c == '-' || isDigit(c):
		_, err := d.number()
		return err
	}
	return d.syntax("invalid character looking for beginning of value")
}

// BeginObject starts a structure: it consumes a '{' and returns true, or
// consumes any other value, recording the type error that isn't null, and
// returns false. Read the members with Member.
func (d *JSONDecoder) BeginObject() (bool, error) {
	if d.peek() == '{' {
		return true, d.enter()
	}
	return false, d.mismatch(kindStruct)
}

// Member reads the name of the i-th member (from 0) of the object that
// BeginObject started, leaving d at its value, or it consumes the closing
// brace and returns false. The name is valid until the next call to d.
func (d *JSONDecoder) Member(i int) (name []byte, ok bool, err error) {
	raw, plain, ok, err := d.member(i)
	if !ok || err != nil {
		return nil, false, err
	}
	return d.text(raw, plain), true, nil
}

func (d *JSONDecoder) member(i int) (raw []byte, plain, ok bool, err error) {
	d.ws()
	c := d.peek()
	switch {
	case c == '}':
		d.off++
		d.depth--
		return nil, false, false, nil
	case i == 0:
	case c == ',':
		d.off++
		d.ws()
		c = d.peek()
	default:
		return nil, false, false, d.syntax("invalid character after object key:value pair")
	}
	if c != '"' { // a '}' after ',' included
		return nil, false, false, d.syntax("invalid character looking for beginning of object key string")
	}
	if raw, plain, err = d.str(); err != nil {
		return nil, false, false, err
	}
	d.ws()
	if d.peek() != ':' {
		return nil, false, false, d.syntax("invalid character after object key")
	}
	d.off++
	d.ws()
	return raw, plain, true, nil
}

// elem moves d to the i-th element (from 0) of the array just entered, or
// consumes the closing bracket and returns false.
func (d *JSONDecoder) elem(i int) (bool, error) {
	d.ws()
	switch c := d.peek(); {
	case c == ']':
		d.off++
		d.depth--
		return false, nil
	case i == 0:
		return true, nil
	case c == ',':
		d.off++
		d.ws()
		return true, nil
	}
	return false, d.syntax("invalid character after array element")
}

// String decodes a string member.
func (d *JSONDecoder) String(p **string) error {
	switch d.peek() {
	case '"':
		raw, plain, err := d.str()
		if err != nil {
			return err
		}
		if *p == nil {
			*p = new(string)
		}
		**p = string(d.text(raw, plain))
		return nil
	case 'n':
		*p = nil
		return d.lit("null")
	}
	return d.mismatch(kindString)
}

// Bool decodes a boolean member.
func (d *JSONDecoder) Bool(p **bool) error {
	switch c := d.peek(); c {
	case 't', 'f':
		if err := d.boolean(); err != nil {
			return err
		}
		if *p == nil {
			*p = new(bool)
		}
		**p = c == 't'
		return nil
	case 'n':
		*p = nil
		return d.lit("null")
	}
	return d.mismatch(kindBool)
}

// Int32 decodes an integer member.
func (d *JSONDecoder) Int32(p **int32) error {
	n, got, err := d.integer(32, kindInt32)
	switch got {
	case gotNull:
		*p = nil
	case gotValue:
		if *p == nil {
			*p = new(int32)
		}
		**p = int32(n)
	}
	return err
}

// Int64 decodes a long member.
func (d *JSONDecoder) Int64(p **int64) error {
	n, got, err := d.integer(64, kindInt64)
	switch got {
	case gotNull:
		*p = nil
	case gotValue:
		if *p == nil {
			*p = new(int64)
		}
		**p = n
	}
	return err
}

// got is what integer read.
type got uint8

const (
	gotNothing got = iota // a type or syntax error
	gotNull
	gotValue
)

// integer reads null or an integer that fits in bits bits.
func (d *JSONDecoder) integer(bits uint, k kind) (int64, got, error) {
	switch c := d.peek(); {
	case c == 'n':
		return 0, gotNull, d.lit("null")
	case c == '-' || isDigit(c):
		lit, err := d.number()
		if err != nil {
			return 0, gotNothing, err
		}
		n, ok := parseInt(lit, bits)
		if !ok {
			d.save("number "+string(lit), k, d.off)
			return 0, gotNothing, nil
		}
		return n, gotValue, nil
	}
	return 0, gotNothing, d.mismatch(k)
}

// Blob decodes a blob member: a base64 string (padded, the standard
// alphabet, CR and LF ignored, as base64.StdEncoding decodes), or, as
// encoding/json also allows, an array of numbers from 0 to 255. The bytes
// are a fresh slice, never part of the document.
func (d *JSONDecoder) Blob(p *[]byte) error {
	switch d.peek() {
	case '"':
		raw, plain, err := d.str()
		if err != nil {
			return err
		}
		s := d.text(raw, plain)
		b := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
		n, err := base64.StdEncoding.Decode(b, s)
		if err != nil {
			clear(b)
			if d.saved == nil {
				d.saved = err
			}
			return nil
		}
		*p = b[:n]
		return nil
	case 'n':
		*p = nil
		return d.lit("null")
	case '[':
		return d.byteArray(p)
	}
	return d.mismatch(kindBlob)
}

// byteArray decodes an array of numbers into *p as reflection does in
// encoding/json: into the existing elements, growing the slice as needed,
// and truncating it to the array's length (a fresh empty slice for []).
func (d *JSONDecoder) byteArray(p *[]byte) error {
	if err := d.enter(); err != nil {
		return err
	}
	v := *p
	i := 0
	for ; ; i++ {
		ok, err := d.elem(i)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		v = extend(v, i)
		switch c := d.peek(); {
		case c == '-' || isDigit(c):
			lit, err := d.number()
			if err != nil {
				return err
			}
			if n, ok := parseUint(lit); ok && n <= 0xff {
				v[i] = byte(n)
			} else {
				d.save("number "+string(lit), kindByte, d.off)
			}
		case c == 'n': // leaves the element as it was
			if err := d.lit("null"); err != nil {
				return err
			}
		default:
			if err := d.mismatch(kindByte); err != nil {
				return err
			}
		}
	}
	if i == 0 {
		v = []byte{}
	}
	*p = v[:i]
	return nil
}

// extend makes v[i] an element, as encoding/json's array decoding does: i
// is at most len(v), the elements beyond len(v) but within cap(v) come
// back with what they held, and a grown slice has zero elements there.
func extend[E any](v []E, i int) []E {
	switch {
	case i < len(v):
		return v
	case i < cap(v):
		return v[:i+1]
	}
	var zero E
	return append(v, zero)
}

// StringList decodes a list of strings.
func (d *JSONDecoder) StringList(p *[]string) error {
	switch d.peek() {
	case 'n':
		*p = nil
		return d.lit("null")
	case '[':
	default:
		return d.mismatch(kindList)
	}
	if err := d.enter(); err != nil {
		return err
	}
	v := *p
	i := 0
	for ; ; i++ {
		ok, err := d.elem(i)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		v = extend(v, i)
		switch d.peek() {
		case '"':
			raw, plain, err := d.str()
			if err != nil {
				return err
			}
			v[i] = string(d.text(raw, plain))
		case 'n': // leaves the element as it was
			if err := d.lit("null"); err != nil {
				return err
			}
		default:
			if err := d.mismatch(kindString); err != nil {
				return err
			}
		}
	}
	if i == 0 {
		v = []string{}
	}
	*p = v[:i]
	return nil
}

// StringMap decodes a map of strings to strings. An object adds to the map
// that is there; a null value is the empty string.
//
// The keys and values of one object share one allocation: they are
// gathered in d.arena and set in the map, in document order, at its end.
func (d *JSONDecoder) StringMap(p *map[string]string) error {
	switch d.peek() {
	case 'n':
		*p = nil
		return d.lit("null")
	case '{':
	default:
		return d.mismatch(kindMap)
	}
	if err := d.enter(); err != nil {
		return err
	}
	// ends holds where each key, then each value, ends in arena.
	arena, ends := d.arena[:0], d.ends[:0]
	for i := 0; ; i++ {
		raw, plain, ok, err := d.member(i)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		arena = append(arena, d.text(raw, plain)...)
		ends = append(ends, len(arena))
		switch d.peek() {
		case '"':
			raw, plain, err := d.str()
			if err != nil {
				return err
			}
			arena = append(arena, d.text(raw, plain)...)
		case 'n':
			err = d.lit("null")
		default:
			err = d.mismatch(kindString)
		}
		if err != nil {
			return err
		}
		ends = append(ends, len(arena))
	}
	d.arena, d.ends = arena, ends
	if *p == nil {
		// Made at its size: a map that grows as it fills costs twice.
		*p = make(map[string]string, len(ends)/2)
	}
	all, start, m := string(arena), 0, *p
	for i := 0; i < len(ends); i += 2 {
		m[all[start:ends[i]]] = all[ends[i]:ends[i+1]]
		start = ends[i+1]
	}
	return nil
}

// Enum decodes a string member whose model lists its values: a value
// among them is that string, not a copy.
func (d *JSONDecoder) Enum(p **string, values []string) error {
	if d.peek() != '"' {
		return d.String(p)
	}
	raw, plain, err := d.str()
	if err != nil {
		return err
	}
	b := d.text(raw, plain)
	s := ""
	for _, v := range values {
		if v == string(b) {
			s = v
			break
		}
	}
	if s == "" && len(b) > 0 {
		s = string(b)
	}
	if *p == nil {
		*p = new(string)
	}
	**p = s
	return nil
}

// Timestamp decodes a timestamp member as encoding/json decodes a type with
// an UnmarshalJSON method: null sets *p to nil; any other value, whatever
// its JSON type, is handed to Timestamp.UnmarshalJSON, whose error ends
// the decoding for encoding/json. Here the document is still read to its
// end, so that a syntax error anywhere wins, and that error then wins over
// every type error, as it does there.
func (d *JSONDecoder) Timestamp(p **Timestamp) error {
	if d.peek() == 'n' {
		*p = nil
		return d.lit("null")
	}
	start := d.off
	if err := d.Skip(); err != nil {
		return err
	}
	if *p == nil {
		*p = new(Timestamp)
	}
	if err := (*p).UnmarshalJSON(d.data[start:d.off]); err != nil && d.fatal == nil {
		d.fatal = err
	}
	return nil
}

// DecodeJSONStructList decodes a list of structures as encoding/json
// decodes a slice: into the elements already there, growing the slice as
// needed and truncating it to the array's length (a fresh empty slice for
// []); a null element leaves its element as it was.
func DecodeJSONStructList[T any, P interface {
	*T
	jsonDecodable
}](d *JSONDecoder, p *[]T) error {
	switch d.peek() {
	case 'n':
		*p = nil
		return d.lit("null")
	case '[':
	default:
		return d.mismatch(kindList)
	}
	if err := d.enter(); err != nil {
		return err
	}
	v := *p
	i := 0
	for ; ; i++ {
		ok, err := d.elem(i)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		v = extend(v, i)
		if err := P(&v[i]).DecodeJSONFrom(d); err != nil {
			return err
		}
	}
	if i == 0 {
		v = []T{}
	}
	*p = v[:i]
	return nil
}

// DecodeJSONStruct decodes a structure member: null sets *p to nil, and
// anything else decodes into *p, allocated if nil.
func DecodeJSONStruct[T any, P interface {
	*T
	jsonDecodable
}](d *JSONDecoder, p *P) error {
	if d.peek() == 'n' {
		*p = nil
		return d.lit("null")
	}
	if *p == nil {
		*p = P(new(T))
	}
	return (*p).DecodeJSONFrom(d)
}
