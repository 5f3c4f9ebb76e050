package federation

import "fmt"

// Kind says which STS error a refusal is (STS API reference,
// AssumeRoleWithWebIdentity and AssumeRoleWithSAML, Errors).
type Kind uint8

const (
	// Invalid: the token or assertion could not be validated
	// (InvalidIdentityToken).
	Invalid Kind = iota + 1
	// Expired: it is past its expiry (ExpiredTokenException).
	Expired
	// Rejected: it is genuine but its claims are refused, e.g. an
	// assertion already used (IDPRejectedClaim).
	Rejected
	// Unreachable: the identity provider could not be reached to get its
	// keys (IDPCommunicationError).
	Unreachable
)

func (k Kind) String() string {
	switch k {
	case Invalid:
		return "InvalidIdentityToken"
	case Expired:
		return "ExpiredTokenException"
	case Rejected:
		return "IDPRejectedClaim"
	case Unreachable:
		return "IDPCommunicationError"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Error is a refusal of a token, assertion or code. Message is what the
// caller is told, worded as STS words it; it never quotes the token. Err,
// when set, is the detail for the server's log.
type Error struct {
	Kind    Kind
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Kind.String() + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Kind.String() + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

func invalid(msg string, err error) *Error { return &Error{Kind: Invalid, Message: msg, Err: err} }
