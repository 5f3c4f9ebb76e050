// Package keystore is where the key material of custom key stores lives: it
// names what KMS needs from a hardware security module (Clusters, Token) and
// the conditions callers branch on. Package keystore/pkcs11 implements it over
// any PKCS#11 token, standing in for the CloudHSM cluster of an AWS CloudHSM
// key store. The stores themselves (records, connections, operations) are
// package customkeystore's.
//
// Key material of keys in the local keystore is sealed in the store and
// unsealed into memory (package kms, package seal); keystore never sees it.
// Key material of keys in a custom key store never leaves its token: it is
// generated there, non-extractable, and every encryption and decryption is a
// call into the token.
//
// # Caveats
//
// Requests on keys in a custom key store do HSM (and, with a networked HSM,
// network) I/O on the request path, as they do in AWS: Encrypt, Decrypt,
// ReEncrypt, GenerateDataKey* and GenerateRandom with a CustomKeyStoreId wait
// for a session of the token and for the token itself. Keys of the local
// keystore are unaffected.
//
// # Concurrency
//
// Implementations of Clusters and Token are safe for concurrent use.
//
// # Errors
//
// Open reports why a token refused a login with the sentinels below, which
// KMS turns into a ConnectionErrorCode; Open on a Token of an AES-GCM
// ciphertext that does not authenticate returns keys.ErrCiphertext.
package keystore
