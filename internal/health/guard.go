package health

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
)

// StaleMessage is the message of the error a stale node answers.
const StaleMessage = "This Trent node cannot confirm that its view of the store is current, so it refuses requests until it can. Retry, or use another node."

// Guard passes requests to next while f says the views are current, and
// answers every other request itself with a 503 that AWS SDKs and the CLI
// retry: KMSInternalException in the JSON protocol (KMS, Organizations,
// TrentAdmin), ServiceUnavailable in the Query protocol (IAM, STS). It
// refuses before authentication, since even the secret of an access key
// comes from a view (one deleted elsewhere must not keep working here).
func Guard(f *Fence, next http.Handler) http.Handler {
	if f == nil || f.p == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.Current() {
			next.ServeHTTP(w, r)
			return
		}
		f.refused.Add(1)
		WriteUnavailable(w, r, StaleMessage)
	})
}

// WriteUnavailable answers r with a retryable 503 carrying msg, in the error
// shape of r's protocol: JSON 1.1 when it names an X-Amz-Target (in a header,
// or in the query of a presigned request), else Query XML.
func WriteUnavailable(w http.ResponseWriter, r *http.Request, msg string) {
	id := requestID()
	w.Header().Set("Retry-After", "1")
	if r.Header.Get("X-Amz-Target") != "" || hasQueryTarget(r) {
		wire.WriteError(w, id, &wire.Error{Code: "KMSInternalException", Message: msg, Status: http.StatusServiceUnavailable})
		return
	}
	wire.WriteXMLError(w, id, iamapi.Namespace, &wire.Error{Code: "ServiceUnavailable", Message: msg, Status: http.StatusServiceUnavailable})
}

func hasQueryTarget(r *http.Request) bool {
	if r.URL == nil || r.URL.RawQuery == "" {
		return false
	}
	for k := range r.URL.Query() {
		if strings.EqualFold(k, "X-Amz-Target") {
			return true
		}
	}
	return false
}

// requestID is a random UUID, the form of AWS request ids.
func requestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
