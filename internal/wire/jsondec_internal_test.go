package wire

import (
	"encoding/binary"
	"strconv"
	"testing"
)

// TestSpecial checks the 8-byte test against the byte-by-byte one, for
// each byte value in each position among plain bytes.
func TestSpecial(t *testing.T) {
	for pos := range 8 {
		for c := range 256 {
			b := []byte("abcdefgh")
			b[pos] = byte(c)
			want := c == '"' || c == '\\' || c < ' ' || c >= 0x80
			if got := special(binary.LittleEndian.Uint64(b)); got != want {
				t.Errorf("special(%q) = %v, want %v", b, got, want)
			}
		}
	}
}

// TestParseInt checks parseInt and parseUint against strconv on numbers
// around the limits.
func TestParseInt(t *testing.T) {
	for _, s := range []string{
		"0", "-0", "1", "-1", "255", "256", "2147483647", "2147483648", "-2147483648", "-2147483649",
		"9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
		"18446744073709551615", "18446744073709551616", "99999999999999999999", "1.5", "1e3", "-1E-3",
	} {
		for _, bits := range []uint{32, 64} {
			want, err := strconv.ParseInt(s, 10, 64)
			wantOK := err == nil && want>>(bits-1) >= -1 && want>>(bits-1) <= 0
			got, ok := parseInt([]byte(s), bits)
			if ok != wantOK || ok && got != want {
				t.Errorf("parseInt(%s, %d) = %d, %v; want %d, %v", s, bits, got, ok, want, wantOK)
			}
		}
		want, err := strconv.ParseUint(s, 10, 64)
		got, ok := parseUint([]byte(s))
		if ok != (err == nil) || ok && got != want {
			t.Errorf("parseUint(%s) = %d, %v; want %d, %v", s, got, ok, want, err)
		}
	}
}
