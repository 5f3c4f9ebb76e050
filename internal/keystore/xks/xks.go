package xks

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"
)

// Limits set by the XKS proxy API specification.
const (
	// Service is the SigV4 service name of every XKS proxy request
	// (Appendix A); the region is the KMS key store's region.
	Service = "kms-xks-proxy"

	// MaxURIPathLength bounds XksProxyUriPath.
	MaxURIPathLength = 128
	// MaxURILength bounds a whole request URI.
	MaxURILength = 256
	// MaxKeyIDLength bounds an external key id.
	MaxKeyIDLength = 128
	// MaxARNLength is the longest ARN a proxy must accept in
	// requestMetadata.
	MaxARNLength = 2048
	// MaxPlaintextSize is the largest plaintext (Encrypt) and ciphertext
	// (Decrypt) every proxy must accept. A proxy may accept more; this
	// client does not send more.
	MaxPlaintextSize = 4300
	// MaxAADSize is the largest additionalAuthenticatedData every proxy
	// must accept.
	MaxAADSize = 8192
	// MaxCiphertextMetadataSize bounds ciphertextMetadata (before Base64).
	MaxCiphertextMetadataSize = 20
	// TagSize is the size of the AES-GCM authentication tag.
	TagSize = 16
	// MaxKeyUsages bounds the keyUsage array of GetKeyMetadata.
	MaxKeyUsages = 10
	// MaxEKMs bounds ekmFleetDetails in GetHealthStatus.
	MaxEKMs = 10
	// MaxErrorMessageLength bounds an error response's errorMessage.
	MaxErrorMessageLength = 512

	// DefaultTimeout is how long KMS waits for a proxy to answer any call
	// before the KMS operation fails.
	DefaultTimeout = 250 * time.Millisecond
	// MaxSkew is how far a request's X-Amz-Date may be from the proxy's
	// clock (Appendix A, Task 4).
	MaxSkew = 5 * time.Minute

	// EncryptionAlgorithm is the only encryptionAlgorithm of version 1.
	EncryptionAlgorithm = "AES_GCM"
	// CDIVAlgorithm is the only ciphertextDataIntegrityValueAlgorithm of
	// version 1.
	CDIVAlgorithm = "SHA_256"
	// KeySpecAES256 is the only keySpec that can back a KMS key.
	KeySpecAES256 = "AES_256"
	// APIPathSuffix ends every XksProxyUriPath of version 1.
	APIPathSuffix = "/kms/xks/v1"
)

// Credential is an XksProxyAuthenticationCredential: the SigV4 access key
// id and raw secret access key shared by KMS and the proxy. String,
// GoString and LogValue redact the secret.
type Credential struct {
	AccessKeyID string // 20-30 characters, A-Z and 2-7
	Secret      string // RawSecretAccessKey: 43-64 characters, A-Z a-z 0-9 + / =
}

func (c Credential) String() string { return "{" + c.AccessKeyID + " [REDACTED]}" }
func (c Credential) GoString() string {
	return "xks.Credential{AccessKeyID:" + strconv.Quote(c.AccessKeyID) + ", Secret:[REDACTED]}"
}
func (c Credential) LogValue() slog.Value       { return slog.StringValue(c.String()) }
func (c Credential) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// Validate checks the credential's syntax as KMS's CreateCustomKeyStore
// does (Appendix A and the configuration file syntax).
func (c Credential) Validate() error {
	if n := len(c.AccessKeyID); n < 20 || n > 30 {
		return fmt.Errorf("%w: access key id must have 20 to 30 characters", ErrInvalidArgument)
	}
	for i := 0; i < len(c.AccessKeyID); i++ {
		if ch := c.AccessKeyID[i]; !(ch >= 'A' && ch <= 'Z' || ch >= '2' && ch <= '7') {
			return fmt.Errorf("%w: access key id may only contain A-Z and 2-7", ErrInvalidArgument)
		}
	}
	if n := len(c.Secret); n < 43 || n > 64 {
		return fmt.Errorf("%w: secret access key must have 43 to 64 characters", ErrInvalidArgument)
	}
	for i := 0; i < len(c.Secret); i++ {
		ch := c.Secret[i]
		if !(ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '+' || ch == '/' || ch == '=') {
			return fmt.Errorf("%w: secret access key may only contain A-Z, a-z, 0-9, +, / and =", ErrInvalidArgument)
		}
	}
	return nil
}

// RequestMetadata is the requestMetadata object of every request (Appendix
// B). Which members are required depends on the operation: all of
// AWSPrincipalARN, KMSOperation and KMSRequestID for GetKeyMetadata, plus
// KMSKeyARN for Encrypt and Decrypt; GetHealthStatus sends only
// KMSOperation and KMSRequestID. Empty optional members are omitted.
type RequestMetadata struct {
	AWSPrincipalARN string `json:"awsPrincipalArn,omitempty"`
	AWSSourceVPC    string `json:"awsSourceVpc,omitempty"`
	AWSSourceVPCE   string `json:"awsSourceVpce,omitempty"`
	KMSKeyARN       string `json:"kmsKeyArn,omitempty"`
	KMSOperation    string `json:"kmsOperation"`
	KMSRequestID    string `json:"kmsRequestId"`
	KMSViaService   string `json:"kmsViaService,omitempty"`
}

// Op is an XKS proxy API operation. The zero value is invalid.
type Op uint8

const (
	OpGetKeyMetadata Op = iota + 1
	OpEncrypt
	OpDecrypt
	OpGetHealthStatus
)

func (o Op) String() string {
	switch o {
	case OpGetKeyMetadata:
		return "GetKeyMetadata"
	case OpEncrypt:
		return "Encrypt"
	case OpDecrypt:
		return "Decrypt"
	case OpGetHealthStatus:
		return "GetHealthStatus"
	}
	return "xks.Op(" + strconv.Itoa(int(o)) + ")"
}

// Check reports whether m carries what op requires and respects the ARN
// length limit. It returns an error wrapping ErrInvalidArgument naming the
// first problem.
func (m *RequestMetadata) Check(op Op) error {
	need := func(name, v string) error {
		if v == "" {
			return fmt.Errorf("%w: requestMetadata.%s is required", ErrInvalidArgument, name)
		}
		return nil
	}
	if err := need("kmsOperation", m.KMSOperation); err != nil {
		return err
	}
	if err := need("kmsRequestId", m.KMSRequestID); err != nil {
		return err
	}
	if op == OpGetHealthStatus {
		return nil
	}
	if err := need("awsPrincipalArn", m.AWSPrincipalARN); err != nil {
		return err
	}
	if op != OpGetKeyMetadata {
		if err := need("kmsKeyArn", m.KMSKeyARN); err != nil {
			return err
		}
	}
	for _, f := range [...]struct{ name, v string }{
		{"awsPrincipalArn", m.AWSPrincipalARN}, {"kmsKeyArn", m.KMSKeyARN},
		{"awsSourceVpc", m.AWSSourceVPC}, {"awsSourceVpce", m.AWSSourceVPCE},
	} {
		if len(f.v) > MaxARNLength {
			return fmt.Errorf("%w: requestMetadata.%s is longer than %d characters", ErrInvalidArgument, f.name, MaxARNLength)
		}
	}
	return nil
}

// ValidKeyID reports whether id is a valid external key id: 1 to 128
// characters from A-Z, a-z, 0-9, '-', '.' and '_'. The ids "." and "..",
// which the character set allows, are refused: they are dot segments that
// HTTP clients and SigV4 path normalization would remove from the URI.
func ValidKeyID(id string) bool {
	if id == "" || len(id) > MaxKeyIDLength || id == "." || id == ".." {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// Ciphertext is what the proxy's Encrypt returns and its Decrypt takes.
// KMS stores all four fields in the ciphertext blob it gives its caller.
type Ciphertext struct {
	Ciphertext []byte // same length as the plaintext
	Metadata   []byte // ciphertextMetadata, vendor-specific, at most 20 bytes; may be nil
	IV         []byte // initializationVector, 12 or 16 bytes
	Tag        []byte // authenticationTag, 16 bytes
}

// KeyStatus is the status of an external key in its key manager, distinct
// from the KMS key state. The zero value is invalid.
type KeyStatus uint8

const (
	KeyEnabled KeyStatus = iota + 1
	KeyDisabled
)

func (s KeyStatus) String() string {
	switch s {
	case KeyEnabled:
		return "ENABLED"
	case KeyDisabled:
		return "DISABLED"
	}
	return "xks.KeyStatus(" + strconv.Itoa(int(s)) + ")"
}

// ParseKeyStatus parses a keyStatus wire value.
func ParseKeyStatus(s string) (KeyStatus, bool) {
	switch s {
	case "ENABLED":
		return KeyEnabled, true
	case "DISABLED":
		return KeyDisabled, true
	}
	return 0, false
}

// Key usages a proxy reports; it may report others (DERIVE, SIGN, …).
const (
	UsageEncrypt = "ENCRYPT"
	UsageDecrypt = "DECRYPT"
)

// KeyMetadata is the GetKeyMetadata response.
type KeyMetadata struct {
	KeySpec string   // "AES_256" for keys KMS can use
	Usage   []string // at most 10 values, e.g. ENCRYPT, DECRYPT
	Status  KeyStatus
}

// Check reports whether the external key can back a KMS key, as KMS's
// CreateKey requires: keySpec AES_256, usage including ENCRYPT and DECRYPT,
// status ENABLED. The error wraps ErrKeyConfiguration.
func (m KeyMetadata) Check() error {
	switch {
	case m.KeySpec != KeySpecAES256:
		return fmt.Errorf("%w: keySpec is %q, not %s", ErrKeyConfiguration, m.KeySpec, KeySpecAES256)
	case !slices.Contains(m.Usage, UsageEncrypt) || !slices.Contains(m.Usage, UsageDecrypt):
		return fmt.Errorf("%w: keyUsage %v lacks ENCRYPT or DECRYPT", ErrKeyConfiguration, m.Usage)
	case m.Status != KeyEnabled:
		return fmt.Errorf("%w: keyStatus is %s", ErrKeyConfiguration, m.Status)
	}
	return nil
}

// EKMHealth is the health of one external key manager. The zero value is
// invalid.
type EKMHealth uint8

const (
	EKMActive      EKMHealth = iota + 1 // healthy
	EKMDegraded                         // unhealthy but serving
	EKMUnavailable                      // not serving
)

func (h EKMHealth) String() string {
	switch h {
	case EKMActive:
		return "ACTIVE"
	case EKMDegraded:
		return "DEGRADED"
	case EKMUnavailable:
		return "UNAVAILABLE"
	}
	return "xks.EKMHealth(" + strconv.Itoa(int(h)) + ")"
}

// ParseEKMHealth parses an ekmFleetDetails healthStatus wire value.
func ParseEKMHealth(s string) (EKMHealth, bool) {
	for h := EKMActive; h <= EKMUnavailable; h++ {
		if h.String() == s {
			return h, true
		}
	}
	return 0, false
}

// EKM describes one external key manager of the proxy's fleet.
type EKM struct {
	ID, Model string
	Health    EKMHealth
}

// HealthStatus is the GetHealthStatus response.
type HealthStatus struct {
	ProxyFleetSize int // > 0
	ProxyVendor    string
	ProxyModel     string
	EKMVendor      string
	EKMs           []EKM // 1 to 10 entries
}

// Available reports whether at least one key manager can serve traffic.
// KMS's ConnectCustomKeyStore fails with XKS_PROXY_NOT_REACHABLE when all
// of them are UNAVAILABLE.
func (h HealthStatus) Available() bool {
	for _, e := range h.EKMs {
		if e.Health == EKMActive || e.Health == EKMDegraded {
			return true
		}
	}
	return false
}

// GCMAAD returns the AAD a proxy gives AES-GCM for a request's
// additionalAuthenticatedData and ciphertextMetadata, as the Encrypt
// section prescribes:
//
//	uint16be(len(aad)) || aad || uint8(len(metadata)) || metadata
//
// The lengths keep a caller from moving bytes between the two fields (e.g.
// passing the metadata as AAD). It panics if aad is longer than 65535 bytes
// or metadata longer than 255 (callers enforce the far smaller spec limits).
func GCMAAD(aad, metadata []byte) []byte {
	if len(aad) > 0xffff || len(metadata) > 0xff {
		panic("xks: GCMAAD input too long")
	}
	b := make([]byte, 0, 3+len(aad)+len(metadata))
	b = binary.BigEndian.AppendUint16(b, uint16(len(aad)))
	b = append(b, aad...)
	b = append(b, byte(len(metadata)))
	return append(b, metadata...)
}

// CDIV computes the ciphertext data integrity value (Appendix C) with
// SHA_256: the hash of aad || metadata || iv || ciphertext || tag, with no
// lengths (it guards against bit flips, not forgery). aad is the
// additionalAuthenticatedData of the Encrypt request; the rest come from
// its response.
func CDIV(aad []byte, ct Ciphertext) [sha256.Size]byte {
	h := sha256.New()
	h.Write(aad)
	h.Write(ct.Metadata)
	h.Write(ct.IV)
	h.Write(ct.Ciphertext)
	h.Write(ct.Tag)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}
