package xks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"
)

const amzDateFormat = "20060102T150405Z"

// sign adds X-Amz-Date and a SigV4 Authorization header to r, signing
// exactly host and x-amz-date as KMS does (Appendix A). The canonical URI
// is r.URL.Path as is: New and ValidKeyID admit only unreserved characters,
// '/' and no dot or empty segments, so neither URI encoding nor path
// normalization changes it. There is no query string.
func sign(r *http.Request, body []byte, cred *credential, region string, now time.Time) {
	now = now.UTC()
	amzDate := now.Format(amzDateFormat)
	day := amzDate[:8]
	r.Header.Set("X-Amz-Date", amzDate)

	payload := sha256.Sum256(body)
	cr := make([]byte, 0, 256)
	cr = append(cr, r.Method...)
	cr = append(cr, '\n')
	cr = append(cr, r.URL.Path...)
	cr = append(cr, "\n\n"...) // empty canonical query string
	cr = append(cr, "host:"...)
	cr = append(cr, r.Host...)
	cr = append(cr, "\nx-amz-date:"...)
	cr = append(cr, amzDate...)
	cr = append(cr, "\n\nhost;x-amz-date\n"...)
	cr = hex.AppendEncode(cr, payload[:])
	crHash := sha256.Sum256(cr)

	scope := day + "/" + region + "/" + Service + "/aws4_request"
	sts := make([]byte, 0, 160)
	sts = append(sts, "AWS4-HMAC-SHA256\n"...)
	sts = append(sts, amzDate...)
	sts = append(sts, '\n')
	sts = append(sts, scope...)
	sts = append(sts, '\n')
	sts = hex.AppendEncode(sts, crHash[:])

	key := cred.signingKey(day, region)
	sig := hmacSHA256(key[:], sts)
	clear(key[:])
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+cred.accessKeyID+"/"+scope+
		", SignedHeaders=host;x-amz-date, Signature="+hex.EncodeToString(sig[:]))
}

// credential holds the secret only as long as the Client: it is needed to
// derive each day's signing key.
type credential struct {
	accessKeyID string
	secret      []byte // "AWS4" + raw secret access key
}

func newCredential(c Credential) *credential {
	s := make([]byte, 0, 4+len(c.Secret))
	s = append(s, "AWS4"...)
	s = append(s, c.Secret...)
	return &credential{accessKeyID: c.AccessKeyID, secret: s}
}

func (c *credential) signingKey(day, region string) [sha256.Size]byte {
	k := hmacSHA256(c.secret, []byte(day))
	k = hmacSHA256(k[:], []byte(region))
	k = hmacSHA256(k[:], []byte(Service))
	return hmacSHA256(k[:], []byte("aws4_request"))
}

func hmacSHA256(key, data []byte) [sha256.Size]byte {
	h := hmac.New(sha256.New, key)
	h.Write(data)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}
