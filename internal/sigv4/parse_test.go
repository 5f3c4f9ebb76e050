package sigv4

import (
	"context"
	"strings"
	"testing"
	"time"
)

// The Authorization header has exactly three components after the
// algorithm: Credential, SignedHeaders and Signature, separated by commas
// with or without white space. An unknown or repeated component is refused:
// an extra "Foo=SignedHeaders=…" must not be read as a signed-header list by
// anyone.
func TestAuthorizationComponents(t *testing.T) {
	const cred = "Credential=" + testKeyID + "/20240101/" + testRegion + "/kms/aws4_request"
	r, body := signed(t, creds(""), encryptReq, nil)
	var sh, sig string
	for _, c := range strings.Split(r.Header.Get("Authorization"), ", ") {
		switch {
		case strings.HasPrefix(c, "SignedHeaders="):
			sh = c
		case strings.HasPrefix(c, "Signature="):
			sig = c
		}
	}
	const malformed = "The authorization header is malformed; "
	for _, tt := range []struct {
		name, header string
		msg          string // "" for success
	}{
		{"SDK form, comma and space", algorithm + " " + cred + ", " + sh + ", " + sig, ""},
		{"commas without spaces", algorithm + " " + cred + "," + sh + "," + sig, ""},
		{"space before the comma", algorithm + " " + cred + " ," + sh + " , " + sig, ""},
		{"other order", algorithm + " " + sig + ", " + cred + ", " + sh, ""},
		{"unknown component", algorithm + " " + cred + ", " + sh + ", " + sig + ", Foo=SignedHeaders=x-trent-source-arn",
			malformed + `the authorization component "Foo=SignedHeaders=x-trent-source-arn" is malformed.`},
		{"unknown component first", algorithm + " Foo=bar, " + cred + ", " + sh + ", " + sig,
			malformed + `the authorization component "Foo=bar" is malformed.`},
		{"lower-case key", algorithm + " credential=x, " + cred + ", " + sh + ", " + sig,
			malformed + `the authorization component "credential=x" is malformed.`},
		{"repeated SignedHeaders", algorithm + " " + cred + ", " + sh + ", " + sig + ", SignedHeaders=host;x-trent-source-arn",
			malformed + "the authorization header requires three components: Credential, SignedHeaders, and Signature."},
		{"repeated Credential", algorithm + " " + cred + ", " + cred + ", " + sh + ", " + sig,
			malformed + "the authorization header requires three components: Credential, SignedHeaders, and Signature."},
		{"repeated empty Signature", algorithm + " " + cred + ", " + sh + ", Signature=, " + sig,
			malformed + "the authorization header requires three components: Credential, SignedHeaders, and Signature."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r.Header.Set("Authorization", tt.header)
			_, err := verifier(permanent, signedAt, Options{}).Verify(context.Background(), r, body)
			if tt.msg == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantError(t, err, IncompleteSignature, tt.msg)
		})
	}
}

// parseAmzDate reads what time.Parse reads, with the same result and
// whether it fails.
func TestParseAmzDate(t *testing.T) {
	for _, s := range []string{"20150830T123600Z", "20240229T235959Z", "20230229T000000Z", "20231301T000000Z", "20230100T000000Z",
		"20230131T240000Z", "20230131T236000Z", "20230131T235960Z", "00000101T000000Z", "99991231T235959Z", "2015083OT123600Z",
		"20150830 123600Z", "20150830T123600z", "20150830T123600", "20150830T1236000Z", "", "2015-08-30T12:36:00Z", "+0150830T123600Z"} {
		want, werr := time.Parse(amzDateFormat, s)
		got, err := parseAmzDate(s)
		if (err == nil) != (werr == nil) || !got.Equal(want) || got.Location() != want.Location() {
			t.Errorf("parseAmzDate(%q) = %v, %v; time.Parse: %v, %v", s, got, err, want, werr)
		}
	}
}

// parseAmzDate agrees with time.Parse on every day of the years around
// leap-year rules' edge cases.
func TestParseAmzDateEveryDay(t *testing.T) {
	for _, y := range []int{0, 1, 4, 100, 400, 1600, 1899, 1900, 1969, 1970, 1999, 2000, 2023, 2024, 2100, 2400, 9999} {
		for d := time.Date(y, 1, 1, 23, 59, 58, 0, time.UTC); d.Year() == y; d = d.AddDate(0, 0, 1) {
			s := d.Format(amzDateFormat)
			got, err := parseAmzDate(s)
			if err != nil || got != d {
				t.Fatalf("parseAmzDate(%q) = %v, %v; want %v", s, got, err, d)
			}
		}
	}
}

// indexAuthSep finds what strings.IndexAny(s, ", \t") finds.
func TestIndexAuthSep(t *testing.T) {
	for _, s := range []string{"", ",", " ", "\t", "a", "a,b c", "a b,c", "a\tb c,d", "ab, c", "abc\t", "Credential=x/y, SignedHeaders=host, Signature=ab", "a\u00e9b c"} {
		if got, want := indexAuthSep(s), strings.IndexAny(s, ", \t"); got != want {
			t.Errorf("indexAuthSep(%q) = %d, want %d", s, got, want)
		}
	}
}

// listed splits as strings.Cut on ';' did.
func TestListed(t *testing.T) {
	ref := func(list, name string) bool {
		for rest := list; rest != ""; {
			var n string
			n, rest, _ = strings.Cut(rest, ";")
			if strings.EqualFold(n, name) {
				return true
			}
		}
		return false
	}
	for _, list := range []string{"", ";", "a", "a;", ";a", "a;;b", "host;x-amz-date", "Host;X-AMZ-DATE;x-amz-target"} {
		for _, name := range []string{"", "a", "b", "host", "HOST", "x-amz-date", "x-amz-target", "x-amz"} {
			if got, want := listed(list, name), ref(list, name); got != want {
				t.Errorf("listed(%q, %q) = %v, want %v", list, name, got, want)
			}
		}
	}
}

// appendHeaderValue's shortcut gives what the byte-by-byte trimming does.
func TestAppendHeaderValue(t *testing.T) {
	for _, v := range []string{"", " ", "a", " a", "a ", "a  b", "a b", "a\tb", "a\r\n b", "\ta", "a\n", "aws-sdk-go-v2/1.30.0 os/linux lang/go#1.26", "  x  y  "} {
		if got, want := string(appendHeaderValue([]byte("p"), v)), string(appendTrimmed([]byte("p"), v)); got != want {
			t.Errorf("appendHeaderValue(%q) = %q, want %q", v, got, want)
		}
	}
}
