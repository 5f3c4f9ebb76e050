package wire

import (
	"errors"
	"math"
	"strconv"
	"time"
)

// Timestamp is a point in time. In the AWS JSON protocol, which its JSON
// methods implement, it is seconds since the Unix epoch as a JSON number
// with a fraction; the Query codec ([DecodeQuery], [WriteXML]) reads and
// writes it in ISO 8601 instead (2026-01-02T03:04:05Z). In JSON, AWS writes
// it as a Java double (1.700000000123E9); clients may send any JSON number,
// in integer, fraction or exponent form. The precision is one millisecond, as
// at AWS.
type Timestamp time.Time

// Time returns t as a time.Time.
func (t Timestamp) Time() time.Time { return time.Time(t) }

// MarshalJSON writes t as epoch seconds in the form AWS uses, Java's
// Double.toString: 1.7E9, 1.700000000123E9.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	return appendEpoch(nil, time.Time(t)), nil
}

// appendEpoch appends tm, truncated to the millisecond, as Java's
// Double.toString would print the epoch seconds.
func appendEpoch(b []byte, tm time.Time) []byte {
	f := float64(tm.UnixMilli()) / 1000
	a := math.Abs(f)
	if a == 0 || (a >= 1e-3 && a < 1e7) {
		// Java prints plain decimals in this range, always with a fraction.
		n := len(b)
		b = strconv.AppendFloat(b, f, 'f', -1, 64)
		for _, c := range b[n:] {
			if c == '.' {
				return b
			}
		}
		return append(b, '.', '0')
	}
	var buf [32]byte
	s := strconv.AppendFloat(buf[:0], f, 'E', -1, 64) // 1.700000000123E+09
	i := 0
	for s[i] != 'E' {
		i++
	}
	mant, exp := s[:i], s[i+1:]
	b = append(b, mant...)
	if !containsDot(mant) {
		b = append(b, '.', '0')
	}
	b = append(b, 'E')
	if exp[0] == '-' {
		b = append(b, '-')
	}
	exp = exp[1:] // drop the sign
	for len(exp) > 1 && exp[0] == '0' {
		exp = exp[1:]
	}
	return append(b, exp...)
}

func containsDot(b []byte) bool {
	for _, c := range b {
		if c == '.' {
			return true
		}
	}
	return false
}

var errTimestamp = errors.New("timestamp must be a JSON number of epoch seconds")

// UnmarshalJSON reads epoch seconds from a JSON number in any form. A JSON
// null leaves t unchanged.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) == 0 || b[0] == '"' {
		return errTimestamp
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return errTimestamp
	}
	ms := math.Round(f * 1000)
	// Keep to the range time.UnixMilli handles without overflow.
	if ms > math.MaxInt64/2 || ms < math.MinInt64/2 {
		return errTimestamp
	}
	*t = Timestamp(time.UnixMilli(int64(ms)).UTC())
	return nil
}
