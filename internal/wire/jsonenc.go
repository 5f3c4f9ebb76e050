package wire

import (
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// This file appends JSON text without reflection, byte for byte as
// encoding/json writes the same values with SetEscapeHTML(false): compact,
// map keys sorted. The generated AppendAuditParameters methods of the
// request types write an audit event's requestParameters with it, and the
// audit log's own encoder writes strings with AppendJSONString, so that an
// event's line is what encoding/json would write for it.

// AppendJSONMember appends the name of the next member of the JSON object
// that starts at b[start] (its '{'): a comma unless it is the object's first
// member, then the name as a JSON string and a colon.
func AppendJSONMember(b []byte, start int, name string) []byte {
	if len(b) > start+1 {
		b = append(b, ',')
	}
	b = AppendJSONString(b, name)
	return append(b, ':')
}

// AppendJSONBool appends true or false.
func AppendJSONBool(b []byte, v bool) []byte { return strconv.AppendBool(b, v) }

// AppendJSONInt appends v in decimal.
func AppendJSONInt(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) }

// AppendJSONStrings appends a list of strings; nil is null.
func AppendJSONStrings(b []byte, l []string) []byte {
	if l == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, s)
	}
	return append(b, ']')
}

// AppendJSONStringMap appends a map of strings as an object with its keys
// sorted, as encoding/json writes maps; nil is null. Encryption contexts
// have a few pairs: up to 16 keys are sorted without allocating.
func AppendJSONStringMap(b []byte, m map[string]string) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	var buf [16]string
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, strings.Compare)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, k)
		b = append(b, ':')
		b = AppendJSONString(b, m[k])
	}
	return append(b, '}')
}

// AppendJSONBlob appends b as a JSON string of its standard, padded base64,
// as encoding/json writes a []byte.
func AppendJSONBlob(b, blob []byte) []byte {
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, blob)
	return append(b, '"')
}

// AppendJSONTimestamp appends t as Timestamp.MarshalJSON writes it.
func AppendJSONTimestamp(b []byte, t Timestamp) []byte {
	return appendEpoch(b, time.Time(t))
}

// AuditDateLayout is how CloudTrail writes dates inside KMS request
// parameters and response elements ("Aug 10, 2022, 10:38:27 PM", UTC).
const AuditDateLayout = "Jan 2, 2006, 3:04:05 PM"

// AppendAuditDate appends t as a JSON string in AuditDateLayout.
func AppendAuditDate(b []byte, t Timestamp) []byte {
	var buf [len(AuditDateLayout) + 8]byte
	return AppendJSONString(b, time.Time(t).UTC().AppendFormat(buf[:0], AuditDateLayout))
}

// plainASCII marks the ASCII bytes a JSON string holds as they are, as
// encoding/json writes strings without HTML escaping: all but control
// characters, '"' and '\\'.
var plainASCII = func() (t [utf8.RuneSelf]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// plain8 reports whether the eight bytes of x are all plainASCII: none is a
// control character, '"', '\\' or above 0x7f. (A byte below n, for n up to
// 0x80, sets the top bit of (x - n*ones) &^ x in some byte; a byte equal to
// c is a zero byte of x ^ c*ones.)
func plain8(x uint64) bool {
	const ones, tops = 0x0101010101010101, 0x8080808080808080
	quote, backslash := x^(ones*'"'), x^(ones*'\\')
	t := x | (x-ones*' ')&^x | (quote-ones)&^quote | (backslash-ones)&^backslash
	return t&tops == 0
}

// AppendJSONString appends s as a JSON string as encoding/json writes it with
// SetEscapeHTML(false): '"' and '\\' escaped, control characters as \b, \f,
// \n, \r, \t or \u00XX, U+2028 and U+2029 as \u2028 and \u2029, each byte of
// invalid UTF-8 as \ufffd, everything else as it is.
func AppendJSONString[S ~string | ~[]byte](b []byte, s S) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		// Skip eight plain ASCII bytes at a time: most strings are all plain.
		for i+8 <= len(s) && plain8(uint64(s[i])|uint64(s[i+1])<<8|uint64(s[i+2])<<16|uint64(s[i+3])<<24|
			uint64(s[i+4])<<32|uint64(s[i+5])<<40|uint64(s[i+6])<<48|uint64(s[i+7])<<56) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if plainASCII[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune([]byte(s[i:min(len(s), i+utf8.UTFMax)]))
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
