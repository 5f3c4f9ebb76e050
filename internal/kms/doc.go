// Package kms implements the AWS KMS operations: one file per family (keys,
// crypto, aliases, tags, rotation, policies), each method taking the caller and
// the request as the API model shapes it, and returning the response or an
// error a client can see (*wire.Error) — anything else is internal.
//
// Keys, aliases and unsealed key material are served from an in-memory view
// that follows the store, so cryptographic operations do no store I/O. Writes
// go to the store in one transaction per change, conditional on the revision
// they read, and return only once this node's view shows them.
//
// # Store layout
//
//	acct/<account>/kms/<region>/keypolicies/<sha256>              a key policy document, once per distinct text (policydocs.go)
//	acct/<account>/kms/<region>/keys/<key-id>                     key metadata, policy reference (older records: the policy), tags, rotation
//	acct/<account>/kms/<region>/material/<key-id>/<material-id>   sealed key material
//	acct/<account>/kms/<region>/aliases/<alias-name>              alias → key id
//	acct/<account>/kms/<region>/quota/keys, …/quota/keystores     empty; orders creations for their quota (quotas.go)
//
// # Concurrency
//
// A *Service is safe for concurrent use. Run owns its background goroutines
// (view followers, the deletion sweeper and the rotation scheduler).
package kms
