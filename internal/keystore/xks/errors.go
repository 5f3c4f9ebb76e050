package xks

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// Code is an error name of the XKS proxy API ("Error codes" in the
// specification). The zero value is invalid.
type Code uint8

const (
	Validation           Code = iota + 1 // 400 ValidationException
	InvalidState                         // 400 InvalidStateException
	InvalidCiphertext                    // 400 InvalidCiphertextException
	InvalidKeyUsage                      // 400 InvalidKeyUsageException
	AuthenticationFailed                 // 401 AuthenticationFailedException
	AccessDenied                         // 403 AccessDeniedException
	KeyNotFound                          // 404 KeyNotFoundException
	InvalidURIPath                       // 404 InvalidUriPathException
	Throttling                           // 429 ThrottlingException
	UnsupportedOperation                 // 501 UnsupportedOperationException
	DependencyTimeout                    // 503 DependencyTimeoutException
	Internal                             // 500 InternalException
)

var codes = [...]struct {
	name   string
	status int
	err    error
}{
	Validation:           {"ValidationException", http.StatusBadRequest, ErrValidation},
	InvalidState:         {"InvalidStateException", http.StatusBadRequest, ErrInvalidState},
	InvalidCiphertext:    {"InvalidCiphertextException", http.StatusBadRequest, ErrInvalidCiphertext},
	InvalidKeyUsage:      {"InvalidKeyUsageException", http.StatusBadRequest, ErrInvalidKeyUsage},
	AuthenticationFailed: {"AuthenticationFailedException", http.StatusUnauthorized, ErrAuthenticationFailed},
	AccessDenied:         {"AccessDeniedException", http.StatusForbidden, ErrAccessDenied},
	KeyNotFound:          {"KeyNotFoundException", http.StatusNotFound, ErrKeyNotFound},
	InvalidURIPath:       {"InvalidUriPathException", http.StatusNotFound, ErrInvalidURIPath},
	Throttling:           {"ThrottlingException", http.StatusTooManyRequests, ErrThrottling},
	UnsupportedOperation: {"UnsupportedOperationException", http.StatusNotImplemented, ErrUnsupportedOperation},
	DependencyTimeout:    {"DependencyTimeoutException", http.StatusServiceUnavailable, ErrDependencyTimeout},
	Internal:             {"InternalException", http.StatusInternalServerError, ErrInternal},
}

func (c Code) valid() bool { return c != 0 && int(c) < len(codes) }

// String returns the errorName sent on the wire, e.g. "ValidationException".
func (c Code) String() string {
	if !c.valid() {
		return "xks.Code(" + strconv.Itoa(int(c)) + ")"
	}
	return codes[c].name
}

// HTTPStatus is the status code the specification pairs with c.
func (c Code) HTTPStatus() int {
	if !c.valid() {
		return http.StatusInternalServerError
	}
	return codes[c].status
}

// ParseCode returns the Code whose wire name is s.
func ParseCode(s string) (Code, bool) {
	for c := Validation; c.valid(); c++ {
		if codes[c].name == s {
			return c, true
		}
	}
	return 0, false
}

// Sentinels for the proxy's error names. An *Error matches (errors.Is) the
// sentinel of its Code.
var (
	// ErrValidation is returned when the proxy found the request invalid.
	ErrValidation = errors.New("xks: proxy rejected the request as invalid")
	// ErrInvalidState is returned when the external key (or the key manager)
	// is disabled, deactivated or blocked.
	ErrInvalidState = errors.New("xks: external key is not enabled")
	// ErrInvalidCiphertext is returned by Decrypt when the ciphertext, IV,
	// tag, ciphertext metadata or AAD do not authenticate.
	ErrInvalidCiphertext = errors.New("xks: invalid ciphertext")
	// ErrInvalidKeyUsage is returned when the external key does not allow
	// the operation.
	ErrInvalidKeyUsage = errors.New("xks: external key does not support the operation")
	// ErrAuthenticationFailed is returned when the proxy rejected the SigV4
	// signature (wrong credentials, clock skew, wrong region).
	ErrAuthenticationFailed = errors.New("xks: proxy rejected the request signature")
	// ErrAccessDenied is returned when the proxy's own authorization denied
	// the request.
	ErrAccessDenied = errors.New("xks: proxy denied access")
	// ErrKeyNotFound is returned when the proxy has no key with that id.
	ErrKeyNotFound = errors.New("xks: external key not found")
	// ErrInvalidURIPath is returned when the proxy does not serve the URI
	// path (usually a wrong XksProxyUriPath).
	ErrInvalidURIPath = errors.New("xks: proxy rejected the URI path")
	// ErrThrottling is returned when the proxy sheds load.
	ErrThrottling = errors.New("xks: proxy throttled the request")
	// ErrUnsupportedOperation is returned when the proxy does not implement
	// the operation or a parameter is larger than it supports.
	ErrUnsupportedOperation = errors.New("xks: proxy does not support the operation")
	// ErrDependencyTimeout is returned when the proxy timed out talking to
	// its key manager.
	ErrDependencyTimeout = errors.New("xks: proxy timed out reaching its key manager")
	// ErrInternal is returned for the proxy's generic server error.
	ErrInternal = errors.New("xks: proxy internal error")
)

// Failures of the exchange itself, detected by the client.
var (
	// ErrInvalidResponse is returned when the proxy's answer does not follow
	// the specification: an error status without a JSON errorName, an
	// unknown errorName, malformed JSON, a missing or out-of-range field.
	ErrInvalidResponse = errors.New("xks: invalid response from proxy")
	// ErrCDIVMismatch is returned by Encrypt when the ciphertext data
	// integrity value in the response does not match the one the client
	// computed (Appendix C). The ciphertext must not be used. It also
	// matches ErrInvalidResponse.
	ErrCDIVMismatch = fmt.Errorf("%w: ciphertext data integrity value mismatch", ErrInvalidResponse)
	// ErrTimeout is returned when the proxy did not answer within
	// Config.Timeout.
	ErrTimeout = errors.New("xks: proxy did not respond in time")
	// ErrUnreachable is returned when no connection could be made to the
	// proxy (DNS, TCP, reset connection).
	ErrUnreachable = errors.New("xks: proxy unreachable")
	// ErrTLS is returned when the TLS handshake with the proxy failed (an
	// untrusted or expired certificate, a host name mismatch, no common
	// version or cipher suite).
	ErrTLS = errors.New("xks: TLS connection to proxy failed")
	// ErrInvalidArgument is returned, without contacting the proxy, when a
	// call's arguments break the specification's limits (key id, sizes,
	// missing request metadata).
	ErrInvalidArgument = errors.New("xks: invalid argument")
	// ErrKeyConfiguration is returned by KeyMetadata.Check when an external
	// key cannot back a KMS key.
	ErrKeyConfiguration = errors.New("xks: external key cannot back a KMS key")
)

// Error is an error response from the proxy: its errorName, its optional
// errorMessage and the HTTP status. Message is text chosen by the proxy,
// reduced to printable ASCII and at most MaxErrorMessageLength characters;
// it is for logs, not for KMS callers (KMS does not relay it either).
type Error struct {
	Code    Code
	Message string
	Status  int
}

func (e *Error) Error() string {
	s := "xks: proxy returned " + e.Code.String() + " (HTTP " + strconv.Itoa(e.Status) + ")"
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Is reports whether target is the sentinel of e.Code.
func (e *Error) Is(target error) bool {
	return e.Code.valid() && codes[e.Code].err == target
}

// sanitizeMessage keeps the printable ASCII of a proxy's errorMessage, as
// the specification requires of it, and cuts it to the specification's
// length; anything else could forge log lines.
func sanitizeMessage(s string) string {
	b := make([]byte, 0, min(len(s), MaxErrorMessageLength))
	for i := 0; i < len(s) && len(b) < MaxErrorMessageLength; i++ {
		if c := s[i]; c >= 0x20 && c <= 0x7e {
			b = append(b, c)
		}
	}
	return string(b)
}
