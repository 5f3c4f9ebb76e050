// Package xksproxy is an External Key Store (XKS) proxy that keeps its AES-256
// keys in memory: a conformant server for the XKS proxy API specification
// (the counterpart of package xks), for tests and for operators who want to
// try external key stores without a vendor proxy.
//
// Keys live only in process memory: they are lost when the process exits
// and never written anywhere, so anything encrypted under them becomes
// undecryptable. Do not use it to protect real data.
//
// A Proxy is an http.Handler serving one XksProxyUriPath:
//
//	p, err := xksproxy.New(xksproxy.Config{
//		URIPath:     "/example/prefix/kms/xks/v1",
//		Region:      "us-east-1",
//		Credentials: []xks.Credential{cred},
//	}, xksproxy.Options{})
//	err = p.GenerateKey("my-key", xksproxy.UsageEncrypt|xksproxy.UsageDecrypt)
//	srv := httptest.NewTLSServer(p)
//
// It verifies the SigV4 signature of every request (service
// "kms-xks-proxy", the configured region, at most five minutes of clock
// skew) with internal/sigv4, answers GET with 405, checks every member and
// limit of the specification, and computes AES-GCM over the AAD the
// specification defines (xks.GCMAAD), returning a ciphertext data integrity
// value when asked for one after checking that the ciphertext decrypts
// (Appendix C). GetHealthStatus runs a real encrypt and decrypt with a test
// key of its own.
//
// # Errors
//
// Failures are answered with the specification's status and errorName:
// ValidationException for malformed or out-of-range members (including an
// IV or tag of the wrong size and ciphertextMetadata over 20 bytes),
// UnsupportedOperationException (501) for a plaintext or ciphertext over
// 4300 bytes or AAD over 8192 bytes (the specification's minimums, which
// are also this proxy's maximums), AuthenticationFailedException for any
// signature failure, InvalidUriPathException for a path outside the
// configured prefix or API, KeyNotFoundException, InvalidStateException for
// a disabled key, InvalidKeyUsageException and InvalidCiphertextException.
// GetHealthStatus never answers ValidationException: its body is only
// authenticated.
//
// # Concurrency
//
// A Proxy is safe for concurrent use; keys, their status and the
// credentials may be changed while it serves.
package xksproxy
