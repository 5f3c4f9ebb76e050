// Package kms implements the AWS KMS operations, one file per family: keys
// (keys.go), cryptography (crypto.go; asymmetric.go, sign.go, mac.go,
// agreement.go for the other key types), imported material (import.go),
// aliases, tags, rotation, key policies (policies.go, validated by
// keypolicy.go), grants (grants.go, granttokens.go), custom key stores
// (customkeystores.go, over package customkeystore), multi-Region keys
// (multiregion.go) and last usage (lastusage.go). Each method takes the
// caller and the request as the API model shapes it, and returns the
// response or an error a client can see (*wire.Error) — anything else is
// internal.
//
// Every request on a key is authorized through one door, authorize
// (authorize.go; account-level actions through authorizeAccount), after
// which checks.go applies what the operation needs of the key in AWS's order
// of checks. docs/CONTRIBUTING.md says where an operation, its authorization,
// its audit and its tests live, and how to add one.
//
// Keys, aliases and unsealed key material are served from an in-memory view
// that follows the store, so cryptographic operations do no store I/O once a
// key is in use. The view holds an index of every key (index.go,
// keyindex.go) and loads a key on its first use into a bounded cache
// (keycache.go), checked against the view's revision. Writes go to the
// store in one transaction per change, conditional on the revision they
// read, and return only once this node's view shows them.
//
// # Key backends
//
// Where a symmetric encryption key's cryptography happens is its backend
// (backend.go), chosen by the key's origin: process memory, the PKCS#11 token
// of an AWS CloudHSM key store, or the XKS proxy of an external key store
// (xks.go). Encrypt, Decrypt, ReEncrypt and GenerateDataKey* resolve,
// authorize (authorize.go) and check (checks.go) the key, then call its
// backend, which does no authorization or key checks of its own; the
// ciphertext blob formats are package keys'. CreateKey makes a key through
// its backend too (keyMaker: checks before and after authorization, then
// the key's place and first material).
//
// Custom key stores are package customkeystore's (records, connections, the
// six operations); customkeystores.go authorizes each operation and hands it
// over, and the view follows the stores' records into it.
//
// # Store layout
//
//	acct/<account>/kms/<region>/keyindex/<key-id>                 what the view knows of a key without loading it, written with the key record (index.go)
//	acct/<account>/kms/<region>/keypolicies/<sha256>              a key policy document, once per distinct text (policydocs.go)
//	acct/<account>/kms/<region>/keys/<key-id>                     key metadata, policy reference (older records: the policy), tags, rotation
//	acct/<account>/kms/<region>/material/<key-id>/<material-id>   sealed key material
//	acct/<account>/kms/<region>/aliases/<alias-name>              alias → key id
//	acct/<account>/kms/<region>/grants/<key-id>/<grant-id>        a grant on a key
//	acct/<account>/kms/<region>/keystores/<custom-key-store-id>   a custom key store
//	acct/<account>/kms/<region>/quota/keys, …/quota/keystores     empty; orders creations for their quota (quotas.go)
//
// # Concurrency
//
// A *Service is safe for concurrent use. Run owns its background goroutines
// (view followers, the deletion sweeper and the rotation scheduler).
package kms
