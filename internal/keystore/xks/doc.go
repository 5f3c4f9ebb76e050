// Package xks is the client side of the AWS KMS External Key Store (XKS)
// proxy API, version 1 (/work/shared/specs/xks_proxy_api_spec.md): what
// Trent's key store of type EXTERNAL_KEY_STORE uses to reach key material
// that lives outside it, behind a vendor's XKS proxy. Package xksproxy is a
// conformant in-memory proxy for tests.
//
// A Client is made from what CreateCustomKeyStore is given
// (XksProxyUriEndpoint, XksProxyUriPath, XksProxyAuthenticationCredential)
// plus the key store's region:
//
//	c, err := xks.New(xks.Config{
//		Endpoint:   "https://xks.example.com",
//		URIPath:    "/example/prefix/kms/xks/v1",
//		Credential: xks.Credential{AccessKeyID: id, Secret: secret},
//		Region:     "us-east-1",
//	})
//	h, err := c.GetHealthStatus(ctx, xks.RequestMetadata{KMSOperation: "ConnectCustomKeyStore", KMSRequestID: reqID})
//	ct, err := c.Encrypt(ctx, xksKeyID, md, plaintext, aad)
//	pt, err := c.Decrypt(ctx, xksKeyID, md, ct, aad)
//
// Every request is a POST of JSON to {URIPath}/health or
// {URIPath}/keys/{externalKeyId}/{metadata,encrypt,decrypt}, signed with
// SigV4 over host and x-amz-date for service "kms-xks-proxy" in the key
// store's region (Appendix A). Encrypt always asks for a SHA_256 ciphertext
// data integrity value and checks it (Appendix C), so a nil error from
// Encrypt means the proxy vouched the ciphertext will decrypt. The client
// enforces the specification's limits before sending (plaintext 1-4300
// bytes, AAD up to 8192, key ids up to 128 characters, ARNs up to 2048,
// URIs up to 256) and checks every member of every response.
//
// It does not build KMS ciphertext blobs, decide what AAD KMS binds, or
// know KMS key states: that is the job of packages keys (the blob and its
// AAD), customkeystore (the store and the table below) and kms (key
// states). It never logs.
//
// # Secrets
//
// The raw secret access key is kept in the Client only to derive each
// day's signing key; Credential's String, GoString, Format and LogValue
// redact it, and no error carries it. Request and response bodies, which
// hold plaintext, are cleared after use; Decrypt's result is the caller's
// to clear.
//
// # Timeouts
//
// Config.Timeout bounds a whole call, connection and TLS handshake
// included. Its default, DefaultTimeout, is the 250 ms KMS gives a proxy;
// a Trent deployment whose proxy is further away may raise it.
//
// # Errors
//
// An error answer with a known errorName is an *Error (Code, the proxy's
// Message, HTTP Status) that matches the sentinel of its Code
// (ErrValidation, ErrInvalidState, …). Failures of the exchange itself are
// ErrInvalidResponse (no or unknown errorName, malformed JSON, a field out
// of range), ErrCDIVMismatch (which also matches ErrInvalidResponse),
// ErrTimeout, ErrUnreachable and ErrTLS; bad arguments are
// ErrInvalidArgument and nothing is sent. A cancelled caller context is
// returned as context.Canceled or context.DeadlineExceeded.
//
// The proxy's errorMessage is for logs only: like KMS, do not relay it to
// KMS callers. The specification's "KMS Considerations" for error codes
// and the KMS Developer Guide (xks-troubleshooting.md) say how each failure
// surfaces, depending on the KMS operation that caused the call:
//
//	failure                       Create/UpdateCustomKeyStore          CreateKey                             Encrypt/Decrypt/GenerateDataKey*/ReEncrypt
//	ErrValidation                 XksProxyInvalidResponseException     CustomKeyStoreInvalidStateException   KMSInvalidStateException
//	ErrInvalidState               (GetHealthStatus: as ErrInternal)    XksKeyInvalidConfigurationException   KMSInvalidStateException
//	ErrInvalidCiphertext          -                                    -                                     KMSInvalidStateException (Decrypt, ReEncrypt)
//	ErrInvalidKeyUsage            -                                    XksKeyInvalidConfigurationException   KMSInvalidStateException
//	ErrAuthenticationFailed       XksProxyIncorrectAuthentication-     CustomKeyStoreInvalidStateException   KMSInvalidStateException
//	                                CredentialException
//	ErrAccessDenied               -                                    KMSInvalidStateException              KMSInvalidStateException
//	ErrKeyNotFound                -                                    XksKeyNotFoundException               KMSInvalidStateException
//	ErrInvalidURIPath             XksProxyInvalidConfigurationException CustomKeyStoreInvalidStateException  KMSInvalidStateException
//	ErrUnsupportedOperation       -                                    XksKeyInvalidResponseException        KMSInvalidStateException
//	ErrDependencyTimeout          XksProxyUriUnreachableException      CustomKeyStoreInvalidStateException   KMSInvalidStateException
//	ErrThrottling                 XksProxyUriUnreachableException      CustomKeyStoreInvalidStateException   KMSInvalidStateException
//	ErrInternal                   XksProxyInvalidResponseException     CustomKeyStoreInvalidStateException   KMSInvalidStateException
//	ErrUnreachable, ErrTLS,       XksProxyUriUnreachableException      CustomKeyStoreInvalidStateException   KMSInvalidStateException
//	  ErrTimeout
//	ErrInvalidResponse,           XksProxyInvalidResponseException     CustomKeyStoreInvalidStateException   KMSInvalidStateException
//	  ErrCDIVMismatch
//	KeyMetadata.Check fails       -                                    XksKeyInvalidConfigurationException   -
//
// Each row has one message, whatever the exception, quoted in the
// specification's table (e.g. for ErrKeyNotFound "The external key
// associated with this KMS key in an external key store was not found in
// its external key manager. …"). ConnectCustomKeyStore does not fail with
// an exception: it sets the connection state to FAILED with a
// ConnectionErrorCode: ErrAuthenticationFailed → INVALID_CREDENTIALS,
// ErrAccessDenied → XKS_PROXY_ACCESS_DENIED, ErrInvalidURIPath →
// XKS_PROXY_INVALID_CONFIGURATION, ErrTLS →
// XKS_PROXY_INVALID_TLS_CONFIGURATION, ErrTimeout and ErrDependencyTimeout
// → XKS_PROXY_TIMED_OUT, ErrUnreachable, ErrThrottling and a health status
// without an available key manager (HealthStatus.Available) →
// XKS_PROXY_NOT_REACHABLE, ErrInvalidResponse, ErrValidation and
// ErrInternal → XKS_PROXY_INVALID_RESPONSE, anything else INTERNAL_ERROR.
// Following this package's design, those AWS names belong in the wire
// layer's table, not here.
//
// # Concurrency
//
// A Client is safe for concurrent use; it holds no per-call state.
package xks
