package sigv4

import (
	"context"
	"strings"
	"testing"
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
