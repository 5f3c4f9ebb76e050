package keystore

import (
	"context"
	"errors"
)

// Errors of Clusters.Open, one per ConnectionErrorCode KMS reports
// (DescribeCustomKeyStores, ConnectionErrorCode).
var (
	// ErrClusterNotFound is returned when no configured cluster has the id,
	// or its token is not present (CLUSTER_NOT_FOUND).
	ErrClusterNotFound = errors.New("keystore: cluster not found")
	// ErrInvalidCredentials is returned when the token refuses the password
	// (INVALID_CREDENTIALS).
	ErrInvalidCredentials = errors.New("keystore: the token refused the password")
	// ErrLockedOut is returned when the token locked the user after too many
	// wrong passwords (USER_LOCKED_OUT).
	ErrLockedOut = errors.New("keystore: the token user is locked out")
	// ErrUserNotFound is returned when the token has no user PIN set
	// (USER_NOT_FOUND).
	ErrUserNotFound = errors.New("keystore: the token has no user")
	// ErrLoggedIn is returned when something else in this process is logged
	// in to the token already (USER_LOGGED_IN): PKCS#11 login state is per
	// process and token, so a second login would not check the password.
	ErrLoggedIn = errors.New("keystore: the token is logged in already")
)

// Clusters are the HSM clusters an operator configured, by CloudHsmClusterId.
type Clusters interface {
	// Has reports whether a cluster id is configured.
	Has(clusterID string) bool
	// Open logs in to a cluster's token with the key store password. At most
	// one Token of a cluster is open at a time.
	Open(ctx context.Context, clusterID, password string) (Token, error)
}

// Token is a logged-in HSM token. Keys are named by label; their material
// never leaves the token.
type Token interface {
	// GenerateKey makes a persistent, non-extractable AES-256 key.
	GenerateKey(ctx context.Context, label string) error
	// Seal and Open are AES-256-GCM with a 12-byte nonce and a 16-byte tag
	// appended to the ciphertext, done in the token by the key of label.
	Seal(label string, nonce, plaintext, ad []byte) ([]byte, error)
	Open(label string, nonce, ciphertext, ad []byte) ([]byte, error)
	// Random returns n bytes of the token's random number generator.
	Random(ctx context.Context, n int) ([]byte, error)
	// Close logs out and closes every session; the Token is unusable after.
	Close() error
}
