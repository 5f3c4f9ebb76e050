// Package keys holds Trent's cryptography on key material that is already in
// memory: the symmetric ciphertext blob formats (blob.go), encryption-context binding, and
// (as key types grow) the asymmetric, HMAC and key-agreement algorithms. It
// persists nothing: material arrives unsealed from the keystore and is cleared
// by Destroy when its key is deleted or unloaded.
//
// # Ciphertext blob
//
// A symmetric ciphertext is self-describing so Decrypt needs no KeyId:
//
//	version (1) | len(keyID) (1) | keyID | materialID (32) | nonce (12) | AES-256-GCM ciphertext and tag
//
// The associated data is everything before the nonce followed by the canonical
// encoding of the encryption context, so a blob presented under another key,
// another material version or another context does not open. The key id, not
// the ARN, is bound: a multi-Region key has one id and the same material in
// every Region, so its blobs decrypt in any of them. Keys in an AWS CloudHSM
// key store use this format too; their AES-GCM is done by the token (AEAD,
// NewExternalSymmetric).
//
// Keys in an external key store have version 2, whose AES-GCM an XKS proxy
// does: the header names the key and its external key, and the proxy's IV,
// metadata and tag follow (XKSBlob, XKSHeader). The header and the canonical
// encryption context are the AAD the proxy authenticates. BlobKeyID reads the
// key a blob of either version names.
//
// Both formats are issued to callers and stored by them: they never change.
// testdata/blobs.json holds blobs of each made by an earlier Trent, which
// the tests open.
//
// # Concurrency
//
// A *Symmetric is safe for concurrent use until Destroy.
//
// # Errors
//
// ErrCiphertext is returned for every blob that does not open, without saying
// why: a padding-oracle-style distinction would help an attacker.
package keys
