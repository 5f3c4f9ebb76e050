// Package quota enforces AWS KMS's request quotas (KMS Developer Guide,
// Request quotas): per account and Region, a shared quota of cryptographic
// operations for each key type (symmetric and HMAC, RSA, ECC, SM2, ML-DSA),
// one per GenerateDataKeyPair spec, one per management operation, and one
// per custom key store across accounts, with AWS's default rates, which an
// operator may scale (a node's share of a cluster's) or override.
//
// It decides nothing about a request but whether its quota has room: which
// quota a request counts against is the caller's to say (internal/server
// knows the operation and, through kms, the key's type).
//
// # Concurrency
//
// A Limiter is safe for concurrent use; its buckets are lock-free, and a
// bucket never admits more than its rate times the time elapsed plus its
// burst, however many requests race for it.
package quota
